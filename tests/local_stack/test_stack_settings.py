"""The local stack's numeric settings from the environment: clear errors for values it cannot use."""

from __future__ import annotations

import pytest

from commerce_hub.local import LocalStack
from commerce_hub.local.errors import LocalStackError

from .conftest import ROOT


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("soon", "HUB_LOCAL_BATCHING_WINDOW must be a number of seconds, got 'soon'"),
        ("-1", "HUB_LOCAL_BATCHING_WINDOW must not be negative, got -1"),
        ("nan", "HUB_LOCAL_BATCHING_WINDOW must not be negative, got nan"),
    ],
)
def test_a_batching_window_cap_that_is_not_seconds_is_refused(raw: str, message: str) -> None:
    with pytest.raises(LocalStackError) as refused:
        LocalStack(ROOT, env={"HUB_LOCAL_BATCHING_WINDOW": raw})
    assert str(refused.value) == message


def test_the_batching_window_cap_is_read_in_seconds() -> None:
    assert LocalStack(ROOT, env={"HUB_LOCAL_BATCHING_WINDOW": "0.25"}).batching_window_cap == 0.25
    assert LocalStack(ROOT, env={}).batching_window_cap is None
