"""What a marketing schedule delivers to the queue: `Due.to_payload()`, read back into the one
`Due` (hub.domain.marketing_rules) by validating its fields, so the wire form has no second list
of them."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from hub.domain.marketing_rules import Due

__all__ = ["DueBody"]


class DueBody(BaseModel):
    """The body of a schedule's message: `{"marketing_due": {...Due's fields}}`; an unknown field,
    a trigger or subject kind the rules do not have, or a time that is not ISO 8601 is refused."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    marketing_due: Due

    def due(self) -> Due:
        return self.marketing_due
