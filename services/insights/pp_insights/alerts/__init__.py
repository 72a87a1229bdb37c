"""Threshold rules, breaches and their notifications (see ../../ALERTS.md).

The insights app wires three things: ``AlertSettings`` (inherited by its settings),
``router`` (``/v1/rules``, ``/v1/breaches``) and ``alerts_running`` (in its lifespan).
"""

from pp_insights.alerts.api import router
from pp_insights.alerts.runner import Alerts, alerts_running
from pp_insights.alerts.settings import AlertSettings

__all__ = ["AlertSettings", "Alerts", "alerts_running", "router"]
