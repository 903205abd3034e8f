"""Webhook secrets and API credentials: keys of one Secrets Manager secret (JSON) per concern.

Each key lives in exactly one secret, named by its concern (`SECRET_KEYS` below is the only map),
so a function can be given the secrets it uses and no others: the public unsubscribe page reads
the link-signing secret and nothing else, intake reads the webhook secrets and the storefront
tokens it needs to read BigCommerce resources, and so on. A function's environment names each
secret it may read, `HUB_SECRET_<CONCERN>` = the secret's name or ARN, and its IAM policy allows
exactly those; asking for a key of any other secret is a `SecretsError` that says so.

A value is one secret, exactly as given: it is never split, because vendors' secrets hold commas
and spaces (WooCommerce generates them with `wp_generate_password(50, true, true)`). During a
rotation a value is a JSON array of strings, `["old-secret", "new-secret"]`: any one verifies, and
the last is the newest (the one to sign or call with). See `secret_values` for the exact rule.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

from hub.errors import SecretsError

__all__ = [
    "SECRET_KEYS",
    "SecretsProvider",
    "concern_of",
    "environment_variable",
    "secret_values",
    "split_document",
]

_CACHE_SECONDS = 300

# Concern -> the keys its secret holds. The one place that says which secret holds a key.
SECRET_KEYS: dict[str, tuple[str, ...]] = {
    # What the senders sign with, and what verifying needs: webhook_intake only.
    "webhooks": (
        "SHOPIFY_WEBHOOK_SECRET",
        "WOOCOMMERCE_WEBHOOK_SECRET",
        "BIGCOMMERCE_CLIENT_SECRET",
        "ADOBE_IO_PUBLIC_KEY",
        "ADOBE_IO_CLIENT_ID",
        "STRIPE_WEBHOOK_SECRET",
        "PAYPAL_WEBHOOK_ID",
        "PAYPAL_CERT",
        "SQUARE_WEBHOOK_SIGNATURE_KEY",
        "SQUARE_NOTIFICATION_URL",
        "EASYPOST_WEBHOOK_SECRET",
        "SHIPPO_WEBHOOK_TOKEN",
    ),
    # Storefront Admin/REST API credentials: reads (intake, resource_fetch), stock pushes
    # (channel_sync) and shipment write-back (order_routing).
    "storefronts": (
        "SHOPIFY_ACCESS_TOKEN",
        "WOOCOMMERCE_CONSUMER_KEY",
        "WOOCOMMERCE_CONSUMER_SECRET",
        # An Adobe Commerce integration's OAuth 1.0a credentials (MAGENTO_ACCESS_TOKEN alone: `auth: bearer`).
        "MAGENTO_CONSUMER_KEY",
        "MAGENTO_CONSUMER_SECRET",
        "MAGENTO_ACCESS_TOKEN",
        "MAGENTO_ACCESS_TOKEN_SECRET",
        "BIGCOMMERCE_ACCESS_TOKEN",
    ),
    # Payment gateway API credentials: the reconciler lists what changed (docs/reconciliation.md).
    "gateways": (
        "STRIPE_API_KEY",
        "SQUARE_ACCESS_TOKEN",
        "PAYPAL_CLIENT_ID",
        "PAYPAL_CLIENT_SECRET",
    ),
    # Carrier API keys that buy labels: order_routing only.
    "carriers": ("EASYPOST_API_KEY", "SHIPPO_API_TOKEN"),
    "crm": (
        "HUBSPOT_ACCESS_TOKEN",
        "SALESFORCE_INSTANCE_URL",
        "SALESFORCE_CLIENT_ID",
        "SALESFORCE_CLIENT_SECRET",
        "SALESFORCE_ACCESS_TOKEN",
    ),
    "marketing": ("KLAVIYO_API_KEY", "MAILCHIMP_API_KEY"),
    "analytics": ("GA4_API_SECRET", "META_ACCESS_TOKEN"),
    # The service account key file (JSON) the GA4 Data API is read with: traffic_import only.
    "traffic": ("GA4_SERVICE_ACCOUNT_JSON",),
    # Ad audiences (ad_audiences only): Meta Custom Audiences, Google Ads Customer Match.
    "audiences": (
        "META_ADS_ACCESS_TOKEN",
        "GOOGLE_ADS_DEVELOPER_TOKEN",
        "GOOGLE_ADS_CLIENT_ID",
        "GOOGLE_ADS_CLIENT_SECRET",
        "GOOGLE_ADS_REFRESH_TOKEN",
    ),
    # Social posting (marketing_triggers, marketing.social): one token per network.
    "social": ("FACEBOOK_PAGE_ACCESS_TOKEN", "INSTAGRAM_ACCESS_TOKEN", "PINTEREST_ACCESS_TOKEN"),
    # Signs the unsubscribe links (marketing_triggers) and verifies them (marketing_unsubscribe).
    "unsubscribe": ("MARKETING_UNSUBSCRIBE_SECRET",),
    # The salt of erasure keys, when the merchant sets one (else it is generated into the table).
    "privacy": ("CUSTOMER_KEY_SALT",),
}

_CONCERN_OF_KEY: dict[str, str] = {key: concern for concern, keys in SECRET_KEYS.items() for key in keys}


def concern_of(key: str) -> str:
    """The concern whose secret holds `key`; SecretsError for a key no secret holds.

    A store's own key is named after the key it stands for plus a suffix (`SHOPIFY_WEBHOOK_SECRET_EU`,
    `SHOPIFY_ACCESS_TOKEN_EU`) and lives in the same secret.
    """
    if key in _CONCERN_OF_KEY:
        return _CONCERN_OF_KEY[key]
    family = [known for known in _CONCERN_OF_KEY if key.startswith(known + "_") and len(key) > len(known) + 1]
    if family:
        return _CONCERN_OF_KEY[max(family, key=len)]
    raise SecretsError(f"{key} is not a key of any hub secret")


def environment_variable(concern: str) -> str:
    """The environment variable naming a concern's secret, e.g. HUB_SECRET_WEBHOOKS."""
    return f"HUB_SECRET_{concern.upper()}"


