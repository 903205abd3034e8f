"""JSON answers shared by the HTTP handlers."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.event_handler import Response, content_types


def json_response(status: int, body: Any) -> Response:
    return Response(status, content_types.APPLICATION_JSON, json.dumps(body))


def error_response(status: int, message: str) -> Response:
    """The body every refusal answers with: {"error": "<what to do>"}."""
    return json_response(status, {"error": message})
