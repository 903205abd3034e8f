"""docs/events/ is generated from the models: it must never drift from them."""

from __future__ import annotations

from pathlib import Path
from typing import get_args

from hub import events
from hub.events import EVENT_TYPES, HubEvent
from pydantic import BaseModel

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
    # EVENT_TYPES is read from the union, so check the union against what the module defines: an
    # event class left out of it would be neither parsed, exported as a schema, nor in __all__.
    defined = {
        model
        for model in vars(events).values()
        if isinstance(model, type)
        and issubclass(model, BaseModel)
        and {"event_id", "type"} <= model.model_fields.keys()
    }
    assert defined == set(EVENT_TYPES)
    assert len(EVENT_TYPES) == len(set(EVENT_TYPES))


def test_every_event_type_is_exported_and_every_export_exists():
    assert {model.__name__ for model in EVENT_TYPES} <= set(events.__all__)
    assert [name for name in events.__all__ if not hasattr(events, name)] == []
    assert len(events.__all__) == len(set(events.__all__))
