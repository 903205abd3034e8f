"""The local stack end to end: health, auth, routing, resources, queues to the DLQ, schedules, CLI.

Against the project's template.yaml (`stack`) and against the mini template (`mini_stack`),
whose tiny functions make the runner's own behaviour observable. Timings are never asserted;
waits only bound how long a broken stack can hang the suite.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from samtranslator.yaml_helper import yaml_parse

from commerce_hub.local import LocalStack, LocalStackError
from tests.e2e.waiting import wait_for

from .conftest import API_TOKEN, AUTH, MINI_ROOT, ROOT

pytestmark = pytest.mark.e2e

TEMPLATE = yaml_parse((ROOT / "template.yaml").read_text())["Resources"]


def _of_type(kind: str) -> list[str]:
    return [logical_id for logical_id, resource in TEMPLATE.items() if resource["Type"] == kind]


def drain(sqs: Any, url: str) -> list[dict[str, Any]]:
    messages = []
    while True:
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"]).get("Messages", [])
        if not got:
            return messages
        messages.extend(got)
        for message in got:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])


# ------------------------------------------------------------------ the project's template
def test_health_answers_200_with_every_function_poller_and_schedule(http: httpx.Client) -> None:
    response = http.get("/health")
    assert response.status_code == 200
    document = response.json()
    assert document["status"] == "ok"
    assert set(document["functions"]) == set(_of_type("AWS::Serverless::Function"))
    assert all(f["ready"] for f in document["functions"].values())
    # One poller per queue a function consumes (every queue that is not a dead-letter queue).
    queues = [TEMPLATE[q]["Properties"]["QueueName"]["Fn::Sub"] for q in _of_type("AWS::SQS::Queue")]
    assert sorted(p["queue"] for p in document["pollers"]) == sorted(
        q.replace("${Stage}", "dev") for q in queues if "-dlq-" not in q
    )
    assert all(p["running"] for p in document["pollers"])
    # Every function the template schedules (queue_health, the reconciler, ...), each once.
    scheduled = sorted(
        name
        for name in _of_type("AWS::Serverless::Function")
        if any(e["Type"] == "Schedule" for e in (TEMPLATE[name]["Properties"].get("Events") or {}).values())
    )
    assert {"QueueHealthFunction", "ReconcilerFunction"} <= set(scheduled)
    assert sorted(s["function"] for s in document["schedules"]) == scheduled


def test_an_iam_route_without_the_token_gets_401_json(http: httpx.Client) -> None:
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": API_TOKEN}):
        response = http.get("/orders/shopify:1", headers=headers)
        assert response.status_code == 401
        assert response.headers["content-type"] == "application/json"
        message = response.json()["error"]
        assert "Bearer" in message and API_TOKEN not in message


def test_an_iam_route_with_the_token_reaches_the_function(http: httpx.Client) -> None:
    response = http.get("/orders/shopify:does-not-exist", headers=AUTH)
    assert response.status_code == 404  # the admin function's own answer for an unknown order
    assert "error" in response.json()


def test_an_unknown_path_or_method_is_404_like_api_gateway(http: httpx.Client) -> None:
    for method, path in (("GET", "/nowhere"), ("PUT", "/webhooks/shopify"), ("DELETE", "/orders/x")):
        response = http.request(method, path, headers=AUTH)
        assert response.status_code == 404
        assert response.json() == {"message": "Not Found"}


def test_a_body_over_10_mb_is_refused_with_413(http: httpx.Client) -> None:
    response = http.post("/webhooks/shopify", content=b"x" * (10 * 1024 * 1024 + 1))
    assert response.status_code == 413
    assert "message" in response.json()


def test_every_table_and_queue_of_the_template_exists_in_the_emulator(stack: LocalStack) -> None:
    tables = set(stack.client("dynamodb").list_tables()["TableNames"])
    expected_tables = {stack.physical_ids[logical_id] for logical_id in _of_type("AWS::DynamoDB::Table")}
    assert len(expected_tables) == len(_of_type("AWS::DynamoDB::Table"))
    assert expected_tables <= tables

    sqs = stack.client("sqs")
    queue_names = {url.rsplit("/", 1)[-1] for url in sqs.list_queues().get("QueueUrls", [])}
    expected_queues = {stack.physical_ids[logical_id].rsplit("/", 1)[-1] for logical_id in _of_type("AWS::SQS::Queue")}
    assert len(expected_queues) == len(_of_type("AWS::SQS::Queue"))
    assert expected_queues <= queue_names

    buses = {bus["Name"] for bus in stack.client("events").list_event_buses()["EventBuses"]}
    assert stack.resolver is not None
    for logical_id in _of_type("AWS::Events::EventBus"):
        assert stack.resolver.resolve({"Fn::GetAtt": [logical_id, "Name"]}) in buses


@pytest.mark.skipif(shutil.which("aws") is None, reason="the AWS CLI is not installed")
def test_the_aws_cli_can_inspect_the_emulator(stack: LocalStack) -> None:
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x", "AWS_DEFAULT_REGION": "us-east-1"}
    env.pop("AWS_PROFILE", None)
    result = subprocess.run(
        ["aws", "--endpoint-url", stack.aws_endpoint, "dynamodb", "list-tables", "--output", "json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "commerce-hub-dev" in json.loads(result.stdout)["TableNames"]


def test_the_functions_read_secrets_and_config_from_the_emulator(stack: LocalStack) -> None:
    client = stack.client("secretsmanager")
    stored = {}
    for arn in stack.secret_arns.values():
        stored.update(json.loads(client.get_secret_value(SecretId=arn)["SecretString"]))
    assert stored == stack.secrets
    parameter = stack.client("ssm").get_parameter(Name="/commerce-hub/local/config")["Parameter"]
    assert parameter["Value"] == (ROOT / "config" / "local.yaml").read_text()
    intake = stack.functions["WebhookIntakeFunction"].environment
    assert intake["HUB_SECRET_WEBHOOKS"] == "commerce-hub/local/webhooks"
    unsubscribe = stack.functions["MarketingUnsubscribeFunction"].environment
    assert [name for name in unsubscribe if name.startswith("HUB_SECRET")] == ["HUB_SECRET_UNSUBSCRIBE"]


def test_a_message_the_handler_fails_ends_in_the_dlq_after_max_receive_count(stack: LocalStack) -> None:
    sqs = stack.client("sqs")
    queue = stack.physical_ids["StockQueue"].rsplit("/", 1)[-1]
    dlq = stack.physical_ids["StockDeadLetterQueue"].rsplit("/", 1)[-1]
    queue_url = sqs.get_queue_url(QueueName=queue)["QueueUrl"]
    dlq_url = sqs.get_queue_url(QueueName=dlq)["QueueUrl"]
    body = json.dumps({"not": "an EventBridge event", "marker": "poison-e2e"})
    sqs.send_message(QueueUrl=queue_url, MessageBody=body)

    def in_dlq() -> list[dict[str, Any]]:
        got = sqs.receive_message(QueueUrl=dlq_url, MaxNumberOfMessages=10, AttributeNames=["All"])
        return [m for m in got.get("Messages", []) if m["Body"] == body]

    (message,) = wait_for(in_dlq, what="the poison message in the DLQ")
    assert int(message["Attributes"]["ApproximateReceiveCount"]) >= 1
    sqs.delete_message(QueueUrl=dlq_url, ReceiptHandle=message["ReceiptHandle"])
    attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["All"])["Attributes"]
    assert attributes["ApproximateNumberOfMessages"] == "0"


def test_a_schedule_fires_on_request(http: httpx.Client) -> None:
    name = "QueueHealthFunctionEveryMinute"
    assert http.post(f"/_local/schedules/{name}").status_code == 401
    response = http.post(f"/_local/schedules/{name}", headers=AUTH)
    assert response.status_code == 200
    assert response.json()["status"] == "ok"
    assert http.post("/_local/schedules/NoSuchSchedule", headers=AUTH).status_code == 404


# ------------------------------------------------------------------ the mini template
def test_the_function_receives_a_faithful_payload_2_event(mini_http: httpx.Client, mini_stack: LocalStack) -> None:
    response = mini_http.post(
        "/public/caf%C3%A9?x=1&x=2",
        content=b"a=1&b=2",
        headers=[
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("X-Repeat", "one"),
            ("X-Repeat", "two"),
            ("Cookie", "c1=v1; c2=v2"),
        ],
    )
    assert response.status_code == 200
    assert response.headers["x-echo"] == "1"
    assert response.headers["apigw-requestid"]
    assert response.cookies.get("seen") == "1"
    echoed = response.json()
    event = echoed["event"]
    assert event["version"] == "2.0"
    assert event["routeKey"] == "POST /public/{name}"
    assert event["rawPath"] == "/public/caf%C3%A9"
    assert event["pathParameters"] == {"name": "café"}
    assert event["queryStringParameters"] == {"x": "1,2"}
    assert event["headers"]["x-repeat"] == "one,two"
    assert event["cookies"] == ["c1=v1", "c2=v2"]
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == b"a=1&b=2"
    assert event["requestContext"]["http"]["sourceIp"] == "127.0.0.1"
    assert echoed["greeting"] == "hello from the layer"
    assert echoed["stage"] == "mini-dev"
    assert echoed["queue_name"] == "mini-work-dev"
    assert echoed["queue_url"].startswith(mini_stack.aws_endpoint)
    assert echoed["function_name"] == "mini-echo-dev"


def test_routes_of_every_api_are_served_with_their_own_auth(mini_http: httpx.Client) -> None:
    assert mini_http.get("/echo/anything").status_code == 200  # the implicit API, no auth
    assert mini_http.put("/echo/anything").status_code == 200  # ANY method
    assert mini_http.get("/private").status_code == 401
    assert mini_http.get("/private", headers=AUTH).status_code == 200


def test_a_result_without_status_code_is_a_200_json(mini_http: httpx.Client) -> None:
    response = mini_http.get("/echo/raw")
    assert response.status_code == 200
    assert response.json() == {"plain": True}


def test_a_function_error_is_a_500_and_a_timeout_a_503(mini_http: httpx.Client) -> None:
    error = mini_http.get("/echo/boom")
    assert error.status_code == 500 and error.json() == {"message": "Internal Server Error"}
    timeout = mini_http.get("/echo/slow")
    assert timeout.status_code == 503 and timeout.json() == {"message": "Service Unavailable"}
    assert mini_http.get("/echo/again").status_code == 200  # a fresh sandbox took over


def test_batch_item_failures_are_retried_then_dead_lettered(mini_stack: LocalStack) -> None:
    sqs = mini_stack.client("sqs")
    queue_url = sqs.get_queue_url(QueueName="mini-work-dev")["QueueUrl"]
    dlq_url = sqs.get_queue_url(QueueName="mini-work-dlq-dev")["QueueUrl"]
    for body in ("ok-1", "fail", "ok-2", "ok-3"):
        sqs.send_message(QueueUrl=queue_url, MessageBody=body)

    dead: list[dict[str, Any]] = []

    def dead_lettered() -> bool:
        dead.extend(drain(sqs, dlq_url))
        return bool(dead)

    wait_for(dead_lettered, what="the failing message in the DLQ")
    assert [m["Body"] for m in dead] == ["fail"]

    def main_queue_empty() -> bool:
        attributes = sqs.get_queue_attributes(
            QueueUrl=queue_url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
        )["Attributes"]
        return attributes == {"ApproximateNumberOfMessages": "0", "ApproximateNumberOfMessagesNotVisible": "0"}

    wait_for(main_queue_empty, what="the work queue to drain")


def test_a_schedule_delivers_its_input(mini_stack: LocalStack) -> None:
    (spec,) = mini_stack.schedules
    assert spec.expression_text == "cron(0 6 * * ? *)"
    invocation = mini_stack.fire_schedule(spec.logical_id)
    assert invocation.ok
    # The echo function returns the event it got inside its HTTP-style body.
    assert json.loads(invocation.result["body"])["event"] == {"report": "daily"}


def test_an_invalid_config_stops_the_start_with_the_key_named(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("locations: [{id: wh-east, country: US}]\nsurprise: 1\n")
    env = {**os.environ, "HUB_CONFIG": str(bad)}
    with pytest.raises(LocalStackError, match="surprise"):
        LocalStack(MINI_ROOT, http_port=0, aws_port=0, env=env).start()


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_the_cli_runs_until_interrupted_and_exits_cleanly(signum: int) -> None:
    env = {**os.environ, "HUB_CONFIG": str(ROOT / "config" / "local.yaml"), "PYTHONUNBUFFERED": "1"}
    env.pop("HUB_API_TOKEN", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "commerce_hub.cli", "local", "--root", str(MINI_ROOT), "--port", "0", "--aws-port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    lines = []
    try:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line)
            if "Press Ctrl-C" in line:
                break
        banner = "".join(lines)
        assert "API token" in banner  # generated and printed when HUB_API_TOKEN is unset
        url = next(line.split()[-1] for line in lines if "HTTP API" in line)
        assert httpx.get(f"{url}/health", timeout=10).status_code == 200
        token = next(line.split()[2] for line in lines if "API token" in line)
        saved = MINI_ROOT / ".commerce-hub" / "api-token"
        assert saved.read_text().strip() == token  # for `send` and `demo`
        assert httpx.get(f"{url}/private", headers={"Authorization": f"Bearer {token}"}).status_code == 200
        process.send_signal(signum)
        out, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, err
    assert "Traceback" not in out + err
    assert "Stopped." in out
    assert not (MINI_ROOT / ".commerce-hub" / "api-token").exists()
