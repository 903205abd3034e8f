"""What an Adobe Commerce 2.4.4+ store checks before it runs a REST call, for the fakes of its API.

Written from Commerce's own verification, independently of the hub's signer (which uses oauthlib):
- magento/magento2 lib/internal/Magento/Framework/Oauth/Helper/Request.php: the `oauth_*`
  parameters come from the `Authorization: OAuth ...` header (each value rawurldecoded), the query's
  `name=value` pairs are added (split on `&` and `=`, urldecoded); a JSON body takes no part.
- Laminas\\OAuth\\Signature\\AbstractSignature: each name and value percent-encoded (RFC 3986),
  sorted, joined as `name=value&...`; the base string is METHOD & encode(URL without query, host in
  lower case, no default port) & encode(parameters); the key is encode(consumer secret) & encode(token
  secret); HMAC-SHA1 or HMAC-SHA256, base64 (RFC 5849 section 3.4).
- AdobeDocs/commerce-webapi src/pages/get-started/authentication/gs-authentication-token.md: since
  2.4.4 an integration's access token used alone as a bearer token is refused unless the merchant
  enables "Allow OAuth Access Tokens to be used as standalone Bearer tokens" (off by default).
- oauth-errors.md of the same docs, and Commerce's messages: `nonce_used` (401, "The nonce is already
  being used by the consumer with ID %1"), `signature_invalid` (401, "The signature is invalid.
  Verify and try again."), `timestamp_refused` (400), `parameter_absent` (400),
  `signature_method_rejected` (400), `version_rejected` (400).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, unquote, unquote_plus, urlsplit

CONSUMER_KEY = "t5xh2dy3a8mcl9v0k4qj1wzrb6ne7gsf"
CONSUMER_SECRET = "p0c4nq8zr2vy6dk1hm5tw9lx3sb7jgea"
ACCESS_TOKEN = "0lnuajnuzeei2o8xcddii5us77xnb6v0"
ACCESS_TOKEN_SECRET = "1c6d2hycnir5ygf39fycs6zhtaagx8pd"
MAGENTO_OAUTH_SECRETS = {
    "MAGENTO_CONSUMER_KEY": CONSUMER_KEY,
    "MAGENTO_CONSUMER_SECRET": CONSUMER_SECRET,
    "MAGENTO_ACCESS_TOKEN": ACCESS_TOKEN,
    "MAGENTO_ACCESS_TOKEN_SECRET": ACCESS_TOKEN_SECRET,
}
REQUIRED = (
    "oauth_consumer_key",
    "oauth_signature",
    "oauth_signature_method",
    "oauth_nonce",
    "oauth_timestamp",
    "oauth_token",
)
TIME_DEVIATION = 600  # seconds a timestamp may lie in the future (Commerce's nonce generator)
CONSUMER_ID = "1"
NOT_AUTHORIZED = {
    "message": "The consumer isn't authorized to access %resources.",
    "parameters": {"resources": "Magento_Sales::ship"},
}


def encode(value: str) -> str:
    """RFC 3986 percent-encoding, as Laminas' Http\\Utility::urlEncode (rawurlencode, `~` kept)."""
    return quote(value, safe="~")


def normalise_url(url: str) -> str:
    parts = urlsplit(url)
    scheme, host = parts.scheme.lower(), (parts.hostname or "").lower()
    port = parts.port
    default = (scheme == "http" and port == 80) or (scheme == "https" and port == 443)
    netloc = host if port is None or default else f"{host}:{port}"
    return f"{scheme}://{netloc}{parts.path or '/'}"


def header_params(authorization: str) -> dict[str, str] | None:
    at = authorization.lower().find("oauth ")
    if at < 0:
        return None
    params: dict[str, str] = {}
    for item in authorization[at + 6 :].split(","):
        name, sep, value = item.strip().partition("=")
        if sep and name.startswith("oauth_"):
            params[unquote(name)] = unquote(value.strip('"'))
    return params


def query_params(url: str) -> dict[str, str]:
    params: dict[str, str] = {}
    for pair in (urlsplit(url).query or "").split("&"):
        parts = pair.split("=")
        if len(parts) == 2 and not parts[0].startswith("oauth_"):
            params[unquote_plus(parts[0])] = unquote_plus(parts[1])
    return params


