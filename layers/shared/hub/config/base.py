"""What every section of the configuration shares: a model that refuses unknown keys and is
immutable once read, and the rule for the API addresses credentials are sent to."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict

__all__ = ["ApiUrl", "StrictModel", "https_or_loopback"]

_LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


class StrictModel(BaseModel):
    """A section of the document: an unknown key is an error with its name, never ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def https_or_loopback(url: str) -> bool:
    """Whether credentials may go to `url`: HTTPS, or plain HTTP to a local fake on this machine."""
    parts = urlsplit(url)
    if parts.scheme.lower() == "https":
        return True
    return parts.scheme.lower() == "http" and (parts.hostname or "").lower() in _LOOPBACK_HOSTS


def _api_url(value: str) -> str:
    if not https_or_loopback(value):
        raise ValueError("must be https:// (plain http only to 127.0.0.1 or localhost): credentials are sent there")
    return value.rstrip("/")


# A vendor API's base URL a section sends credentials to (its trailing slash dropped).
ApiUrl = Annotated[str, AfterValidator(_api_url)]
