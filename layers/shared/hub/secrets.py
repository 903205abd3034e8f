"""Webhook secrets and API credentials: keys of one Secrets Manager secret (JSON).

Any value may hold several comma-separated secrets, so a rotation can accept old and new at once.
"""

from __future__ import annotations

import os
from typing import Any

__all__ = ["SecretsError", "SecretsProvider"]

_CACHE_SECONDS = 300


class SecretsError(RuntimeError):
    """The secret could not be read; the message never contains a secret value."""


class SecretsProvider:
    def __init__(self, secret_id: str | None = None, values: dict[str, str] | None = None) -> None:
        self._secret_id = secret_id or os.environ.get("HUB_SECRETS_ARN")
        self._values = values

    def _document(self) -> dict[str, Any]:
        if self._values is not None:
            return self._values
        if not self._secret_id:
            raise SecretsError("HUB_SECRETS_ARN is not set")
        from aws_lambda_powertools.utilities import parameters

        try:
            value = parameters.get_secret(self._secret_id, transform="json", max_age=_CACHE_SECONDS)
        except parameters.exceptions.GetParameterError as exc:
            raise SecretsError("the hub secret could not be read") from exc
        except parameters.exceptions.TransformParameterError as exc:
            raise SecretsError("the hub secret is not a JSON object") from exc
        if not isinstance(value, dict):
            raise SecretsError("the hub secret is not a JSON object")
        return value

    def get(self, name: str) -> str | None:
        value = self._document().get(name)
        return str(value) if value not in (None, "") else None

    def candidates(self, name: str) -> list[str]:
        """Every configured value of `name` (comma-separated for rotation), empty if unset."""
        raw = self.get(name)
        return [part.strip() for part in raw.split(",") if part.strip()] if raw else []
