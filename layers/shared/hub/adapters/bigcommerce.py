"""The BigCommerce REST API over httpx: GETs with X-Auth-Token, every failure a BigCommerceFetchError."""

from __future__ import annotations

import json
import time
from decimal import Decimal
from typing import Any

import httpx

from hub.errors import BigCommerceFetchError, SecretsError
from hub.secrets import SecretsProvider

__all__ = ["HttpBigCommerceApi"]

TOKEN_KEY = "BIGCOMMERCE_ACCESS_TOKEN"  # noqa: S105 - the name of the secret key, not a secret


class HttpBigCommerceApi:
    def __init__(
        self,
        secrets: SecretsProvider,
        *,
        timeout: float = 2.0,
        connect_timeout: float = 1.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._secrets = secrets
        self._timeout = timeout
        self._connect_timeout = connect_timeout
        self._transport = transport
        self._client: httpx.Client | None = None

    def _http(self) -> httpx.Client:
        if self._client is None:
            self._client = httpx.Client(transport=self._transport, follow_redirects=False)
        return self._client

    def _token(self) -> str:
        try:
            tokens = self._secrets.candidates(TOKEN_KEY)
        except SecretsError as exc:
            raise BigCommerceFetchError(f"the BigCommerce access token could not be read: {exc}") from exc
        if not tokens:
            raise BigCommerceFetchError(f"no {TOKEN_KEY} is configured, so the hub cannot read from BigCommerce")
        return tokens[-1]  # the newest, during a rotation

    def get_json(self, api_url: str, store_hash: str, path: str, *, deadline: float | None = None) -> Any:
        timeout = self._timeout
        if deadline is not None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise BigCommerceFetchError(f"no time was left to read {path} from BigCommerce")
            timeout = min(timeout, remaining)
        url = f"{api_url.rstrip('/')}/stores/{store_hash}{path}"
        try:
            response = self._http().get(
                url,
                headers={"X-Auth-Token": self._token(), "Accept": "application/json"},
                timeout=httpx.Timeout(timeout, connect=min(self._connect_timeout, timeout)),
            )
        except httpx.HTTPError as exc:
            raise BigCommerceFetchError(f"BigCommerce could not be reached for {path} ({type(exc).__name__})") from exc
        status = response.status_code
        if status == 204:
            return None
        if status == 404:
            raise BigCommerceFetchError(f"BigCommerce has no {path} (404)")
        if status == 429:
            wait = response.headers.get("X-Rate-Limit-Time-Reset-Ms", "?")
            raise BigCommerceFetchError(f"BigCommerce rate-limited the read of {path} (429; resets in {wait} ms)")
        if status in (401, 403):
            raise BigCommerceFetchError(f"BigCommerce refused the access token for {path} ({status})")
        if not response.is_success:
            raise BigCommerceFetchError(f"BigCommerce answered {status} for {path}")
        try:
            # V3 catalog prices are JSON numbers (29.95): read as Decimals, never through a float.
            return json.loads(response.content, parse_float=Decimal)
        except ValueError as exc:
            raise BigCommerceFetchError(f"BigCommerce answered {path} with something other than JSON") from exc
