"""The intake use case with fakes: status answers, and publish-once semantics."""

import pytest
from hub.config import parse_config
from hub.intake import (
    IntakeService,
    NotDurableError,
    PayloadTooLargeError,
    SignatureError,
    UnknownSourceError,
    WebhookRequest,
)
from hub.intake.sources import SOURCES
from hub.secrets import SecretsProvider

from tests.unit.test_shopify_source import PAYLOAD, SECRET, request

CONFIG = parse_config("locations: [{id: wh-east, country: US}]\n")


class FakeDeliveryLog:
    def __init__(self) -> None:
        self.published: dict[str, list] = {}
        self.fail_next = False

    def publish_once(self, dedupe_key, events):
        if self.fail_next:
            self.fail_next = False
            raise NotDurableError("bus down")
        if dedupe_key in self.published:
            return False
        self.published[dedupe_key] = list(events)
        return True


@pytest.fixture
def intake():
    log = FakeDeliveryLog()
    service = IntakeService(SOURCES, SecretsProvider(values={"SHOPIFY_WEBHOOK_SECRET": SECRET}), lambda: CONFIG, log)
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
    log.fail_next = True
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
