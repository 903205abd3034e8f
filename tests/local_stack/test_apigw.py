"""Routes, payload 2.0 events and responses behave as API Gateway HTTP APIs do."""

from __future__ import annotations

import base64
import json

import pytest
from aws_lambda_powertools.utilities.parser.models import APIGatewayProxyEventV2Model

from commerce_hub.local.apigw import (
    MalformedResponseError,
    Route,
    build_event,
    is_textual,
    map_result,
    match_route,
    routes_from_openapi,
)
from commerce_hub.local.template import SamTemplate

ROUTES = [
    Route("POST", "/webhooks/{source}", "Intake"),
    Route("GET", "/orders/{order_id}", "Admin", "AWS_IAM"),
    Route("GET", "/inventory/{sku}", "Admin", "AWS_IAM"),
    Route("PUT", "/inventory/{sku}", "Admin", "AWS_IAM"),
    Route("GET", "/reports/daily", "Reports", "AWS_IAM"),
    Route("GET", "/reports/{name}", "AnyReport", "AWS_IAM"),
    Route("ANY", "/files/{path+}", "Files"),
]


def test_template_routes_come_from_the_translated_openapi_body(template: SamTemplate) -> None:
    routes = []
    for api in template.of_type("AWS::ApiGatewayV2::Api").values():
        routes += routes_from_openapi(api["Properties"]["Body"], template.function_of)
    by_key = {route.key: route for route in routes}
    assert by_key["POST /webhooks/{source}"].function == "WebhookIntakeFunction"
    assert by_key["POST /webhooks/{source}"].authorization == "NONE"
    assert by_key["GET /orders/{order_id}"].function == "AdminApiFunction"
    assert by_key["GET /orders/{order_id}"].authorization == "AWS_IAM"
    assert by_key["PUT /inventory/{sku}"].authorization == "AWS_IAM"


@pytest.mark.parametrize(
    ("method", "path", "function", "parameters"),
    [
        ("POST", "/webhooks/shopify", "Intake", {"source": "shopify"}),
        ("GET", "/orders/shopify%3A5849162203412", "Admin", {"order_id": "shopify:5849162203412"}),
        ("PUT", "/inventory/SKU-1", "Admin", {"sku": "SKU-1"}),
        ("GET", "/reports/daily", "Reports", {}),  # a literal segment beats a parameter
        ("GET", "/reports/weekly", "AnyReport", {"name": "weekly"}),
        ("DELETE", "/files/a/b/c.txt", "Files", {"path": "a/b/c.txt"}),
        ("GET", "/files/", "Files", {"path": ""}),  # a trailing slash: the greedy variable is empty
    ],
)
def test_matching(method: str, path: str, function: str, parameters: dict[str, str]) -> None:
    found = match_route(ROUTES, method, path)
    assert found is not None
    route, got = found
    assert (route.function, got) == (function, parameters)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/webhooks/shopify"),  # the path exists, the method does not: API Gateway says 404
        ("POST", "/webhooks"),
        ("POST", "/webhooks/"),
        ("POST", "/webhooks/shopify/extra"),
        ("GET", "/nothing"),
        ("GET", "/files"),
    ],
)
def test_no_match_is_a_404(method: str, path: str) -> None:
    assert match_route(ROUTES, method, path) is None


@pytest.mark.parametrize(
    ("content_type", "textual"),
    [
        ("application/json", True),
        ("application/json; charset=utf-8", True),
        ("Application/JSON", True),
        ("application/vnd.api+json", True),
        ("application/xml", True),
        ("application/javascript", True),
        ("text/plain", True),
        ("text/html; charset=utf-8", True),
        ("application/x-www-form-urlencoded", False),
        ("application/octet-stream", False),
        ("multipart/form-data; boundary=x", False),
        (None, False),
    ],
)
def test_which_bodies_stay_text(content_type: str | None, textual: bool) -> None:
    assert is_textual(content_type) is textual


def _event(headers: list[tuple[str, str]], body: bytes = b"", query: str = "") -> dict:
    return build_event(
        route=ROUTES[0],
        method="POST",
        raw_path="/webhooks/shopify",
        raw_query=query,
        headers=headers,
        body=body,
        path_parameters={"source": "shopify"},
        source_ip="127.0.0.1",
        api_id="localapi00",
        account_id="123456789012",
        request_id="JKJaXmPLvHcESHA=",
        now=1_700_000_000.123,
    )


