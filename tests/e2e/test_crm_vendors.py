"""Salesforce and Mailchimp end to end, through a local stack of this module's own whose configuration
sends profiles to Salesforce (as Leads) and messages to Mailchimp, both played by the fakes of
tests/crm_apis.py served on 127.0.0.1 (their credentials are put in the stack's secret, as in AWS).

Salesforce: the hub gets its session by the client credentials flow, renews it when the org's session
timeout has passed, and upserts a Lead whose email ends in `.inc` (in the body, never the URL) with
the Company Salesforce requires. Mailchimp: a customer's two purchases start the post-purchase
journey twice (a member event each), where the tag the hub used to add started it once."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import yaml

from commerce_hub.local import LocalStack
from tests.crm_apis import (
    MAILCHIMP_KEY,
    MAILCHIMP_LIST,
    SALESFORCE_CLIENT_ID,
    SALESFORCE_CLIENT_SECRET,
    FakeMailchimp,
    FakeSalesforce,
    JourneyStart,
    md5_of,
)
from tests.e2e.test_marketing import customer, order, post, profile_consent, scheduled
from tests.e2e.waiting import wait_for

from .conftest import AUTH, ROOT, _environment

pytestmark = pytest.mark.e2e

RUN = uuid.uuid4().hex[:8]


@pytest.fixture(scope="module")
def salesforce() -> FakeSalesforce:
    return FakeSalesforce()


@pytest.fixture(scope="module")
def mailchimp() -> FakeMailchimp:
    return FakeMailchimp()


@pytest.fixture(scope="module")
def vendor_stack(salesforce, mailchimp, tmp_path_factory) -> Iterator[LocalStack]:
    with salesforce.serve() as salesforce_url, mailchimp.serve() as mailchimp_url:
        document = yaml.safe_load((ROOT / "config" / "local.yaml").read_text())
        document["crm"] = {
            "provider": "salesforce",
            "salesforce": {"object": "Lead", "external_id_field": "Hub_Email__c"},
            "properties": {"Email": "email", "FirstName": "first_name", "LastName": "last_name"},
        }
        document["marketing"] = {
            "channels": ["mailchimp"],
            "shop_name": "Ada Goods",
            "shop_url": "https://ada-goods.example",
            "rules": {"post_purchase": {"days_after_delivery": 7, "days_after_payment_when_no_delivery": 14}},
            "frequency_cap": {"max_messages": 3, "per_days": 7},
            "mailchimp": {"list_id": MAILCHIMP_LIST, "api_url": mailchimp_url},
        }
        config = tmp_path_factory.mktemp("config") / "vendors.yaml"
        config.write_text(yaml.safe_dump(document, sort_keys=False))
        with LocalStack(ROOT, http_port=0, aws_port=0, env=_environment(HUB_CONFIG=str(config))) as running:
            running.put_secrets(
                {
                    **running.secrets,
                    "SALESFORCE_INSTANCE_URL": salesforce_url,
                    "SALESFORCE_CLIENT_ID": SALESFORCE_CLIENT_ID,
                    "SALESFORCE_CLIENT_SECRET": SALESFORCE_CLIENT_SECRET,
                    "MAILCHIMP_API_KEY": MAILCHIMP_KEY,
                }
            )
            yield running


@pytest.fixture
def http(vendor_stack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=vendor_stack.url, timeout=30) as client:
        yield client


def dead_letters(stack: LocalStack, prefix: str) -> int:
    sqs = stack.client("sqs")
    urls = [u for u in sqs.list_queues(QueueNamePrefix=prefix)["QueueUrls"] if "-dlq-" in u]
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    return sum(
        int(v) for u in urls for v in sqs.get_queue_attributes(QueueUrl=u, AttributeNames=names)["Attributes"].values()
    )


def test_leads_are_upserted_with_a_session_the_hub_renews_itself(vendor_stack, http, salesforce):
    stack = vendor_stack
    ada, grace = f"ada.{RUN}@analytical.inc", f"grace.{RUN}@example.com"
    post(http, stack, "customers/create", customer(ada, "Ada", subscribed=False))
    [(lead_id, lead)] = wait_for(lambda: salesforce.find("Lead", ada), what="Ada's Lead in Salesforce")
    assert lead_id.startswith("00Q") and lead["Company"] == "Unknown" and lead["FirstName"] == "Ada"
    assert all(ada not in r.path for r in salesforce.requests)  # the email travels in the body only
    assert len(salesforce.tokens_issued) == 1

    salesforce.expire_sessions()  # the org's session timeout passes
    post(http, stack, "customers/create", customer(grace, "Grace", subscribed=False))
    wait_for(lambda: salesforce.find("Lead", grace), what="Grace's Lead, with a renewed session")
    assert len(salesforce.tokens_issued) == 2
    assert dead_letters(stack, "commerce-hub-crm-") == 0


def test_each_purchase_starts_the_mailchimp_journey_again(vendor_stack, http, mailchimp):
    stack = vendor_stack
    hedy = f"hedy.{RUN}@example.com"
    sku = f"MUG-{RUN}"
    assert http.put(f"/inventory/{sku}", json={"location": "wh-east", "available": 10}, headers=AUTH).status_code == 200
    post(http, stack, "customers/create", customer(hedy, "Hedy", subscribed=True))
    wait_for(lambda: profile_consent(http, hedy), what="Hedy's consenting profile")

    first, second = int(time.time() * 1000) % 10**12, int(time.time() * 1000) % 10**12 + 1
    post(http, stack, "orders/create", order(first, hedy, sku, datetime.now(UTC) - timedelta(minutes=10)))
    wait_for(lambda: scheduled(stack, "post_purchase", f"shopify:{first}"), what="the first follow-up")
    stack.fire_due_schedules(datetime.now(UTC) + timedelta(days=15))
    wait_for(lambda: len(mailchimp.events(hedy)) == 1, what="the first purchase's event")

    post(http, stack, "orders/create", order(second, hedy, sku, datetime.now(UTC) - timedelta(minutes=1)))
    wait_for(lambda: scheduled(stack, "post_purchase", f"shopify:{second}"), what="the second follow-up")
    stack.fire_due_schedules(datetime.now(UTC) + timedelta(days=30))
    events = wait_for(lambda: e if len(e := mailchimp.events(hedy)) == 2 else None, what="the second event")

    assert [e["name"] for e in events] == ["hub-post-purchase", "hub-post-purchase"]
    assert [e["properties"]["message_key"] for e in events] == [
        f"post_purchase:order:shopify:{first}",
        f"post_purchase:order:shopify:{second}",
    ]
    assert all(e["properties"]["items"] == "Enamel Mug" for e in events)
    starts = [j for j in mailchimp.journeys if j.member == md5_of(hedy)]
    assert starts == [JourneyStart(md5_of(hedy), "event:hub-post-purchase")] * 2
    assert not mailchimp.seen("POST", "/tags")
    assert dead_letters(stack, "commerce-hub-marketing-") == 0
