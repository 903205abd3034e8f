"""`commerce-hub ship ORDER_ID --tracking N --carrier C`: a fulfilment waiting for a label is shipped.

With no carrier configured (`carrier.provider: none`), a routed order's fulfilments wait for a
tracking number. This posts it to the running stack's admin API (POST /orders/{id}/shipments), which
marks the fulfilment shipped, takes its units out of the reservations and has the storefront told.
"""

from __future__ import annotations

import argparse
import sys
from urllib.parse import quote

import httpx

from commerce_hub.client import HubClient
from commerce_hub.local.template import find_project_root


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("order_id", help="the order, e.g. woocommerce:727 or shopify:5849162203412")
    parser.add_argument("--tracking", required=True, help="the carrier's tracking number")
    parser.add_argument("--carrier", required=True, help="the carrier, e.g. UPS, USPS, DHL")
    parser.add_argument("--tracking-url", help="a public tracking page, if the carrier has one")
    parser.add_argument("--fulfilment", help="which fulfilment, when the order ships from several locations")
    parser.add_argument("--url", help="base URL of the stack (default http://127.0.0.1:$HUB_PORT)")


def main(args: argparse.Namespace) -> int:
    body = {"tracking_number": args.tracking, "carrier": args.carrier}
    if args.tracking_url:
        body["tracking_url"] = args.tracking_url
    if args.fulfilment:
        body["fulfilment_id"] = args.fulfilment
    with HubClient.from_environment(find_project_root(), args.url) as client:
        try:
            response = client.post_json(f"/orders/{quote(args.order_id, safe='')}/shipments", body)
        except httpx.HTTPError as exc:
            print(f"could not reach the hub at {client.url}: {exc}. Is `make run` running?", file=sys.stderr)
            return 1
    try:
        answer = response.json()
    except ValueError:
        print(f"HTTP {response.status_code}\n{response.text}", file=sys.stderr)
        return 1
    if not response.is_success:
        print(f"HTTP {response.status_code}: {answer.get('error', answer)}", file=sys.stderr)
        return 1
    print(f"{answer['order_id']} is {answer['status']}")
    for f in answer.get("fulfilments", []):
        print(
            f"  {f['fulfilment_id']} from {f['location']}: {f['status']} {f['carrier'] or ''} {f['tracking_number'] or ''}"
        )
    return 0
