"""What the console's browser tests share beside their fixtures (`browser`, a headless Chromium,
and `page`, a fresh browser context per test, are in tests/e2e/conftest.py): signing in with the
console token, the axe-core check with its screenshot under build/test-artifacts/console/, and
reading a table's cells.
"""

from __future__ import annotations

from tests.browser import ARTIFACTS

from .conftest import API_TOKEN

__all__ = ["SERIOUS", "accessible", "cells", "sign_in"]

SERIOUS = ("serious", "critical")


def sign_in(page, stack, token=API_TOKEN):
    page.goto(f"{stack.url}/console/login")
    page.get_by_label("Console token").fill(token)
    page.get_by_role("button", name="Sign in").click()


def accessible(page, name: str) -> None:
    """No axe-core violation of serious or critical impact; a screenshot either way."""
    from axe_playwright_python.sync_playwright import Axe

    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    violations = Axe().run(page).response["violations"]
    serious = [(v["id"], v["impact"], len(v["nodes"])) for v in violations if v.get("impact") in SERIOUS]
    assert serious == [], f"{name}: {serious}"


def cells(page, selector: str) -> list[list[str]]:
    """Each row the selector matches, as its cells' text."""
    return page.eval_on_selector_all(
        selector, "rows => rows.map(r => Array.from(r.cells).map(c => c.innerText.trim()))"
    )
