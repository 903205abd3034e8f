"""The one place Powertools Logger and Metrics are made; every function imports them from here.

Logs carry ids (order_id, event_id, source), never names, emails, addresses or secrets.
"""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

__all__ = ["MetricUnit", "logger", "metrics"]

logger = Logger(log_uncaught_exceptions=True)
metrics = Metrics()
