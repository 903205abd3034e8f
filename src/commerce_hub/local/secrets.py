"""The secrets of the local stack, shared by the runner and by `commerce-hub send`.

In AWS these are keys of the hub's Secrets Manager secrets, one secret per concern (webhooks,
storefronts, carriers, crm, ... : `hub.secrets.SECRET_KEYS`). Locally the runner splits the same JSON
document into the same secrets in the emulator's Secrets Manager, so the functions read them exactly
as in AWS; `send` imports `local_secrets` to sign sample payloads with the very same values.

Each value comes from the environment variable of the same name when it is set, else from
LOCAL_DEFAULTS. Every other key of the hub's secrets (the API credentials outbound calls use:
SHOPIFY_ACCESS_TOKEN, the WooCommerce and Adobe Commerce keys, the carrier, CRM, marketing and
analytics tokens; `credential_keys`) is read from its environment variable when set and has no
default: a call that needs one that is unset fails with a reason naming the key. A value is one secret, exactly as given (commas and spaces are part of it: WooCommerce's
generated secrets hold both); during a rotation it is a JSON array of strings, '["old", "new"]', any
one of which verifies and the last of which `send` signs with (hub.secrets.secret_values).
The two PEM variables name files; their contents are stored under ADOBE_IO_PUBLIC_KEY and
PAYPAL_CERT, and only when the variable is set (there is no default key or certificate).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

import yaml
from hub.errors import SecretsError
from hub.secrets import SECRET_KEYS, secret_values

from commerce_hub.local.keys import LocalKeys

__all__ = [
    "LOCAL_DEFAULTS",
    "PEM_FILE_VARIABLES",
    "SECRETS_PREFIX",
    "channel_secret_keys",
    "credential_keys",
    "local_secrets",
]

# The local secrets are named <prefix>/<concern> (the template's SecretsPrefix parameter).
SECRETS_PREFIX = "commerce-hub/local"

# Documented local defaults. They are public, so they only ever protect a laptop.
LOCAL_DEFAULTS: dict[str, str] = {
    "SHOPIFY_WEBHOOK_SECRET": "local-shopify-webhook-secret",
    "WOOCOMMERCE_WEBHOOK_SECRET": "local-woocommerce-webhook-secret",
    "BIGCOMMERCE_CLIENT_SECRET": "local-bigcommerce-client-secret",
    "STRIPE_WEBHOOK_SECRET": "whsec_local_stripe_webhook_secret",
    "PAYPAL_WEBHOOK_ID": "LOCAL-PAYPAL-WEBHOOK-ID",
    # The hub's own Adobe I/O client id: events whose recipient_client_id is another integration's are
    # refused. The local default is the recipient of the Adobe samples in events/, so they verify.
    "ADOBE_IO_CLIENT_ID": "b41f6c2e9d0a4e7b8c35f1a2d6e90c47",
    "SQUARE_WEBHOOK_SIGNATURE_KEY": "local-square-signature-key",
    # Square signs the notification URL with the body; the default is the local stack's own URL,
    # on $HUB_PORT, so a payload signed by `send` verifies against the running stack.
    "SQUARE_NOTIFICATION_URL": "http://127.0.0.1:{port}/webhooks/square",
    # Carriers' tracking webhooks: EasyPost signs with its webhook secret; Shippo's URL carries a token.
    "EASYPOST_WEBHOOK_SECRET": "local-easypost-webhook-secret",
    "SHIPPO_WEBHOOK_TOKEN": "local-shippo-webhook-token",
    # Signs the unsubscribe links of marketing email (GET /unsubscribe?token=...).
    "MARKETING_UNSUBSCRIBE_SECRET": "local-marketing-unsubscribe-secret",
}

# Environment variable naming a PEM file -> key under which the file's text is stored.
PEM_FILE_VARIABLES: dict[str, str] = {
    "ADOBE_IO_PUBLIC_KEY_FILE": "ADOBE_IO_PUBLIC_KEY",
    "PAYPAL_CERT_FILE": "PAYPAL_CERT",
}

DEFAULT_HTTP_PORT = 3000


def credential_keys() -> list[str]:
    """The keys of the hub's secrets with no local default and no PEM file: API tokens and keys,
    each read from the environment variable of the same name when set (hub.secrets.SECRET_KEYS)."""
    own = {*LOCAL_DEFAULTS, *PEM_FILE_VARIABLES.values()}
    return [key for keys in SECRET_KEYS.values() for key in keys if key not in own]


def _checked(name: str, value: str) -> str:
    try:
        secret_values(name, value)
    except SecretsError as exc:
        raise ValueError(str(exc)) from None
    return value


def channel_secret_keys(config_text: str) -> list[str]:
    """The secret keys the configuration's channels name (`channels.<id>.webhook_secret`), which the
    local secret takes from the environment variables of the same names."""
    try:
        document = yaml.safe_load(config_text)
    except yaml.YAMLError:
        return []
    channels = document.get("channels") if isinstance(document, dict) else None
    if not isinstance(channels, dict):
        return []
    keys = [ch.get("webhook_secret") for ch in channels.values() if isinstance(ch, dict)]
    return sorted({k for k in keys if isinstance(k, str) and k})


def local_secrets(
    environ: Mapping[str, str], keys: LocalKeys | None = None, channel_keys: Iterable[str] = ()
) -> dict[str, str]:
    """The secret document for the local stack: environment values, else the local defaults.

    With `keys`, the public halves of the checkout's local signing keys are trusted for PayPal and
    Adobe I/O unless PAYPAL_CERT_FILE / ADOBE_IO_PUBLIC_KEY_FILE name files of your own.

    The API credentials (`credential_keys`) and `channel_keys` (see channel_secret_keys) are read from
    the environment when set; they have no default, so a channel whose webhook secret variable is
    unset refuses every delivery, and a call whose credential is unset fails, each naming the variable.

    Raises ValueError (naming the variable, never a value) when a PEM file cannot be read or a value
    that starts with '[' is not a JSON array of strings, so the stack refuses to start rather than
    refuse every delivery.
    """
    port = environ.get("HUB_PORT") or str(DEFAULT_HTTP_PORT)
    secrets: dict[str, str] = {}
    for name, default in LOCAL_DEFAULTS.items():
        value = environ.get(name)
        secrets[name] = _checked(name, value if value else default.format(port=port))
    for name in (*credential_keys(), *channel_keys):
        if name not in secrets and environ.get(name):
            secrets[name] = _checked(name, environ[name])
    generated = {"PAYPAL_CERT": keys.paypal_certificate, "ADOBE_IO_PUBLIC_KEY": keys.adobe_public_key} if keys else {}
    for variable, key in PEM_FILE_VARIABLES.items():
        path = environ.get(variable)
        if not path:
            if key in generated:
                secrets[key] = generated[key]
            continue
        try:
            secrets[key] = Path(path).expanduser().read_text(encoding="utf-8")
        except OSError as exc:
            raise ValueError(f"{variable} names a file that cannot be read: {path} ({exc.strerror})") from exc
    return secrets
