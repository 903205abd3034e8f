"""Shared pieces for the local stack's unit tests: the real template, translated offline."""

from __future__ import annotations

from pathlib import Path

import pytest

from commerce_hub.local.intrinsics import Resolver
from commerce_hub.local.provision import StackResources
from commerce_hub.local.template import SamTemplate, load_template

ROOT = Path(__file__).resolve().parents[2]
SECRETS_PREFIX = "commerce-hub/local"
PARAMETERS = {"Stage": "dev", "SecretsPrefix": SECRETS_PREFIX, "ConfigParameterName": "/commerce-hub/local/config"}
ENDPOINT = "http://127.0.0.1:4566"


@pytest.fixture(scope="session")
def template() -> SamTemplate:
    return load_template(ROOT, PARAMETERS, region="us-east-1")


def make_resolver(template: SamTemplate, parameters: dict[str, str] | None = None) -> Resolver:
    """A resolver as the stack builds it; with no emulator, names come from the template itself."""
    values = {
        name: definition["Default"]
        for name, definition in template.translated["Parameters"].items()
        if "Default" in definition
    }
    values.update(parameters or PARAMETERS)
    resources = StackResources(
        resources=template.resources,
        physical_ids={},
        queue_url=lambda name: f"{ENDPOINT}/123456789012/{name}",
        api_endpoint="http://127.0.0.1:3000",
        region="us-east-1",
        account_id="123456789012",
    )
    resolver = Resolver(
        parameters=values,
        resources=resources,
        conditions=template.translated.get("Conditions"),
        mappings=template.translated.get("Mappings"),
    )
    resources.resolver = resolver
    return resolver


@pytest.fixture(scope="session")
def resolver(template: SamTemplate) -> Resolver:
    return make_resolver(template)
