"""Root fixtures: dummy AWS credentials and region, so no test can reach a real account."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

_DUMMY_AWS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "POWERTOOLS_METRICS_NAMESPACE": "CommerceHubTests",
    "POWERTOOLS_SERVICE_NAME": "tests",
    "POWERTOOLS_TRACE_DISABLED": "1",
}
os.environ.update(_DUMMY_AWS)
for _var in ("AWS_PROFILE", "AWS_ENDPOINT_URL"):
    os.environ.pop(_var, None)


@pytest.fixture(autouse=True)
def _aws_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in _DUMMY_AWS.items():
        monkeypatch.setenv(key, value)


@pytest.fixture(autouse=True)
def _closed_circuits() -> None:
    """Every test starts with every downstream API's circuit closed (hub.adapters.breaker keeps them
    per process, as a Lambda sandbox does)."""
    from hub.adapters.breaker import reset_breakers

    reset_breakers()


@pytest.fixture(scope="session", autouse=True)
def _one_botocore_loader() -> Iterator[None]:
    """moto gives every test a new boto3 session, and each new session's loader would read and parse
    botocore's service models from JSON again (tenths of a second for every test on moto). One loader
    per data path serves every session: what it caches is the models as read, which botocore never
    changes (it hands the same ones to every client of a session already)."""
    import botocore.session

    original = botocore.session.create_loader
    loaders: dict[str | None, Any] = {}

    def shared_loader(search_path_string: str | None = None) -> Any:
        if search_path_string not in loaders:
            loaders[search_path_string] = original(search_path_string)
        return loaders[search_path_string]

    patch = pytest.MonkeyPatch()
    patch.setattr(botocore.session, "create_loader", shared_loader)
    yield
    patch.undo()
