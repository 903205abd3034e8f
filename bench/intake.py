"""The intake handler in-process, per webhook, against its floor.

The floor is what no intake can avoid: verify the HMAC, parse the JSON, and make the same AWS
calls directly with boto3 on the same emulator (write the dedupe record with a condition, put the
event on the bus, mark the record done). The ratio says what the handler adds on top: Powertools,
pydantic validation, normalisation, routing.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import importlib.util
import json
import os
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import boto3

ROOT = Path(__file__).resolve().parents[1]
PAYLOAD = (ROOT / "events" / "payloads" / "shopify_orders_create.json").read_bytes()
EVENT = json.loads((ROOT / "events" / "webhook_intake_shopify_orders_create.json").read_text())


class _Context:
    function_name = "bench"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:bench"
    aws_request_id = "bench"

    def get_remaining_time_in_millis(self) -> int:
        return 5000


def _load_intake() -> Any:
    path = ROOT / "functions" / "webhook_intake" / "app.py"
    spec = importlib.util.spec_from_file_location("bench_webhook_intake", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _signed_event(secret: str, order_id: int) -> dict:
    body = json.loads(PAYLOAD)
    body["id"] = order_id
    raw = json.dumps(body).encode()
    event = json.loads(json.dumps(EVENT))
    event["body"] = raw.decode()
    event["headers"]["x-shopify-webhook-id"] = str(uuid.uuid4())
    event["headers"]["x-shopify-event-id"] = str(uuid.uuid4())
    event["headers"]["x-shopify-hmac-sha256"] = base64.b64encode(
        hmac.new(secret.encode(), raw, hashlib.sha256).digest()
    ).decode()
    return event


def _floor(event: dict, secret: str, ddb: Any, events: Any, table: str, bus: str) -> None:
    raw = event["body"].encode()
    expected = base64.b64encode(hmac.new(secret.encode(), raw, hashlib.sha256).digest())
    assert hmac.compare_digest(expected, event["headers"]["x-shopify-hmac-sha256"].encode())
    order = json.loads(raw)
    key = f"shopify:{event['headers']['x-shopify-webhook-id']}"
    ddb.put_item(
        TableName=table,
        Item={"id": {"S": key}, "status": {"S": "INPROGRESS"}, "expiration": {"N": str(int(time.time()) + 3600)}},
        ConditionExpression="attribute_not_exists(id)",
    )
    events.put_events(
        Entries=[
            {
                "EventBusName": bus,
                # The same call, routed nowhere: the floor must not feed the stock consumer poison.
                "Source": "commerce-hub.bench",
                "DetailType": "BenchFloor",
                "Detail": json.dumps({"id": order["id"]}),
            }
        ]
    )
    ddb.update_item(
        TableName=table,
        Key={"id": {"S": key}},
        UpdateExpression="SET #s = :done",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":done": {"S": "COMPLETED"}},
    )


def floor_once(event: dict) -> None:
    """The floor for one webhook in a fresh process: boto3 clients made here, as a cold sandbox would."""
    secret = os.environ["BENCH_SHOPIFY_SECRET"]
    _floor(
        event,
        secret,
        boto3.client("dynamodb"),
        boto3.client("events"),
        os.environ["HUB_IDEMPOTENCY_TABLE"],
        os.environ["HUB_EVENT_BUS"],
    )


def cold(stack: Any, rounds: int = 5) -> dict:
    """Cold start end to end: a fresh interpreter imports the handler and serves its first webhook,
    against the same for the floor (import boto3, HMAC, json.loads, the same three AWS calls)."""
    import subprocess
    import tempfile

    env = dict(os.environ)
    env.update(stack.functions["WebhookIntakeFunction"].environment)
    env.update(
        AWS_ENDPOINT_URL=stack.aws_endpoint,
        POWERTOOLS_LOG_LEVEL="WARNING",
        POWERTOOLS_METRICS_DISABLED="true",
        BENCH_SHOPIFY_SECRET=stack.secrets["SHOPIFY_WEBHOOK_SECRET"].split(",")[0],
        PYTHONPATH=os.pathsep.join([str(ROOT), str(ROOT / "layers" / "shared")]),
    )
    secret = env["BENCH_SHOPIFY_SECRET"]
    samples: dict[str, list[dict]] = {"handler": [], "floor": []}
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(rounds):
            for mode in ("handler", "floor"):
                path = Path(tmp) / f"{mode}-{i}.json"
                path.write_text(json.dumps(_signed_event(secret, 4 * 10**12 + 2 * i + (mode == "floor"))))
                start = time.perf_counter()
                out = subprocess.run(  # noqa: S603
                    [sys.executable, "-m", "bench.cold_child", mode, str(path)],
                    cwd=ROOT,
                    env=env,
                    capture_output=True,
                    text=True,
                    check=True,
                )
                figures = json.loads(out.stdout.strip().splitlines()[-1])
                figures["wall_ms"] = (time.perf_counter() - start) * 1000
                samples[mode].append(figures)

    def median(mode: str, key: str) -> float:
        return round(statistics.median(s[key] for s in samples[mode]), 1)

    result = {m: {k: median(m, k) for k in ("import_ms", "first_call_ms", "wall_ms")} for m in samples}
    result["rounds"] = rounds
    result["ratio_wall"] = round(result["handler"]["wall_ms"] / result["floor"]["wall_ms"], 2)
    return result


def run(stack: Any, webhooks: int = 300) -> dict:
    env = dict(stack.functions["WebhookIntakeFunction"].environment)
    env.update(AWS_ENDPOINT_URL=stack.aws_endpoint, POWERTOOLS_LOG_LEVEL="WARNING", POWERTOOLS_METRICS_DISABLED="true")
    os.environ.update(env)
    secret = stack.secrets["SHOPIFY_WEBHOOK_SECRET"].split(",")[0]
    intake = _load_intake()
    ddb, events = boto3.client("dynamodb"), boto3.client("events")
    table, bus = env["HUB_IDEMPOTENCY_TABLE"], env["HUB_EVENT_BUS"]
    context = _Context()
    # Warm both paths (imports, clients, connections) before timing.
    for i in range(5):
        intake.lambda_handler(_signed_event(secret, 10**12 + i), context)
        _floor(_signed_event(secret, 10**12 + i), secret, ddb, events, table, bus)

    handler_s: list[float] = []
    floor_s: list[float] = []
    for i in range(webhooks):
        # Alternate the two, so that the emulator's growing tables slow both alike.
        ev = _signed_event(secret, 2 * 10**12 + i)
        start = time.perf_counter()
        response = intake.lambda_handler(ev, context)
        handler_s.append(time.perf_counter() - start)
        assert response["statusCode"] == 200, response
        ev = _signed_event(secret, 3 * 10**12 + i)
        start = time.perf_counter()
        _floor(ev, secret, ddb, events, table, bus)
        floor_s.append(time.perf_counter() - start)

    handler_ms = statistics.median(handler_s) * 1000
    floor_ms = statistics.median(floor_s) * 1000
    return {
        "webhooks": webhooks,
        "handler_median_ms": round(handler_ms, 2),
        "floor_median_ms": round(floor_ms, 2),
        "ratio": round(handler_ms / floor_ms, 2),
        "handler_p95_ms": round(statistics.quantiles(handler_s, n=20)[18] * 1000, 2),
        "floor_p95_ms": round(statistics.quantiles(floor_s, n=20)[18] * 1000, 2),
    }
