"""The emulator's schedule journal: the changes after a number, or word that they are not all kept."""

from __future__ import annotations

import json

from werkzeug.test import Client

from commerce_hub.local.schedule_journal import CHANGES_PATH, ScheduleChanges, ScheduleJournal


def _names(answer: dict) -> list[str]:
    return [change["name"] for change in answer["changes"]]


def test_changes_after_a_number_are_every_later_change_in_order() -> None:
    journal = ScheduleJournal()
    for name in ("a", "b", "c"):
        journal.record("marketing", name)
    assert _names(journal.since(0)) == ["a", "b", "c"]
    assert journal.since(1) == {
        "last": 3,
        "complete": True,
        "changes": [{"group": "marketing", "name": "b"}, {"group": "marketing", "name": "c"}],
    }
    assert journal.since(3) == {"last": 3, "complete": True, "changes": []}


def test_without_a_number_only_the_latest_number_is_given() -> None:
    journal = ScheduleJournal()
    journal.record("g", "a")
    assert journal.since(None) == {"last": 1, "complete": False, "changes": []}


def test_changes_dropped_past_the_bound_make_an_earlier_reader_list_again() -> None:
    journal = ScheduleJournal(keep=2)
    for name in ("a", "b", "c", "d"):
        journal.record("g", name)
    assert journal.since(1)["complete"] is False  # change 2 is gone
    assert _names(journal.since(2)) == ["c", "d"]  # everything after 2 is still kept


def test_a_number_the_journal_never_gave_means_listing_again() -> None:
    journal = ScheduleJournal()  # as after the emulator restarted: it starts from 0 again
    journal.record("g", "a")
    assert journal.since(7) == {"last": 1, "complete": False, "changes": []}
    assert journal.since(-1)["complete"] is False


def test_forgetting_all_sends_every_earlier_reader_back_to_listing() -> None:
    journal = ScheduleJournal()
    journal.record("g", "a")
    journal.forget_all()
    assert journal.since(1)["complete"] is False
    assert journal.since(2) == {"last": 2, "complete": True, "changes": []}
    journal.record("g", "b")
    assert _names(journal.since(2)) == ["b"]


def _client(journal: ScheduleJournal) -> Client:
    def behind(environ, start_response):  # type: ignore[no-untyped-def]
        start_response("200 OK", [])
        return [b"moto"]

    return Client(ScheduleChanges(behind, journal))


def test_the_emulator_answers_changes_over_http_and_passes_everything_else_on() -> None:
    journal = ScheduleJournal()
    journal.record("marketing", "a")
    client = _client(journal)
    answer = client.get(CHANGES_PATH, query_string={"after": "0"})
    assert answer.status_code == 200
    assert json.loads(answer.data) == {"last": 1, "complete": True, "changes": [{"group": "marketing", "name": "a"}]}
    assert json.loads(client.get(CHANGES_PATH).data) == {"last": 1, "complete": False, "changes": []}
    assert client.post("/", data=b"{}").data == b"moto"


def test_a_request_that_is_not_a_whole_number_or_not_a_get_is_refused_with_the_reason() -> None:
    client = _client(ScheduleJournal())
    bad = client.get(CHANGES_PATH, query_string={"after": "soon"})
    assert bad.status_code == 400
    assert "after must be a whole number" in json.loads(bad.data)["error"]
    assert client.post(CHANGES_PATH).status_code == 405
