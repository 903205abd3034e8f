"""Two-step reading of a gateway's event: its envelope first, then the typed event.

PayPal, Square and Stripe send every event type to one endpoint. The envelope (the event's id and
type) is enough to decide whether the hub reads the event at all; only an event the hub uses is
then validated against its typed model, a union tagged by the event type. Either step that fails
is a MalformedPayloadError naming the first field at fault, as the vendor spells it.
"""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from pydantic import BaseModel, TypeAdapter, ValidationError

from hub.errors import MalformedPayloadError
from hub.intake.service import load_json_object

__all__ = ["EventReader", "validation_problem"]

_Envelope = TypeVar("_Envelope", bound=BaseModel)
_Event = TypeVar("_Event")


def validation_problem(exc: ValidationError, tag: str | None = None) -> str:
    """The first problem as `'field.path': message`; `tag` is a union's tag, left out of the path."""
    first = exc.errors()[0]
    loc = list(first["loc"])
    if tag is not None and loc and loc[0] == tag:
        loc = loc[1:]  # the union's tag, not a field
    where = ".".join(str(part) for part in loc)
    return f"'{where}': {first['msg']}"


class EventReader(Generic[_Envelope, _Event]):
    """Reads one gateway's events: `envelope(body)`, decide, then `event(document, topic)`.

    `vendor` names the gateway in errors ("PayPal"); `envelope_name` is what a body without a valid
    envelope is not ("PayPal webhook event").
    """

    def __init__(
        self, vendor: str, envelope: type[_Envelope], event: TypeAdapter[_Event], *, envelope_name: str
    ) -> None:
        self._vendor = vendor
        self._envelope = envelope
        self._event = event
        self._envelope_name = envelope_name

    def envelope(self, body: bytes) -> tuple[dict[str, Any], _Envelope]:
        """The body as a JSON object, and its envelope."""
        document = load_json_object(body, self._vendor)
        try:
            return document, self._envelope.model_validate(document)
        except ValidationError as exc:
            raise MalformedPayloadError(f"not a {self._envelope_name}: {validation_problem(exc)}") from exc

    def event(self, document: dict[str, Any], topic: str) -> _Event:
        """The typed event of a type the hub reads; its model is the union member tagged `topic`."""
        try:
            return self._event.validate_python(document)
        except ValidationError as exc:
            raise MalformedPayloadError(
                f"not a {self._vendor} {topic} event: {validation_problem(exc, topic)}"
            ) from exc
