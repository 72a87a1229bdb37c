"""Slack: a breach change as a Block Kit message (``slack_sdk.models.blocks``), sent to an
incoming webhook, or posted, updated and answered in its thread through the Web API with the
bot token. The clients share one aiohttp session (``addresses.guarded_session``)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

import aiohttp
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

from pp_insights.alerts.delivery.outcomes import Outcome, header, http_outcome, retry_after_seconds
from pp_insights.alerts.documents import DeliveryProgress
from pp_insights.alerts.rules.spec import Channel
from pp_insights.alerts.settings import AlertSettings
from pp_insights.metrics_def import METRICS, Kind
from pp_shared.contracts.breaches import BreachEvidence, BreachMessage, EvidenceWindow
from pp_shared.contracts.events import area_of

# slack-sdk logs request URLs (a webhook URL is its secret) and bodies at DEBUG.
_SLACK_LOG = logging.getLogger("pp_insights.alerts.slack")
_SLACK_LOG.setLevel(logging.WARNING)

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


def _scope_text(message: BreachMessage) -> str:
    scope = message.scope
    parts = [f"{k}={v}" for k, v in sorted(scope.group.items())]
    parts += [f"{k}={'|'.join(v)}" for k, v in sorted(scope.filters.items())]
    return ", ".join(parts) or "everything"


def _number(value: float | None, *, count: bool) -> str:
    """A count as an integer (27, not 27.0); rates and seconds as they are."""
    if count and value is not None and float(value).is_integer():
        return str(int(value))
    return str(value)


def _comparison(ev: BreachEvidence, *, count: bool) -> str:
    value, threshold = _number(ev.value, count=count), _number(ev.threshold, count=count)
    text = f"{value} (n={ev.sample})"
    if ev.interval is not None:
        low, high = (_number(v, count=count) for v in ev.interval)
        text = f"{value} (95% CI {low} to {high}, n={ev.sample})"
    if ev.factor is not None:
        text += f" vs baseline {_number(ev.baseline, count=count)} (x{ev.factor} = {threshold})"
    elif "threshold" in ev.model_fields_set:
        text += f" {ev.op or '>'} threshold {threshold}"
    elif "baseline" in ev.model_fields_set:
        text += f" vs baseline {_number(ev.baseline, count=count)}"
    if ev.p_value is not None:
        text += f", p={ev.p_value}"
    return text


def _window_words(window: EvidenceWindow | None) -> str:
    """``6 h to 20:00 UTC, 20 Nov 2026``: the window's length and its end."""
    if window is None:
        return "unknown"
    start, end = datetime.fromisoformat(window.start), datetime.fromisoformat(window.end)
    hours = (end - start) // timedelta(hours=1)
    length = f"{hours // 24} d" if hours >= 24 and hours % 24 == 0 else f"{hours} h"
    return f"{length} to {end:%H:%M} UTC, {end.day} {end:%b %Y}"


def _area(dims: dict[str, str]) -> str:
    """The area of the breach's scope: named, or that of its clauses (a clause id starts with
    its area), else any."""
    if "area" in dims:
        return dims["area"]
    if "clause_id" in dims:
        return "|".join(dict.fromkeys(area_of(c) for c in dims["clause_id"].split("|")))
    return "any"


def render(message: BreachMessage, *, base_url: str) -> tuple[str, list[Block]]:
    """The fallback text and the Block Kit blocks of a breach change."""
    # An acknowledgement re-renders the firing message with who acknowledged it.
    firing = message.transition in ("firing", "acknowledged")
    state = "FIRING" if firing else "RESOLVED"
    icon = ":rotating_light:" if firing else ":white_check_mark:"
    title = f"{state}: {message.rule_name}"
    peak = message.peak_evidence
    ev = message.evidence if firing or not peak.model_fields_set else peak
    count = message.metric in METRICS and METRICS[message.metric].kind is Kind.COUNT
    scope = message.scope
    dims = {**{k: "|".join(v) for k, v in scope.filters.items()}, **scope.group}
    fields = [
        MarkdownTextObject(text=f"*Metric*\n{message.metric}"),
        MarkdownTextObject(text=f"*Severity*\n{message.severity}"),
        MarkdownTextObject(text=f"*Area*\n{_area(dims)}"),
        MarkdownTextObject(text=f"*Clause*\n{dims.get('clause_id', 'any')}"),
        MarkdownTextObject(
            text=f"*{'Value' if firing else 'Peak'}*\n{_comparison(ev, count=count)}"
        ),
        MarkdownTextObject(text=f"*Window*\n{_window_words(ev.window)}"),
        MarkdownTextObject(text=f"*Scope*\n{_scope_text(message)}"),
    ]
    blocks: list[Block] = [
        HeaderBlock(text=PlainTextObject(text=title[:150])),
        SectionBlock(text=MarkdownTextObject(text=f"{icon} *{title}*"), fields=fields),
    ]
    buttons = []
    if ev.drilldown:
        buttons.append(ButtonElement(text="Drill down", url=ev.drilldown, action_id="drill"))
    buttons.append(
        # The console's page of the breach (message.breach_url is its API path).
        ButtonElement(
            text="Breach",
            url=f"{base_url.rstrip('/')}/breaches/{message.breach_id}",
            action_id="breach",
        )
    )
    blocks.append(ActionsBlock(elements=buttons))
    context = f"breach {message.breach_id} · rule {message.rule_id} v{message.rule_version}"
    if message.acknowledged_by:
        context += f" · acknowledged by {message.acknowledged_by} {message.acknowledged_at}"
    if not firing and message.resolved_at:
        context += f" · resolved {message.resolved_at} ({message.resolved_reason})"
    blocks.append(ContextBlock(elements=[MarkdownTextObject(text=context)]))
    text = f"{title} ({_scope_text(message)}): {_comparison(ev, count=count)}"
    return text, blocks


