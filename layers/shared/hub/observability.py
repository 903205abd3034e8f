"""The one place Powertools Logger and Metrics are made; every function imports them from here.

Logs carry ids (order_id, event_id, source), never names, emails, addresses or secrets. The
formatter passes every logged exception through `hub.redaction`, so a ValidationError (which
prints its input values) or an exception chained from one shows its fields and problems only.
"""

from __future__ import annotations

import logging
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter
from aws_lambda_powertools.metrics import MetricUnit

from hub.redaction import format_exception, redacted_info

__all__ = ["MetricUnit", "RedactingFormatter", "logger", "metrics"]


class RedactingFormatter(LambdaPowertoolsFormatter):
    """Powertools' JSON formatter, with exceptions (text, type, value and stack) made safe to log."""

    def format(self, record: logging.LogRecord) -> str:
        if isinstance(record.exc_info, tuple) and record.exc_info[1] is not None:
            record.exc_info = redacted_info(record.exc_info)
            record.exc_text = None
        return super().format(record)

    def formatException(self, ei: Any) -> str:
        if isinstance(ei, tuple) and ei[1] is not None:
            return format_exception(ei[1]).rstrip("\n")
        return super().formatException(ei)


logger = Logger(log_uncaught_exceptions=True, logger_formatter=RedactingFormatter())
metrics = Metrics()
