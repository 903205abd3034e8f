"""Schedules created at run time fire like EventBridge Scheduler's: an at() time that has passed
delivers the target's Input to its queue, once, then ActionAfterCompletion is honoured."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from moto import mock_aws

from commerce_hub.local.console import Console
from commerce_hub.local.provision import create_schedule_groups, marketing_sender, verify_sender
from commerce_hub.local.runtime_schedules import SchedulePoller
from commerce_hub.local.schedule_journal import ScheduleJournal

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
ROLE = "arn:aws:iam::123456789012:role/scheduler"


@pytest.fixture
def aws():
    with mock_aws():
        scheduler, sqs = (
            boto3.client("scheduler", region_name="us-east-1"),
            boto3.client("sqs", region_name="us-east-1"),
        )
        create_schedule_groups(scheduler, ["marketing", "marketing"])
        url = sqs.create_queue(QueueName="marketing")["QueueUrl"]
        yield scheduler, sqs, url


def schedule(
    scheduler,
    name,
    when,
    *,
    group="marketing",
    after="DELETE",
    expression=None,
    arn=None,
    zone="UTC",
    retry=None,
    dead_letter=None,
):
    target = {
        "Arn": arn or "arn:aws:sqs:us-east-1:123456789012:marketing",
        "RoleArn": ROLE,
        "Input": json.dumps({"name": name}),
    }
    if retry is not None:
        target["RetryPolicy"] = retry
    if dead_letter is not None:
        target["DeadLetterConfig"] = {"Arn": dead_letter}
    scheduler.create_schedule(
        Name=name,
        GroupName=group,
        ScheduleExpression=expression or f"at({when:%Y-%m-%dT%H:%M:%S})",
        ScheduleExpressionTimezone=zone,
        FlexibleTimeWindow={"Mode": "OFF"},
        ActionAfterCompletion=after,
        Target=target,
    )


def received(sqs, url) -> list[dict]:
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
    return [json.loads(m["Body"]) for m in messages]


def names(scheduler) -> set[str]:
    return {s["Name"] for s in scheduler.list_schedules()["Schedules"]}


def test_due_schedules_send_their_input_to_the_queue_and_delete_themselves(aws):
    scheduler, sqs, url = aws
    schedule(scheduler, "past", NOW - timedelta(minutes=1))
    schedule(scheduler, "future", NOW + timedelta(hours=4))
    poller = SchedulePoller(scheduler, sqs, Console(), clock=lambda: NOW)
    assert poller.fire_due() == ["past"]
    assert received(sqs, url) == [{"name": "past"}]
    assert names(scheduler) == {"future"}
    assert poller.fire_due() == []


def test_time_passes_for_tests(aws):
    scheduler, sqs, url = aws
    schedule(scheduler, "later", NOW + timedelta(days=14))
    poller = SchedulePoller(scheduler, sqs, Console(), clock=lambda: NOW)
    assert poller.fire_due(NOW + timedelta(days=13)) == []
    assert poller.fire_due(NOW + timedelta(days=14)) == ["later"]
    assert received(sqs, url) == [{"name": "later"}]


def test_a_schedule_kept_after_completion_fires_once(aws):
    scheduler, sqs, url = aws
    schedule(scheduler, "kept", NOW - timedelta(seconds=1), after="NONE")
    poller = SchedulePoller(scheduler, sqs, Console(), clock=lambda: NOW)
    assert poller.fire_due() == ["kept"]
    assert poller.fire_due() == []
    assert names(scheduler) == {"kept"} and len(received(sqs, url)) == 1


def test_the_schedule_time_zone_is_honoured(aws):
    scheduler, sqs, _url = aws
    # 12:30 in Berlin (UTC+1 in November) is 11:30 UTC: due at NOW.
    schedule(scheduler, "berlin", datetime(2026, 11, 27, 12, 30), zone="Europe/Berlin")
    poller = SchedulePoller(scheduler, sqs, Console(), clock=lambda: NOW)
    assert poller.fire_due() == ["berlin"]


def test_recurring_schedules_and_other_targets_are_reported_once_and_left_alone(aws, capsys):
    scheduler, sqs, _url = aws
    schedule(scheduler, "every-day", NOW, expression="rate(1 day)")
    schedule(scheduler, "lambda", NOW - timedelta(minutes=1), arn="arn:aws:lambda:us-east-1:123456789012:function:x")
    poller = SchedulePoller(scheduler, sqs, Console(), clock=lambda: NOW)
    assert poller.fire_due() == [] and poller.fire_due() == []
    err = capsys.readouterr()
    text = err.out + err.err
    assert text.count("every-day") == 1 and text.count("not an SQS queue") == 1
    assert names(scheduler) == {"every-day", "lambda"}


def test_a_delivery_that_fails_is_tried_again(aws):
    scheduler, sqs, _url = aws
    schedule(scheduler, "lost", NOW, arn="arn:aws:sqs:us-east-1:123456789012:not-yet")
    poller = SchedulePoller(scheduler, sqs, Console(), clock=lambda: NOW)
    assert poller.fire_due() == []
    sqs.create_queue(QueueName="not-yet")
    assert poller.fire_due() == ["lost"]


DLQ = "arn:aws:sqs:us-east-1:123456789012:marketing-dlq"


def test_a_delivery_whose_retries_are_spent_goes_to_the_dead_letter_queue(aws):
    scheduler, sqs, _url = aws
    dlq_url = sqs.create_queue(QueueName="marketing-dlq")["QueueUrl"]
    lost = "arn:aws:sqs:us-east-1:123456789012:gone"
    schedule(
        scheduler,
        "lost",
        NOW,
        arn=lost,
        retry={"MaximumRetryAttempts": 2, "MaximumEventAgeInSeconds": 3600},
        dead_letter=DLQ,
    )
    poller = SchedulePoller(scheduler, sqs, Console(), clock=lambda: NOW)
    assert poller.fire_due() == [] and poller.fire_due() == []  # the first try and one retry
    assert names(scheduler) == {"lost"} and received(sqs, dlq_url) == []
    assert poller.fire_due() == []  # the second retry fails too: the policy is spent
    [message] = sqs.receive_message(QueueUrl=dlq_url, MessageAttributeNames=["All"])["Messages"]
    assert json.loads(message["Body"]) == {"name": "lost"}
    attributes = {k: v["StringValue"] for k, v in message["MessageAttributes"].items()}
    assert attributes["EXHAUSTED_RETRY_CONDITION"] == "MaximumRetryAttemptsExhausted"
    assert attributes["RETRY_ATTEMPTS"] == "2" and attributes["TARGET_ARN"] == lost
    assert attributes["SCHEDULE_ARN"] == "arn:aws:scheduler:us-east-1:123456789012:schedule/marketing/lost"
    assert names(scheduler) == set() and poller.dead_lettered == 1 and poller.fired == 0


def test_an_event_older_than_its_maximum_age_goes_to_the_dead_letter_queue(aws):
    scheduler, sqs, _url = aws
    dlq_url = sqs.create_queue(QueueName="marketing-dlq")["QueueUrl"]
    schedule(scheduler, "old", NOW, arn="arn:aws:sqs:us-east-1:123456789012:gone", dead_letter=DLQ)
    poller = SchedulePoller(scheduler, sqs, Console(), clock=lambda: NOW)
    assert poller.fire_due() == []
    assert received(sqs, dlq_url) == []  # default policy: a day, 185 retries
    assert poller.fire_due(NOW + timedelta(days=1)) == []
    [message] = sqs.receive_message(QueueUrl=dlq_url, MessageAttributeNames=["All"])["Messages"]
    assert message["MessageAttributes"]["EXHAUSTED_RETRY_CONDITION"]["StringValue"] == "MaximumEventAgeExhausted"


def test_without_a_dead_letter_queue_a_spent_delivery_is_dropped_and_reported(aws, capsys):
    scheduler, sqs, _url = aws
    schedule(scheduler, "lost", NOW, arn="arn:aws:sqs:us-east-1:123456789012:gone", retry={"MaximumRetryAttempts": 0})
    poller = SchedulePoller(scheduler, sqs, Console(), clock=lambda: NOW)
    assert poller.fire_due() == []
    assert names(scheduler) == set() and poller.dead_lettered == 0
    err = capsys.readouterr()
    assert "dropped, as Scheduler drops it without a DeadLetterConfig" in err.out + err.err


def test_the_running_poller_fires_on_its_own(aws):
    scheduler, sqs, url = aws
    schedule(scheduler, "soon", NOW)
    poller = SchedulePoller(scheduler, sqs, Console(), clock=lambda: NOW, interval=0.05)
    poller.start()
    try:
        for _ in range(100):
            if poller.status()["fired"]:
                break
            poller._stop.wait(0.05)
    finally:
        poller.stop()
    assert poller.status() == {"running": False, "fired": 1}
    assert received(sqs, url) == [{"name": "soon"}]


def test_the_marketing_sender_is_verified_from_the_configuration():
    assert marketing_sender("marketing: {sender: 'Ada Goods <news@ada.example>'}") == "news@ada.example"
    assert marketing_sender("locations: []") is None
    with mock_aws():
        ses = boto3.client("ses", region_name="us-east-1")
        assert verify_sender(ses, "marketing: {sender: news@ada.example}") == "news@ada.example"
        assert ses.list_identities()["Identities"] == ["news@ada.example"]


def test_a_schedule_deleted_between_listing_and_reading_is_skipped(aws):
    scheduler, sqs, url = aws
    schedule(scheduler, "gone", NOW)
    schedule(scheduler, "kept", NOW)

    class DeletesOnRead:
        """Its owner cancels `gone` just after the poller listed it."""

        exceptions = scheduler.exceptions

        def list_schedules(self, **kwargs):
            listed = scheduler.list_schedules(**kwargs)
            scheduler.delete_schedule(GroupName="marketing", Name="gone")
            return listed

        def __getattr__(self, name):
            return getattr(scheduler, name)

    poller = SchedulePoller(DeletesOnRead(), sqs, Console(), clock=lambda: NOW)
    assert poller.fire_due() == ["kept"]
    assert received(sqs, url) == [{"name": "kept"}]


class Journaled:
    """The scheduler as the emulator serves it: each change is noted in a journal (moto_patches,
    patch 9), and every ListSchedules is counted."""

    def __init__(self, scheduler, journal: ScheduleJournal) -> None:  # type: ignore[no-untyped-def]
        self._scheduler = scheduler
        self.journal = journal
        self.exceptions = scheduler.exceptions
        self.lists = 0

    def _noted(self, action: str, **kwargs):  # type: ignore[no-untyped-def]
        answer = getattr(self._scheduler, action)(**kwargs)
        self.journal.record(kwargs.get("GroupName") or "default", kwargs["Name"])
        return answer

    def create_schedule(self, **kwargs):  # type: ignore[no-untyped-def]
        return self._noted("create_schedule", **kwargs)

    def update_schedule(self, **kwargs):  # type: ignore[no-untyped-def]
        return self._noted("update_schedule", **kwargs)

    def delete_schedule(self, **kwargs):  # type: ignore[no-untyped-def]
        return self._noted("delete_schedule", **kwargs)

    def list_schedules(self, **kwargs):  # type: ignore[no-untyped-def]
        self.lists += 1
        return self._scheduler.list_schedules(**kwargs)

    def __getattr__(self, name: str):  # type: ignore[no-untyped-def]
        return getattr(self._scheduler, name)


def test_with_the_journal_schedules_are_listed_once_then_read_as_they_change(aws):
    scheduler, sqs, url = aws
    journaled = Journaled(scheduler, ScheduleJournal())
    schedule(journaled, "moved", NOW + timedelta(hours=4))
    poller = SchedulePoller(journaled, sqs, Console(), clock=lambda: NOW, changes=journaled.journal.since)
    assert poller.fire_due() == []
    assert journaled.lists == 1

    schedule(journaled, "new", NOW - timedelta(minutes=1))  # created after the listing
    schedule(journaled, "cancelled", NOW - timedelta(minutes=1))
    journaled.delete_schedule(GroupName="marketing", Name="cancelled")
    journaled.update_schedule(  # brought forward: due now
        Name="moved",
        GroupName="marketing",
        ScheduleExpression=f"at({NOW - timedelta(minutes=2):%Y-%m-%dT%H:%M:%S})",
        FlexibleTimeWindow={"Mode": "OFF"},
        ActionAfterCompletion="DELETE",
        Target={"Arn": "arn:aws:sqs:us-east-1:123456789012:marketing", "RoleArn": ROLE, "Input": '{"name": "moved"}'},
    )
    assert sorted(poller.fire_due()) == ["moved", "new"]
    assert journaled.lists == 1  # every later round read the journal's changes, not the whole list
    assert sorted(m["name"] for m in received(sqs, url)) == ["moved", "new"]
    assert poller.fire_due() == []  # fired once: both deleted themselves
    assert names(scheduler) == set()


def test_when_the_journal_no_longer_holds_the_changes_the_poller_lists_again(aws):
    scheduler, sqs, url = aws
    journaled = Journaled(scheduler, ScheduleJournal(keep=1))
    poller = SchedulePoller(journaled, sqs, Console(), clock=lambda: NOW, changes=journaled.journal.since)
    assert poller.fire_due() == []
    for name in ("one", "two", "three"):  # more changes than the journal keeps
        schedule(journaled, name, NOW - timedelta(minutes=1))
    assert sorted(poller.fire_due()) == ["one", "three", "two"]
    assert journaled.lists == 2
    assert sorted(m["name"] for m in received(sqs, url)) == ["one", "three", "two"]
