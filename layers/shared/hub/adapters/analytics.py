"""GA4 Measurement Protocol and Meta Conversions API over the outbound client (timeouts, retries).

Both APIs take their credential in the query string (GA4 `api_secret`, Meta `access_token`), so
no error raised here ever carries a URL, a request or a response body that could echo it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

import httpx
from httpx_retries import Retry

from hub.adapters.http import OutboundError, outbound_client, outbound_error
from hub.config import AnalyticsConfig
from hub.ports import HubError
from hub.secrets import SecretsProvider
from hub.services.analytics import AnalyticsSink, Ga4Sink, MetaSink

__all__ = ["AnalyticsConfigError", "Ga4Client", "MetaClient", "analytics_sinks"]


class AnalyticsConfigError(HubError):
    """A destination is configured but its credential is missing from the hub secret."""


def _post(client: httpx.Client, path: str, params: dict[str, str], body: dict[str, Any], what: str) -> httpx.Response:
    try:
        response = client.post(
            path, params=params, content=json.dumps(body), headers={"Content-Type": "application/json"}
        )
    except httpx.HTTPError as exc:
        # Not chained: the httpx error holds the request, whose URL holds the credential.
        raise OutboundError(f"{what} failed: {type(exc).__name__}") from None
    if not response.is_success:
        raise outbound_error(response, what)  # status, code, request id: never the body
    return response


class Ga4Client:
    """POST /mp/collect; `validate` asks /debug/mp/collect, which answers validation messages."""

    def __init__(
        self,
        measurement_id: str,
        api_secret: str,
        base_url: str = "https://www.google-analytics.com",
        *,
        transport: httpx.BaseTransport | None = None,
        retry: Retry | None = None,
    ) -> None:
        self._params = {"measurement_id": measurement_id, "api_secret": api_secret}
        self._http = outbound_client(base_url, transport=transport, retry=retry)

    def send(self, body: dict[str, Any]) -> None:
        # GA4 answers 2xx even for a malformed event: the body is checked by tests against /debug.
        _post(self._http, "/mp/collect", self._params, body, "GA4 collect")

    def validate(self, body: dict[str, Any]) -> list[dict[str, str]]:
        """The validation server's messages ({fieldPath, description, validationCode}); empty when valid."""
        response = _post(self._http, "/debug/mp/collect", self._params, body, "GA4 validation")
        return list(response.json().get("validationMessages", []))


class MetaClient:
    """POST /{api_version}/{pixel_id}/events; every event must be received."""

    def __init__(
        self,
        pixel_id: str,
        api_version: str,
        access_token: str,
        base_url: str = "https://graph.facebook.com",
        *,
        transport: httpx.BaseTransport | None = None,
        retry: Retry | None = None,
    ) -> None:
        self._path = f"/{api_version}/{pixel_id}/events"
        self._params = {"access_token": access_token}
        self._http = outbound_client(base_url, transport=transport, retry=retry)

    def send(self, body: dict[str, Any]) -> None:
        response = _post(self._http, self._path, self._params, body, "Meta Conversions API")
        try:
            received = response.json().get("events_received")
        except ValueError:
            received = None
        if received != len(body["data"]):
            raise OutboundError(f"Meta Conversions API received {received} of {len(body['data'])} events")


def analytics_sinks(
    config: AnalyticsConfig,
    secrets: SecretsProvider,
    *,
    transport: httpx.BaseTransport | None = None,
    retry: Retry | None = None,
    clock: Callable[[], datetime] | None = None,
) -> list[AnalyticsSink]:
    """The configured destinations, each with its credential from the hub secret."""
    timing = {"clock": clock} if clock else {}
    sinks: list[AnalyticsSink] = []
    if config.ga4 is not None:
        secret = secrets.get("GA4_API_SECRET")
        if not secret:
            raise AnalyticsConfigError("analytics.ga4 is configured but GA4_API_SECRET is not in the hub secret")
        client = Ga4Client(config.ga4.measurement_id, secret, config.ga4.api_url, transport=transport, retry=retry)
        sinks.append(Ga4Sink(client, **timing))
    if config.meta is not None:
        token = secrets.get("META_ACCESS_TOKEN")
        if not token:
            raise AnalyticsConfigError("analytics.meta is configured but META_ACCESS_TOKEN is not in the hub secret")
        meta = config.meta
        client = MetaClient(meta.pixel_id, meta.api_version, token, meta.api_url, transport=transport, retry=retry)
        sinks.append(MetaSink(client, action_source=meta.action_source, test_event_code=meta.test_event_code, **timing))
    return sinks
