"""webhook_intake with moto: what reaches the bus, and every refusal as a JSON error."""

from __future__ import annotations

import base64
import copy
import json

import boto3
import pytest
from hub.bootstrap import Sandbox
from samtranslator.yaml_helper import yaml_parse

from commerce_hub.local.secrets import LOCAL_DEFAULTS
from tests.functional.conftest import ROOT, TEMPLATE_RESOURCES, event
from tests.unit.test_shopify_source import sign

SECRET = LOCAL_DEFAULTS["SHOPIFY_WEBHOOK_SECRET"]
TEMPLATE = yaml_parse((ROOT / "template.yaml").read_text())


@pytest.fixture
def intake(aws, load_function):
    return load_function("webhook_intake")


def call(intake, context, ev):
    response = intake.lambda_handler(ev, context)
    return response["statusCode"], json.loads(response["body"])


def with_body(ev, body: bytes, *, signed=True, base64_encoded=False):
    ev = copy.deepcopy(ev)
    ev["body"] = base64.b64encode(body).decode() if base64_encoded else body.decode()
    ev["isBase64Encoded"] = base64_encoded
    if signed:
        ev["headers"]["x-shopify-hmac-sha256"] = sign(body, SECRET)
    return ev


def test_an_order_webhook_lands_on_the_stock_queue_once(aws, intake, context):
    ev = event("webhook_intake_shopify_orders_create.json")
    status, body = call(intake, context, ev)
    assert (status, body["status"]) == (200, "accepted")
    messages = aws.drain("StockQueue")
    assert [m["detail-type"] for m in messages] == ["OrderPlaced"]
    detail = messages[0]["detail"]
    assert detail["event_id"] == body["event_ids"][0]
    assert detail["data"]["order_id"] == "shopify:820982911946154508"
    assert detail["data"]["total"] == 8592

    status, body = call(intake, context, ev)
    assert (status, body["status"]) == (200, "duplicate")
    assert aws.drain("StockQueue") == []


def test_a_base64_body_is_verified_on_its_decoded_bytes(aws, intake, context):
    ev = event("webhook_intake_shopify_orders_create.json")
    raw = ev["body"].encode()
    status, body = call(intake, context, with_body(ev, raw, base64_encoded=True))
    assert (status, body["status"]) == (200, "accepted")


@pytest.mark.parametrize(
    ("change", "status", "message"),
    [
        (lambda ev: ev["headers"].update({"x-shopify-hmac-sha256": "bm9wZQ=="}), 401, "does not match"),
        (lambda ev: ev["headers"].pop("x-shopify-hmac-sha256"), 401, "missing X-Shopify-Hmac-Sha256"),
        (lambda ev: ev.update(with_body(ev, b"{oops")), 400, "not valid JSON"),
        (lambda ev: ev.update(with_body(ev, b"x" * (1024 * 1024 + 1))), 413, "limit is 1048576"),
        (
            lambda ev: ev["pathParameters"].update({"source": "etsy"}) or ev.update(rawPath="/webhooks/etsy"),
            404,
            "unknown webhook source 'etsy'",
        ),
        (lambda ev: ev.update(body="!!!", isBase64Encoded=True), 400, "not valid base64"),
    ],
)
def test_refusals_are_json_errors_that_say_what_is_wrong(aws, intake, context, change, status, message):
    ev = event("webhook_intake_shopify_orders_create.json")
    change(ev)
    got_status, body = call(intake, context, ev)
    assert got_status == status
    assert message in body["error"]
    assert SECRET not in json.dumps(body)
    assert aws.drain("StockQueue") == []


def test_a_delivery_that_could_not_be_published_is_published_by_the_retry(aws, intake, context, monkeypatch):
    ev = event("webhook_intake_shopify_orders_create.json")
    events = boto3.client("events")
    real = events.put_events

    def refuse(**kwargs):
        return {"FailedEntryCount": 1, "Entries": [{"ErrorCode": "InternalFailure", "ErrorMessage": "try again"}]}

    # The function's bus client, handed to its sandbox, refuses the first delivery's events.
    monkeypatch.setattr(intake, "sandbox", Sandbox(events=events))
    monkeypatch.setattr(events, "put_events", refuse)
    status, body = call(intake, context, ev)
    assert status == 503 and "retry" in body["error"]
    assert aws.drain("StockQueue") == []

    monkeypatch.setattr(events, "put_events", real)
    status, body = call(intake, context, ev)
    assert (status, body["status"]) == (200, "accepted")
    assert len(aws.drain("StockQueue")) == 1


def _unauthorized_alarm_metric() -> tuple[str, str, dict[str, str]]:
    """What the template's 401 alarm watches: namespace, metric name, dimensions."""
    alarm = TEMPLATE_RESOURCES["IntakeUnauthorizedAlarm"]["Properties"]
    return alarm["Namespace"], alarm["MetricName"], {d["Name"]: d["Value"] for d in alarm["Dimensions"]}


def _emitted(output: str) -> list[tuple[str, str, dict[str, str], float]]:
    """(namespace, metric, dimensions, value) of every metric in the Powertools EMF lines printed."""
    found = []
    for line in output.splitlines():
        if not line.startswith('{"_aws"'):
            continue
        document = json.loads(line)
        for directive in document["_aws"]["CloudWatchMetrics"]:
            for dimension_set in directive["Dimensions"]:
                dims = {name: document[name] for name in dimension_set}
                for metric in directive["Metrics"]:
                    value = document[metric["Name"]]
                    found.append(
                        (directive["Namespace"], metric["Name"], dims, sum(value) if isinstance(value, list) else value)
                    )
    return found


@pytest.fixture
def deployed_metrics(monkeypatch):
    """The intake's metrics as deployed: the template's namespace and the function's service name."""
    from hub.observability import metrics

    intake_env = TEMPLATE_RESOURCES["WebhookIntakeFunction"]["Properties"]["Environment"]["Variables"]
    monkeypatch.setattr(
        metrics,
        "namespace",
        TEMPLATE["Globals"]["Function"]["Environment"]["Variables"]["POWERTOOLS_METRICS_NAMESPACE"],
    )
    monkeypatch.setattr(metrics, "service", intake_env["POWERTOOLS_SERVICE_NAME"])
    return metrics


def test_a_bad_signature_emits_the_metric_the_401_alarm_watches(aws, intake, context, capsys, deployed_metrics):
    ev = event("webhook_intake_shopify_orders_create.json")
    ev["headers"]["x-shopify-hmac-sha256"] = "bm9wZQ=="
    status, _ = call(intake, context, ev)
    assert status == 401
    namespace, name, dimensions = _unauthorized_alarm_metric()
    assert (namespace, name, dimensions, 1.0) in _emitted(capsys.readouterr().out)


def test_refusals_other_than_the_signature_do_not_count_towards_the_401_alarm(
    aws, intake, context, capsys, deployed_metrics
):
    ev = with_body(event("webhook_intake_shopify_orders_create.json"), b"{oops")
    status, _ = call(intake, context, ev)
    assert status == 400
    emitted = _emitted(capsys.readouterr().out)
    _, name, _ = _unauthorized_alarm_metric()
    assert [m for m in emitted if m[1] == "WebhookRefused"], "the refusal itself is still counted"
    assert not [m for m in emitted if m[1] == name]
