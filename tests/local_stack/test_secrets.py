"""The local secret document: environment values win, documented defaults fill the rest."""

from __future__ import annotations

from pathlib import Path

import pytest
from hub.secrets import SECRET_KEYS

from commerce_hub.local.secrets import LOCAL_DEFAULTS, PEM_FILE_VARIABLES, credential_keys, local_secrets

NAMES = [
    "SHOPIFY_WEBHOOK_SECRET",
    "WOOCOMMERCE_WEBHOOK_SECRET",
    "BIGCOMMERCE_CLIENT_SECRET",
    "STRIPE_WEBHOOK_SECRET",
    "PAYPAL_WEBHOOK_ID",
    "ADOBE_IO_CLIENT_ID",
    "SQUARE_WEBHOOK_SIGNATURE_KEY",
    "SQUARE_NOTIFICATION_URL",
    "EASYPOST_WEBHOOK_SECRET",
    "SHIPPO_WEBHOOK_TOKEN",
    "MARKETING_UNSUBSCRIBE_SECRET",
]


def test_defaults_cover_every_documented_variable() -> None:
    secrets = local_secrets({})
    assert sorted(secrets) == sorted(NAMES)
    assert sorted(LOCAL_DEFAULTS) == sorted(NAMES)
    assert all(secrets.values())
    assert secrets["SQUARE_NOTIFICATION_URL"] == "http://127.0.0.1:3000/webhooks/square"


def test_environment_values_win_and_keep_rotation_lists() -> None:
    rotation = '["old", "new"]'
    secrets = local_secrets({"SHOPIFY_WEBHOOK_SECRET": rotation, "STRIPE_WEBHOOK_SECRET": "whsec_x"})
    assert secrets["SHOPIFY_WEBHOOK_SECRET"] == rotation
    assert secrets["STRIPE_WEBHOOK_SECRET"] == "whsec_x"
    assert secrets["WOOCOMMERCE_WEBHOOK_SECRET"] == LOCAL_DEFAULTS["WOOCOMMERCE_WEBHOOK_SECRET"]


def test_an_empty_variable_counts_as_unset() -> None:
    assert local_secrets({"PAYPAL_WEBHOOK_ID": ""})["PAYPAL_WEBHOOK_ID"] == LOCAL_DEFAULTS["PAYPAL_WEBHOOK_ID"]


def test_the_square_url_follows_hub_port() -> None:
    assert local_secrets({"HUB_PORT": "8080"})["SQUARE_NOTIFICATION_URL"] == "http://127.0.0.1:8080/webhooks/square"


def test_pem_files_are_stored_by_content(tmp_path: Path) -> None:
    key = tmp_path / "adobe.pem"
    key.write_text("-----BEGIN PUBLIC KEY-----\nabc\n-----END PUBLIC KEY-----\n")
    cert = tmp_path / "paypal.pem"
    cert.write_text("-----BEGIN CERTIFICATE-----\nxyz\n-----END CERTIFICATE-----\n")
    secrets = local_secrets({"ADOBE_IO_PUBLIC_KEY_FILE": str(key), "PAYPAL_CERT_FILE": str(cert)})
    assert secrets["ADOBE_IO_PUBLIC_KEY"] == key.read_text()
    assert secrets["PAYPAL_CERT"] == cert.read_text()
    assert "ADOBE_IO_PUBLIC_KEY" not in local_secrets({})


def test_an_unreadable_pem_file_names_the_variable(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="PAYPAL_CERT_FILE names a file that cannot be read"):
        local_secrets({"PAYPAL_CERT_FILE": str(tmp_path / "missing.pem")})


def test_a_woocommerce_secret_with_commas_and_spaces_is_kept_whole() -> None:
    # Generated like wp_generate_password(50, true, true): commas, spaces, brackets, '&' and quotes.
    secret = 'x7,Q a]b{"c&d=f,g<h> ~j|k;l:m/n?o.p+q-r_s!t@u#v$w% '
    assert local_secrets({"WOOCOMMERCE_WEBHOOK_SECRET": secret})["WOOCOMMERCE_WEBHOOK_SECRET"] == secret


def test_a_malformed_rotation_array_stops_the_stack_naming_the_variable() -> None:
    with pytest.raises(ValueError, match="SHOPIFY_WEBHOOK_SECRET starts with") as caught:
        local_secrets({"SHOPIFY_WEBHOOK_SECRET": '["old-value", "new-value"'})
    assert "old-value" not in str(caught.value)


def test_channels_naming_their_secret_read_it_from_the_variable_of_that_name() -> None:
    from commerce_hub.local.secrets import channel_secret_keys

    config = (
        "channels:\n"
        "  eu: {platform: shopify, shop_domain: eu.myshopify.com, webhook_secret: SHOPIFY_WEBHOOK_SECRET_EU}\n"
        "  us: {platform: shopify, shop_domain: us.myshopify.com, webhook_secret: SHOPIFY_WEBHOOK_SECRET_US}\n"
    )
    keys = channel_secret_keys(config)
    assert keys == ["SHOPIFY_WEBHOOK_SECRET_EU", "SHOPIFY_WEBHOOK_SECRET_US"]
    secrets = local_secrets({"SHOPIFY_WEBHOOK_SECRET_EU": '["old-eu", "new-eu"]'}, channel_keys=keys)
    assert secrets["SHOPIFY_WEBHOOK_SECRET_EU"] == '["old-eu", "new-eu"]'
    assert "SHOPIFY_WEBHOOK_SECRET_US" not in secrets  # no default: that channel refuses, naming the key
    with pytest.raises(ValueError, match="SHOPIFY_WEBHOOK_SECRET_US starts with"):
        local_secrets({"SHOPIFY_WEBHOOK_SECRET_US": "[broken"}, channel_keys=keys)


def _readme_variables() -> set[str]:
    """The variables of the README's table of environment variables (first column, in backticks)."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    table = readme.split("### Environment variables", 1)[1].split("\n\n", 2)[1]
    names: set[str] = set()
    for row in table.splitlines()[2:]:
        first = row.split("|")[1]
        names.update(part.strip("` ") for part in first.replace("/", ",").split(",") if part.strip("` "))
    return names


def test_every_credential_the_readme_lists_is_read_from_the_environment() -> None:
    documented = _readme_variables()
    every_key = {key for keys in SECRET_KEYS.values() for key in keys}
    # Each key of the hub's secrets is documented, as itself or as the PEM file it is read from.
    pem_keys = {key: variable for variable, key in PEM_FILE_VARIABLES.items()}
    assert {pem_keys.get(k, k) for k in every_key} <= documented
    credentials = sorted(documented & set(credential_keys()))
    assert "SHOPIFY_ACCESS_TOKEN" in credentials and "MAGENTO_ACCESS_TOKEN_SECRET" in credentials
    environ = {name: f"value of {name}, with a comma" for name in credentials}
    secrets = local_secrets(environ)
    assert {name: secrets.get(name) for name in credentials} == environ


def test_an_unset_credential_has_no_default() -> None:
    secrets = local_secrets({"SHOPIFY_ACCESS_TOKEN": ""})
    assert "SHOPIFY_ACCESS_TOKEN" not in secrets and "HUBSPOT_ACCESS_TOKEN" not in secrets


def test_a_malformed_credential_rotation_stops_the_stack_naming_it() -> None:
    with pytest.raises(ValueError, match="KLAVIYO_API_KEY starts with"):
        local_secrets({"KLAVIYO_API_KEY": "[pk_broken"})
