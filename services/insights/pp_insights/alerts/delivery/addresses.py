"""What a delivery may connect to. Webhook hosts are allowlisted (``validation.url_problem``);
here, an allowlisted name must also resolve to public addresses only (unless
``PP_ALERT_WEBHOOK_ALLOW_PRIVATE_ADDRESSES``), the address checked is the address used (no
DNS rebinding between check and connect), and redirects are never followed (they could lead
outside the allowlist)."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from types import SimpleNamespace
from urllib.parse import urlsplit

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver


class PublicOnlyResolver(AbstractResolver):
    """Resolves like aiohttp's default resolver, but fails for names with a non-public
    address: the address a Slack request connects to is the one that was checked."""

    def __init__(self) -> None:
        self._inner = DefaultResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self._inner.resolve(host, port, family)
        if any(not ipaddress.ip_address(r["host"]).is_global for r in results):
            raise OSError(f"{host} resolves to a non-public address")
        return results

    async def close(self) -> None:
        await self._inner.close()


class RedirectRefused(aiohttp.ClientError):
    """A Slack target answered with a redirect, which is never followed."""


async def _refuse_redirect(
    session: aiohttp.ClientSession,
    context: SimpleNamespace,
    params: aiohttp.TraceRequestRedirectParams,
) -> None:
    # aiohttp follows redirects by default and slack-sdk does not turn that off; a
    # redirect could lead to an address outside the allowlist.
    raise RedirectRefused(f"redirect refused (HTTP {params.response.status})")


def guarded_session(*, timeout: float, allow_private: bool) -> aiohttp.ClientSession:
    """The aiohttp session of the Slack clients: redirects refused, and names that resolve to
    non-public addresses refused unless ``allow_private``."""
    trace = aiohttp.TraceConfig()
    trace.on_request_redirect.append(_refuse_redirect)
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(resolver=None if allow_private else PublicOnlyResolver()),
        timeout=aiohttp.ClientTimeout(total=timeout),
        trace_configs=[trace],
    )


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


async def public_address(url: str, *, allow_private: bool) -> tuple[str | None, str | None]:
    """``(address, problem)``: refuse an allowlisted name that resolves inside (loopback,
    private, link-local), so a DNS record cannot turn an allowed name into a request to an
    internal service. JSON webhooks then connect to the checked address (pinned), so a second,
    different DNS answer is never used; the Slack clients' session resolves through
    ``PublicOnlyResolver`` instead."""
    host = urlsplit(url).hostname or ""
    if allow_private or _is_address(host):
        # Private targets allowed, or an address the operator put in the allowlist.
        return None, None
    infos = await asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_STREAM)
    addresses = [str(info[4][0]) for info in infos]
    if not addresses or any(not ipaddress.ip_address(a).is_global for a in addresses):
        return None, "the host resolves to a non-public address"
    return addresses[0], None
