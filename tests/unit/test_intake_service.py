"""The intake use case with fakes: status answers, and publish-once semantics."""

import json

import pytest
from hub.bootstrap import Sandbox
from hub.config import parse_config
from hub.errors import MalformedPayloadError, NotDurableError, PayloadTooLargeError, SignatureError, UnknownSourceError
from hub.intake import IntakeService
from hub.intake.service import MAX_JSON_DEPTH, load_json, load_json_object
from hub.money import parse_minor
from hub.ports import Delivery, WebhookRequest
from hub.secrets import SecretsProvider

from tests.reconcile_fakes import FakeDeliveryLog
from tests.unit.test_shopify_source import PAYLOAD, SECRET, request, sign

CONFIG = parse_config("locations: [{id: wh-east, country: US}]\n")


@pytest.fixture
def intake():
    log = FakeDeliveryLog()
    secrets = SecretsProvider(values={"SHOPIFY_WEBHOOK_SECRET": SECRET})
    service = IntakeService(Sandbox(secrets=secrets).sources, secrets, lambda: CONFIG, log)
    return service, log


def test_a_delivery_is_accepted_then_recognised_as_a_duplicate(intake):
    service, log = intake
    first = service.receive("shopify", request())
    again = service.receive("shopify", request())
    assert first.status == "accepted" and again.status == "duplicate"
    assert first.event_ids == again.event_ids
    assert len(log.published) == 1


def test_a_failed_publish_is_published_by_the_retry(intake):
    service, log = intake
    log.fail_next = 1
    with pytest.raises(NotDurableError):
        service.receive("shopify", request())
    assert service.receive("shopify", request()).status == "accepted"


def test_unknown_sources_and_oversized_bodies_are_refused_before_verifying(intake):
    service, _ = intake
    with pytest.raises(
        UnknownSourceError,
        match="this hub accepts: bigcommerce, easypost, magento, paypal, shippo, shopify, square, stripe, woocommerce",
    ):
        service.receive("etsy", request())
    big = PAYLOAD + b" " * (1024 * 1024)
    with pytest.raises(PayloadTooLargeError, match="limit is 1048576"):
        service.receive("shopify", WebhookRequest(request().headers, big))


def test_signature_is_checked_before_the_body_is_read(intake):
    service, log = intake
    with pytest.raises(SignatureError):
        service.receive("shopify", WebhookRequest(request().headers, b"{not json"))
    assert not log.published


def test_ignored_topics_publish_nothing(intake):
    service, log = intake
    from tests.unit.test_shopify_source import sign

    body = b'{"id": 1}'
    result = service.receive("shopify", request(body, x_shopify_topic="carts/update", x_shopify_hmac_sha256=sign(body)))
    assert result.status == "ignored"
    assert not log.published


def test_the_answer_body_names_status_topic_and_events(intake):
    service, _ = intake
    body = service.receive("shopify", request()).body()
    assert body["status"] == "accepted"
    assert body["topic"] == "orders/create"
    assert body["event_ids"][0].startswith("evt_")


# ------------------------------------------------------------------------- bad input is a 400
@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 900, 100_000])
def test_json_nested_deeper_than_any_vendor_nests_is_malformed(depth):
    # 900 levels parse, then exhaust the stack of whatever walks them; 100 000 raise RecursionError.
    body = b'{"a": ' + b"[" * (depth - 1) + b"]" * (depth - 1) + b"}"
    with pytest.raises(MalformedPayloadError, match=f"nested more than {MAX_JSON_DEPTH} levels deep; Shopify"):
        load_json_object(body, "Shopify")


def test_json_as_deep_as_the_limit_is_read():
    body = b"[" * MAX_JSON_DEPTH + b"]" * MAX_JSON_DEPTH
    expected: list = []
    for _ in range(MAX_JSON_DEPTH - 1):
        expected = [expected]
    assert load_json(body, "Shopify") == expected


class _RaisingSource:
    """A source whose translation fails the way an unforeseen body makes a real one fail."""

    name = "shopify"

    def __init__(self, build) -> None:
        self._build = build

    def verify(self, request, secrets) -> None:
        return None

    def parse(self, request, config) -> Delivery:
        return Delivery("k", "orders/create", [self._build()])


def _service(source) -> IntakeService:
    return IntakeService({"shopify": source}, SecretsProvider(values={}), lambda: CONFIG, FakeDeliveryLog())


def test_an_event_that_fails_canonical_validation_is_a_400_naming_the_field():
    from hub.events import LineItem

    source = _RaisingSource(lambda: LineItem(sku="MUG-1", quantity=10**12, unit_price=100))
    with pytest.raises(
        MalformedPayloadError, match=r"'LineItem.quantity': Input should be less than or equal to 1000000"
    ):
        _service(source).receive("shopify", request())


def test_an_amount_a_source_did_not_guard_is_a_400_naming_it():
    source = _RaisingSource(lambda: parse_minor("1e999", "USD", field="total_price"))
    with pytest.raises(MalformedPayloadError, match=r"'total_price': not a decimal amount"):
        _service(source).receive("shopify", request())


def test_a_number_a_source_read_without_a_guard_is_a_400():
    from decimal import Decimal

    source = _RaisingSource(lambda: Decimal(""))
    with pytest.raises(MalformedPayloadError, match="cannot be read exactly"):
        _service(source).receive("shopify", request())


def test_an_unrecordable_line_from_a_real_source_is_a_400_not_an_outage(intake):
    service, log = intake
    document = json.loads(PAYLOAD)
    document["line_items"][0]["quantity"] = 10**12
    body = json.dumps(document).encode()
    with pytest.raises(MalformedPayloadError, match="quantity") as refused:
        service.receive("shopify", request(body, x_shopify_hmac_sha256=sign(body)))
    assert refused.value.status_code == 400
    assert not log.published
