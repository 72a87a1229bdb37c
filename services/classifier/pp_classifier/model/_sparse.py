"""A typed face for the few scipy.sparse calls the model makes (scipy ships no types)."""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np
import numpy.typing as npt
from scipy import sparse as _sparse  # type: ignore[import-untyped]


class CsrMatrix(Protocol):
    """The part of ``scipy.sparse.csr_matrix`` this package uses."""

    @property
    def shape(self) -> tuple[int, int]: ...

    @property
    def nnz(self) -> int: ...

    def __matmul__(self, other: npt.NDArray[Any]) -> npt.NDArray[Any]: ...

    def __getitem__(self, index: Any) -> CsrMatrix: ...


def csr_matrix(
    data: npt.NDArray[np.float32],
    indices: npt.NDArray[np.int32],
    indptr: npt.NDArray[np.int64],
    shape: tuple[int, int],
) -> CsrMatrix:
    matrix: CsrMatrix = _sparse.csr_matrix((data, indices, indptr), shape=shape)
    return matrix


def vstack(blocks: list[CsrMatrix]) -> CsrMatrix:
    stacked: CsrMatrix = _sparse.vstack(blocks, format="csr")
    return stacked
