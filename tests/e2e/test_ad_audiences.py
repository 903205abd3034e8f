"""Ad audiences end to end, through a local stack of this module's own whose configuration keeps a
recent-buyers audience at Meta and Google Ads, both played by the fakes of tests/audience_apis.py
served here on 127.0.0.1 (their credentials put in the stack's audiences secret).

Signed Shopify deliveries go in over HTTP: a consenting customer's paid order adds them to
recent_buyers at both vendors; a customer who did not consent is never sent; a further order that
changes no membership sends nothing new, nor does a redelivered announcement; consent withdrawn
(customers/update) and a customers/redact each remove the customer from every audience.

The daily review, fired as the local stack fires the template's schedule, moves customers by time
alone: orders dated so that a recent-buyer window closes, and a lapsed threshold passes, two minutes
after they are recorded; once both have passed, one review run removes the first customer from
recent_buyers at both vendors and adds the second to lapsed."""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import yaml

from commerce_hub.local import LocalStack
from commerce_hub.signing.shopify import DEFAULT_SHOP
from tests.audience_apis import (
    AUDIENCE_SECRETS,
    GOOGLE_CUSTOMER,
    GOOGLE_LOGIN_CUSTOMER,
    META_AD_ACCOUNT,
    FakeGoogleAds,
    FakeMetaAudiences,
)
from tests.e2e.test_storefront_intake import payload, post
from tests.e2e.waiting import wait_for

from .conftest import ROOT, _environment

pytestmark = pytest.mark.e2e

META_RECENT = "23850000000000001"
GOOGLE_RECENT = "7000001"
META_LAPSED = "23850000000000002"


@pytest.fixture(scope="module")
def vendors() -> Iterator[tuple[FakeMetaAudiences, FakeGoogleAds, str, str]]:
    meta, google = FakeMetaAudiences(), FakeGoogleAds()
    with meta.serve() as meta_url, google.serve() as google_url:
        yield meta, google, meta_url, google_url


@pytest.fixture(scope="module")
def audience_stack(vendors, tmp_path_factory) -> Iterator[LocalStack]:
    _meta, _google, meta_url, google_url = vendors
    document = yaml.safe_load((ROOT / "config" / "local.yaml").read_text())
    document["audiences"] = {
        "meta": {"ad_account_id": META_AD_ACCOUNT, "api_url": meta_url},
        "google_ads": {
            "customer_id": GOOGLE_CUSTOMER,
            "login_customer_id": GOOGLE_LOGIN_CUSTOMER,
            "api_url": google_url,
            "token_url": f"{google_url}/token",
        },
        "segments": {
            "recent_buyers": {"days": 30, "meta_audience_id": META_RECENT, "google_user_list_id": GOOGLE_RECENT},
            "lapsed": {"after_days": 180, "meta_audience_id": META_LAPSED},
        },
    }
    config = tmp_path_factory.mktemp("config") / "audiences.yaml"
    config.write_text(yaml.safe_dump(document, sort_keys=False))
    with LocalStack(ROOT, http_port=0, aws_port=0, env=_environment(HUB_CONFIG=str(config))) as running:
        running.put_secrets({**running.secrets, **AUDIENCE_SECRETS})
        yield running


@pytest.fixture
def http(audience_stack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=audience_stack.url, timeout=30) as client:
        yield client


def sha(email: str) -> str:
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()


def customer_delivery(customer_id: int, email: str, state: str, at: datetime) -> bytes:
    body = payload("shopify_customers_create")
    stamp = at.isoformat()
    body.update(id=customer_id, email=email, updated_at=stamp, created_at=stamp, phone=None)
    body["email_marketing_consent"] = dict(body["email_marketing_consent"], state=state, consent_updated_at=stamp)
    return json.dumps(body).encode()


def order_delivery(order_id: int, customer_id: int, email: str, placed_at: datetime | None = None) -> bytes:
    body = payload("shopify_orders_create")
    placed = (placed_at or datetime.now(UTC) - timedelta(hours=1)).replace(microsecond=0).isoformat()
    body.update(id=order_id, name=f"#{order_id}", order_number=order_id, email=email, created_at=placed)
    body["customer"] = dict(body["customer"], email=email, id=customer_id)
    return json.dumps(body).encode()


def accepted(response: httpx.Response) -> None:
    assert response.status_code == 200 and response.json()["status"] == "accepted", response.text


def queue_idle(stack: LocalStack, prefix: str) -> bool:
    sqs = stack.client("sqs")
    (url,) = [u for u in sqs.list_queues(QueueNamePrefix=prefix)["QueueUrls"] if "-dlq-" not in u]
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"]
    return sum(int(attributes[n]) for n in names) == 0


def settled(stack: LocalStack) -> bool:
    return queue_idle(stack, "commerce-hub-crm-") and queue_idle(stack, "commerce-hub-audiences-")


