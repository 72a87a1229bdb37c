"""A rule's secrets as the API shows them: channel URLs (their path is the secret) and signing
secrets masked, and put back when a client sends the masked values back, so that a
read-modify-write of a rule keeps them."""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlsplit

from pp_insights.alerts.rules.spec import Channel, RuleSpec

MASK = "***"


def mask_url(url: str) -> str:
    """Scheme and host only: the path of a Slack or webhook URL is its secret."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or "?"
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return MASK
    return f"{parts.scheme}://{host}{port}/{MASK}"


def _masked_channel(channel: Channel) -> Channel:
    return channel.model_copy(
        update={
            "url": mask_url(channel.url) if channel.url else channel.url,
            "signing_secret": MASK if channel.signing_secret else channel.signing_secret,
        }
    )


def masked(spec: RuleSpec) -> RuleSpec:
    """The spec as the API shows it: channel URLs and signing secrets masked (a copy that
    only ever goes out in answers)."""
    return spec.model_copy(update={"channels": [_masked_channel(c) for c in spec.channels]})


def unmask(body: object, previous: RuleSpec | None) -> object:
    """The body of a rule change with the masked URLs and secrets of ``previous`` channels of
    the same name put back."""
    if previous is None or not isinstance(body, dict) or not isinstance(body.get("channels"), list):
        return body
    old = {c.name: c for c in previous.channels}
    return {**body, "channels": [_unmasked_channel(c, old) for c in body["channels"]]}


def _unmasked_channel(sent: object, old: Mapping[str, Channel]) -> object:
    name = sent.get("name") if isinstance(sent, dict) else None
    prior = old.get(name) if isinstance(name, str) else None
    if prior is None or not isinstance(sent, dict):
        return sent
    out = dict(sent)
    if prior.url and sent.get("url") == mask_url(prior.url):
        out["url"] = prior.url
    if prior.signing_secret and sent.get("signing_secret") == MASK:
        out["signing_secret"] = prior.signing_secret
    return out
