"""End-to-end fixtures: the local stack, started once per session on free ports.

`stack` runs the project's own template.yaml; `mini_stack` runs the small template under
fixtures/mini_stack, whose standard-library functions let the runner's own behaviour (events,
errors, timeouts, batch failures, schedules) be tested independently of the hub's functions.
Both use HUB_LOCAL_RETRY_DELAY=0, so failed messages come back at once, and a fixed API token.
HUB_LOCAL_BATCHING_WINDOW=0.2 keeps every mapping's batching window at 0.2 s at most: batches still
gather, but a chain of consumers does not wait a second (the CRM's five) at each step. The
benchmark and `make run` wait out the template's own windows.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from commerce_hub.local import LocalStack
from tests.browser import ARTIFACTS, NoBrowserError, launch_options

ROOT = Path(__file__).resolve().parents[2]
MINI_ROOT = Path(__file__).resolve().parent / "fixtures" / "mini_stack"
API_TOKEN = "e2e-local-token"
AUTH = {"Authorization": f"Bearer {API_TOKEN}"}
"""The header the local admin API asks for, with the token the stacks here are started with."""


def _environment(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env.update({"HUB_LOCAL_RETRY_DELAY": "0", "HUB_LOCAL_BATCHING_WINDOW": "0.2", "HUB_API_TOKEN": API_TOKEN, **extra})
    return env


@pytest.fixture(scope="session")
def stack() -> Iterator[LocalStack]:
    """The project's template.yaml on the local stack."""
    with LocalStack(ROOT, http_port=0, aws_port=0, env=_environment()) as running:
        yield running


@pytest.fixture(scope="session")
def mini_stack() -> Iterator[LocalStack]:
    """The mini template on the local stack, with two workers per function."""
    env = _environment(HUB_CONFIG=str(ROOT / "config" / "local.yaml"))
    with LocalStack(MINI_ROOT, http_port=0, aws_port=0, env=env, pool_size=2) as running:
        yield running


@pytest.fixture
def http(stack: LocalStack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=stack.url, timeout=30) as client:
        yield client


@pytest.fixture
def mini_http(mini_stack: LocalStack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=mini_stack.url, timeout=30) as client:
        yield client


# The console's browser tests (test_console*.py; their helpers are in console_browser.py).
@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """Debian's headless Chromium driven by Playwright; a run without it fails saying how to install it."""
    try:
        options = launch_options()
    except NoBrowserError as exc:
        pytest.fail(str(exc), pytrace=False)
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(**options)
        yield launched
        launched.close()


@pytest.fixture
def page(browser):
    """A page in a browser context of its own (no cookie carried from another test)."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    opened = context.new_page()
    yield opened
    context.close()
