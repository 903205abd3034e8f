"""Reading the document: parsed and validated from YAML, read when first used and cached for the
life of the sandbox (five minutes at most, so a changed parameter is picked up without a deploy)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import yaml
from pydantic import ValidationError

from hub.config.document import HubConfig
from hub.errors import ConfigError

__all__ = ["forget_config", "load_config", "parse_config"]


def _describe(error: ValidationError) -> str:
    problems = []
    for item in error.errors():
        where = ".".join(str(p) for p in item["loc"]) or "(top level)"
        if item["type"] == "extra_forbidden":
            problems.append(f"unknown key '{where}'")
        elif item["type"] == "missing":
            problems.append(f"missing key '{where}'")
        else:
            problems.append(f"'{where}': {item['msg']}")
    return "invalid configuration: " + "; ".join(problems)


def parse_config(text: str) -> HubConfig:
    """Parse and validate the YAML document; ConfigError says which key is wrong."""
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"invalid configuration: not valid YAML ({exc})") from exc
    if not isinstance(document, dict):
        raise ConfigError("invalid configuration: the document must be a mapping of keys")
    try:
        return HubConfig.model_validate(document)
    except ValidationError as exc:
        raise ConfigError(_describe(exc)) from exc


_CACHE_SECONDS = 300
_cached: tuple[float, HubConfig] | None = None


def forget_config() -> None:
    """Drop the cached document, so the next `load_config` reads it again (a new sandbox's first read)."""
    global _cached
    _cached = None


def load_config(*, refresh: bool = False) -> HubConfig:
    """The configuration for this sandbox: $HUB_CONFIG (a file) when set, else the SSM parameter."""
    global _cached
    if _cached and not refresh and time.monotonic() - _cached[0] < _CACHE_SECONDS:
        return _cached[1]
    path = os.environ.get("HUB_CONFIG")
    if path:
        text = Path(path).read_text(encoding="utf-8")
    else:
        name = os.environ.get("HUB_CONFIG_PARAMETER")
        if not name:
            raise ConfigError("neither HUB_CONFIG (a file) nor HUB_CONFIG_PARAMETER (SSM) is set")
        # Imported here so the domain and tests that only parse never pull in boto3.
        from aws_lambda_powertools.utilities import parameters

        text = parameters.get_parameter(name, max_age=_CACHE_SECONDS)
    config = parse_config(text)
    _cached = (time.monotonic(), config)
    return config
