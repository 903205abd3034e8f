"""How the hub authenticates to WooCommerce's and Adobe Commerce's REST APIs: one place for the stock
pushes (storefront_stock) and the shipment write-back (storefronts).

- WooCommerce (`auth: basic`, the default): HTTP Basic with WOOCOMMERCE_CONSUMER_KEY and
  WOOCOMMERCE_CONSUMER_SECRET. `auth: query_string` sends them as the `consumer_key` and
  `consumer_secret` query parameters instead, as WooCommerce documents for servers that do not
  pass the Authorization header on to PHP (the store then answers 401 "Consumer key is missing").
  WooCommerce accepts either only over HTTPS, so the configuration refuses an `http://` site
  (hub.config). The credentials are added to the request on the wire, below the client, so the
  URL httpx logs for each request never holds them.
- Adobe Commerce (`auth: oauth1`, the default): every request is signed with OAuth 1.0a,
  HMAC-SHA256, with the integration's MAGENTO_CONSUMER_KEY, MAGENTO_CONSUMER_SECRET,
  MAGENTO_ACCESS_TOKEN and MAGENTO_ACCESS_TOKEN_SECRET (oauthlib computes the signature). Since
  2.4.4 Commerce refuses an integration's access token used alone as a bearer token unless the
  merchant turns on "Allow OAuth Access Tokens to be used as standalone Bearer tokens", which Adobe
  advises against; `auth: bearer` sends MAGENTO_ACCESS_TOKEN that way, for stores that did.

Each attempt is signed afresh, below the retries (hub.adapters.http): Commerce records every
nonce it sees, before it checks the signature, and refuses one it has seen, so a retry that sent
the first attempt's signature again would be refused. Only the URL's query takes part in the
signature (the JSON body does not, as RFC 5849 section 3.4.1.3 has it for bodies that are not
form-encoded), and Commerce normalises the URL as RFC 5849 does: lower-case host, no default port.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx
from httpx_retries import Retry
from oauthlib.common import generate_nonce
from oauthlib.oauth1 import SIGNATURE_HMAC_SHA256, Client

from hub.adapters.bigcommerce import TOKEN_KEY as BIGCOMMERCE_TOKEN_KEY
from hub.adapters.http import outbound_client
from hub.config import ChannelConfig
from hub.errors import CredentialsMissingError, OutboundError, SecretsError
from hub.secrets import SecretsProvider

__all__ = [
    "MAGENTO_OAUTH_KEYS",
    "MagentoOAuthSigner",
    "magento_client",
    "required_secret",
    "woocommerce_client",
]

# The four values an Adobe Commerce integration shows once activated, as keys of the storefronts secret.
MAGENTO_OAUTH_KEYS = (
    "MAGENTO_CONSUMER_KEY",
    "MAGENTO_CONSUMER_SECRET",
    "MAGENTO_ACCESS_TOKEN",
    "MAGENTO_ACCESS_TOKEN_SECRET",
)


def required_secret(secrets: SecretsProvider, name: str, channel: str, purpose: str) -> str:
    """The value of `name`, else CredentialsMissingError naming the key, the channel and what it was for."""
    try:
        value = secrets.get(name)
    except SecretsError as exc:
        raise CredentialsMissingError(f"{name} could not be read for {channel} ({purpose}): {exc}") from exc
    if not value:
        raise CredentialsMissingError(f"{name} is not in the hub secret, so {purpose} {channel} is not possible")
    return value


class MagentoOAuthSigner:
    """Signs a request with OAuth 1.0a HMAC-SHA256 in the Authorization header; a new nonce and
    timestamp each time. `nonce`, `clock` and `signature_method` (HMAC-SHA1, which Commerce also
    accepts) are for tests against published vectors."""

    def __init__(
        self,
        consumer_key: str,
        consumer_secret: str,
        access_token: str,
        access_token_secret: str,
        *,
        nonce: Callable[[], str] | None = None,
        clock: Callable[[], float] = time.time,
        signature_method: str = SIGNATURE_HMAC_SHA256,
    ) -> None:
        self._credentials = (consumer_key, consumer_secret, access_token, access_token_secret)
        self._nonce = nonce
        self._clock = clock
        self._method = signature_method

    def authorization(self, method: str, url: str) -> str:
        """The Authorization header value for `method` on `url` (the full URL, query included)."""
        key, secret, token, token_secret = self._credentials
        client = Client(
            key,
            client_secret=secret,
            resource_owner_key=token,
            resource_owner_secret=token_secret,
            signature_method=self._method,
            nonce=self._nonce() if self._nonce else generate_nonce(),
            timestamp=str(int(self._clock())),
        )
        # No body: a JSON body takes no part in the signature, and no oauth_body_hash is sent.
        _, headers, _ = client.sign(url, method)
        return headers["Authorization"]

    def __call__(self, request: httpx.Request) -> httpx.Request:
        headers = httpx.Headers(request.headers)
        headers["Authorization"] = self.authorization(request.method, str(request.url))
        return _copy(request, headers=headers)


class _QueryCredentials:
    """Adds WooCommerce's consumer_key and consumer_secret to the query of the request on the wire."""

    def __init__(self, key: str, secret: str) -> None:
        self._params = {"consumer_key": key, "consumer_secret": secret}

    def __call__(self, request: httpx.Request) -> httpx.Request:
        return _copy(request, url=request.url.copy_merge_params(self._params))


