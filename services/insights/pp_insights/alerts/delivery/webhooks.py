"""Signed JSON webhooks: ``POST`` of the breach change with httpx, an HMAC-SHA256 signature
over ``<timestamp>.<body>``, and the connection made to the address that was checked."""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime
from urllib.parse import urlsplit

import httpx
import orjson

from pp_insights.alerts.delivery.outcomes import Outcome, http_outcome
from pp_insights.alerts.documents import WebhookBody
from pp_shared.contracts.breaches import BreachMessage

TIMESTAMP_HEADER = "X-PolicyPulse-Timestamp"
SIGNATURE_HEADER = "X-PolicyPulse-Signature"
DELIVERY_HEADER = "X-PolicyPulse-Delivery"
EVENT_HEADER = "X-PolicyPulse-Event"


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """``v1=<hex HMAC-SHA256 of "<timestamp>.<body>">``: what a receiver recomputes."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "v1=" + mac.hexdigest()


async def post(
    client: httpx.AsyncClient,
    url: str,
    message: BreachMessage,
    *,
    delivery_id: int,
    now: datetime,
    secret: str,
    pinned: str | None,
) -> Outcome:
    """Deliver ``message``: signed with ``secret`` (unsigned when empty), connected to the
    ``pinned`` address when given, with the URL's name in ``Host`` and in TLS SNI (so the
    certificate is still checked against the name)."""
    event = f"breach.{message.transition}"
    document: WebhookBody = {
        "type": event,
        "delivery_id": str(delivery_id),
        "breach": message.wire(),
    }
    body = orjson.dumps(document)
    timestamp = str(int(now.timestamp()))
    headers = {
        "Content-Type": "application/json",
        TIMESTAMP_HEADER: timestamp,
        DELIVERY_HEADER: str(delivery_id),
        EVENT_HEADER: event,
    }
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
        extensions = {"sni_hostname": host}
    response = await client.post(target, content=body, headers=headers, extensions=extensions)
    return http_outcome(response.status_code, response.headers.get("Retry-After"), now)
