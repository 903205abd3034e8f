"""DynamoSocialStore on moto (the table from template.yaml): the conditions that make each social
post once-only, and the per-day cap, hold in DynamoDB itself."""

from __future__ import annotations

from datetime import timedelta

import boto3
import pytest
from hub.adapters.marketing_store.social import DynamoSocialStore

from tests.social_fakes import T0

POST = "new_product:shopify:8123:new:instagram"


@pytest.fixture
def store(aws) -> DynamoSocialStore:
    return DynamoSocialStore(boto3.client("dynamodb"), aws.resources["HubTable"])


def test_a_post_is_claimed_once_and_found_posted_after(store):
    assert store.claim_post(POST, T0, 900).status == "claimed"
    assert store.claim_post(POST, T0 + timedelta(seconds=10), 900).status == "busy"
    store.keep_container(POST, "17889455560051001")
    store.finish_post(POST, "posted", "17920238422030002", T0)
    found = store.claim_post(POST, T0 + timedelta(days=3), 900)
    assert (found.status, found.post_id, found.container) == ("posted", "17920238422030002", "17889455560051001")
    record = store.post_record(POST)
    assert record is not None and record["finished_at"] == T0 and "lease_until" not in record


def test_a_released_or_expired_claim_is_taken_over_with_its_container_and_admission(store):
    store.claim_post(POST, T0, 900)
    store.keep_container(POST, "17889455560051001")
    assert store.admit_post(POST, "instagram", "2026-12-07", 3)
    store.release_post(POST)
    again = store.claim_post(POST, T0 + timedelta(seconds=1), 900)
    assert (again.status, again.container, again.admitted) == ("claimed", "17889455560051001", True)
    # Held again; a lease that ran out is taken over too.
    assert store.claim_post(POST, T0 + timedelta(seconds=2), 900).status == "busy"
    assert store.claim_post(POST, T0 + timedelta(seconds=902), 900).status == "claimed"


def test_a_finished_post_is_not_released(store):
    store.claim_post(POST, T0, 900)
    store.finish_post(POST, "capped", None, T0)
    store.release_post(POST)  # a late release of an attempt that lost its lease changes nothing
    assert store.claim_post(POST, T0 + timedelta(days=1), 900).status == "capped"


def test_the_day_admits_at_most_its_cap(store):
    keys = [f"new_product:shopify:{n}:new:facebook" for n in range(8)]
    for key in keys:
        store.claim_post(key, T0, 900)
    # One after the other: the cap holds because each admission is a transaction conditioned on the
    # day's count, which DynamoDB evaluates atomically. moto in this process does not serialise
    # transactions across threads (the local stack's emulator does), so racing them here would test
    # moto, not the store.
    admitted = [store.admit_post(key, "facebook", "2026-12-07", 3) for key in keys]
    assert admitted == [True, True, True, False, False, False, False, False]
    # Another network and another day have their own counts.
    store.claim_post("x:pinterest", T0, 900)
    assert store.admit_post("x:pinterest", "pinterest", "2026-12-07", 3)
    store.claim_post("y:facebook", T0, 900)
    assert store.admit_post("y:facebook", "facebook", "2026-12-08", 3)
    items = boto3.client("dynamodb").scan(TableName=store._table.name)["Items"]
    caps = {i["pk"]["S"]: int(i["posts"]["N"]) for i in items if i["sk"]["S"] == "CAP"}
    assert caps["MKTSOCIAL#CAP#facebook#2026-12-07"] == 3
    admitted_markers = [i for i in items if i["sk"]["S"] == "POST" and i.get("admitted", {}).get("BOOL")]
    assert len(admitted_markers) == 5
