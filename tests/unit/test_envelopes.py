"""EventReader: the envelope, then the typed event, each failure a 400 naming the field.

The models here are made up for the test (a `kind`-tagged union), not a vendor's: the gateways'
own payloads go through it in test_paypal_source.py, test_square_source.py and test_stripe_source.py.
"""

from __future__ import annotations

import json
from typing import Annotated, Literal

import pytest
from hub.errors import MalformedPayloadError
from hub.intake.envelopes import EventReader
from pydantic import BaseModel, Field, TypeAdapter


class Envelope(BaseModel):
    id: str
    kind: str


class Paid(BaseModel):
    kind: Literal["paid"]
    id: str
    amount: int


class Failed(BaseModel):
    kind: Literal["failed"]
    id: str
    reason: str


Event = Annotated[Paid | Failed, Field(discriminator="kind")]
READER = EventReader("Acme", Envelope, TypeAdapter(Event), envelope_name="Acme webhook event")


def body(**fields: object) -> bytes:
    return json.dumps(fields).encode()


def test_the_envelope_comes_with_the_document_it_was_read_from() -> None:
    document, envelope = READER.envelope(body(id="ev_1", kind="refunded", extra=1))

    assert envelope == Envelope(id="ev_1", kind="refunded")
    assert document == {"id": "ev_1", "kind": "refunded", "extra": 1}


def test_the_typed_event_is_the_union_member_its_tag_names() -> None:
    document, envelope = READER.envelope(body(id="ev_1", kind="paid", amount=1250))

    assert READER.event(document, envelope.kind) == Paid(kind="paid", id="ev_1", amount=1250)


def test_a_body_that_is_not_json_is_malformed() -> None:
    with pytest.raises(MalformedPayloadError, match="not valid JSON, as Acme sends it"):
        READER.envelope(b"{nope")


def test_a_body_that_is_not_an_object_is_malformed() -> None:
    with pytest.raises(MalformedPayloadError, match="must be a JSON object, as Acme sends it"):
        READER.envelope(b"[1, 2]")


def test_a_missing_envelope_field_is_named() -> None:
    with pytest.raises(MalformedPayloadError, match=r"^not a Acme webhook event: 'id': Field required$"):
        READER.envelope(body(kind="paid"))


def test_a_bad_typed_field_is_named_without_the_union_tag() -> None:
    document, envelope = READER.envelope(body(id="ev_1", kind="paid", amount="lots"))

    with pytest.raises(
        MalformedPayloadError, match=r"^not a Acme paid event: 'amount': Input should be a valid integer"
    ):
        READER.event(document, envelope.kind)


def test_a_missing_typed_field_is_named() -> None:
    document, envelope = READER.envelope(body(id="ev_1", kind="failed"))

    with pytest.raises(MalformedPayloadError, match=r"^not a Acme failed event: 'reason': Field required$"):
        READER.event(document, envelope.kind)
