"""Typed environment settings, read when first used (never at import) and cached."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache

from hub.errors import SettingsError

__all__ = ["Settings", "settings"]


@dataclass(frozen=True, slots=True)
class Settings:
    table: str
    idempotency_table: str
    event_bus: str
    stage: str
    payload_bucket: str | None = None
    data_key_id: str | None = None  # the KMS key that wraps data keys (hub.shredding)


def _required(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise SettingsError(f"environment variable {name} is not set (template.yaml sets it in AWS)")
    return value


@cache
def settings() -> Settings:
    return Settings(
        table=_required("HUB_TABLE"),
        idempotency_table=_required("HUB_IDEMPOTENCY_TABLE"),
        event_bus=_required("HUB_EVENT_BUS"),
        stage=os.environ.get("HUB_STAGE", "dev"),
        payload_bucket=os.environ.get("HUB_PAYLOAD_BUCKET") or None,
        data_key_id=os.environ.get("HUB_DATA_KEY_ID") or None,
    )
