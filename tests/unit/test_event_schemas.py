"""docs/events/ is generated from the models: it must never drift from them."""

from __future__ import annotations

from pathlib import Path
from typing import get_args

from hub.events import EVENT_TYPES, HubEvent

from commerce_hub.schemas import schemas

DOCS = Path(__file__).resolve().parents[2] / "docs" / "events"


def test_every_event_type_has_its_exported_schema_and_nothing_drifted():
    expected = schemas()
    assert len(expected) == len(EVENT_TYPES) + 1
    for name, content in expected.items():
        path = DOCS / name
        assert path.is_file(), f"{name} missing: run `commerce-hub schemas`"
        assert path.read_text() == content, f"{name} is out of date: run `commerce-hub schemas`"
    stale = {p.name for p in DOCS.iterdir()} - set(expected)
    assert not stale, f"schemas of events that no longer exist: {sorted(stale)}"


def test_every_event_type_is_in_the_union_consumers_parse():
    union, _field = get_args(HubEvent)
    assert set(get_args(union)) == set(EVENT_TYPES)
