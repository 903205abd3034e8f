"""hub.adapters.table: what every adapter on the hub table relies on, against a scripted client.

The error shapes are botocore's (ClientError with `Error.Code`, and `CancellationReasons` for a
cancelled transaction, as the DynamoDB API reference documents TransactWriteItems' errors).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError
from hub.adapters import table as table_module
from hub.adapters.table import Table, expires_at, from_micros, key, micros, plain, typed
from hub.errors import StoreError


def _error(code: str, operation: str = "PutItem", reasons: list[str] | None = None) -> ClientError:
    response: dict = {"Error": {"Code": code, "Message": code}}
    if reasons is not None:
        response["CancellationReasons"] = [{"Code": r} for r in reasons]
    return ClientError(response, operation)


class ScriptedClient:
    """Answers each operation from a queue of responses (an exception is raised), recording calls."""

    def __init__(self, **answers: list) -> None:
        self.answers = answers
        self.calls: list[tuple[str, dict]] = []

    def get_paginator(self, operation: str):
        return self.answers["get_paginator"].pop(0)

    def __getattr__(self, operation: str):
        def call(**kwargs):
            self.calls.append((operation, kwargs))
            answer = self.answers[operation].pop(0)
            if isinstance(answer, Exception):
                raise answer
            return answer

        return call


@pytest.fixture(autouse=True)
def no_waiting(monkeypatch):
    monkeypatch.setattr(table_module.time, "sleep", lambda _seconds: None)


def test_the_codec_leaves_out_none_and_round_trips():
    item = {"pk": "ORDER#1", "sk": "ORDER", "total": 1999, "note": None, "tags": {"a"}}
    assert "note" not in typed(item)
    assert plain(typed(item)) == {"pk": "ORDER#1", "sk": "ORDER", "total": 1999, "tags": {"a"}}
    assert key("ORDER#1", "ORDER") == {"pk": {"S": "ORDER#1"}, "sk": {"S": "ORDER"}}


def test_micros_are_exact_and_round_trip():
    at = datetime(2026, 3, 1, 12, 0, 0, 123457, tzinfo=timezone(timedelta(hours=2)))
    assert micros(at) == 1772359200123457
    assert from_micros(micros(at)) == at.astimezone(UTC)
    assert micros(datetime(2026, 3, 1, 10, 0, 0, 123457)) == micros(at)  # naive is UTC
    assert all(micros(from_micros(n)) == n for n in (0, 1, 1772359200123457, 1772359200999999))


def test_expiry_is_days_from_now(monkeypatch):
    monkeypatch.setattr(table_module.time, "time", lambda: 1_000.5)
    assert expires_at(2) == 1_000 + 2 * 86400


def test_a_failed_condition_is_false_and_other_errors_are_store_errors():
    client = ScriptedClient(
        put_item=[_error("ConditionalCheckFailedException"), {}, _error("ProvisionedThroughputExceededException")]
    )
    t = Table(client, "hub")
    assert t.put({"pk": "A#1", "sk": "X"}, what="keep x", condition="attribute_not_exists(pk)") is False
    assert t.put({"pk": "A#1", "sk": "X"}, what="keep x", condition="attribute_not_exists(pk)") is True
    with pytest.raises(StoreError, match="could not keep x"):
        t.put({"pk": "A#1", "sk": "X"}, what="keep x", condition="attribute_not_exists(pk)")
    assert client.calls[0] == (
        "put_item",
        {
            "TableName": "hub",
            "Item": typed({"pk": "A#1", "sk": "X"}),
            "ConditionExpression": "attribute_not_exists(pk)",
        },
    )


def test_a_failed_condition_without_a_condition_is_an_error():
    client = ScriptedClient(delete_item=[_error("ConditionalCheckFailedException", "DeleteItem")])
    with pytest.raises(StoreError):
        Table(client, "hub").delete("A#1", "X", what="drop x")


def test_an_update_answers_its_attributes_or_none():
    client = ScriptedClient(
        update_item=[{"Attributes": typed({"order_id": "7"})}, _error("ConditionalCheckFailedException", "UpdateItem")]
    )
    t = Table(client, "hub")
    assert t.update("A#1", "X", "SET a = :a", {":a": 1}, what="set a", returns="ALL_OLD") == {"order_id": "7"}
    assert t.update("A#1", "X", "SET a = :a", {":a": 1}, what="set a", condition="a < :a") is None
    assert client.calls[1][1]["ExpressionAttributeValues"] == {":a": {"N": "1"}}


def test_botocore_errors_are_store_errors():
    client = ScriptedClient(get_item=[EndpointConnectionError(endpoint_url="http://x")])
    with pytest.raises(StoreError, match="could not read x"):
        Table(client, "hub").get("A#1", "X", what="read x")


def test_a_cancelled_transaction_answers_its_reasons():
    client = ScriptedClient(
        transact_write_items=[
            {},
            _error("TransactionCanceledException", "TransactWriteItems", ["None", "ConditionalCheckFailed"]),
            _error("ValidationException", "TransactWriteItems"),
        ]
    )
    t = Table(client, "hub")
    assert t.transact([{"Put": {}}], what="write") is None
    assert t.transact([{"Put": {}}, {"Put": {}}], what="write") == ["None", "ConditionalCheckFailed"]
    with pytest.raises(StoreError):
        t.transact([{"Put": {}}], what="write")


def test_a_query_reads_every_page_consistently():
    class Paginator:
        def __init__(self) -> None:
            self.kwargs: dict = {}

        def paginate(self, **kwargs):
            self.kwargs = kwargs
            return [{"Items": [typed({"pk": "A#1", "sk": "B#1"})]}, {"Items": [typed({"pk": "A#1", "sk": "B#2"})]}]

    paginator = Paginator()
    client = ScriptedClient(get_paginator=[paginator])
    items = Table(client, "hub").query("A#1", "B#", what="read a", newest_first=True)
    assert [i["sk"] for i in items] == ["B#1", "B#2"]
    assert paginator.kwargs == {
        "TableName": "hub",
        "KeyConditionExpression": "pk = :pk AND begins_with(sk, :prefix)",
        "ExpressionAttributeValues": {":pk": {"S": "A#1"}, ":prefix": {"S": "B#"}},
        "ConsistentRead": True,
        "ScanIndexForward": False,
    }


def test_a_batch_get_asks_again_for_unprocessed_keys_and_splits_by_100():
    keys = [(f"A#{n}", "X") for n in range(101)]
    first = {
        "Responses": {"hub": [typed({"pk": "A#0", "sk": "X"})]},
        "UnprocessedKeys": {"hub": {"Keys": [key("A#1", "X")]}},
    }
    again = {"Responses": {"hub": [typed({"pk": "A#1", "sk": "X", "v": 1})]}}
    last = {"Responses": {"hub": [typed({"pk": "A#100", "sk": "X"})]}}
    client = ScriptedClient(batch_get_item=[first, again, last])
    found = Table(client, "hub").batch_get(keys, what="read a")
    assert set(found) == {("A#0", "X"), ("A#1", "X"), ("A#100", "X")} and found[("A#1", "X")]["v"] == 1
    sizes = [len(call["RequestItems"]["hub"]["Keys"]) for _op, call in client.calls]
    assert sizes == [100, 1, 1]
    assert client.calls[1][1]["RequestItems"] == first["UnprocessedKeys"]


def test_a_batch_get_gives_up_when_keys_stay_unprocessed():
    stuck = {"Responses": {}, "UnprocessedKeys": {"hub": {"Keys": [key("A#1", "X")]}}}
    client = ScriptedClient(batch_get_item=[stuck] * 3)
    with pytest.raises(StoreError, match="kept keys unprocessed"):
        Table(client, "hub").batch_get([("A#1", "X")], what="read a", tries=3)


def test_a_batch_delete_goes_25_at_a_time_and_sends_unprocessed_again():
    keys = [(f"A#{n}", "X") for n in range(30)]
    left = {"hub": [{"DeleteRequest": {"Key": key("A#3", "X")}}]}
    client = ScriptedClient(batch_write_item=[{"UnprocessedItems": left}, {}, {}])
    Table(client, "hub").batch_delete(keys, what="drop a")
    sizes = [len(call["RequestItems"]["hub"]) for _op, call in client.calls]
    assert sizes == [25, 1, 5]
    assert client.calls[1][1]["RequestItems"] == left


def test_a_batch_write_gives_up_when_requests_stay_unprocessed():
    left = {"hub": [{"PutRequest": {"Item": typed({"pk": "A#1", "sk": "X"})}}]}
    client = ScriptedClient(batch_write_item=[{"UnprocessedItems": left}] * 8)
    with pytest.raises(StoreError, match="kept requests unprocessed"):
        Table(client, "hub").batch_put([{"pk": "A#1", "sk": "X"}], what="keep a")
