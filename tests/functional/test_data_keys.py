"""Data keys on moto (KMS and DynamoDB from template.yaml), and sealed events from intake to a consumer.

The delivery is the Shopify orders/create sample in events/ (shaped after the example payload of
Shopify's webhook reference for orders/create): its email and shipping address must leave intake sealed, and
stock_updates must read them whole, until the customer's key is forgotten.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator

import boto3
import pytest
from hub.adapters.data_keys import KmsDataKeys
from hub.shredding import use_data_keys

from tests.functional.conftest import event

EMAIL = "ada.lovelace@example.com"
STREET = "12 Analytical Row"


@pytest.fixture
def sealed_env(aws, monkeypatch) -> Iterator[str]:
    """The functions see HUB_DATA_KEY_ID as the template sets it: the stack's KMS key."""
    from hub import settings

    key_id = aws.resources["DataKey"]
    monkeypatch.setenv("HUB_DATA_KEY_ID", key_id)
    settings.settings.cache_clear()
    use_data_keys(None)
    yield key_id
    use_data_keys(None)
    settings.settings.cache_clear()


class CountingKms:
    def __init__(self, on_generate=None) -> None:
        self._kms = boto3.client("kms")
        self.calls: list[str] = []
        self._on_generate = on_generate

    def generate_data_key(self, **kwargs):
        self.calls.append("generate")
        made = self._kms.generate_data_key(**kwargs)
        if self._on_generate is not None:
            hook, self._on_generate = self._on_generate, None
            hook()
        return made

    def decrypt(self, **kwargs):
        self.calls.append("decrypt")
        return self._kms.decrypt(**kwargs)


def keys(aws, key_id: str, kms=None, clock=None) -> KmsDataKeys:
    extra = {"clock": clock} if clock else {}
    return KmsDataKeys(kms or boto3.client("kms"), boto3.client("dynamodb"), aws.resources["HubTable"], key_id, **extra)


def test_a_key_is_made_once_wrapped_by_kms_and_kept_under_dek(aws, sealed_env):
    store = keys(aws, sealed_env)
    subject = store.subject_of("customer", EMAIL)
    assert subject.startswith("customer:") and EMAIL not in subject
    key = store.key_for(subject)
    assert len(key) == 32
    item = boto3.client("dynamodb").get_item(
        TableName=aws.resources["HubTable"], Key={"pk": {"S": f"DEK#{subject}"}, "sk": {"S": "KEY"}}
    )["Item"]
    assert key not in item["wrapped"]["B"]
    # Another sandbox, with the same salt from the table, names the subject alike and reads the same key.
    other = keys(aws, sealed_env)
    assert other.subject_of("customer", EMAIL) == subject and other.key_if_any(subject) == key


def test_two_writers_racing_for_a_new_subject_agree_on_one_key(aws, sealed_env):
    first = keys(aws, sealed_env)
    subject = first.subject_of("customer", EMAIL)
    winner: list[bytes] = []
    # The second writer's GenerateDataKey returns after the first writer stored its key.
    second = keys(aws, sealed_env, kms=CountingKms(on_generate=lambda: winner.append(first.key_for(subject))))
    assert second.key_for(subject) == winner[0]
    assert keys(aws, sealed_env).key_if_any(subject) == winner[0]


def test_keys_are_cached_for_a_while_then_read_again(aws, sealed_env):
    now = [0.0]
    kms = CountingKms()
    store = keys(aws, sealed_env, kms=kms, clock=lambda: now[0])
    subject = store.subject_of("customer", EMAIL)
    keys(aws, sealed_env).key_for(subject)
    for _ in range(5):
        store.key_if_any(subject)
    assert kms.calls == ["decrypt"]
    now[0] = 301.0
    store.key_if_any(subject)
    assert kms.calls == ["decrypt", "decrypt"]


def test_a_forgotten_key_is_gone_for_every_sandbox(aws, sealed_env):
    store = keys(aws, sealed_env)
    subject = store.subject_of("order", "shopify:1")
    store.key_for(subject)
    other = keys(aws, sealed_env)
    store.forget(subject)
    assert store.key_if_any(subject) is None and other.key_if_any(subject) is None


def test_a_customer_who_comes_back_after_the_erasure_gets_a_new_key_every_sandbox_reads(aws, sealed_env):
    eraser, reader = keys(aws, sealed_env), keys(aws, sealed_env)
    subject = eraser.subject_of("customer", EMAIL)
    old = eraser.key_for(subject)
    eraser.forget(subject)
    assert reader.key_if_any(subject) is None  # an archived event of the erased customer
    new = keys(aws, sealed_env).key_for(subject)  # their next order, at intake
    assert new != old
    assert reader.key_if_any(subject) == new and eraser.key_if_any(subject) == new


def test_intake_seals_and_a_consumer_reads_whole_until_the_key_is_forgotten(
    aws, sealed_env, bus_tap, load_function, context
):
    intake = load_function("webhook_intake")
    response = intake.lambda_handler(event("webhook_intake_shopify_orders_create.json"), context)
    assert response["statusCode"] == 200, response["body"]
    (published,) = [p for p in bus_tap.events() if p["detail-type"] == "OrderPlaced"]
    raw = json.dumps(published)
    assert EMAIL not in raw.lower() and STREET not in raw

    from hub.bus import HubSqsRecord

    record = copy.deepcopy(event("stock_updates_order_placed.json")["Records"][0])
    record["body"] = json.dumps(dict(json.loads(record["body"]), detail=published["detail"]))
    use_data_keys(None)  # a new sandbox
    opened = HubSqsRecord.model_validate(record).body.detail
    assert opened.data.customer_email.lower() == EMAIL and opened.data.shipping_address.street1 == STREET

    store = keys(aws, sealed_env)
    store.forget(store.subject_of("customer", EMAIL))
    use_data_keys(None)
    erased = HubSqsRecord.model_validate(record).body.detail
    assert erased.data.customer_email is None and erased.data.shipping_address is None
    assert erased.data.lines == opened.data.lines
