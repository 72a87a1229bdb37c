"""Threshold rules, breaches and their notifications (see ../../ALERTS.md).

The insights app wires three things, each imported from its module: ``settings.AlertSettings``
(inherited by its settings), ``api.router`` (``/v1/rules``, ``/v1/breaches``) and
``runner.alerts_running`` (in its lifespan). This package imports nothing itself, so that
reading the settings loads no HTTP client, Slack SDK or scipy.
"""