def split_document(document: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """One JSON document of every key -> one document per concern (every concern, even empty).

    This is what keeps setup to one command: the merchant writes one document, and each secret
    receives its own keys. A key no secret holds is an error naming it (a typo would otherwise
    leave a credential silently unused).
    """
    split: dict[str, dict[str, Any]] = {concern: {} for concern in SECRET_KEYS}
    for key, value in document.items():
        split[concern_of(key)][key] = value
    return split


class SecretsProvider:
    """Reads keys from the secrets this function may read.

    `values` (tests) is one flat document holding every key. Otherwise each key is read from its
    concern's secret, named by `secret_ids` (concern -> name or ARN) or, by default, by the
    function's environment (`HUB_SECRET_<CONCERN>`).
    """

    def __init__(self, secret_ids: Mapping[str, str] | None = None, values: Mapping[str, str] | None = None) -> None:
        self._secret_ids = dict(secret_ids) if secret_ids is not None else None
        self._values = values

    def _secret_id(self, key: str) -> str:
        concern = concern_of(key)
        if self._secret_ids is not None:
            secret_id = self._secret_ids.get(concern)
        else:
            secret_id = os.environ.get(environment_variable(concern))
        if not secret_id:
            raise SecretsError(
                f"this function may not read {key}: it is kept in the {concern} secret, which "
                f"{environment_variable(concern)} does not name for this function"
            )
        return secret_id

    def _document(self, key: str) -> Mapping[str, Any]:
        if self._values is not None:
            return self._values
        secret_id = self._secret_id(key)
        from aws_lambda_powertools.utilities import parameters

        concern = concern_of(key)
        try:
            value = parameters.get_secret(secret_id, transform="json", max_age=_CACHE_SECONDS)
        except parameters.exceptions.GetParameterError as exc:
            raise SecretsError(f"the hub's {concern} secret could not be read") from exc
        except parameters.exceptions.TransformParameterError as exc:
            raise SecretsError(f"the hub's {concern} secret is not a JSON object") from exc
        if not isinstance(value, dict):
            raise SecretsError(f"the hub's {concern} secret is not a JSON object")
        return value

    def _raw(self, name: str) -> str | None:
        value = self._document(name).get(name)
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
