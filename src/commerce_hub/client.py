"""Talking to a running local stack: its URL, its API token, and signed webhook deliveries."""

from __future__ import annotations

import os
from pathlib import Path

import httpx
from hub.config import parse_config
from hub.domain.platforms import STANDARD_WEBHOOK_SECRETS
from hub.errors import ConfigError, UnknownChannelError

from commerce_hub.local.keys import local_signing_keys
from commerce_hub.local.provision import DEFAULT_CONFIG
from commerce_hub.local.secrets import channel_secret_keys, local_secrets
from commerce_hub.signing import SignedDelivery, sign_delivery

__all__ = ["HubClient", "SignedDelivery", "sign_delivery", "token_file"]


def token_file(root: Path) -> Path:
    """Where `commerce-hub local` leaves a generated API token for the other commands."""
    return root / ".commerce-hub" / "api-token"


class HubClient:
    """A small httpx client for the running stack's webhook and admin API."""

    def __init__(self, url: str, token: str | None, *, root: Path, timeout: float = 10.0) -> None:
        self.url = url.rstrip("/")
        self.root = root
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._http = httpx.Client(base_url=self.url, headers=headers, timeout=timeout)

    @classmethod
    def from_environment(cls, root: Path, url: str | None = None, token: str | None = None) -> HubClient:
        port = os.environ.get("HUB_PORT", "3000")
        token = token or os.environ.get("HUB_API_TOKEN")
        if not token and token_file(root).is_file():
            token = token_file(root).read_text().strip()
        return cls(url or f"http://127.0.0.1:{port}", token, root=root)

    def secrets(self, source: str | None = None, account: str | None = None) -> dict[str, str]:
        """The local secret document; with a storefront `source`, its standard key holds the secret
        of the channel `account` (a shop domain or site URL) belongs to, so a signer signs as that store."""
        config_text = self._config_text()
        secrets = local_secrets(os.environ, local_signing_keys(self.root), channel_secret_keys(config_text or ""))
        if source is not None and source in STANDARD_WEBHOOK_SECRETS and config_text:
            try:
                key = parse_config(config_text).webhook_channel(source, account)[1].secret_key()
            except (ConfigError, UnknownChannelError):
                key = None  # the stack will refuse it and say why
            if key and key in secrets:
                secrets[STANDARD_WEBHOOK_SECRETS[source]] = secrets[key]
        return secrets

    def _config_text(self) -> str | None:
        path = Path(os.environ.get("HUB_CONFIG") or DEFAULT_CONFIG).expanduser()
        try:
            return (path if path.is_absolute() else self.root / path).read_text(encoding="utf-8")
        except OSError:
            return None

    def send(self, source: str, delivery: SignedDelivery) -> httpx.Response:
        return self._http.post(
            f"/webhooks/{source}", content=delivery.body, headers=delivery.headers, params=delivery.params or None
        )

    def get(self, path: str) -> httpx.Response:
        return self._http.get(path)

    def put_json(self, path: str, body: dict) -> httpx.Response:
        return self._http.put(path, json=body)

    def post_json(self, path: str, body: dict) -> httpx.Response:
        return self._http.post(path, json=body)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> HubClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()
