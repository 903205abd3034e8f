"""The CRM customer profiles are pushed to (HubSpot, Salesforce) and how profile fields map to it."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from hub.config.base import StrictModel
from hub.domain.customers import is_contact_field
from hub.vendor_versions import SALESFORCE_API_VERSION

__all__ = ["CrmConfig", "SalesforceCrmConfig"]


class SalesforceCrmConfig(StrictModel):
    """Where contacts go in Salesforce: upserted by an External ID field that holds the email."""

    object: str = Field(default="Contact", pattern=r"^[A-Za-z][A-Za-z0-9_]*$", description="the sObject: Contact, Lead")
    external_id_field: str = Field(
        pattern=r"^[A-Za-z][A-Za-z0-9_]*$",
        description="an External ID (and Unique) text field holding the normalised email, e.g. Hub_Email__c",
    )
    api_version: str = Field(
        default=SALESFORCE_API_VERSION,
        pattern=r"^v[0-9]+\.[0-9]$",
        description="the REST API version; default the one pinned in hub.vendor_versions (sObject Collections"
        " upserts need 46.0 or later)",
    )


# What Salesforce refuses to create a record without (REQUIRED_FIELD_MISSING) and a profile may lack.
# The last name is the profile's, so its fallback goes with every push; a Lead's Company is not in
# the profile at all, so it is sent only to create one (sending it always would overwrite the
# company a salesperson entered): see `salesforce_create_defaults`.
_SALESFORCE_REQUIRED: dict[str, dict[str, str]] = {"Contact": {"LastName": "Unknown"}, "Lead": {"LastName": "Unknown"}}
_SALESFORCE_CREATE_ONLY: dict[str, dict[str, str]] = {"Lead": {"Company": "Unknown"}}


class CrmConfig(StrictModel):
    """The CRM customer profiles are pushed to; `none` keeps them in the hub only."""

    provider: Literal["hubspot", "salesforce", "none"] = "none"
    properties: dict[str, str] = Field(
        default_factory=dict,
        description="CRM property -> profile field (hub.domain.customers.CONTACT_FIELDS); empty: the provider's defaults",
    )
    fallbacks: dict[str, str] = Field(
        default_factory=dict, description="CRM property -> value sent when the profile has none (e.g. LastName)"
    )
    salesforce: SalesforceCrmConfig | None = None
    api_url: str | None = Field(
        default=None,
        description="the API's base URL: HubSpot https://api.hubapi.com; Salesforce the instance URL (a fake in tests)",
    )

    @field_validator("properties")
    @classmethod
    def _known_fields(cls, value: dict[str, str]) -> dict[str, str]:
        unknown = sorted(f for f in value.values() if not is_contact_field(f))
        if unknown:
            raise ValueError(f"unknown profile fields {', '.join(unknown)}; map from one of the documented fields")
        return value

    @model_validator(mode="after")
    def _salesforce_target(self) -> CrmConfig:
        if self.provider == "salesforce" and self.salesforce is None:
            raise ValueError("crm.provider salesforce needs crm.salesforce.external_id_field")
        return self

    def mapping(self) -> dict[str, str]:
        """CRM property -> profile field: the configured mapping, else the provider's defaults."""
        if self.properties:
            return dict(self.properties)
        if self.provider == "salesforce":
            return {"Email": "email", "FirstName": "first_name", "LastName": "last_name", "Phone": "phone"}
        return {"email": "email", "firstname": "first_name", "lastname": "last_name", "phone": "phone"}

    def defaults(self) -> dict[str, str]:
        """Values for empty properties: the configured fallbacks, over the LastName Salesforce requires
        of a Contact or Lead (a profile may have no last name)."""
        if self.provider != "salesforce":
            return dict(self.fallbacks)
        target = self.salesforce.object if self.salesforce else "Contact"
        return {**_SALESFORCE_REQUIRED.get(target, {}), **self.fallbacks}

    def salesforce_create_defaults(self) -> dict[str, str]:
        """Fields Salesforce requires only to create the record, with the value to create it with,
        unless the mapping or the fallbacks already send them (a Lead's Company)."""
        target = self.salesforce.object if self.salesforce else "Contact"
        sent = set(self.mapping()) | set(self.defaults())
        return {k: v for k, v in _SALESFORCE_CREATE_ONLY.get(target, {}).items() if k not in sent}