def _copy(
    request: httpx.Request, *, url: httpx.URL | None = None, headers: httpx.Headers | None = None
) -> httpx.Request:
    """The request as sent on this attempt; the client's own request (which httpx logs) is left as it was."""
    return httpx.Request(
        request.method,
        url or request.url,
        headers=headers if headers is not None else request.headers,
        stream=request.stream,
        extensions=request.extensions,
    )


def woocommerce_client(
    channel: str,
    config: ChannelConfig,
    base: str,
    secrets: SecretsProvider,
    purpose: str,
    *,
    transport: httpx.BaseTransport | None = None,
    retry: Retry | None = None,
) -> httpx.Client:
    key = required_secret(secrets, "WOOCOMMERCE_CONSUMER_KEY", channel, purpose)
    secret = required_secret(secrets, "WOOCOMMERCE_CONSUMER_SECRET", channel, purpose)
    if config.auth == "query_string":
        return outbound_client(base, transport=transport, retry=retry, sign=_QueryCredentials(key, secret))
    return outbound_client(base, auth=httpx.BasicAuth(key, secret), transport=transport, retry=retry)


def magento_client(
    channel: str,
    config: ChannelConfig,
    base: str,
    secrets: SecretsProvider,
    purpose: str,
    *,
    transport: httpx.BaseTransport | None = None,
    retry: Retry | None = None,
    signer_options: dict[str, Any] | None = None,
) -> httpx.Client:
    if config.auth == "bearer":
        token = required_secret(secrets, "MAGENTO_ACCESS_TOKEN", channel, purpose)
        return outbound_client(base, headers={"Authorization": f"Bearer {token}"}, transport=transport, retry=retry)
    values = [required_secret(secrets, name, channel, purpose) for name in MAGENTO_OAUTH_KEYS]
    signer = MagentoOAuthSigner(*values, **(signer_options or {}))
    return outbound_client(base, transport=transport, retry=retry, sign=signer)


class StorefrontClients:
    """A channel's authenticated API client, whatever its platform: the one place that turns the
    storefronts secret's keys into credentials for stock pushes and product pushes alike. `purpose`
    ("pushing stock to") names what a missing key stops, in the error."""

    def __init__(
        self, secrets: SecretsProvider, transport: httpx.BaseTransport | None = None, retry: Retry | None = None
    ):
        self._secrets = secrets
        self._transport = transport
        self._retry = retry

    def client(self, channel: str, config: ChannelConfig, base: str, purpose: str) -> httpx.Client:
        if config.platform == "shopify":
            token = required_secret(self._secrets, "SHOPIFY_ACCESS_TOKEN", channel, purpose)
            headers = {"X-Shopify-Access-Token": token}
            return outbound_client(base, headers=headers, transport=self._transport, retry=self._retry)
        if config.platform == "woocommerce":
            return woocommerce_client(
                channel, config, base, self._secrets, purpose, transport=self._transport, retry=self._retry
            )
        if config.platform == "magento":
            return magento_client(
                channel, config, base, self._secrets, purpose, transport=self._transport, retry=self._retry
            )
        if config.platform == "bigcommerce":
            token = required_secret(self._secrets, BIGCOMMERCE_TOKEN_KEY, channel, purpose)
            headers = {"X-Auth-Token": token, "Accept": "application/json"}
            return outbound_client(base, headers=headers, transport=self._transport, retry=self._retry)
        raise OutboundError(f"the hub has no API client for {config.platform} ({purpose} channel {channel})")