def test_consenting_buyers_join_the_audiences_and_leave_on_withdrawal_or_erasure(audience_stack, http, vendors):
    meta, google, _meta_url, _google_url = vendors
    tag = uuid.uuid4().hex[:8]
    ada, grace, lin = f"ada.{tag}@example.com", f"grace.{tag}@example.com", f"lin.{tag}@example.com"
    base = int(time.time() * 1000) % 10**11
    now = datetime.now(UTC).replace(microsecond=0)
    for offset, email, state in ((0, ada, "subscribed"), (10, grace, "unsubscribed"), (20, lin, "subscribed")):
        accepted(
            post(http, audience_stack, "shopify", customer_delivery(base + offset, email, state, now),
                 topic="customers/create")
        )  # fmt: skip
        accepted(
            post(http, audience_stack, "shopify", order_delivery(base + offset + 1, base + offset, email),
                 topic="orders/create")
        )  # fmt: skip

    # The consenting buyers are in recent_buyers at both vendors, as SHA-256 of the normalised email.
    def both_in() -> bool:
        held_meta, held_google = meta.members.get(META_RECENT, set()), google.members.get(GOOGLE_RECENT, set())
        return {sha(ada), sha(lin)} <= held_meta and {sha(ada), sha(lin)} <= held_google

    wait_for(both_in, what="Ada and Lin in recent_buyers at Meta and Google Ads")
    wait_for(lambda: settled(audience_stack), what="crm_upsert and ad_audiences to settle")
    # Grace never consented: nothing about her went to either vendor.
    sent_meta = [v for call in meta.calls for row in call.data for v in row]
    sent_google = [i for job in google.jobs.values() for op in job.operations for kind in op.values()
                   for ident in kind["userIdentifiers"] for i in ident.values()]  # fmt: skip
    assert sha(grace) not in sent_meta and sha(grace) not in sent_google
    assert all(job.consent == {"adUserData": "GRANTED", "adPersonalization": "GRANTED"} for job in google.jobs.values())
    assert google.tokens_issued >= 1

    # Another paid order changes Ada's profile but not her audiences: nothing new is sent.
    meta_calls, google_jobs = len(meta.calls), len(google.jobs)
    accepted(post(http, audience_stack, "shopify", order_delivery(base + 2, base, ada), topic="orders/create"))
    time.sleep(1.0)
    wait_for(lambda: settled(audience_stack), what="the second order to be handled")
    assert (len(meta.calls), len(google.jobs)) == (meta_calls, google_jobs)

    # Ada withdraws consent (a later customers/update): she leaves every audience.
    later = now + timedelta(minutes=5)
    accepted(
        post(http, audience_stack, "shopify", customer_delivery(base, ada, "unsubscribed", later),
             topic="customers/update")
    )  # fmt: skip
    wait_for(
        lambda: sha(ada) not in meta.members[META_RECENT] and sha(ada) not in google.members[GOOGLE_RECENT],
        what="Ada removed from every audience",
    )
    assert [c.method for c in meta.calls if sha(ada) in {r[0] for r in c.data}][-1] == "DELETE"

    # Lin asks to be forgotten (customers/redact): she leaves every audience too.
    redaction = payload("shopify_customers_redact")
    redaction["customer"] = {"id": base + 20, "email": lin, "phone": None}
    redaction["orders_to_redact"] = [base + 21]
    redaction["shop_domain"] = DEFAULT_SHOP
    accepted(post(http, audience_stack, "shopify", json.dumps(redaction).encode(), topic="customers/redact"))
    wait_for(
        lambda: sha(lin) not in meta.members[META_RECENT] and sha(lin) not in google.members[GOOGLE_RECENT],
        what="Lin removed from every audience after her erasure",
    )
    wait_for(lambda: settled(audience_stack), what="the erasure to settle")
    # What the hub keeps after the erasure names no identifier of hers.
    table = audience_stack.client("dynamodb")
    name = next(t for t in table.list_tables()["TableNames"] if t.startswith("commerce-hub-") and "idempot" not in t)
    items = table.scan(TableName=name, FilterExpression="begins_with(pk, :p)",
                       ExpressionAttributeValues={":p": {"S": "AUDIENCE#"}})["Items"]  # fmt: skip
    assert sha(lin) not in json.dumps(items) and lin not in json.dumps(items)


