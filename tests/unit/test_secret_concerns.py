"""hub.secrets: one secret per concern, and a function reads only the secrets its environment names."""

from __future__ import annotations

import json
import re
from pathlib import Path

import boto3
import pytest
from aws_lambda_powertools.utilities import parameters
from hub.errors import SecretsError
from hub.secrets import SECRET_KEYS, SecretsProvider, concern_of, environment_variable, split_document
from moto import mock_aws

from commerce_hub.local.provision import put_secrets
from commerce_hub.local.secrets import LOCAL_DEFAULTS, PEM_FILE_VARIABLES

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def stored(monkeypatch: pytest.MonkeyPatch):
    """Every concern's secret in moto under commerce-hub/unit/<concern>; no HUB_SECRET_* set yet."""
    parameters.clear_caches()
    for concern in SECRET_KEYS:
        monkeypatch.delenv(environment_variable(concern), raising=False)
    with mock_aws():
        put_secrets(
            boto3.client("secretsmanager"),
            "commerce-hub/unit",
            {"MARKETING_UNSUBSCRIBE_SECRET": "unsubscribe-key", "KLAVIYO_API_KEY": "pk_klaviyo"},
        )
        yield
    parameters.clear_caches()


def test_every_key_is_in_exactly_one_secret():
    keys = [key for keys in SECRET_KEYS.values() for key in keys]
    assert len(keys) == len(set(keys))


def test_every_local_default_and_pem_key_belongs_to_a_secret():
    for key in [*LOCAL_DEFAULTS, *PEM_FILE_VARIABLES.values()]:
        assert concern_of(key) == "webhooks" or key == "MARKETING_UNSUBSCRIBE_SECRET", key


def test_every_key_the_code_reads_belongs_to_a_secret():
    """Every key the functions read (secrets.get / candidates / _secret / _required) has a secret."""
    pattern = re.compile(r'(?:\.get|candidates|_secret|_required\(secrets,)\s*\(?\s*"([A-Z0-9_]{6,})"')
    read = set()
    for path in [*(ROOT / "layers/shared/hub").rglob("*.py"), *(ROOT / "functions").rglob("app.py")]:
        text = path.read_text()
        if "secrets" in text:
            read.update(pattern.findall(text))
    read = {key for key in read if not key.startswith(("HUB_", "POWERTOOLS_", "AWS_"))}
    assert read, "the pattern found no key: the test would prove nothing"
    unknown = sorted(
        key for key in read if key not in {k for keys in SECRET_KEYS.values() for k in keys} | _stack_generated_keys()
    )
    assert not unknown, f"keys read by the code that no secret holds: {unknown}"


def _stack_generated_keys() -> set[str]:
    """Keys of the secrets template.yaml generates itself (the console's token), which
    `commerce-hub secrets` never writes."""
    from samtranslator.yaml_helper import yaml_parse

    resources = yaml_parse((ROOT / "template.yaml").read_text())["Resources"]
    return {
        r["Properties"]["GenerateSecretString"]["GenerateStringKey"]
        for r in resources.values()
        if r["Type"] == "AWS::SecretsManager::Secret" and "GenerateSecretString" in r["Properties"]
    }


def test_the_stack_generates_the_consoles_token_and_no_concern_holds_it():
    assert _stack_generated_keys() == {"CONSOLE_TOKEN"}
    with pytest.raises(SecretsError):
        concern_of("CONSOLE_TOKEN")


def test_a_function_reads_a_key_from_the_secret_its_environment_names(stored, monkeypatch):
    monkeypatch.setenv("HUB_SECRET_UNSUBSCRIBE", "commerce-hub/unit/unsubscribe")
    assert SecretsProvider().candidates("MARKETING_UNSUBSCRIBE_SECRET") == ["unsubscribe-key"]


def test_a_key_outside_the_functions_secrets_is_a_clear_error(stored, monkeypatch):
    # As marketing_unsubscribe is deployed: the unsubscribe secret and nothing else.
    monkeypatch.setenv("HUB_SECRET_UNSUBSCRIBE", "commerce-hub/unit/unsubscribe")
    with pytest.raises(SecretsError) as info:
        SecretsProvider().get("KLAVIYO_API_KEY")
    message = str(info.value)
    assert "may not read KLAVIYO_API_KEY" in message
    assert "marketing secret" in message and "HUB_SECRET_MARKETING" in message
    assert "pk_klaviyo" not in message


def test_a_stores_own_key_lives_with_the_key_it_stands_for():
    assert concern_of("SHOPIFY_WEBHOOK_SECRET_EU_SHOP") == "webhooks"
    assert concern_of("SHOPIFY_ACCESS_TOKEN_EU_SHOP") == "storefronts"
    assert split_document({"WOOCOMMERCE_CONSUMER_KEY_OUTLET": "ck_x"})["storefronts"] == {
        "WOOCOMMERCE_CONSUMER_KEY_OUTLET": "ck_x"
    }
    with pytest.raises(SecretsError):
        concern_of("SHOPIFY_WEBHOOK_SECRET_")


def test_a_key_no_secret_holds_is_an_error_naming_it():
    with pytest.raises(SecretsError, match="SHOPIFY_WEBHOOK_SECRTE is not a key of any hub secret"):
        SecretsProvider(secret_ids={}).get("SHOPIFY_WEBHOOK_SECRTE")


def test_secret_ids_can_be_handed_in(stored):
    provider = SecretsProvider(secret_ids={"marketing": "commerce-hub/unit/marketing"})
    assert provider.get("KLAVIYO_API_KEY") == "pk_klaviyo"
    assert provider.get("MAILCHIMP_API_KEY") is None  # in the secret's concern, not set
    with pytest.raises(SecretsError, match="may not read MARKETING_UNSUBSCRIBE_SECRET"):
        provider.get("MARKETING_UNSUBSCRIBE_SECRET")


def test_an_unreadable_secret_names_its_concern_never_a_value(stored):
    provider = SecretsProvider(secret_ids={"crm": "commerce-hub/unit/no-such-secret"})
    with pytest.raises(SecretsError, match="the hub's crm secret could not be read"):
        provider.get("HUBSPOT_ACCESS_TOKEN")


def test_one_document_is_split_into_every_concerns_secret(stored):
    client = boto3.client("secretsmanager")
    names = {s["Name"] for s in client.list_secrets()["SecretList"]}
    assert names == {f"commerce-hub/unit/{concern}" for concern in SECRET_KEYS}
    unsubscribe = client.get_secret_value(SecretId="commerce-hub/unit/unsubscribe")["SecretString"]
    assert json.loads(unsubscribe) == {"MARKETING_UNSUBSCRIBE_SECRET": "unsubscribe-key"}
    assert json.loads(client.get_secret_value(SecretId="commerce-hub/unit/crm")["SecretString"]) == {}


def test_splitting_refuses_a_key_no_secret_holds():
    with pytest.raises(SecretsError, match="STRIPE_SECRET is not a key"):
        split_document({"STRIPE_WEBHOOK_SECRET": "whsec_x", "STRIPE_SECRET": "sk_live"})
