"""The carrier API labels are bought from, what is shipped from where, and which rates qualify."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from hub.config.base import StrictModel

__all__ = [
    "LABEL_FORMATS",
    "SHIPPO_LABEL_FILE_TYPES",
    "CarrierAddress",
    "CarrierConfig",
    "ParcelConfig",
    "ServiceLevel",
]


class CarrierAddress(StrictModel):
    """A ship-from address, as carriers want it."""

    name: str | None = None
    company: str | None = None
    street1: str
    street2: str | None = None
    city: str
    state: str | None = None
    zip: str
    country: str = Field(min_length=2, max_length=2, description="ISO 3166-1 alpha-2")
    phone: str | None = None
    email: str | None = None


class ParcelConfig(StrictModel):
    """The default parcel: inches and ounces (EasyPost's units; sent to Shippo with their unit names)."""

    length: float = Field(default=10, gt=0)
    width: float = Field(default=8, gt=0)
    height: float = Field(default=4, gt=0)
    weight: float = Field(default=16, gt=0, description="ounces")


class ServiceLevel(StrictModel):
    """Which rates qualify; the cheapest qualifying rate is bought."""

    max_days: int | None = Field(default=None, ge=0, description="at most this many delivery days")
    services: list[str] = Field(default_factory=list, description="allowed service names or tokens (any if empty)")
    carriers: list[str] = Field(default_factory=list, description="allowed carriers (any if empty)")


# The label formats each carrier API takes: Shippo's `label_file_type` tokens (docs.goshippo.com
# "Shipping label sizes"; shippo-python-sdk LabelFileTypeEnum), where ZPL is spelt ZPLII (ZPL here is
# sent as ZPLII), and EasyPost's `options.label_format`.
SHIPPO_LABEL_FILE_TYPES = (
    "PNG", "PNG_2.3x7.5", "PDF", "PDF_2.3x7.5", "PDF_4x6", "PDF_4x8", "PDF_A4", "PDF_A5", "PDF_A6", "ZPLII",
)  # fmt: skip
LABEL_FORMATS: dict[str, tuple[str, ...]] = {
    "shippo": (*SHIPPO_LABEL_FILE_TYPES, "ZPL"),
    "easypost": ("PDF", "PNG", "ZPL", "EPL2"),
    "none": ("PDF", "PNG", "ZPL"),
}


class CarrierConfig(StrictModel):
    """The carrier API labels are bought from; `none` leaves fulfilments waiting for a tracking number."""

    provider: Literal["easypost", "shippo", "none"] = "none"
    service_level: ServiceLevel = Field(default_factory=ServiceLevel)
    from_address: CarrierAddress | None = None
    from_addresses: dict[str, CarrierAddress] = Field(
        default_factory=dict, description="location id -> ship-from address (else from_address)"
    )
    parcel: ParcelConfig = Field(default_factory=ParcelConfig)
    label_format: str = Field(
        default="PDF",
        description=(
            "PDF, PNG or ZPL (Shippo's ZPLII), or a size only one carrier sells: Shippo's PDF_4x6, PDF_4x8, "
            "PDF_A4, PDF_A5, PDF_A6, PDF_2.3x7.5, PNG_2.3x7.5 (label_file_type); EasyPost's EPL2"
        ),
    )
    api_url: str | None = Field(
        default=None, description="the carrier API's base URL (https://api.easypost.com, https://api.goshippo.com)"
    )

    @model_validator(mode="after")
    def _ship_from(self) -> CarrierConfig:
        if self.provider != "none" and self.from_address is None and not self.from_addresses:
            raise ValueError(f"carrier.provider {self.provider} needs carrier.from_address (or from_addresses)")
        formats = LABEL_FORMATS.get(self.provider)
        if formats is not None and self.label_format not in formats:
            raise ValueError(
                f"carrier.label_format {self.label_format!r} is not one {self.provider} sells; "
                f"one of {', '.join(formats)}"
            )
        return self

    def ship_from(self, location: str | None) -> CarrierAddress | None:
        return self.from_addresses.get(location or "", self.from_address)
