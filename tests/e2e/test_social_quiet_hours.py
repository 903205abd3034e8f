"""Social posting's quiet hours end to end, through a local stack of this module's own whose quiet
hours cover the time the test runs: a product published is not posted but held in one EventBridge
Scheduler schedule (in the emulator), and when the local stack fires it at the end of the quiet
hours (`fire_due_schedules`), the posts are made, once, on the fake Graph and Pinterest APIs."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import yaml

from commerce_hub.local import LocalStack
from tests.e2e.test_social_posting import product
from tests.e2e.test_storefront_intake import post, unique
from tests.e2e.waiting import wait_for
from tests.social_apis import BOARD_ID, FACEBOOK_TOKEN, PAGE_ID, PINTEREST_TOKEN, FakeGraph, FakePinterest

from .conftest import ROOT, _environment

pytestmark = pytest.mark.e2e

NOW = datetime.now(UTC)
START, END = (NOW - timedelta(hours=1)).strftime("%H:%M"), (NOW + timedelta(hours=2)).strftime("%H:%M")


@pytest.fixture(scope="module")
def quiet_stack(tmp_path_factory) -> Iterator[tuple[LocalStack, FakeGraph, FakePinterest]]:
    graph, pinterest = FakeGraph(), FakePinterest()
    with graph.serve() as graph_url, pinterest.serve() as pinterest_url:
        document = yaml.safe_load((ROOT / "config" / "local.yaml").read_text())
        document["channels"]["shopify"] = {"platform": "shopify", "shop_domain": "ada-goods.myshopify.com"}
        document["catalog"] = {"master": "shopify", "currency": "EUR"}
        document["marketing"]["social"] = {
            "facebook": {"page_id": PAGE_ID, "api_url": graph_url},
            "pinterest": {"board_id": BOARD_ID, "api_url": pinterest_url},
            "rules": {"new_product": {}},
            "quiet_hours": {"start": START, "end": END},  # UTC: around now
        }
        config = tmp_path_factory.mktemp("config") / "quiet.yaml"
        config.write_text(yaml.safe_dump(document, sort_keys=False))
        with LocalStack(ROOT, http_port=0, aws_port=0, env=_environment(HUB_CONFIG=str(config))) as running:
            running.put_secrets(
                {
                    **running.secrets,
                    "FACEBOOK_PAGE_ACCESS_TOKEN": FACEBOOK_TOKEN,
                    "PINTEREST_ACCESS_TOKEN": PINTEREST_TOKEN,
                }
            )
            yield running, graph, pinterest


def social_schedules(stack: LocalStack) -> list[dict]:
    scheduler = stack.client("scheduler")
    found = []
    for group in scheduler.list_schedule_groups()["ScheduleGroups"]:
        for item in scheduler.list_schedules(GroupName=group["Name"])["Schedules"]:
            if item["Name"].startswith("social-"):
                found.append(scheduler.get_schedule(GroupName=group["Name"], Name=item["Name"]))
    return found


def test_a_post_due_in_quiet_hours_waits_for_their_end(quiet_stack):
    stack, graph, pinterest = quiet_stack
    title = f"Night Lamp {unique()}"
    with httpx.Client(base_url=stack.url, timeout=30) as http:
        response = post(http, stack, "shopify", product(unique(), title, [f"LAMP-{unique()}"]), topic="products/create")
        assert response.status_code == 200, response.text
    (schedule,) = wait_for(lambda: social_schedules(stack), what="the quiet-hours schedule")
    assert json.loads(schedule["Target"]["Input"])["social_due"]["product"]["title"] == title
    due = datetime.fromisoformat(schedule["ScheduleExpression"][3:-1]).replace(tzinfo=UTC)
    assert due.strftime("%H:%M") == END and timedelta(hours=1) < due - NOW <= timedelta(hours=2, minutes=1)
    time.sleep(1)
    assert graph.requests == [] and pinterest.requests == []  # nothing posted in quiet hours

    assert stack.fire_due_schedules(due - timedelta(minutes=1)) == []  # not yet
    assert stack.fire_due_schedules(due + timedelta(seconds=1))  # the quiet hours are over
    wait_for(lambda: [p for p in graph.feed if title in p["message"]], what="the Page post")
    wait_for(lambda: [p for p in pinterest.pins if p["title"] == title], what="the pin")
    time.sleep(1)
    assert len([p for p in graph.feed if title in p["message"]]) == 1
