"""Webhook intake: verify the raw bytes, normalise into canonical events, publish exactly once."""

from hub.intake.model import IntakeResult
from hub.intake.service import MAX_BODY_BYTES, IntakeService

__all__ = [
    "MAX_BODY_BYTES",
    "IntakeResult",
    "IntakeService",
]
