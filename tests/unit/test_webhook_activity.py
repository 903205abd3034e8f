"""Webhook activity with fakes: the hours of a day, the reason as kept, folding a source's hours,
intake counting each outcome (a failed count changing no answer), and the day read per source.

The deliveries are Shopify's orders/create example (tests/unit/test_shopify_source.PAYLOAD, from
Shopify's webhook reference), signed with the test secret or with a wrong one.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hub.bootstrap import Sandbox
from hub.config import parse_config
from hub.domain.webhook_activity import (
    REASON_CHARS,
    UNKNOWN_SOURCE,
    HourCounts,
    Refusal,
    fold,
    hour_of,
    reason_text,
    window,
)
from hub.errors import NotDurableError, SignatureError, StoreError, UnknownSourceError
from hub.intake import IntakeService
from hub.ports import WebhookRequest
from hub.secrets import SecretsProvider
from hub.services.lineage import LineageRecorder
from hub.services.webhook_activity import WebhookActivity

from tests.fakes import FakeLineageLog
from tests.reconcile_fakes import FakeDeliveryLog
from tests.unit.test_shopify_source import SECRET, request, sign

CONFIG = parse_config("locations: [{id: wh-east, country: US}]\n")
NOW = datetime(2026, 12, 6, 13, 25, tzinfo=UTC)


class FakeActivityLog:
    """Buckets as the DynamoDB adapter keeps them: counts per (source, hour), the latest refusal per status."""

    def __init__(self) -> None:
        self.buckets: dict[tuple[str, str], HourCounts] = {}
        self.fail = False

    def count(self, source, hour, outcome, refusal=None):
        if self.fail:
            raise StoreError("could not count a webhook: throttled")
        old = self.buckets.get((source, hour), HourCounts(hour))
        counts = {**old.counts, outcome: old.counts.get(outcome, 0) + 1}
        refusals = tuple(r for r in old.refusals if refusal is None or r.status != refusal.status)
        self.buckets[(source, hour)] = HourCounts(hour, counts, (*refusals, refusal) if refusal else refusals)

    def hours(self, source, since):
        return [b for (s, hour), b in sorted(self.buckets.items()) if s == source and hour >= since]


class Clock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


# ------------------------------------------------------------------ the domain
def test_an_hour_is_its_utc_start_and_a_day_is_the_current_hour_and_the_23_before():
    assert hour_of(datetime(2026, 12, 6, 13, 59, 59, tzinfo=UTC)) == "2026-12-06T13"
    assert hour_of(datetime(2026, 12, 6, 0, 30)) == "2026-12-06T00"  # naive: UTC
    hours = window(NOW)
    assert len(hours) == 24
    assert (hours[0], hours[-1]) == ("2026-12-05T14", "2026-12-06T13")
    assert hours == sorted(hours)


def test_a_reason_is_kept_on_one_line_and_capped():
    assert reason_text("the X signature\n does not   match") == "the X signature does not match"
    long = reason_text("x" * 5000)
    assert len(long) == REASON_CHARS and long.endswith("…")


def test_folding_sums_the_hours_of_the_window_and_keeps_the_latest_refusals_newest_first():
    hours = window(NOW)
    refusals = [Refusal(datetime(2026, 12, 6, h, tzinfo=UTC), 401, f"r{h}") for h in range(7)]
    buckets = [
        HourCounts("2026-12-05T13", {"accepted": 100}),  # 25 hours ago: outside
        HourCounts("2026-12-06T00", {"accepted": 2, "duplicate": 1}, tuple(refusals[:3])),
        HourCounts("2026-12-06T13", {"accepted": 3, "ignored": 4, "refused": 7, "failed": 1}, tuple(refusals[3:])),
    ]
    row = fold("shopify", buckets, hours)
    assert (row.accepted, row.duplicate, row.ignored, row.refused, row.failed) == (5, 1, 4, 7, 1)
    assert [r.reason for r in row.refusals] == ["r6", "r5", "r4", "r3", "r2"]
    assert row.as_dict()["latest_refusals"][0] == {"at": "2026-12-06T06:00:00+00:00", "status": 401, "reason": "r6"}
    assert fold("stripe", [], hours).total == 0


# ------------------------------------------------------------------ intake counts each outcome
@pytest.fixture
def counted():
    log = FakeActivityLog()
    secrets = SecretsProvider(values={"SHOPIFY_WEBHOOK_SECRET": SECRET})
    sandbox = Sandbox(secrets=secrets)
    activity = WebhookActivity(log, lambda: sandbox.sources, Clock(NOW))
    deliveries = FakeDeliveryLog()
    service = IntakeService(sandbox.sources, secrets, lambda: CONFIG, deliveries, activity=activity)
    return service, log, activity, deliveries


def test_intake_counts_accepted_duplicate_ignored_and_refused_with_the_reason(counted):
    service, log, activity, _ = counted
    service.receive("shopify", request())
    service.receive("shopify", request())
    body = b'{"id": 1}'
    service.receive("shopify", request(body, x_shopify_topic="carts/update", x_shopify_hmac_sha256=sign(body)))
    with pytest.raises(SignatureError) as refused:
        service.receive("shopify", request(x_shopify_hmac_sha256=sign(b"other body")))

    bucket = log.buckets[("shopify", "2026-12-06T13")]
    assert bucket.counts == {"accepted": 1, "duplicate": 1, "ignored": 1, "refused": 1}
    assert bucket.refusals == (Refusal(NOW, 401, str(refused.value)),)
    assert "signature does not match" in bucket.refusals[0].reason

    rows = {row.source: row for row in activity.last_day()}
    assert set(rows) == set(service._sources)  # every source, with zeros where nothing came
    assert (rows["shopify"].accepted, rows["shopify"].duplicate, rows["shopify"].refused) == (1, 1, 1)
    assert rows["stripe"].total == 0 and rows["stripe"].refusals == ()


def test_an_unknown_source_is_counted_in_one_bucket_shown_only_when_something_came(counted):
    service, log, activity, _ = counted
    assert UNKNOWN_SOURCE not in {row.source for row in activity.last_day()}
    for name in ("etsy", "shopfy"):
        with pytest.raises(UnknownSourceError):
            service.receive(name, request())
    assert [s for s, _ in log.buckets] == [UNKNOWN_SOURCE]
    unknown = activity.last_day()[-1]
    assert (unknown.source, unknown.refused) == (UNKNOWN_SOURCE, 2)
    assert [r.status for r in unknown.refusals] == [404]  # the latest of the hour, per status


def test_a_delivery_the_hub_could_not_take_counts_as_failed(counted):
    service, log, _, deliveries = counted
    deliveries.fail_next = 1
    with pytest.raises(NotDurableError):
        service.receive("shopify", request())
    assert log.buckets[("shopify", "2026-12-06T13")].counts == {"failed": 1}


def test_a_count_that_cannot_be_written_changes_no_answer(counted):
    service, log, _, deliveries = counted
    log.fail = True
    assert service.receive("shopify", request()).status == "accepted"
    assert len(deliveries.published) == 1
    with pytest.raises(SignatureError):
        service.receive("shopify", WebhookRequest(request().headers, b'{"other": 1}'))
    assert log.buckets == {}


def test_a_webhook_naming_an_order_is_counted_in_the_write_that_keeps_its_lineage(counted):
    service, log, _, _ = counted
    lineage = FakeLineageLog()
    service._lineage = LineageRecorder(lineage, Clock(NOW))
    first = service.receive("shopify", request())
    assert first.status == "accepted"
    assert service.receive("shopify", request()).status == "duplicate"  # the sender's retry
    assert lineage.writes == 2  # one write a delivery: its lineage and its count together
    assert [(c.source, c.outcome, c.hour) for c in lineage.counts] == [
        ("shopify", "accepted", "2026-12-06T13"),
        ("shopify", "duplicate", "2026-12-06T13"),
    ]
    assert log.buckets == {}  # no request of its own

    delivery = service._parse(service._source("shopify"), request())  # the same change, read back
    assert service.publish("shopify", delivery, via="reconciler").status == "duplicate"
    assert len(lineage.counts) == 2 and log.buckets == {}  # a reconciler's find is no delivery


def test_a_delivery_that_names_no_order_is_counted_on_its_own(counted):
    service, log, _, _ = counted

    class NoOrderNamed:  # what LineageRecorder.delivery answers when the events name no order
        def delivery(self, *_args: object, **_kwargs: object) -> bool:
            return False

    service._lineage = NoOrderNamed()
    assert service.receive("shopify", request()).status == "accepted"
    assert log.buckets[("shopify", "2026-12-06T13")].counts == {"accepted": 1}
