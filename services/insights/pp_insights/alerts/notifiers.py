"""Channels: Slack incoming webhooks and the Slack Web API (Block Kit from slack-sdk's
models), signed JSON webhooks (httpx), and the breaches topic. Each send answers an
``Outcome``; none raises for a failed delivery, so one bad channel never stops the others.

Channel URLs and tokens are secrets: they never appear in logs, errors or answers.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import ipaddress
import logging
import socket
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import httpx
import orjson
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError
from slack_sdk.errors import SlackApiError
from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    HeaderBlock,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
)
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from pp_insights.alerts.rules import ChannelType, url_problem
from pp_insights.alerts.settings import AlertSettings

# slack-sdk logs request URLs (a webhook URL is its secret) and bodies at DEBUG.
_SLACK_LOG = logging.getLogger("pp_insights.alerts.slack")
_SLACK_LOG.setLevel(logging.WARNING)

TIMESTAMP_HEADER = "X-PolicyPulse-Timestamp"
SIGNATURE_HEADER = "X-PolicyPulse-Signature"
DELIVERY_HEADER = "X-PolicyPulse-Delivery"
EVENT_HEADER = "X-PolicyPulse-Event"
MAX_RETRY_AFTER = 3600.0
# Slack answers these for a request that will never succeed as configured.
_SLACK_PERMANENT = frozenset(
    {
        "channel_not_found",
        "not_in_channel",
        "invalid_auth",
        "not_authed",
        "account_inactive",
        "token_revoked",
        "token_expired",
        "missing_scope",
        "is_archived",
        "invalid_blocks",
        "msg_too_long",
        "no_text",
        "restricted_action",
    }
)


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
    session: aiohttp.ClientSession, context: Any, params: aiohttp.TraceRequestRedirectParams
) -> None:
    # aiohttp follows redirects by default and slack-sdk does not turn that off; a
    # redirect could lead to an address outside the allowlist.
    raise RedirectRefused(f"redirect refused (HTTP {params.response.status})")


@dataclass
class Outcome:
    """The result of one delivery attempt."""

    delivered: bool
    permanent: bool = False
    status_code: int | None = None
    error: str | None = None
    reason: str | None = None
    """Metrics label of a failure: config, unreachable, http_4xx, http_5xx, rate_limited,
    slack_error."""
    retry_after: float | None = None
    progress: dict[str, Any] = field(default_factory=dict)


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """``v1=<hex HMAC-SHA256 of "<timestamp>.<body>">``: what a receiver recomputes."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "v1=" + mac.hexdigest()


