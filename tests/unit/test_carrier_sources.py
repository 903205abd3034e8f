"""EasyPost and Shippo tracking webhooks: their checks and their canonical events."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hub.config import parse_config
from hub.errors import MalformedPayloadError, SignatureError, TooManyRefusalsError
from hub.intake.easypost import EasyPostSource, easypost_signature
from hub.intake.shippo import RefusalLimiter, ShippoSource
from hub.ports import WebhookRequest
from hub.secrets import SecretsProvider

from commerce_hub.signing import sign_delivery

PAYLOADS = Path(__file__).resolve().parents[2] / "events" / "payloads"
CONFIG = parse_config("locations: [{id: wh-east, country: US}]")
EXPECTED = "1f14a62b15ba5095326d6c75c3e2e6b462dd71e1c4b7fbdac0f32309adb7be5f"
SECRETS = SecretsProvider(
    values={"EASYPOST_WEBHOOK_SECRET": '["old-secret", "new-secret"]', "SHIPPO_WEBHOOK_TOKEN": "tok-1"}
)


def easypost_request(body: bytes, signature: str | None) -> WebhookRequest:
    headers = {"content-type": "application/json"}
    if signature is not None:
        headers["x-hmac-signature"] = signature
    return WebhookRequest(headers, body)


def test_easypost_signature_matches_its_client_libraries_scheme():
    # hmac-sha256-hex= + hex HMAC-SHA256 of the raw body, keyed with the NFKD-normalised secret.
    assert easypost_signature("sécret", b"{}") == easypost_signature("se\u0301cret", b"{}")
    # Cross-checked with the OpenSSL CLI: printf '{"a":1}' | openssl dgst -sha256 -hmac abc
    assert easypost_signature("abc", b'{"a":1}') == "hmac-sha256-hex=" + EXPECTED


def test_easypost_accepts_any_rotating_secret_and_refuses_the_rest():
    body = (PAYLOADS / "easypost_tracker_updated.json").read_bytes()
    source = EasyPostSource()
    source.verify(easypost_request(body, easypost_signature("new-secret", body)), SECRETS)
    source.verify(easypost_request(body, easypost_signature("old-secret", body)), SECRETS)
    with pytest.raises(SignatureError, match="does not match"):
        source.verify(easypost_request(body, easypost_signature("other", body)), SECRETS)
    with pytest.raises(SignatureError, match="missing X-Hmac-Signature"):
        source.verify(easypost_request(body, None), SECRETS)
    with pytest.raises(SignatureError, match="does not match"):
        source.verify(easypost_request(body + b" ", easypost_signature("new-secret", body)), SECRETS)


def test_an_easypost_tracker_update_becomes_shipment_tracked_once():
    body = (PAYLOADS / "easypost_tracker_updated.json").read_bytes()
    delivery = EasyPostSource().parse(easypost_request(body, None), CONFIG)
    (event,) = delivery.events
    assert delivery.dedupe_key == "easypost:evt_4f1b7c2e9a0d11ef8c2d3b5e7a9c1d2e"
    assert event.type == "ShipmentTracked" and event.source == "easypost"
    assert (event.data.tracking_number, event.data.status, event.data.carrier) == (
        "9400100208271104418271",
        "delivered",
        "USPS",
    )
    again = EasyPostSource().parse(easypost_request(body, None), CONFIG)
    assert again.events[0].event_id == event.event_id


def test_other_easypost_events_are_ignored_and_bad_bodies_refused():
    ignored = EasyPostSource().parse(easypost_request(b'{"id": "evt_1", "description": "batch.updated"}', None), CONFIG)
    assert ignored.ignored_reason and not ignored.events
    with pytest.raises(MalformedPayloadError):
        EasyPostSource().parse(
            easypost_request(b'{"id": "evt_1", "description": "tracker.updated", "result": {}}', None), CONFIG
        )


def test_the_easypost_signer_and_the_source_agree():
    body = (PAYLOADS / "easypost_tracker_updated.json").read_bytes()
    delivery = sign_delivery("easypost", body, topic=None, secrets={"EASYPOST_WEBHOOK_SECRET": "new-secret"})
    headers = {k.lower(): v for k, v in delivery.headers.items()}
    EasyPostSource().verify(WebhookRequest(headers, delivery.body), SECRETS)


def shippo_request(body: bytes, token: str | None) -> WebhookRequest:
    return WebhookRequest({"content-type": "application/json"}, body, {"token": token} if token else {})


def test_shippo_needs_the_secret_token_in_the_url():
    body = (PAYLOADS / "shippo_track_updated.json").read_bytes()
    ShippoSource().verify(shippo_request(body, "tok-1"), SECRETS)
    with pytest.raises(SignatureError, match="token is wrong") as wrong:
        ShippoSource().verify(shippo_request(body, "tok-2"), SECRETS)
    assert "tok-1" not in wrong.value.message and "tok-2" not in wrong.value.message
    with pytest.raises(SignatureError, match="missing"):
        ShippoSource().verify(shippo_request(body, None), SECRETS)
    with pytest.raises(SignatureError, match="no Shippo webhook token"):
        ShippoSource().verify(shippo_request(body, "tok-1"), SecretsProvider(values={}))


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def shippo_from(ip: str, token: str | None) -> WebhookRequest:
    return WebhookRequest({}, b"{}", {"token": token} if token else {}, source_ip=ip)


def test_a_caller_refused_ten_times_in_a_minute_is_not_heard_until_the_minute_passes():
    clock = Clock()
    shippo = ShippoSource(limiter=RefusalLimiter(monotonic=clock))
    for _ in range(10):
        with pytest.raises(SignatureError, match="token is wrong"):
            shippo.verify(shippo_from("203.0.113.9", "guess"), SECRETS)
    # Now even the right token is not compared: guessing gains nothing by hitting it.
    with pytest.raises(TooManyRefusalsError, match="too many refused deliveries"):
        shippo.verify(shippo_from("203.0.113.9", "tok-1"), SECRETS)
    shippo.verify(shippo_from("198.51.100.7", "tok-1"), SECRETS)  # another caller is heard
    clock.now += 60
    shippo.verify(shippo_from("203.0.113.9", "tok-1"), SECRETS)


def test_refusals_from_many_callers_are_capped_in_all():
    clock = Clock()
    shippo = ShippoSource(limiter=RefusalLimiter(monotonic=clock))
    for n in range(100):
        with pytest.raises(SignatureError):
            shippo.verify(shippo_from(f"10.0.{n // 250}.{n % 250}", None), SECRETS)
    with pytest.raises(TooManyRefusalsError):
        shippo.verify(shippo_from("192.0.2.1", "guess"), SECRETS)
    clock.now += 60
    shippo.verify(shippo_from("192.0.2.1", "tok-1"), SECRETS)


def test_accepted_deliveries_are_not_counted():
    shippo = ShippoSource(limiter=RefusalLimiter(per_caller=2))
    for _ in range(20):
        shippo.verify(shippo_from("203.0.113.9", "tok-1"), SECRETS)


def test_the_limiter_forgets_quiet_callers_to_stay_bounded():
    clock = Clock()
    limiter = RefusalLimiter(max_callers=3, overall=1000, monotonic=clock)
    for ip in ("a", "b", "c"):
        limiter.refused(ip)
    clock.now += 61
    limiter.refused("d")
    assert len(limiter._callers) == 1


def test_the_limit_answers_429_through_intake():
    from hub.intake import IntakeService

    service = IntakeService(
        {"shippo": ShippoSource(limiter=RefusalLimiter(per_caller=1))}, SECRETS, lambda: CONFIG, None
    )
    with pytest.raises(SignatureError):
        service.receive("shippo", shippo_from("203.0.113.9", "guess"))
    with pytest.raises(TooManyRefusalsError) as caught:
        service.receive("shippo", shippo_from("203.0.113.9", "guess"))
    assert caught.value.status_code == 429


def test_a_shippo_track_update_becomes_shipment_tracked():
    body = (PAYLOADS / "shippo_track_updated.json").read_bytes()
    delivery = ShippoSource().parse(shippo_request(body, "tok-1"), CONFIG)
    (event,) = delivery.events
    assert (event.data.tracking_number, event.data.status, event.data.carrier) == (
        "9205590164917312751089",
        "in_transit",
        "usps",
    )
    delivered = json.loads(body)
    delivered["data"]["tracking_status"].update(status="DELIVERED", object_id="later")
    (done,) = ShippoSource().parse(shippo_request(json.dumps(delivered).encode(), "tok-1"), CONFIG).events
    assert done.data.status == "delivered" and done.event_id != event.event_id
    ignored = ShippoSource().parse(shippo_request(b'{"event": "transaction_created", "data": {}}', "tok-1"), CONFIG)
    assert ignored.ignored_reason


def test_the_shippo_signer_puts_the_token_in_the_query():
    delivery = sign_delivery("shippo", b"{}", topic=None, secrets={"SHIPPO_WEBHOOK_TOKEN": '["tok-0", "tok-1"]'})
    assert delivery.params == {"token": "tok-1"}  # the newest of a rotation, the last
