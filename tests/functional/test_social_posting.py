"""Social posting in marketing_triggers with moto: a ProductPublished from the bus posts once to a
Facebook Page, Instagram and Pinterest (fakes on 127.0.0.1, tokens from the social secret), and a
redelivery posts nothing; quiet hours create one EventBridge Scheduler schedule whose Input, once
delivered to the function, makes the posts; a failing network fails the record (SQS retries it)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

from tests.functional.test_crm_upsert import use_config
from tests.functional.test_marketing_triggers import GROUP, bus_record, marketing, record, schedules  # noqa: F401
from tests.social_apis import FACEBOOK_TOKEN, INSTAGRAM_TOKEN, PINTEREST_TOKEN, FakeGraph, FakePinterest
from tests.social_fakes import MUG_URL, product_published

TOKENS = {
    "FACEBOOK_PAGE_ACCESS_TOKEN": FACEBOOK_TOKEN,
    "INSTAGRAM_ACCESS_TOKEN": INSTAGRAM_TOKEN,
    "PINTEREST_ACCESS_TOKEN": PINTEREST_TOKEN,
}


def social_section(graph_url: str, pinterest_url: str, extra: str = "") -> str:
    return (
        "  social:\n"
        f"    facebook: {{page_id: '104918374651234', api_url: '{graph_url}'}}\n"
        f"    instagram: {{ig_user_id: '17841405822304914', api_url: '{graph_url}'}}\n"
        f"    pinterest: {{board_id: '549755885175', api_url: '{pinterest_url}'}}\n"
        "    rules: {new_product: {}, back_in_stock: {}}\n"
        "    template: 'New: {title} for {price} {link}'\n" + extra
    )


@pytest.fixture
def fakes():
    graph, pinterest = FakeGraph(), FakePinterest()
    with graph.serve() as graph_url, pinterest.serve() as pinterest_url:
        yield graph, pinterest, graph_url, pinterest_url


def markers(aws) -> dict[str, dict]:
    items = boto3.client("dynamodb").scan(TableName=aws.resources["HubTable"])["Items"]
    return {i["pk"]["S"]: i for i in items if i["pk"]["S"].startswith("MKTSOCIAL#") and i["sk"]["S"] == "POST"}


def test_a_published_product_is_posted_once_on_each_network(aws, marketing, fakes, monkeypatch, context):  # noqa: F811
    graph, pinterest, graph_url, pinterest_url = fakes
    use_config(aws, monkeypatch, social_section(graph_url, pinterest_url), TOKENS)
    published = bus_record(product_published(at=datetime.now(UTC) - timedelta(minutes=1)), "m1")
    assert marketing.lambda_handler({"Records": [published, dict(published, messageId="m2")]}, context) == {
        "batchItemFailures": []
    }
    text = f"New: Enamel Mug for 12.50 EUR {MUG_URL}"
    assert [(p["message"], p["link"]) for p in graph.feed] == [(text, MUG_URL)]
    assert [m["caption"] for m in graph.media] == [text]
    assert [p["description"] for p in pinterest.pins] == [text]

    found = markers(aws)
    facebook = found["MKTSOCIAL#new_product:shopify:8123:new:facebook"]
    assert facebook["state"]["S"] == "posted" and facebook["post_id"]["S"] == graph.feed[0]["id"]
    assert found["MKTSOCIAL#new_product:shopify:8123:new:instagram"]["post_id"]["S"] == graph.media[0]["id"]
    assert found["MKTSOCIAL#new_product:shopify:8123:new:pinterest"]["post_id"]["S"] == pinterest.pins[0]["id"]

    # The same event delivered again, later: nothing more is posted.
    requests = len(graph.requests) + len(pinterest.requests)
    assert marketing.lambda_handler({"Records": [dict(published, messageId="m3")]}, context) == {
        "batchItemFailures": []
    }
    assert len(graph.requests) + len(pinterest.requests) == requests


def test_quiet_hours_hold_the_posts_in_a_schedule_that_posts_them_when_it_fires(
    aws,
    marketing,  # noqa: F811
    fakes,
    monkeypatch,
    context,
):
    graph, pinterest, graph_url, pinterest_url = fakes
    now = datetime.now(UTC)
    start, end = (now - timedelta(hours=1)).strftime("%H:%M"), (now + timedelta(hours=2)).strftime("%H:%M")
    extra = f"    quiet_hours: {{start: '{start}', end: '{end}'}}\n"
    use_config(aws, monkeypatch, social_section(graph_url, pinterest_url, extra), TOKENS)
    published = bus_record(product_published(at=now), "m1")
    assert marketing.lambda_handler({"Records": [published, dict(published, messageId="m2")]}, context) == {
        "batchItemFailures": []
    }
    assert graph.requests == [] and pinterest.requests == []
    (name, schedule) = next((n, s) for n, s in schedules().items() if n.startswith("social-"))
    assert len([n for n in schedules() if n.startswith("social-")]) == 1
    assert name.startswith("social-new_product-") and schedule["ActionAfterCompletion"] == "DELETE"
    assert schedule["Target"]["Arn"].endswith(":commerce-hub-marketing-dev")
    assert schedule["Target"]["DeadLetterConfig"]["Arn"].endswith(":commerce-hub-marketing-dlq-dev")
    due_at = datetime.fromisoformat(schedule["ScheduleExpression"][3:-1]).replace(tzinfo=UTC)
    assert timedelta(hours=1) < due_at - now <= timedelta(hours=2)
    payload = json.loads(schedule["Target"]["Input"])
    assert payload["social_due"]["product"]["key"] == "shopify:8123"

    # Scheduler delivers the Input to the marketing queue when the quiet hours end.
    assert marketing.lambda_handler({"Records": [record(payload, "due-1")]}, context) == {"batchItemFailures": []}
    assert len(graph.feed) == 1 and len(graph.media) == 1 and len(pinterest.pins) == 1


def test_a_failing_network_fails_the_record_and_its_retry_posts_only_what_is_missing(
    aws,
    marketing,  # noqa: F811
    fakes,
    monkeypatch,
    context,
):
    graph, pinterest, graph_url, pinterest_url = fakes
    use_config(aws, monkeypatch, social_section(graph_url, pinterest_url), TOKENS)
    pinterest.fail_next = 1
    published = bus_record(product_published(at=datetime.now(UTC)), "m1")
    with pytest.raises(BatchProcessingError, match="pinterest: Pinterest pin failed with HTTP 500"):
        marketing.lambda_handler({"Records": [published]}, context)  # every record of the batch failed
    assert len(graph.feed) == 1 and pinterest.pins == []
    # SQS delivers it again after its visibility timeout.
    assert marketing.lambda_handler({"Records": [published]}, context) == {"batchItemFailures": []}
    assert len(graph.feed) == 1 and len(graph.media) == 1 and len(pinterest.pins) == 1


def test_a_missing_token_fails_the_record_naming_the_key(aws, marketing, fakes, monkeypatch, context):  # noqa: F811
    graph, pinterest, graph_url, pinterest_url = fakes
    use_config(aws, monkeypatch, social_section(graph_url, pinterest_url), {**TOKENS, "FACEBOOK_PAGE_ACCESS_TOKEN": ""})
    published = bus_record(product_published(at=datetime.now(UTC)), "m1")
    with pytest.raises(BatchProcessingError, match="FACEBOOK_PAGE_ACCESS_TOKEN is not in the hub's social secret"):
        marketing.lambda_handler({"Records": [published]}, context)
    assert graph.feed == [] and len(pinterest.pins) == 1  # the other networks had their turn


def test_a_sku_back_in_stock_posts_the_catalogs_product_once_that_day(aws, marketing, fakes, monkeypatch, context):  # noqa: F811
    from hub.adapters.catalog_store import DynamoProductRecords

    from tests.social_fakes import level_changed, mug

    graph, pinterest, graph_url, pinterest_url = fakes
    use_config(aws, monkeypatch, social_section(graph_url, pinterest_url), TOKENS)
    records = DynamoProductRecords(boto3.client("dynamodb"), aws.resources["HubTable"])
    records.save(mug(), 0, as_of=datetime.now(UTC).isoformat())
    now = datetime.now(UTC)
    restocks = [
        bus_record(level_changed("MUG-RED", available=4, previous=0, total=4, at=now), "m1"),
        bus_record(level_changed("MUG-BLUE", available=2, previous=0, total=2, at=now), "m2"),
        bus_record(level_changed("MUG-RED", available=9, previous=4, total=9, at=now), "m3"),  # not a restock
    ]
    assert marketing.lambda_handler({"Records": restocks}, context) == {"batchItemFailures": []}
    text = f"New: Enamel Mug for 13.50 EUR {MUG_URL}"  # MUG-RED's own price
    assert [p["message"] for p in graph.feed] == [text]
    assert len(graph.media) == 1 and len(pinterest.pins) == 1
    assert {k.split(":")[0] for k in markers(aws)} == {"MKTSOCIAL#back_in_stock"}


def test_the_sample_social_due_posts(aws, marketing, fakes, monkeypatch, context):  # noqa: F811
    """events/marketing_triggers_social_due.json: what a quiet-hours schedule delivers (for `sam local invoke -e`)."""
    from tests.functional.conftest import event

    graph, pinterest, graph_url, pinterest_url = fakes
    use_config(aws, monkeypatch, social_section(graph_url, pinterest_url), TOKENS)
    assert marketing.lambda_handler(event("marketing_triggers_social_due.json"), context) == {"batchItemFailures": []}
    assert [p["message"] for p in graph.feed] == [
        "New: Organic Cotton Tee for 24.00 USD https://ada-goods.myshopify.com/products/organic-cotton-tee"
    ]
    assert len(graph.media) == 1 and len(pinterest.pins) == 1
