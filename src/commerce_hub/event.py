"""`commerce-hub event SOURCE FILE`: a signed API Gateway (HTTP API, payload 2.0) event for a payload.

What `events/` holds, made fresh: signatures with timestamps (Stripe, BigCommerce) go stale, so
`sam local invoke WebhookIntakeFunction -e <(commerce-hub event stripe payload.json --topic ...)`
always verifies.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from commerce_hub.local.keys import local_signing_keys
from commerce_hub.local.secrets import local_secrets
from commerce_hub.local.template import find_project_root
from commerce_hub.signing import sign_delivery

TEXTUAL = ("text/", "application/json", "application/xml", "application/javascript")


def apigw_event(
    source: str, body: bytes, headers: dict[str, str], *, method: str = "POST", query: str = ""
) -> dict[str, Any]:
    """The event API Gateway sends for one request: lower-cased headers, base64 for non-text bodies."""
    lowered = {k.lower(): v for k, v in headers.items()}
    lowered.setdefault("host", "127.0.0.1:3000")
    lowered["content-length"] = str(len(body))
    content_type = lowered.get("content-type", "")
    textual = content_type.startswith(TEXTUAL) or content_type.endswith("+json")
    path = f"/webhooks/{source}"
    now = time.time()
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": f"{method} /webhooks/{{source}}",
        "rawPath": path,
        "rawQueryString": query,
        "headers": lowered,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "local",
            "domainName": lowered["host"],
            "domainPrefix": lowered["host"].split(".")[0],
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": lowered.get("user-agent", "commerce-hub"),
            },
            "requestId": str(uuid.uuid4()),
            "routeKey": f"{method} /webhooks/{{source}}",
            "stage": "$default",
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "timeEpoch": int(now * 1000),
        },
        "pathParameters": {"source": source},
        "isBase64Encoded": not textual,
    }
    if query:
        event["queryStringParameters"] = dict(p.split("=", 1) for p in query.split("&") if "=" in p)
    if body:
        event["body"] = body.decode() if textual else base64.b64encode(body).decode()
    return event


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("source", help="webhook source, e.g. shopify")
    parser.add_argument("file", type=Path, help="the JSON payload, exactly as the vendor sends it")
    parser.add_argument("--topic", help="the vendor topic, e.g. orders/create")
    parser.add_argument("--delivery-id", help="the vendor's delivery id (default: a new one)")
    parser.add_argument("--account", help="shop domain / site URL the delivery comes from")


def main(args: argparse.Namespace) -> int:
    try:
        body = args.file.read_bytes()
    except OSError as exc:
        print(f"cannot read {args.file}: {exc.strerror}", file=sys.stderr)
        return 2
    root = find_project_root()
    secrets = local_secrets(os.environ, local_signing_keys(root))
    try:
        delivery = sign_delivery(
            args.source, body, topic=args.topic, secrets=secrets, delivery_id=args.delivery_id, account=args.account
        )
    except ValueError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    query = "&".join(f"{k}={v}" for k, v in delivery.params.items())
    print(json.dumps(apigw_event(args.source, delivery.body, delivery.headers, query=query), indent=2))
    return 0
