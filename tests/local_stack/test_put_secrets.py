"""`commerce-hub secrets FILE --prefix P`: every hub secret from one JSON document, in one command."""

from __future__ import annotations

import json

import boto3
import pytest
from hub.secrets import SECRET_KEYS
from moto import mock_aws

from commerce_hub.cli import main

# A realistic WooCommerce secret (wp_generate_password(50, true, true) alphabet): commas, spaces,
# brackets, quotes and & are stored as they are, never split.
WOO_SECRET = 'k3,J ]"x&(P{q;w8`Z~a^Lr?t,N2'


def test_one_document_creates_every_concerns_secret(tmp_path, capsys):
    document = tmp_path / "secrets.json"
    document.write_text(json.dumps({"WOOCOMMERCE_WEBHOOK_SECRET": WOO_SECRET, "HUBSPOT_ACCESS_TOKEN": "pat-na1-x"}))
    with mock_aws():
        assert main(["secrets", str(document), "--prefix", "commerce-hub/prod"]) == 0
        client = boto3.client("secretsmanager")
        names = {s["Name"] for s in client.list_secrets()["SecretList"]}
        assert names == {f"commerce-hub/prod/{concern}" for concern in SECRET_KEYS}
        webhooks = json.loads(client.get_secret_value(SecretId="commerce-hub/prod/webhooks")["SecretString"])
        assert webhooks == {"WOOCOMMERCE_WEBHOOK_SECRET": WOO_SECRET}
        crm = json.loads(client.get_secret_value(SecretId="commerce-hub/prod/crm")["SecretString"])
        assert crm == {"HUBSPOT_ACCESS_TOKEN": "pat-na1-x"}

        # Run again with a changed document: a new version of each secret, not an error.
        document.write_text(json.dumps({"HUBSPOT_ACCESS_TOKEN": "pat-na1-y"}))
        assert main(["secrets", str(document), "--prefix", "commerce-hub/prod"]) == 0
        crm = json.loads(client.get_secret_value(SecretId="commerce-hub/prod/crm")["SecretString"])
        assert crm == {"HUBSPOT_ACCESS_TOKEN": "pat-na1-y"}
    printed = capsys.readouterr().out
    assert "webhooks" in printed and WOO_SECRET not in printed


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"SHOPIFY_WEBHOK_SECRET": "x"}', "SHOPIFY_WEBHOK_SECRET is not a key of any hub secret"),
        ('["not", "an", "object"]', "must hold one JSON object"),
        ("{not json", "cannot read"),
    ],
)
def test_a_bad_document_writes_nothing(tmp_path, capsys, content, message):
    document = tmp_path / "secrets.json"
    document.write_text(content)
    with mock_aws():
        assert main(["secrets", str(document), "--prefix", "commerce-hub/prod"]) == 2
        assert boto3.client("secretsmanager").list_secrets()["SecretList"] == []
    assert message in capsys.readouterr().err
