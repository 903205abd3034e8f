"""What a WooCommerce store checks of a REST API call's credentials, for the fakes of its API.

From WooCommerce's own source and docs:
- woocommerce/woocommerce plugins/woocommerce/includes/class-wc-rest-authentication.php
  (`perform_basic_authentication`): over HTTPS the `consumer_key` and `consumer_secret` query
  parameters are used when both are present, else HTTP Basic (PHP_AUTH_USER / PHP_AUTH_PW); an
  unknown key authenticates nobody, a wrong secret is 401 `woocommerce_rest_authentication_error`
  "Consumer secret is invalid.".
- woocommerce/woocommerce-rest-api-docs source/includes/wp-api-v3/_introduction.md, "Authentication
  over HTTPS": "Occasionally some servers may not parse the Authorization header correctly (if you
  see a 'Consumer key is missing' error when authenticating over SSL, you have a server issue). In
  this case, you may provide the consumer key/secret as query string parameters instead."

`strips_authorization` plays such a host: the Authorization header never reaches PHP.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any
from urllib.parse import parse_qs, urlsplit

KEY_MISSING = {
    "code": "woocommerce_rest_authentication_error",
    "message": "Consumer key is missing.",
    "data": {"status": 401},
}
# An unknown key authenticates nobody: the route's permission check then refuses the anonymous caller.
NOBODY = {
    "code": "woocommerce_rest_cannot_view",
    "message": "Sorry, you cannot list resources.",
    "data": {"status": 401},
}
SECRET_INVALID = {
    "code": "woocommerce_rest_authentication_error",
    "message": "Consumer secret is invalid.",
    "data": {"status": 401},
}


def credentials(url: str, headers: dict[str, str], *, strips_authorization: bool = False) -> tuple[str, str] | None:
    """The consumer key and secret the store sees: the query's, else HTTP Basic's."""
    query = parse_qs(urlsplit(url).query)
    key, secret = (query.get("consumer_key") or [""])[0], (query.get("consumer_secret") or [""])[0]
    if key and secret:
        return key, secret
    authorization = {k.lower(): v for k, v in headers.items()}.get("authorization", "")
    if strips_authorization or not authorization.lower().startswith("basic "):
        return None
    try:
        user, _, password = base64.b64decode(authorization[6:], validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return (user, password) if user and password else None


def refusal(
    url: str, headers: dict[str, str], key: str, secret: str, *, strips_authorization: bool = False
) -> tuple[int, dict[str, Any]] | None:
    """None when the call carries the store's key and secret, else (401, WooCommerce's error body)."""
    seen = credentials(url, headers, strips_authorization=strips_authorization)
    if seen is None:
        return 401, KEY_MISSING
    if seen[0] != key:
        return 401, NOBODY
    if seen[1] != secret:
        return 401, SECRET_INVALID
    return None
