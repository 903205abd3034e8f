"""Root fixtures: dummy AWS credentials and region, so no test can reach a real account."""

from __future__ import annotations

import os

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
