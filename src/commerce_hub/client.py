"""Talking to a running local stack: its URL, its API token, and signed webhook deliveries."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx

from commerce_hub.local.secrets import local_secrets

__all__ = ["HubClient", "SignedDelivery", "sign_delivery", "token_file"]

DEFAULT_SHOP = "commerce-hub-local.myshopify.com"


def token_file(root: Path) -> Path:
    """Where `commerce-hub local` leaves a generated API token for the other commands."""
    return root / ".commerce-hub" / "api-token"


@dataclass(frozen=True)
class SignedDelivery:
    headers: dict[str, str]
    body: bytes


def _b64_hmac(secret: str, message: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), message, hashlib.sha256).digest()).decode()


def sign_delivery(
    source: str,
    body: bytes,
    *,
    topic: str | None,
    secrets: Mapping[str, str],
    delivery_id: str | None = None,
    account: str | None = None,
) -> SignedDelivery:
    """Headers as the vendor would send them, signed with the first configured secret."""
    delivery_id = delivery_id or str(uuid.uuid4())
    if source == "shopify":
        secret = secrets["SHOPIFY_WEBHOOK_SECRET"].split(",")[0].strip()
        return SignedDelivery(
            {
                "Content-Type": "application/json",
                "X-Shopify-Topic": topic or "orders/create",
                "X-Shopify-Shop-Domain": account or DEFAULT_SHOP,
                "X-Shopify-Webhook-Id": delivery_id,
                "X-Shopify-Event-Id": delivery_id,
                "X-Shopify-Triggered-At": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
                "X-Shopify-API-Version": "2025-10",
                "X-Shopify-Hmac-Sha256": _b64_hmac(secret, body),
            },
            body,
        )
    raise ValueError(f"signing for '{source}' is not available; sources that can be sent: shopify")


class HubClient:
    """A small httpx client for the running stack's webhook and admin API."""

    def __init__(self, url: str, token: str | None, *, timeout: float = 10.0) -> None:
        self.url = url.rstrip("/")
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._http = httpx.Client(base_url=self.url, headers=headers, timeout=timeout)

    @classmethod
    def from_environment(cls, root: Path, url: str | None = None, token: str | None = None) -> HubClient:
        port = os.environ.get("HUB_PORT", "3000")
        token = token or os.environ.get("HUB_API_TOKEN")
        if not token and token_file(root).is_file():
            token = token_file(root).read_text().strip()
        return cls(url or f"http://127.0.0.1:{port}", token)

    def secrets(self) -> dict[str, str]:
        return local_secrets(os.environ)

    def send(self, source: str, delivery: SignedDelivery) -> httpx.Response:
        return self._http.post(f"/webhooks/{source}", content=delivery.body, headers=delivery.headers)

    def get(self, path: str) -> httpx.Response:
        return self._http.get(path)

    def put_json(self, path: str, body: dict) -> httpx.Response:
        return self._http.put(path, json=body)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> HubClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()
