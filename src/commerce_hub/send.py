"""`commerce-hub send SOURCE FILE`: sign a payload with the local secret and post it to the stack."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import httpx

from commerce_hub.client import HubClient, sign_delivery
from commerce_hub.local.template import find_project_root


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("source", help="webhook source, e.g. shopify")
    parser.add_argument("file", type=Path, help="the JSON payload to send, exactly as the vendor sends it")
    parser.add_argument("--topic", help="the vendor topic, e.g. orders/create (Shopify's X-Shopify-Topic)")
    parser.add_argument("--delivery-id", help="reuse a delivery id to send a redelivery (default: a new one)")
    parser.add_argument(
        "--account",
        help="shop domain (Shopify) or site URL (WooCommerce) the delivery comes from; it is signed with the "
        "secret of the channel configured for that store",
    )
    parser.add_argument("--url", help="base URL of the stack (default http://127.0.0.1:$HUB_PORT)")


def main(args: argparse.Namespace) -> int:
    try:
        body = args.file.read_bytes()
    except OSError as exc:
        print(f"cannot read {args.file}: {exc.strerror}", file=sys.stderr)
        return 2
    root = find_project_root()
    with HubClient.from_environment(root, args.url) as client:
        try:
            delivery = sign_delivery(
                args.source,
                body,
                topic=args.topic,
                secrets=client.secrets(args.source, args.account),
                delivery_id=args.delivery_id,
                account=args.account,
                url=client.url,
            )
        except ValueError as exc:
            print(str(exc), file=sys.stderr)
            return 2
        try:
            response = client.send(args.source, delivery)
        except httpx.HTTPError as exc:
            print(f"could not reach the hub at {client.url}: {exc}. Is `make run` running?", file=sys.stderr)
            return 1
    try:
        answer = json.dumps(response.json(), indent=2)
    except ValueError:
        answer = response.text
    print(f"HTTP {response.status_code}\n{answer}")
    return 0 if response.is_success else 1