def retry_after_seconds(value: str | None, now: datetime) -> float | None:
    """``Retry-After`` as seconds (delta-seconds or an HTTP date), capped at an hour."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = (parsedate_to_datetime(value) - now).total_seconds()
        except (TypeError, ValueError):
            return None
    return min(MAX_RETRY_AFTER, max(0.0, seconds))


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _header(headers: Any, name: str) -> str | None:
    for key, value in dict(headers or {}).items():
        if str(key).lower() == name.lower():
            return str(value[0] if isinstance(value, list) else value)
    return None


def _http_outcome(status: int, retry_after: str | None, now: datetime) -> Outcome:
    if 200 <= status < 300:
        return Outcome(True, status_code=status)
    if status == 429:
        return Outcome(
            False,
            status_code=status,
            error="HTTP 429",
            reason="rate_limited",
            retry_after=retry_after_seconds(retry_after, now),
        )
    if status == 408 or status >= 500:
        return Outcome(False, status_code=status, error=f"HTTP {status}", reason="http_5xx")
    # Redirects are never followed (they could lead to an address outside the allowlist).
    return Outcome(
        False, permanent=True, status_code=status, error=f"HTTP {status}", reason="http_4xx"
    )


def _scope_text(payload: dict[str, Any]) -> str:
    scope = payload.get("scope", {})
    parts = [f"{k}={v}" for k, v in sorted(scope.get("group", {}).items())]
    parts += [f"{k}={'|'.join(v)}" for k, v in sorted(scope.get("filters", {}).items())]
    return ", ".join(parts) or "everything"


def _comparison(ev: dict[str, Any]) -> str:
    value, sample = ev.get("value"), ev.get("sample")
    text = f"{value} (n={sample})"
    if "threshold" in ev and "factor" not in ev:
        text += f" {ev.get('op', '>')} threshold {ev['threshold']}"
    elif "factor" in ev:
        text += f" vs baseline {ev.get('baseline')} (x{ev['factor']} = {ev.get('threshold')})"
    elif "baseline" in ev:
        text += f" vs baseline {ev['baseline']}"
    if ev.get("p_value") is not None:
        text += f", p={ev['p_value']}"
    return text


def message(payload: dict[str, Any], *, base_url: str) -> tuple[str, list[Block]]:
    """The fallback text and the Block Kit blocks of a breach change."""
    # An acknowledgement re-renders the firing message with who acknowledged it.
    firing = payload["transition"] in ("firing", "acknowledged")
    state = "FIRING" if firing else "RESOLVED"
    icon = ":rotating_light:" if firing else ":white_check_mark:"
    title = f"{state}: {payload['rule_name']}"
    ev = payload["evidence"] if firing else payload.get("peak_evidence") or payload["evidence"]
    window = ev.get("window", {})
    scope = payload.get("scope", {})
    dims = {
        **{k: "|".join(v) for k, v in scope.get("filters", {}).items()},
        **scope.get("group", {}),
    }
    fields = [
        MarkdownTextObject(text=f"*Metric*\n{payload.get('metric')}"),
        MarkdownTextObject(text=f"*Severity*\n{payload['severity']}"),
        MarkdownTextObject(text=f"*Area*\n{dims.get('area', 'any')}"),
        MarkdownTextObject(text=f"*Clause*\n{dims.get('clause_id', 'any')}"),
        MarkdownTextObject(text=f"*{'Value' if firing else 'Peak'}*\n{_comparison(ev)}"),
        MarkdownTextObject(text=f"*Window*\n{window.get('from')} to {window.get('to')}"),
        MarkdownTextObject(text=f"*Scope*\n{_scope_text(payload)}"),
    ]
    blocks: list[Block] = [
        HeaderBlock(text=PlainTextObject(text=f"{state}: {payload['rule_name']}"[:150])),
        SectionBlock(text=MarkdownTextObject(text=f"{icon} *{title}*"), fields=fields),
    ]
    buttons = []
    if ev.get("drilldown"):
        buttons.append(ButtonElement(text="Drill down", url=ev["drilldown"], action_id="drill"))
    buttons.append(
        ButtonElement(
            text="Breach", url=base_url.rstrip("/") + payload["breach_url"], action_id="breach"
        )
    )
    blocks.append(ActionsBlock(elements=buttons))
    context = (
        f"breach {payload['breach_id']} · rule {payload['rule_id']} v{payload['rule_version']}"
    )
    if payload.get("acknowledged_by"):
        context += f" · acknowledged by {payload['acknowledged_by']} {payload['acknowledged_at']}"
    if not firing and payload.get("resolved_at"):
        context += f" · resolved {payload['resolved_at']} ({payload.get('resolved_reason')})"
    blocks.append(ContextBlock(elements=[MarkdownTextObject(text=context)]))
    text = f"{title} ({_scope_text(payload)}): {_comparison(ev)}"
    return text, blocks


class Notifiers:
    """The clients of every channel type, opened once and shared by all deliveries."""

    def __init__(
        self, settings: AlertSettings, producer: AIOKafkaProducer | None, topic: str
    ) -> None:
        self.settings = settings
        self.producer = producer
        self.topic = topic
        timeout = settings.alert_http_timeout_seconds
        self._http = httpx.AsyncClient(timeout=timeout, follow_redirects=False)
        self._session: aiohttp.ClientSession | None = None

    async def close(self) -> None:
        await self._http.aclose()
        if self._session is not None:
            await self._session.close()

    def _aiohttp(self) -> aiohttp.ClientSession:
        if self._session is None:
            trace = aiohttp.TraceConfig()
            trace.on_request_redirect.append(_refuse_redirect)
            resolver = (
                None
                if self.settings.alert_webhook_allow_private_addresses
                else PublicOnlyResolver()
            )
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(resolver=resolver),
                timeout=aiohttp.ClientTimeout(total=self.settings.alert_http_timeout_seconds),
                trace_configs=[trace],
            )
        return self._session

    async def send(
        self,
        *,
        outbox_id: int,
        channel_type: str,
        channel: dict[str, Any] | None,
        payload: dict[str, Any],
        key: str,
        now: datetime,
        firing_progress: dict[str, Any] | None,
    ) -> Outcome:
        if channel_type == "topic":
            return await self._publish(payload, key)
        assert channel is not None
        url = channel.get("url")
        if url is not None:
            problem = url_problem(
                url,
                allowed_hosts=self.settings.alert_webhook_allowed_hosts,
                allow_http=self.settings.alert_webhook_allow_http,
            )
            if problem:
                return Outcome(False, permanent=True, error=problem, reason="config")
        try:
            pinned: str | None = None
            if url is not None:
                pinned, problem = await self._resolve_public(url)
                if problem:
                    return Outcome(False, permanent=True, error=problem, reason="config")
            if channel_type == ChannelType.SLACK_WEBHOOK:
                assert url is not None
                return await self._slack_webhook(url, payload, now)
            if channel_type == ChannelType.SLACK_API:
                return await self._slack_api(channel, payload, now, firing_progress)
            assert url is not None
            secret = channel.get("signing_secret")
            return await self._webhook(url, outbox_id, payload, now, secret, pinned)
        except RedirectRefused as exc:
            return Outcome(False, permanent=True, error=str(exc), reason="config")
        except (aiohttp.ClientError, httpx.TransportError, TimeoutError, OSError) as exc:
            # The exception text can carry the URL; its type says enough.
            return Outcome(False, error=f"unreachable: {type(exc).__name__}", reason="unreachable")

    async def _resolve_public(self, url: str) -> tuple[str | None, str | None]:
        """``(address, problem)``: refuse an allowlisted name that resolves inside
        (loopback, private, link-local), so a DNS record cannot turn an allowed name into a
        request to an internal service. JSON webhooks then connect to the checked address
        (pinned), so a second, different DNS answer is never used; the Slack clients'
        session resolves through ``PublicOnlyResolver`` instead."""
        host = urlsplit(url).hostname or ""
        if self.settings.alert_webhook_allow_private_addresses or _is_address(host):
            # Private targets allowed, or an address the operator put in the allowlist.
            return None, None
        infos = await asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_STREAM)
        addresses = [str(info[4][0]) for info in infos]
        if not addresses or any(not ipaddress.ip_address(a).is_global for a in addresses):
            return None, "the host resolves to a non-public address"
        return addresses[0], None

    async def _publish(self, payload: dict[str, Any], key: str) -> Outcome:
        if self.producer is None:
            return Outcome(False, error="no producer", reason="unreachable")
        try:
            await self.producer.send_and_wait(self.topic, orjson.dumps(payload), key=key.encode())
        except (KafkaError, TimeoutError) as exc:
            return Outcome(False, error=f"broker: {type(exc).__name__}", reason="unreachable")
        return Outcome(True)

    async def _slack_webhook(self, url: str, payload: dict[str, Any], now: datetime) -> Outcome:
        text, blocks = message(payload, base_url=self.settings.alert_link_base_url)
        client = AsyncWebhookClient(
            url,
            timeout=max(1, round(self.settings.alert_http_timeout_seconds)),
            session=self._aiohttp(),
            retry_handlers=[],
            logger=_SLACK_LOG,
        )
        response = await client.send(text=text, blocks=blocks)
        return _http_outcome(response.status_code, _header(response.headers, "Retry-After"), now)

    async def _slack_api(
        self,
        channel: dict[str, Any],
        payload: dict[str, Any],
        now: datetime,
        firing_progress: dict[str, Any] | None,
    ) -> Outcome:
        token = self.settings.alert_slack_bot_token.get_secret_value()
        if not token:
            return Outcome(
                False, permanent=True, error="no Slack bot token configured", reason="config"
            )
        client = AsyncWebClient(
            token=token,
            base_url=self.settings.alert_slack_api_url,
            timeout=max(1, round(self.settings.alert_http_timeout_seconds)),
            session=self._aiohttp(),
            retry_handlers=[],
            logger=_SLACK_LOG,
        )
        text, blocks = message(payload, base_url=self.settings.alert_link_base_url)
        try:
            if payload["transition"] == "acknowledged":
                if not firing_progress:
                    return Outcome(True, progress={"skipped": "no firing message to update"})
                await client.chat_update(
                    channel=firing_progress["channel"],
                    ts=firing_progress["ts"],
                    text=text,
                    blocks=blocks,
                )
                return Outcome(True, status_code=200)
            if payload["transition"] == "resolved" and firing_progress:
                where, ts = firing_progress["channel"], firing_progress["ts"]
                # The update first: repeating it is harmless, so a retry after a failed
                # thread reply never changes the original twice and replies once.
                await client.chat_update(channel=where, ts=ts, text=text, blocks=blocks)
                reply = await client.chat_postMessage(
                    channel=where, thread_ts=ts, text=text, blocks=blocks
                )
                return Outcome(
                    True, status_code=reply.status_code, progress={"thread_ts": reply["ts"]}
                )
            posted = await client.chat_postMessage(
                channel=channel["slack_channel"], text=text, blocks=blocks
            )
            return Outcome(
                True,
                status_code=posted.status_code,
                progress={"channel": posted["channel"], "ts": posted["ts"]},
            )
        except SlackApiError as exc:
            status = exc.response.status_code
            error = str(exc.response.get("error", "unknown_error"))
            if status == 429 or error == "ratelimited":
                return Outcome(
                    False,
                    status_code=status,
                    error="slack: ratelimited",
                    reason="rate_limited",
                    retry_after=retry_after_seconds(
                        _header(exc.response.headers, "Retry-After"), now
                    ),
                )
            return Outcome(
                False,
                permanent=error in _SLACK_PERMANENT,
                status_code=status,
                error=f"slack: {error}",
                reason="slack_error",
            )

    async def _webhook(
        self,
        url: str,
        outbox_id: int,
        payload: dict[str, Any],
        now: datetime,
        channel_secret: str | None,
        pinned: str | None,
    ) -> Outcome:
        body = orjson.dumps(
            {
                "type": f"breach.{payload['transition']}",
                "delivery_id": str(outbox_id),
                "breach": payload,
            }
        )
        timestamp = str(int(now.timestamp()))
        headers = {
            "Content-Type": "application/json",
            TIMESTAMP_HEADER: timestamp,
            DELIVERY_HEADER: str(outbox_id),
            EVENT_HEADER: f"breach.{payload['transition']}",
        }
        secret = channel_secret or self.settings.alert_webhook_signing_secret.get_secret_value()
        if secret:
            headers[SIGNATURE_HEADER] = sign(secret, timestamp, body)
        target, extensions = url, {}
        if pinned is not None:
            parts = urlsplit(url)
            host = parts.hostname or ""
            address = f"[{pinned}]" if ":" in pinned else pinned
            port = f":{parts.port}" if parts.port else ""
            target = parts._replace(netloc=f"{address}{port}").geturl()
            headers["Host"] = f"{host}{port}"
            # TLS still checks the certificate against the name, not the address.
            extensions = {"sni_hostname": host}
        response = await self._http.post(
            target, content=body, headers=headers, extensions=extensions
        )
        return _http_outcome(response.status_code, response.headers.get("Retry-After"), now)


async def close_quietly(notifiers: Notifiers) -> None:
    """Close the clients even when the task closing them is being cancelled."""
    await asyncio.shield(notifiers.close())
