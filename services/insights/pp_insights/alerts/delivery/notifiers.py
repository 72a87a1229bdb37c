"""The channels' clients, opened once and shared by all deliveries: Slack incoming webhooks and
the Web API (``slack``), signed JSON webhooks (``webhooks``), and the breaches topic. A send
answers an ``Outcome``; none raises for a failed delivery, so one bad channel never stops the
others.

Channel URLs and tokens are secrets: they never appear in logs, errors or answers.
"""

from __future__ import annotations

from datetime import datetime

import aiohttp
import httpx
import orjson
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from pp_insights.alerts.delivery import slack, webhooks
from pp_insights.alerts.delivery.addresses import RedirectRefused, guarded_session, public_address
from pp_insights.alerts.delivery.outcomes import Outcome
from pp_insights.alerts.documents import DeliveryProgress
from pp_insights.alerts.rules.spec import TOPIC_CHANNEL_TYPE, Channel, ChannelType
from pp_insights.alerts.rules.validation import url_problem
from pp_insights.alerts.settings import AlertSettings
from pp_shared.contracts.breaches import BreachMessage


class Notifiers:
    """The clients of every channel type. ``settings`` is read at every send: the allowlist
    in force is the one checked."""

    def __init__(
        self, settings: AlertSettings, producer: AIOKafkaProducer | None, topic: str
    ) -> None:
        self.settings = settings
        self.producer = producer
        self.topic = topic
        timeout = settings.alert_http_timeout_seconds
        self.http = httpx.AsyncClient(timeout=timeout, follow_redirects=False)
        self._session: aiohttp.ClientSession | None = None

    async def close(self) -> None:
        await self.http.aclose()
        if self._session is not None:
            await self._session.close()

    def _slack_session(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = guarded_session(
                timeout=self.settings.alert_http_timeout_seconds,
                allow_private=self.settings.alert_webhook_allow_private_addresses,
            )
        return self._session

    async def send(
        self,
        *,
        outbox_id: int,
        channel_type: str,
        channel: Channel | None,
        message: BreachMessage,
        key: str,
        now: datetime,
        firing_progress: DeliveryProgress | None,
    ) -> Outcome:
        """Deliver one outbox row: to the topic, or to ``channel`` (the rule's current one of
        the row's name) as a channel of ``channel_type``."""
        if channel_type == TOPIC_CHANNEL_TYPE:
            return await self._publish(message, key)
        assert channel is not None
        url = channel.url
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
                pinned, problem = await public_address(
                    url, allow_private=self.settings.alert_webhook_allow_private_addresses
                )
                if problem:
                    return Outcome(False, permanent=True, error=problem, reason="config")
            session = self._slack_session
            if channel_type == ChannelType.SLACK_WEBHOOK:
                assert url is not None
                return await slack.send_to_webhook(
                    url, message, settings=self.settings, session=session(), now=now
                )
            if channel_type == ChannelType.SLACK_API:
                return await slack.send_to_api(
                    channel, message, settings=self.settings, session=session(), now=now,
                    firing=firing_progress,
                )  # fmt: skip
            assert url is not None
            return await self._webhook(url, outbox_id, message, now, channel.signing_secret, pinned)
        except RedirectRefused as exc:
            return Outcome(False, permanent=True, error=str(exc), reason="config")
        except (aiohttp.ClientError, httpx.TransportError, TimeoutError, OSError) as exc:
            # The exception text can carry the URL; its type says enough.
            return Outcome(False, error=f"unreachable: {type(exc).__name__}", reason="unreachable")

    async def _publish(self, message: BreachMessage, key: str) -> Outcome:
        if self.producer is None:
            return Outcome(False, error="no producer", reason="unreachable")
        try:
            await self.producer.send_and_wait(
                self.topic, orjson.dumps(message.wire()), key=key.encode()
            )
        except (KafkaError, TimeoutError) as exc:
            return Outcome(False, error=f"broker: {type(exc).__name__}", reason="unreachable")
        return Outcome(True)

    async def _webhook(
        self,
        url: str,
        outbox_id: int,
        message: BreachMessage,
        now: datetime,
        channel_secret: str | None,
        pinned: str | None,
    ) -> Outcome:
        secret = channel_secret or self.settings.alert_webhook_signing_secret.get_secret_value()
        return await webhooks.post(
            self.http, url, message, delivery_id=outbox_id, now=now, secret=secret, pinned=pinned
        )