def _timeout(settings: AlertSettings) -> int:
    return max(1, round(settings.alert_http_timeout_seconds))


async def send_to_webhook(
    url: str,
    message: BreachMessage,
    *,
    settings: AlertSettings,
    session: aiohttp.ClientSession,
    now: datetime,
) -> Outcome:
    """An incoming webhook: one message per change, never edited."""
    text, blocks = render(message, base_url=settings.alert_link_base_url)
    client = AsyncWebhookClient(
        url, timeout=_timeout(settings), session=session, retry_handlers=[], logger=_SLACK_LOG
    )
    response = await client.send(text=text, blocks=blocks)
    return http_outcome(response.status_code, header(response.headers, "Retry-After"), now)


async def send_to_api(
    channel: Channel,
    message: BreachMessage,
    *,
    settings: AlertSettings,
    session: aiohttp.ClientSession,
    now: datetime,
    firing: DeliveryProgress | None,
) -> Outcome:
    """The Web API: post the firing; update it in place on an acknowledgement; on the
    resolve, update it and answer in its thread. ``firing`` is where the firing was posted."""
    token = settings.alert_slack_bot_token.get_secret_value()
    if not token:
        return Outcome(
            False, permanent=True, error="no Slack bot token configured", reason="config"
        )
    client = AsyncWebClient(
        token=token,
        base_url=settings.alert_slack_api_url,
        timeout=_timeout(settings),
        session=session,
        retry_handlers=[],
        logger=_SLACK_LOG,
    )
    text, blocks = render(message, base_url=settings.alert_link_base_url)
    try:
        if message.transition == "acknowledged":
            if not firing:
                return Outcome(True, progress={"skipped": "no firing message to update"})
            await client.chat_update(
                channel=firing["channel"], ts=firing["ts"], text=text, blocks=blocks
            )
            return Outcome(True, status_code=200)
        if message.transition == "resolved" and firing:
            where, ts = firing["channel"], firing["ts"]
            # The update first: repeating it is harmless, so a retry after a failed
            # thread reply never changes the original twice and replies once.
            await client.chat_update(channel=where, ts=ts, text=text, blocks=blocks)
            reply = await client.chat_postMessage(
                channel=where, thread_ts=ts, text=text, blocks=blocks
            )
            return Outcome(
                True, status_code=reply.status_code, progress={"thread_ts": str(reply["ts"])}
            )
        assert channel.slack_channel is not None, "validation: slack_api names slack_channel"
        posted = await client.chat_postMessage(
            channel=channel.slack_channel, text=text, blocks=blocks
        )
        return Outcome(
            True,
            status_code=posted.status_code,
            progress={"channel": str(posted["channel"]), "ts": str(posted["ts"])},
        )
    except SlackApiError as exc:
        return _api_error(exc, now)


def _api_error(exc: SlackApiError, now: datetime) -> Outcome:
    status: int = exc.response.status_code
    error = str(exc.response.get("error", "unknown_error"))
    if status == 429 or error == "ratelimited":
        return Outcome(
            False,
            status_code=status,
            error="slack: ratelimited",
            reason="rate_limited",
            retry_after=retry_after_seconds(header(exc.response.headers, "Retry-After"), now),
        )
    return Outcome(
        False,
        permanent=error in _SLACK_PERMANENT,
        status_code=status,
        error=f"slack: {error}",
        reason="slack_error",
    )