def test_a_redelivered_announcement_sends_nothing_new(audience_stack, http, vendors):
    meta, google, _meta_url, _google_url = vendors
    tag = uuid.uuid4().hex[:8]
    email = f"ruth.{tag}@example.com"
    base = int(time.time() * 1000) % 10**11 + 500
    now = datetime.now(UTC).replace(microsecond=0)
    # Tap the audiences queue's rule: a copy of every announcement, to deliver again.
    sqs, events = audience_stack.client("sqs"), audience_stack.client("events")
    bus = next(b["Name"] for b in events.list_event_buses()["EventBuses"] if b["Name"] != "default")
    tap = sqs.create_queue(QueueName=f"e2e-audiences-tap-{tag}")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=tap, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name=f"e2e-audiences-tap-{tag}", EventBusName=bus,
                    EventPattern=json.dumps({"detail-type": ["CustomerProfileChanged"]}))  # fmt: skip
    events.put_targets(Rule=f"e2e-audiences-tap-{tag}", EventBusName=bus, Targets=[{"Id": "tap", "Arn": arn}])

    accepted(post(http, audience_stack, "shopify", customer_delivery(base, email, "subscribed", now),
                  topic="customers/create"))  # fmt: skip
    accepted(post(http, audience_stack, "shopify", order_delivery(base + 1, base, email), topic="orders/create"))
    wait_for(lambda: sha(email) in meta.members.get(META_RECENT, set()), what="Ruth added at Meta")
    wait_for(lambda: settled(audience_stack), what="the announcements to be handled")

    copies = sqs.receive_message(QueueUrl=tap, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", [])
    assert copies, "the announcement was tapped"
    meta_calls, google_jobs = len(meta.calls), len(google.jobs)
    (queue,) = [u for u in sqs.list_queues(QueueNamePrefix="commerce-hub-audiences-")["QueueUrls"] if "-dlq-" not in u]
    for copy in copies:
        sqs.send_message(QueueUrl=queue, MessageBody=copy["Body"])
    time.sleep(1.0)
    wait_for(lambda: settled(audience_stack), what="the redelivered announcements to be handled")
    assert (len(meta.calls), len(google.jobs)) == (meta_calls, google_jobs)


def review(stack: LocalStack) -> dict:
    """Fire ad_audiences' daily schedule (cron(15 4 * * ? *) in the template) now, as the stack would."""
    (spec,) = [s for s in stack.schedules if s.function == "AdAudiencesFunction"]
    invocation = stack.fire_schedule(spec.logical_id)
    assert invocation.ok, invocation.error
    return invocation.result


def test_the_daily_review_moves_customers_by_time_alone(audience_stack, http, vendors):
    meta, google, _meta_url, _google_url = vendors
    tag = uuid.uuid4().hex[:8]
    ida, bea = f"ida.{tag}@example.com", f"bea.{tag}@example.com"
    base = int(time.time() * 1000) % 10**11 + 900
    now = datetime.now(UTC).replace(microsecond=0)
    margin = timedelta(seconds=120)
    # Ida's order: 30 days ago less 2 minutes (a recent buyer for 2 more minutes). Bea's: 180 days ago
    # less 2 minutes (neither recent nor lapsed yet: lapsed in 2 minutes).
    ida_placed, bea_placed = now - timedelta(days=30) + margin, now - timedelta(days=180) + margin
    for offset, email, placed_at in ((0, ida, ida_placed), (10, bea, bea_placed)):
        accepted(post(http, audience_stack, "shopify", customer_delivery(base + offset, email, "subscribed", now),
                      topic="customers/create"))  # fmt: skip
        accepted(post(http, audience_stack, "shopify", order_delivery(base + offset + 1, base + offset, email, placed_at),
                      topic="orders/create"))  # fmt: skip
    wait_for(
        lambda: (
            sha(ida) in meta.members.get(META_RECENT, set()) and sha(ida) in google.members.get(GOOGLE_RECENT, set())
        ),
        what="Ida in recent_buyers at Meta and Google Ads",
    )
    wait_for(lambda: settled(audience_stack), what="crm_upsert and ad_audiences to settle")
    assert datetime.now(UTC) < ida_placed + timedelta(days=30), "the stack took over two minutes: margin too short"
    assert sha(bea) not in json.dumps([c.data for c in meta.calls])  # Bea is in no audience yet
    assert sha(bea) not in meta.members.get(META_LAPSED, set())

    # Nothing is due yet: a review now sends nothing about them.
    meta_calls, google_jobs = len(meta.calls), len(google.jobs)
    assert review(audience_stack)["sent"] == {}
    assert (len(meta.calls), len(google.jobs)) == (meta_calls, google_jobs)

    # Once the 2 minutes have passed, the review (no new event, no profile read) moves them both.
    wait_for(lambda: datetime.now(UTC) > ida_placed + timedelta(days=30, seconds=1), what="Ida's window to close",
             seconds=180)  # fmt: skip
    result = review(audience_stack)
    assert result["sent"] == {
        f"meta:{META_RECENT} remove": 1,
        f"google:{GOOGLE_RECENT} remove": 1,
        f"meta:{META_LAPSED} add": 1,
    }
    assert result["recorded"] == 2
    assert sha(ida) not in meta.members[META_RECENT] and sha(ida) not in google.members[GOOGLE_RECENT]
    assert sha(bea) in meta.members[META_LAPSED] and sha(ida) not in meta.members[META_LAPSED]
    new = meta.calls[meta_calls:]
    assert [(c.method, c.audience_id) for c in new] == [("DELETE", META_RECENT), ("POST", META_LAPSED)]
    assert [row[0] for row in new[0].data] == [sha(ida)] and [row[0] for row in new[1].data] == [sha(bea)]
    (job,) = list(google.jobs.values())[google_jobs:]
    assert job.user_list == GOOGLE_RECENT and job.ran
    assert job.operations == [{"remove": {"userIdentifiers": [{"hashedEmail": sha(ida)}]}}]

    # Done: a second run the same day finds nobody due and sends nothing.
    meta_calls, google_jobs = len(meta.calls), len(google.jobs)
    assert review(audience_stack)["sent"] == {}
    assert (len(meta.calls), len(google.jobs)) == (meta_calls, google_jobs)
