"""`commerce-hub send` and `commerce-hub demo` against the running local stack, as a user runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import API_TOKEN, ROOT

pytestmark = pytest.mark.e2e

CLI = str(Path(sys.executable).parent / "commerce-hub")


def run_cli(stack, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "HUB_PORT": stack.url.rsplit(":", 1)[1], "HUB_API_TOKEN": API_TOKEN}
    return subprocess.run([CLI, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


def test_send_signs_and_posts_and_a_redelivery_is_a_duplicate(stack, tmp_path):
    payload = json.loads((ROOT / "events" / "payloads" / "shopify_orders_create.json").read_text())
    payload["id"] = 770000000000123
    path = tmp_path / "order.json"
    path.write_text(json.dumps(payload))
    first = run_cli(stack, "send", "shopify", str(path), "--topic", "orders/create", "--delivery-id", "cli-delivery-1")
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith("HTTP 200")
    assert '"status": "accepted"' in first.stdout
    again = run_cli(stack, "send", "shopify", str(path), "--topic", "orders/create", "--delivery-id", "cli-delivery-1")
    assert '"status": "duplicate"' in again.stdout


def test_send_explains_a_missing_file(stack, tmp_path):
    result = run_cli(stack, "send", "shopify", str(tmp_path / "nope.json"))
    assert result.returncode == 2
    assert "cannot read" in result.stderr


def test_demo_prints_what_happened_to_each_order(stack):
    result = run_cli(stack, "demo")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Seeded 5 stock levels." in out
    assert out.count("200 accepted") == 5 and out.count("200 duplicate") == 1
    assert "insufficient_stock" in out and "pending_payment" in out
    assert "(not recorded)" not in out
    assert "\nCustomers\n" in out and "(no profile yet)" not in out
    # The report's conversion: completed over started checkouts, as a percentage, never above 100%.
    table = out.split("Today's report", 1)[1].splitlines()[1:]
    header = table[0]
    assert "conversion" in header, out
    cells = [line[header.index("conversion") :].split()[0] for line in table[2:] if line.strip()]
    assert cells, out
    for cell in cells:
        assert cell == "-" or (cell.endswith("%") and 0 <= float(cell[:-1]) <= 100), out
