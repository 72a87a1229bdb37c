"""The console names insights' metrics as insights defines them (the gateway imports no other
service, so the names are written in the console and held equal here): the rule form offers
every metric an alert rule may watch, in the same order, and the trend and card pickers every
trend metric. A rule on a metric the form lacked would be saved as another metric."""

from __future__ import annotations

from pp_gateway.console.formats import RULE_METRICS, TREND_METRICS
from pp_insights.metrics_def import ALERT_METRICS, METRICS


def test_the_rule_form_offers_every_alert_metric() -> None:
    assert tuple(ALERT_METRICS) == RULE_METRICS


def test_the_trend_pickers_offer_every_trend_metric() -> None:
    assert tuple(METRICS) == TREND_METRICS
