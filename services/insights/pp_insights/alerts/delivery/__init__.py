"""Delivery: the outbox sender and the channels it delivers to (Slack incoming webhooks and
Web API, signed JSON webhooks, the breaches topic), with retries, backoff and the address
checks of every request."""
