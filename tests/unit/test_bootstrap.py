"""The composition root (hub.bootstrap): built on first use, once, from what a test hands in."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hub import settings
from hub.bootstrap import Sandbox
from hub.budget import BatchShare

ROOT = Path(__file__).resolve().parents[2]


class RecordingDynamoDb:
    """A DynamoDB client that answers every call with an empty result and remembers it."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def get_paginator(self, operation: str) -> Any:
        client = self

        class Pages:
            def paginate(self, **kwargs: Any) -> list[dict]:
                client.calls.append((operation, kwargs))
                return []

        return Pages()

    def __getattr__(self, operation: str) -> Any:
        def call(**kwargs: Any) -> dict:
            self.calls.append((operation, kwargs))
            return {}

        return call


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {"HUB_TABLE": "hub-table", "HUB_IDEMPOTENCY_TABLE": "idem", "HUB_EVENT_BUS": "bus"}.items():
        monkeypatch.setenv(name, value)
    settings.settings.cache_clear()
    yield
    settings.settings.cache_clear()


def test_a_piece_is_built_once_and_from_the_client_handed_in(environment: None) -> None:
    dynamodb = RecordingDynamoDb()
    sandbox = Sandbox(dynamodb=dynamodb)
    assert sandbox.ledger is sandbox.ledger
    assert sandbox.ledger.get_order("shopify:1") is None
    assert dynamodb.calls and {kwargs.get("TableName") for _op, kwargs in dynamodb.calls} == {"hub-table"}


def test_the_configuration_loader_handed_in_is_the_one_every_service_reads(environment: None) -> None:
    def loader() -> Any:
        raise AssertionError("not read while building")

    assert Sandbox(config=loader).config is loader


def test_importing_the_bootstrap_and_making_a_sandbox_builds_and_imports_nothing_heavy() -> None:
    code = (
        "import sys; from hub.bootstrap import Sandbox; Sandbox(); "
        "heavy = sorted(m for m in ('boto3', 'httpx', 'hub.adapters.dynamodb', 'hub.services.stock') if m in sys.modules); "
        "print(','.join(heavy))"
    )
    env = {"PYTHONPATH": str(ROOT / "layers" / "shared")}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_the_sources_are_built_once_and_bigcommerces_reads_through_the_api_handed_in() -> None:
    # The signed sample delivery of tests/unit/test_bigcommerce_source.py
    # (events/payloads/bigcommerce_store_order_created.json), its order read from the fake store.
    from hub.adapters.bigcommerce import HttpBigCommerceApi

    from tests.bigcommerce_api import FakeBigCommerce
    from tests.unit.test_bigcommerce_source import CONFIG, request, secrets

    fake = FakeBigCommerce()
    api = HttpBigCommerceApi(secrets(), transport=fake.transport())
    sandbox = Sandbox(bigcommerce=api)
    assert sandbox.sources is sandbox.sources and sandbox.bigcommerce is api
    assert sandbox.sources["shopify"] is sandbox.sources["shopify"]
    assert fake.requests == []  # nothing is read until a delivery is parsed

    (placed,) = sandbox.sources["bigcommerce"].parse(request(), CONFIG).events
    assert placed.type == "OrderPlaced"
    assert any(path.endswith("/v2/orders/3108") for path in fake.requests)


def test_the_sources_build_no_bigcommerce_api_until_a_bigcommerce_source_is_needed() -> None:
    code = (
        "import sys; from hub.bootstrap import Sandbox; sources = Sandbox().sources; sources['shopify']; "
        "print('hub.adapters.bigcommerce' in sys.modules)"
    )
    env = {"PYTHONPATH": str(ROOT / "layers" / "shared")}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


class Context:
    def __init__(self, millis: int) -> None:
        self.millis = millis

    def get_remaining_time_in_millis(self) -> int:
        return self.millis


def test_a_batchs_time_is_shared_among_the_records_not_yet_done() -> None:
    now = [100.0]
    share = BatchShare(margin=2.0, clock=lambda: now[0])
    share.start(4, Context(42_000))  # 40 s after the margin, for 4 records
    assert share.record_deadline() == pytest.approx(110.0)
    now[0] = 130.0  # the first record took 30 s: 10 s left for 3
    assert share.record_deadline() == pytest.approx(130.0 + 10 / 3)
    assert not share.spent()
    now[0] = 140.0
    assert share.spent()


def test_without_a_context_there_is_no_deadline() -> None:
    share = BatchShare()
    share.start(2, None)
    assert share.record_deadline() is None and not share.spent()
