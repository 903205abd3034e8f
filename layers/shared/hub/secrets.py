"""Webhook secrets and API credentials: keys of one Secrets Manager secret (JSON).

A value is one secret, exactly as given: it is never split, because vendors' secrets hold commas
and spaces (WooCommerce generates them with `wp_generate_password(50, true, true)`). During a
rotation a value is a JSON array of strings, `["old-secret", "new-secret"]`: any one verifies, and
the last is the newest (the one to sign or call with). See `secret_values` for the exact rule.
"""

from __future__ import annotations

import json
import os
from typing import Any

__all__ = ["SecretsError", "SecretsProvider", "secret_values"]

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

    def _raw(self, name: str) -> str | None:
        value = self._document().get(name)
        if value in (None, ""):
            return None
        # A rotation written as a real JSON array in the document reads as its JSON text.
        return value if isinstance(value, str) else json.dumps(value)

    def get(self, name: str) -> str | None:
        """The value of `name` to use now: the secret, or the newest (last) of a rotation's array."""
        values = self.candidates(name)
        return values[-1] if values else None

    def candidates(self, name: str) -> list[str]:
        """Every configured secret of `name`, oldest first (a JSON array during a rotation), empty if
        unset. SecretsError, naming the key and never a value, when an array is malformed."""
        return secret_values(name, self._raw(name))


# Line breaks around a value come from files and shell pipes; no vendor generates them in a secret.
_LINE_BREAKS = "\r\n"


def secret_values(name: str, raw: str | None) -> list[str]:
    """The secrets a configured value holds, oldest first.

    - Unset or empty: none.
    - A value that, after surrounding whitespace, starts with `[` is a JSON array of non-empty
      strings: several secrets, during a rotation. Anything else there is an error naming `name`
      (a single secret that itself starts with `[` is written as a one-element array).
    - Anything else is one secret, exactly as given: commas, quotes, brackets and inner or
      surrounding spaces are part of it (a WooCommerce secret may end in a space). Only line
      breaks at either end are dropped.

    Error messages never contain the value.
    """
    if raw is None:
        return []
    value = raw.strip(_LINE_BREAKS)
    if not value.strip():
        return []
    if not value.strip().startswith("["):
        return [value]
    try:
        parsed = json.loads(value)
    except (ValueError, RecursionError):
        parsed = None
    if not isinstance(parsed, list) or not parsed or not all(isinstance(v, str) and v for v in parsed):
        raise SecretsError(
            f"{name} starts with '[' but is not a JSON array of non-empty strings; during a rotation "
            'write ["old-secret", "new-secret"], and write a single secret that starts with \'[\' '
            'as a one-element array ["[..."]'
        )
    return list(parsed)
