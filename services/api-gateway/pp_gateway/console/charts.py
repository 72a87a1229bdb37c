"""Charts as inline SVG, drawn on the server: a sparkline, and a trend line with its 95%
interval and launch markers. Each page shows a chart's numbers as a table beside it; the
SVG carries a title for screen readers and no script or style of its own."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from markupsafe import Markup, escape

PALETTE = ("#2563eb", "#dc2626", "#059669", "#d97706", "#7c3aed", "#0891b2")


def _points(
    values: Sequence[float | None], width: float, height: float, pad: float
) -> list[tuple[float, float] | None]:
    known = [v for v in values if v is not None]
    if not known:
        return [None for _ in values]
    low, high = min(known), max(known)
    span = (high - low) or 1.0
    step = (width - 2 * pad) / max(1, len(values) - 1)
    return [
        None
        if v is None
        else (pad + i * step, height - pad - (v - low) / span * (height - 2 * pad))
        for i, v in enumerate(values)
    ]


def _path(points: Sequence[tuple[float, float] | None]) -> str:
    out: list[str] = []
    pen_up = True
    for point in points:
        if point is None:
            pen_up = True
            continue
        out.append(f"{'M' if pen_up else 'L'}{point[0]:.1f},{point[1]:.1f}")
        pen_up = False
    return " ".join(out)


def sparkline(
    values: Sequence[float | None], *, label: str, width: int = 120, height: int = 28
) -> Markup:
    """A small line of ``values`` (None: no data in that bucket)."""
    path = _path(_points(values, width, height, 2))
    return Markup(
        '<svg class="spark" viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img" '
        'aria-label="{label}"><title>{label}</title>'
        '<path d="{path}" fill="none" stroke="#2563eb" stroke-width="1.5"/></svg>'
    ).format(w=width, h=height, label=label, path=path)


@dataclass(frozen=True, slots=True)
class Series:
    name: str
    values: list[float | None]
    low: list[float | None] | None = None
    high: list[float | None] | None = None


def trend(
    buckets: Sequence[datetime],
    series: Sequence[Series],
    *,
    label: str,
    markers: Sequence[tuple[datetime, str]] = (),
    width: int = 960,
    height: int = 240,
) -> Markup:
    """Lines of ``series`` over ``buckets`` on one scale, each series' interval as a band,
    and a dashed vertical line at each marker (a launch) with its title."""
    pad_left, pad, pad_bottom = 44.0, 8.0, 22.0
    plot_w = width - pad_left - pad
    plot_h = height - pad - pad_bottom
    every = [
        v for s in series for v in (*s.values, *(s.low or []), *(s.high or [])) if v is not None
    ]
    low = min(every, default=0.0)
    high = max(every, default=1.0)
    low = min(low, 0.0)
    span = (high - low) or 1.0
    n = len(buckets)

    def x(i: float) -> float:
        return pad_left + (i / max(1, n - 1)) * plot_w

    def y(v: float) -> float:
        return pad + plot_h - (v - low) / span * plot_h

    parts: list[Markup] = []
    for tick in (low, low + span / 2, high):
        parts.append(
            Markup(
                '<line x1="{x1}" x2="{x2}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e5e7eb"/>'
                '<text x="{tx}" y="{ty:.1f}" font-size="10" text-anchor="end" fill="#4b5563">'
                "{v}</text>"
            ).format(
                x1=pad_left,
                x2=width - pad,
                y=y(tick),
                tx=pad_left - 4,
                ty=y(tick) + 3,
                v=_short(tick),
            )
        )
    if buckets:
        for i in sorted({0, n - 1}):
            parts.append(
                Markup(
                    '<text x="{x:.1f}" y="{y}" font-size="10" text-anchor="{a}" fill="#4b5563">'
                    "{t}</text>"
                ).format(
                    x=x(i),
                    y=height - 6,
                    a="start" if i == 0 else "end",
                    t=buckets[i].strftime("%d %b %H:%M"),
                )
            )
    for number, s in enumerate(series):
        colour = PALETTE[number % len(PALETTE)]
        if s.low is not None and s.high is not None:
            top = [(x(i), y(v)) for i, v in enumerate(s.high) if v is not None]
            bottom = [(x(i), y(v)) for i, v in enumerate(s.low) if v is not None]
            if top and bottom:
                ring = " ".join(f"{a:.1f},{b:.1f}" for a, b in [*top, *reversed(bottom)])
                parts.append(
                    Markup('<polygon points="{p}" fill="{c}" fill-opacity="0.12"/>').format(
                        p=ring, c=colour
                    )
                )
        points = [None if v is None else (x(i), y(v)) for i, v in enumerate(s.values)]
        parts.append(
            Markup('<path d="{d}" fill="none" stroke="{c}" stroke-width="1.8"/>').format(
                d=_path(points), c=colour
            )
        )
    if n > 1:
        first, last = buckets[0], buckets[-1]
        whole = (last - first).total_seconds() or 1.0
        for at, title in markers:
            share = (at - first).total_seconds() / whole
            if 0 <= share <= 1:
                mx = pad_left + share * plot_w
                parts.append(
                    Markup(
                        '<g class="launch"><line x1="{x:.1f}" x2="{x:.1f}" y1="{y1}" y2="{y2}" '
                        'stroke="#7c3aed" stroke-dasharray="4 3"/><text x="{tx:.1f}" y="{ty}" '
                        'font-size="10" fill="#7c3aed">{t}</text><title>launch: {t}</title></g>'
                    ).format(x=mx, y1=pad, y2=pad + plot_h, tx=mx + 3, ty=pad + 10, t=title)
                )
    legend = Markup("").join(
        Markup('<span class="key"><span class="swatch s{n}"></span>{name}</span>').format(
            n=number % len(PALETTE), name=s.name
        )
        for number, s in enumerate(series)
    )
    svg = Markup(
        '<svg class="trend" viewBox="0 0 {w} {h}" role="img" aria-label="{label}">'
        "<title>{label}</title>{body}</svg>"
    ).format(w=width, h=height, label=label, body=Markup("").join(parts))
    return svg + Markup('<div class="legend">{}</div>').format(legend) if len(series) > 1 else svg


def _short(value: float) -> str:
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    if abs(value) >= 10 or value == int(value):
        return f"{value:.0f}"
    return f"{value:.2f}"


__all__ = ["Series", "escape", "sparkline", "trend"]