def base_string(method: str, url: str, params: dict[str, str]) -> str:
    signed = sorted((encode(k), encode(v)) for k, v in params.items() if k != "oauth_signature")
    joined = "&".join(f"{k}={v}" for k, v in signed)
    return "&".join([method.upper(), encode(normalise_url(url)), encode(joined)])


def signature(base: str, method: str, consumer_secret: str, token_secret: str) -> str:
    digest = {"HMAC-SHA1": hashlib.sha1, "HMAC-SHA256": hashlib.sha256}[method]
    key = f"{encode(consumer_secret)}&{encode(token_secret)}".encode()
    return base64.b64encode(hmac.new(key, base.encode(), digest).digest()).decode()


@dataclass
class MagentoOAuthCheck:
    """Refuses what a store with default settings refuses: a bearer token, missing or malformed OAuth
    parameters, an unknown consumer or token, a timestamp too far ahead, a nonce seen before (checked
    before the signature, so even a refused request spends its nonce), a wrong signature."""

    consumer_key: str = CONSUMER_KEY
    consumer_secret: str = CONSUMER_SECRET
    access_token: str = ACCESS_TOKEN
    access_token_secret: str = ACCESS_TOKEN_SECRET
    allow_bearer: bool = False  # "Allow OAuth Access Tokens to be used as standalone Bearer tokens"
    nonces: set[str] = field(default_factory=set)
    refusals: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def _refuse(self, status: int, problem: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        self.refusals.append(problem)
        return status, body

    def check(self, method: str, url: str, headers: dict[str, str]) -> tuple[int, dict[str, Any]] | None:
        """None when the request may run, else (status, Commerce's error body)."""
        authorization = {k.lower(): v for k, v in headers.items()}.get("authorization", "")
        if authorization.lower().startswith("bearer "):
            if self.allow_bearer and authorization[7:] == self.access_token:
                return None
            return self._refuse(401, "bearer_refused", NOT_AUTHORIZED)
        params = header_params(authorization)
        if params is None:
            return self._refuse(401, "not_oauth", NOT_AUTHORIZED)
        absent = [name for name in REQUIRED if not params.get(name)]
        if absent:
            return self._refuse(400, "parameter_absent", {"message": f"oauth_problem=parameter_absent&{absent[0]}"})
        if params.get("oauth_version", "1.0") != "1.0":
            return self._refuse(400, "version_rejected", {"message": "The Oauth version isn't supported."})
        method_name = params["oauth_signature_method"]
        if method_name not in ("HMAC-SHA1", "HMAC-SHA256"):
            return self._refuse(400, "signature_method_rejected", {"message": f"{method_name} isn't supported."})
        if params["oauth_consumer_key"] != self.consumer_key:
            return self._refuse(401, "consumer_key_rejected", {"message": "Consumer key is not the correct length."})
        if params["oauth_token"] != self.access_token:
            return self._refuse(401, "token_rejected", {"message": "Specified token does not exist."})
        timestamp = params["oauth_timestamp"]
        if not timestamp.isdigit() or int(timestamp) <= 0 or int(timestamp) > time.time() + TIME_DEVIATION:
            return self._refuse(
                400, "timestamp_refused", {"message": "Incorrect timestamp value in the oauth_timestamp parameter"}
            )
        with self.lock:
            if params["oauth_nonce"] in self.nonces:
                return self._refuse(
                    401,
                    "nonce_used",
                    {
                        "message": "The nonce is already being used by the consumer with ID %1.",
                        "parameters": [CONSUMER_ID],
                    },
                )
            self.nonces.add(params["oauth_nonce"])
        signed = {**query_params(url), **{k: v for k, v in params.items() if k != "oauth_signature"}}
        expected = signature(
            base_string(method, url, signed), method_name, self.consumer_secret, self.access_token_secret
        )
        if not hmac.compare_digest(expected, params["oauth_signature"]):
            return self._refuse(
                401, "signature_invalid", {"message": "The signature is invalid. Verify and try again."}
            )
        return None
