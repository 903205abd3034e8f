"""`commerce-hub secrets FILE --prefix commerce-hub/prod`: every hub secret from one JSON document.

The hub keeps its credentials in one Secrets Manager secret per concern (webhooks, storefronts,
carriers, crm, marketing, analytics, traffic, unsubscribe, privacy), so each function can read only what it
uses. Setting them up stays one command: FILE is one JSON object of every key (the names in the
README), split by `hub.secrets.SECRET_KEYS` into `<prefix>/<concern>`. Each secret is created, or
given a new version when it exists; a concern with no key in FILE is created empty, so every
function finds its secrets. Uses the AWS credentials and region of the environment (AWS_PROFILE,
AWS_REGION), or the local stack's emulator with --local.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from hub.errors import SecretsError
from hub.secrets import split_document

from commerce_hub.local.provision import put_secrets

__all__ = ["add_arguments", "main"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", help='one JSON object holding every key, e.g. {"SHOPIFY_WEBHOOK_SECRET": "..."}')
    parser.add_argument("--prefix", required=True, help="the stack's SecretsPrefix parameter, e.g. commerce-hub/prod")
    parser.add_argument(
        "--local", action="store_true", help="write to the running local stack's emulator (127.0.0.1:$HUB_AWS_PORT)"
    )


def main(args: argparse.Namespace) -> int:
    try:
        document = json.loads(Path(args.file).expanduser().read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        print(f"cannot read {args.file} as JSON: {exc}", file=sys.stderr)
        return 2
    if not isinstance(document, dict):
        print(f"{args.file} must hold one JSON object of keys and values", file=sys.stderr)
        return 2
    try:
        split_document(document)  # refuse a key no secret holds before writing anything
    except SecretsError as exc:
        print(f"{args.file}: {exc}", file=sys.stderr)
        return 2

    if args.local:
        from commerce_hub.local.emulator import aws_client

        client = aws_client("secretsmanager", f"http://127.0.0.1:{os.environ.get('HUB_AWS_PORT') or 4566}")
    else:
        import boto3

        client = boto3.client("secretsmanager")
    arns = put_secrets(client, args.prefix.rstrip("/"), document)
    for concern, arn in arns.items():
        print(f"{concern:<12} {arn}")
    return 0