def test_a_json_webhook_event_is_exactly_what_api_gateway_sends() -> None:
    body = b'{"id": 5849162203412, "note": "caf\xc3\xa9"}'
    event = _event(
        [
            ("Host", "127.0.0.1:3000"),
            ("Content-Type", "application/json"),
            ("X-Shopify-Topic", "orders/create"),
            ("User-Agent", "Shopify-Captain-Hook"),
            ("Accept", "text/html"),
            ("Accept", "application/json"),
            ("Cookie", "a=1; b=2"),
        ],
        body,
        query="x=1&x=2&y=",
    )
    assert event["version"] == "2.0"
    assert event["routeKey"] == "POST /webhooks/{source}"
    assert event["rawPath"] == "/webhooks/shopify"
    assert event["rawQueryString"] == "x=1&x=2&y="
    assert event["queryStringParameters"] == {"x": "1,2", "y": ""}
    assert event["headers"]["x-shopify-topic"] == "orders/create"
    assert event["headers"]["accept"] == "text/html,application/json"
    assert all(name == name.lower() for name in event["headers"])
    assert "cookie" not in event["headers"] and event["cookies"] == ["a=1", "b=2"]
    assert event["pathParameters"] == {"source": "shopify"}
    assert event["isBase64Encoded"] is False
    assert event["body"] == body.decode()
    assert "stageVariables" not in event
    context = event["requestContext"]
    assert context["http"] == {
        "method": "POST",
        "path": "/webhooks/shopify",
        "protocol": "HTTP/1.1",
        "sourceIp": "127.0.0.1",
        "userAgent": "Shopify-Captain-Hook",
    }
    assert context["routeKey"] == "POST /webhooks/{source}"
    assert context["stage"] == "$default"
    assert context["timeEpoch"] == 1_700_000_000_123
    assert context["time"] == "14/Nov/2023:22:13:20 +0000"
    assert context["domainName"] == "127.0.0.1:3000"
    APIGatewayProxyEventV2Model.model_validate(event)


def test_a_form_post_is_base64_like_any_binary_body() -> None:
    body = b"webhook_id=12"
    event = _event([("Content-Type", "application/x-www-form-urlencoded")], body)
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == body
    APIGatewayProxyEventV2Model.model_validate(event)


def test_no_body_no_query_no_cookies() -> None:
    event = _event([("Host", "localhost")])
    assert "body" not in event and event["isBase64Encoded"] is False
    assert "queryStringParameters" not in event and "cookies" not in event
    APIGatewayProxyEventV2Model.model_validate(event)


def test_a_response_with_status_code_maps_to_status_headers_cookies_and_body() -> None:
    response = map_result(
        {
            "statusCode": 201,
            "headers": {"Content-Type": "application/json", "X-Count": 3, "Content-Length": "999"},
            "multiValueHeaders": {"Vary": ["Accept", "Origin"]},
            "cookies": ["session=1; HttpOnly"],
            "body": '{"status": "accepted"}',
        }
    )
    assert response.status == 201
    assert ("Content-Type", "application/json") in response.headers
    assert ("X-Count", "3") in response.headers
    assert ("Vary", "Accept") in response.headers and ("Vary", "Origin") in response.headers
    assert ("set-cookie", "session=1; HttpOnly") in response.headers
    assert not any(name.lower() == "content-length" for name, _ in response.headers)
    assert json.loads(response.body) == {"status": "accepted"}


def test_a_base64_response_is_decoded() -> None:
    response = map_result({"statusCode": 200, "body": base64.b64encode(b"\x00\x01").decode(), "isBase64Encoded": True})
    assert response.body == b"\x00\x01"


@pytest.mark.parametrize(
    ("result", "body"),
    [
        ({"status": "ok"}, b'{"status": "ok"}'),
        (["a"], b'["a"]'),
        ("Hello from Lambda!", b"Hello from Lambda!"),
        (None, b"null"),
    ],
)
def test_a_result_without_status_code_is_a_200_with_its_json(result: object, body: bytes) -> None:
    response = map_result(result)
    assert response.status == 200
    assert response.body == body
    assert ("content-type", "application/json") in response.headers


@pytest.mark.parametrize(
    "result",
    [
        {"statusCode": 200, "body": {"not": "a string"}},
        {"statusCode": "abc"},
        {"statusCode": 42},
        {"statusCode": 200, "body": "***", "isBase64Encoded": True},
    ],
)
def test_malformed_responses_are_rejected(result: dict) -> None:
    with pytest.raises(MalformedResponseError):
        map_result(result)


def test_an_iam_route_carries_the_iam_authorizer_context() -> None:
    event = build_event(
        route=ROUTES[1],
        method="GET",
        raw_path="/orders/shopify:1",
        raw_query="",
        headers=[("Authorization", "Bearer t")],
        body=b"",
        path_parameters={"order_id": "shopify:1"},
        source_ip="127.0.0.1",
        api_id="localapi00",
        account_id="123456789012",
    )
    iam = event["requestContext"]["authorizer"]["iam"]
    assert iam["accountId"] == "123456789012" and iam["userArn"].startswith("arn:aws:iam::123456789012:")
    assert "authorizer" not in _event([])["requestContext"]  # NONE routes have none
    APIGatewayProxyEventV2Model.model_validate(event)
