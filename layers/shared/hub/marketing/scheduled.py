"""What a marketing schedule delivers to the queue (and a social post's, `SocialDueBody`): `Due.to_payload()`, read back into the one
`Due` (hub.domain.marketing_rules) by validating its fields, so the wire form has no second list
of them."""

from __future__ import annotations

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from hub.domain.marketing_rules import Due
from hub.domain.social import SocialDue, SocialProduct, SocialTrigger

__all__ = ["DueBody", "SocialDueBody"]


class DueBody(BaseModel):
    """The body of a schedule's message: `{"marketing_due": {...Due's fields}}`; an unknown field,
    a trigger or subject kind the rules do not have, or a time that is not ISO 8601 is refused."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    marketing_due: Due

    def due(self) -> Due:
        return self.marketing_due


class _ProductFields(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    key: str = Field(min_length=1)
    title: str = Field(min_length=1)
    url: str | None = None
    image_url: str | None = None
    price: int | None = None
    currency: str | None = Field(default=None, min_length=3, max_length=3)


class _SocialDueFields(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    trigger: SocialTrigger
    occasion: str = Field(min_length=1)
    channel: str
    occurred_at: AwareDatetime
    product: _ProductFields


class SocialDueBody(BaseModel):
    """The body of a quiet-hours schedule's message: `SocialDue.to_payload()`, `{"social_due": {...}}`."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    social_due: _SocialDueFields

    def due(self) -> SocialDue:
        fields = self.social_due
        product = SocialProduct(**fields.product.model_dump())
        return SocialDue(fields.trigger, product, fields.occasion, fields.channel, fields.occurred_at)
