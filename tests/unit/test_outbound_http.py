"""Outbound HTTP: retried on 429/5xx with Retry-After honoured, then a clear error; no retry on 4xx."""

from __future__ import annotations

import httpx
import pytest
from hub.adapters.http import check, default_retry, outbound_client
from hub.errors import OutboundError


def scripted(*statuses: int, retry_after: str | None = None):
    calls: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        status = statuses[min(len(calls) - 1, len(statuses) - 1)]
        headers = {"Retry-After": retry_after} if retry_after and status == 429 else {}
        return httpx.Response(status, headers=headers, text="nope" if status >= 400 else "{}")

    return httpx.MockTransport(handler), calls


def client(transport):
    return outbound_client(
        "https://api.example.test", transport=transport, retry=default_retry(backoff=0.001, budget=2)
    )


def test_429_and_5xx_are_retried_until_success():
    transport, calls = scripted(429, 503, 200, retry_after="0")
    response = check(client(transport).post("/things", json={"a": 1}), "create thing")
    assert response.status_code == 200
    assert len(calls) == 3
    assert all(c.content == b'{"a":1}' for c in calls)


def test_a_call_that_keeps_failing_raises_with_the_status():
    transport, calls = scripted(500)
    with pytest.raises(OutboundError, match="create thing failed with HTTP 500") as info:
        check(client(transport).post("/things"), "create thing")
    assert info.value.status_code == 500
    assert len(calls) == 5  # the first try and four retries


def test_client_errors_are_not_retried():
    transport, calls = scripted(422)
    with pytest.raises(OutboundError, match="HTTP 422"):
        check(client(transport).put("/things/1"), "update thing")
    assert len(calls) == 1


def test_network_errors_are_retried():
    attempts = []

    def flaky(request: httpx.Request) -> httpx.Response:
        attempts.append(request)
        if len(attempts) < 3:
            raise httpx.ConnectError("refused", request=request)
        return httpx.Response(200, text="{}")

    assert client(httpx.MockTransport(flaky)).get("/ping").status_code == 200
    assert len(attempts) == 3


# ---------------------------------------------------------------- errors: status, code, request id only
# Error bodies as each vendor's API reference documents them, with the request's personal data echoed
# back the way these APIs do (the email, phone and address of the contact or shipment sent).
EMAIL, PHONE, STREET = "jane.roe@example.com", "+1 415 555 0134", "417 Montgomery Street"


@pytest.mark.parametrize(
    ("body", "headers", "code", "request_id"),
    [
        # HubSpot CRM API, "Error handling": category and correlationId in the body.
        (
            {
                "status": "error",
                "message": f"Property values were not valid: email {EMAIL} is invalid",
                "correlationId": "9a8b7c6d-1234-4e5f-8a9b-0c1d2e3f4a5b",
                "category": "VALIDATION_ERROR",
            },
            {},
            "VALIDATION_ERROR",
            "9a8b7c6d-1234-4e5f-8a9b-0c1d2e3f4a5b",
        ),
        # Stripe API reference, "Errors": error.code and error.type; the Request-Id header.
        (
            {
                "error": {
                    "code": "email_invalid",
                    "message": f"Invalid email address: {EMAIL}",
                    "type": "invalid_request_error",
                }
            },
            {"Request-Id": "req_8Jx2QbL3v1Wc9y"},
            "email_invalid, invalid_request_error",
            "req_8Jx2QbL3v1Wc9y",
        ),
        # Klaviyo API, "Errors": JSON:API errors[].code; x-request-id header.
        (
            {"errors": [{"id": "e1", "status": 400, "code": "invalid", "title": "Invalid input.", "detail": EMAIL}]},
            {"x-request-id": "kl-5e0f3c2a"},
            "invalid",
            "kl-5e0f3c2a",
        ),
        # Salesforce REST API, "Status Codes and Error Responses": a list of {errorCode, message, fields}.
        (
            [
                {
                    "message": f"duplicate value found: Email__c duplicates value on record with id: {EMAIL}",
                    "errorCode": "DUPLICATE_VALUE",
                    "fields": [],
                }
            ],
            {},
            "DUPLICATE_VALUE",
            None,
        ),
        # EasyPost API, "Errors": error.code, with the address echoed in error.errors; X-Ep-Request-Uuid.
        (
            {
                "error": {
                    "code": "ADDRESS.VERIFY.FAILURE",
                    "message": f"Unable to verify {STREET}",
                    "errors": [{"field": "street1", "message": STREET}],
                }
            },
            {"X-Ep-Request-Uuid": "5e6f7a8b9c0d1e2f3a4b5c6d"},
            "ADDRESS.VERIFY.FAILURE",
            "5e6f7a8b9c0d1e2f3a4b5c6d",
        ),
        # WooCommerce REST API docs, "Errors": code, message, data.status.
        (
            {"code": "woocommerce_rest_invalid_id", "message": f"Invalid ID for {PHONE}.", "data": {"status": 404}},
            {},
            "woocommerce_rest_invalid_id",
            None,
        ),
        # PayPal REST API, "API responses": name and debug_id.
        (
            {"name": "UNPROCESSABLE_ENTITY", "message": f"Payer {EMAIL} cannot pay", "debug_id": "f4b1c2d3e4f5a"},
            {},
            "UNPROCESSABLE_ENTITY",
            "f4b1c2d3e4f5a",
        ),
        # A resource echoed back with a person's name where PayPal keeps its error name is not a code.
        ({"name": "Jane Roe", "phone": PHONE}, {}, None, None),
        # A body that is not JSON (a proxy's HTML page repeating the request) gives the status alone.
        (f"<html>Bad request for {EMAIL} / {PHONE}</html>", {}, None, None),
        # A vendor "code" that is in fact the customer's data is not kept.
        ({"code": EMAIL, "errors": [{"code": PHONE}, {"code": STREET}]}, {"x-request-id": EMAIL}, None, None),
    ],
)
def test_a_failed_call_names_the_status_the_vendor_code_and_the_request_id_only(body, headers, code, request_id):
    def refuse(request: httpx.Request) -> httpx.Response:
        if isinstance(body, str):
            return httpx.Response(400, headers=headers, text=body)
        return httpx.Response(400, headers=headers, json=body)

    with pytest.raises(OutboundError) as info:
        check(client(httpx.MockTransport(refuse)).post("/contacts"), "create contact")
    error = info.value
    assert (error.status_code, error.code, error.request_id) == (400, code, request_id)
    assert str(error).startswith("create contact failed with HTTP 400")
    for personal in (EMAIL, PHONE, STREET, "jane", "555", "Montgomery"):
        assert personal not in str(error) and personal not in repr(error.args)


def test_the_error_text_says_the_code_and_request_id_when_there_are_some():
    def refuse(request: httpx.Request) -> httpx.Response:
        body = {"errors": [{"code": "NOT_FOUND", "detail": f"no customer {EMAIL}"}]}  # Square's error shape
        return httpx.Response(404, headers={"x-request-id": "abc-123-def"}, json=body)

    with pytest.raises(OutboundError) as info:
        check(client(httpx.MockTransport(refuse)).get("/customers"), "read customer")
    assert str(info.value) == "read customer failed with HTTP 404 (code NOT_FOUND, request id abc-123-def)"
