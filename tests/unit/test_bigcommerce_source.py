"""BigCommerce: Standard Webhooks signatures, and thin payloads completed through the API."""

import base64
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hub.adapters.bigcommerce import HttpBigCommerceApi
from hub.config import parse_config
from hub.errors import MalformedPayloadError, SignatureError
from hub.events import parse_event
from hub.intake.bigcommerce import BigCommerceSource, Notice
from hub.ports import WebhookRequest
from hub.secrets import SecretsProvider
from standardwebhooks.webhooks import Webhook

from commerce_hub.signing.bigcommerce import sign as sign_delivery
from tests.bigcommerce_api import ACCESS_TOKEN, STORE_HASH, FakeBigCommerce

PAYLOADS = Path(__file__).resolve().parents[2] / "events" / "payloads"
CREATED = (PAYLOADS / "bigcommerce_store_order_created.json").read_bytes()
CLIENT_SECRET = "bc-client-secret-for-tests"
NOW = 1_795_685_415
CONFIG = parse_config("locations: [{id: wh-east, country: US}]\n")


def secrets(client_secret: str = CLIENT_SECRET, token: str | None = ACCESS_TOKEN) -> SecretsProvider:
    values = {"BIGCOMMERCE_CLIENT_SECRET": client_secret}
    if token:
        values["BIGCOMMERCE_ACCESS_TOKEN"] = token
    return SecretsProvider(values=values)


def request(
    body: bytes = CREATED,
    *,
    timestamp: int = NOW,
    secret: str = CLIENT_SECRET,
    message: str = "msg_2pQk7Lr",
    **overrides,
) -> WebhookRequest:
    signed = sign_delivery(
        body, topic=None, secrets={"BIGCOMMERCE_CLIENT_SECRET": secret}, delivery_id=message, timestamp=timestamp
    )
    headers = {k.lower(): v for k, v in signed.headers.items()}
    for name, value in overrides.items():
        key = name.replace("_", "-")
        if value is None:
            headers.pop(key, None)
        else:
            headers[key] = value
    return WebhookRequest(headers, body)


def source(fake: FakeBigCommerce | None = None, *, now: float = NOW, **kwargs) -> BigCommerceSource:
    api = HttpBigCommerceApi(secrets(), transport=(fake or FakeBigCommerce()).transport())
    return BigCommerceSource(api, clock=lambda: now, **kwargs)


# ------------------------------------------------------------------------------------ signature
def test_the_standard_webhooks_published_vector_verifies():
    # standard-webhooks libraries/python/tests: this key, id, timestamp and body give this signature.
    req = WebhookRequest(
        {
            "webhook-id": "msg_p5jXN8AQM9LWM0D4loKWxJek",
            "webhook-timestamp": "1614265330",
            "webhook-signature": "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
        },
        b'{"test": 2432232314}',
    )
    vector = source(now=1614265330)
    vector.verify(req, secrets("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"))


def test_the_standardwebhooks_library_accepts_what_the_hub_accepts_with_bigcommerces_convention():
    # BigCommerce's docs: Webhook(base64(client_secret)).verify(body, headers), so the key is the
    # client secret's own bytes. The library checks against the real clock, so sign for now.
    now = int(datetime.now(UTC).timestamp())
    req = request(timestamp=now)
    Webhook(base64.b64encode(CLIENT_SECRET.encode()).decode()).verify(req.body, dict(req.headers))
    source(now=now).verify(req, secrets())


def test_a_signature_made_by_the_library_verifies_in_the_hub():
    library = Webhook(base64.b64encode(CLIENT_SECRET.encode()).decode())
    signature = library.sign("msg_lib", datetime.fromtimestamp(NOW, UTC), CREATED.decode())
    req = WebhookRequest(
        {"webhook-id": "msg_lib", "webhook-timestamp": str(NOW), "webhook-signature": signature}, CREATED
    )
    source().verify(req, secrets())


def test_any_of_several_signatures_and_any_rotated_secret_verifies():
    good = request().headers["webhook-signature"]
    several = f"v1,bm90IGl0 v2,c29tZXRoaW5nIGVsc2U= {good}"
    source().verify(request(webhook_signature=several), secrets(json.dumps(["old-secret", CLIENT_SECRET])))


def test_a_new_secret_alone_verifies_during_rotation():
    source().verify(request(secret="new-secret"), secrets(json.dumps([CLIENT_SECRET, "new-secret"])))


@pytest.mark.parametrize(
    ("req", "message"),
    [
        (request(webhook_signature=None), "missing webhook-signature"),
        (request(webhook_id=None), "missing webhook-id"),
        (request(webhook_timestamp=None), "missing webhook-timestamp"),
        (request(secret="wrong-secret"), "does not match"),
        (WebhookRequest(request().headers, CREATED.replace(b"3108", b"3109")), "does not match"),
        (request(webhook_id="msg_other"), "does not match"),
        (request(timestamp=NOW - 301), "more than 5 minutes old"),
        (request(timestamp=NOW + 301), "more than 5 minutes in the future"),
        (request(webhook_timestamp="yesterday"), "not a Unix time"),
        (request(webhook_signature="v1,!!!not-base64"), "does not match"),
        (request(webhook_signature="v1,\x80é"), "does not match"),
    ],
    ids=[
        "no-signature",
        "no-id",
        "no-timestamp",
        "wrong-secret",
        "tampered-body",
        "other-message-id",
        "stale",
        "future",
        "bad-timestamp",
        "garbage-signature",
        "not-ascii",
    ],
)
def test_bad_signatures_are_refused(req, message):
    with pytest.raises(SignatureError, match=message):
        source().verify(req, secrets())


def test_timestamps_within_five_minutes_either_way_verify():
    for offset in (-300, 0, 300):
        source().verify(request(timestamp=NOW + offset), secrets())


def test_no_configured_secret_refuses():
    with pytest.raises(SignatureError, match="no BigCommerce client secret"):
        source().verify(request(), SecretsProvider(values={}))


# ------------------------------------------------------------------------------------ normalise
def test_order_created_is_fetched_and_becomes_order_placed():
    fake = FakeBigCommerce()
    delivery = source(fake).parse(request(), CONFIG)
    (placed,) = delivery.events
    assert placed.type == "OrderPlaced"
    # Deduplicated on the Standard Webhooks message id, not on the payload hash (see below).
    assert delivery.dedupe_key == f"bigcommerce:{STORE_HASH}:msg_2pQk7Lr"
    assert placed.data.order_id == "bigcommerce:3108"
    assert (placed.data.total, placed.data.currency, placed.data.paid) == (10160, "USD", True)
    assert placed.data.customer_email == "theo.lindqvist@example.com"
    assert placed.data.shipping_country == "US"
    assert [(ln.sku, ln.quantity, ln.unit_price) for ln in placed.data.lines] == [
        ("DRIP-CER-SLT", 2, 2800),
        ("FILTER-100", 1, 3000),
    ]
    assert placed.occurred_at == datetime.fromtimestamp(1795685412, UTC)
    assert placed.provider.topic == "store/order/created"
    assert placed.provider.event_id == "a385023bf4142436e8b62c915cbfca848c76192a"
    assert placed.provider.delivery_id == "msg_2pQk7Lr"
    assert placed.provider.account == STORE_HASH
    assert fake.requests == [
        f"/stores/{STORE_HASH}/v2/orders/3108",
        f"/stores/{STORE_HASH}/v2/orders/3108/products?limit=250&page=1",
        f"/stores/{STORE_HASH}/v2/orders/3108/shipping_addresses",
    ]


def test_an_awaiting_payment_order_is_not_paid():
    fake = FakeBigCommerce()
    fake.order().update(status_id=7, status="Awaiting Payment")
    assert source(fake).parse(request(), CONFIG).events[0].data.paid is False


def test_a_status_update_is_an_order_update_with_the_platforms_view():
    fake = FakeBigCommerce()
    fake.order().update(status_id=5, status="Cancelled", refunded_amount="30.0000")
    body = (PAYLOADS / "bigcommerce_store_order_statusUpdated.json").read_bytes()
    updated, placed = source(fake).parse(request(body), CONFIG).events
    assert updated.type == "OrderUpdated"
    data = updated.data
    assert (data.platform_status, data.cancelled, data.paid, data.refunded_total) == ("Cancelled", True, False, 3000)
    assert data.updated_at == datetime(2026, 11, 20, 18, 10, 12, tzinfo=UTC)
    # The whole order was read: it is also a placement, recorded cancelled if it is the first to arrive.
    assert placed.type == "OrderPlaced"
    assert (placed.data.cancelled, placed.data.paid, placed.data.order_id) == (True, False, data.order_id)


def test_customer_updated_is_fetched_and_upserted():
    body = (PAYLOADS / "bigcommerce_store_customer_updated.json").read_bytes()
    (event,) = source().parse(request(body), CONFIG).events
    assert event.type == "CustomerUpserted"
    assert (event.data.email, event.data.platform_customer_id, event.data.phone) == (
        "theo.lindqvist@example.com",
        "274",
        "+1 312 555 0199",
    )


def test_a_sku_inventory_update_reports_the_variants_level():
    body = (PAYLOADS / "bigcommerce_store_sku_inventory_updated.json").read_bytes()
    (event,) = source().parse(request(body), CONFIG).events
    assert event.type == "StockLevelReported"
    assert (event.data.sku, event.data.available) == ("DRIP-CER-SLT", 31)
    assert (event.data.platform_product_id, event.data.platform_variation_id) == ("1142", "5087")


def test_a_product_tracked_per_variant_reports_nothing_at_product_level():
    body = json.dumps(
        {**json.loads(CREATED), "scope": "store/product/inventory/updated", "data": {"type": "product", "id": 1142}}
    ).encode()
    delivery = source().parse(request(body), CONFIG)
    assert delivery.events == [] and "no product-level stock" in delivery.ignored_reason


def test_the_channel_and_api_url_come_from_the_configuration():
    config = parse_config(
        "channels:\n"
        f"  bc-main: {{platform: bigcommerce, store_hash: {STORE_HASH}, api_url: 'https://bc.fake.test'}}\n"
        "locations: [{id: wh-east, country: US}]\n"
    )
    seen = []
    api = HttpBigCommerceApi(secrets(), transport=FakeBigCommerce().transport())
    original = api.get_json

    def spy(api_url, store_hash, path, **kw):
        seen.append(api_url)
        return original(api_url, store_hash, path, **kw)

    api.get_json = spy  # type: ignore[method-assign]
    placed = BigCommerceSource(api, clock=lambda: NOW).parse(request(), config).events[0]
    assert placed.channel == "bc-main" and placed.data.order_id == "bc-main:3108"
    assert set(seen) == {"https://bc.fake.test"}


# --------------------------------------------------------------------------------- deduplication
# BigCommerce's own example of the payload store/order/created, /updated and /archived share
# (bigcommerce/dev-docs: docs/api-docs/getting-started/webhooks/webhook-events.md, "Orders"): `data` is
# only {type, id}, so its `hash` (the SHA-1 of `data`) is the same for every update of order 250.
DOC_ORDER_UPDATED = json.dumps(
    {
        "scope": "store/order/updated",
        "store_id": "1025646",
        "data": {"type": "order", "id": 250},
        "hash": "dd70c0976e06b67aaf671e73f49dcb79230ebf9d",
        "created_at": 1561479335,
        "producer": f"stores/{STORE_HASH}",
    }
).encode()
# The same page's store/order/statusUpdated example, for the same order.
DOC_STATUS_UPDATED = json.dumps(
    {
        "scope": "store/order/statusUpdated",
        "store_id": "1025646",
        "data": {"type": "order", "id": 250, "status": {"previous_status_id": 0, "new_status_id": 11}},
        "hash": "7ee67cd1cf2ca60bc1aa9e5fe957d2de373be4ca",
        "created_at": 1561479335,
        "producer": f"stores/{STORE_HASH}",
    }
).encode()
LATER = "Sat, 21 Nov 2026 09:02:47 +0000"


def test_every_update_of_one_order_is_a_new_delivery_though_its_hash_repeats():
    fake = FakeBigCommerce()
    fake.add_order(250, status_id=7, status="Awaiting Payment")
    bc = source(fake)
    first = bc.parse(request(DOC_ORDER_UPDATED, message="msg_upd_1"), CONFIG)
    fake.order(250).update(status_id=11, status="Awaiting Fulfillment", date_modified=LATER)
    second = bc.parse(request(DOC_ORDER_UPDATED, message="msg_upd_2"), CONFIG)

    assert first.dedupe_key != second.dedupe_key
    # Each update is the order update and a placement of the order (it may come before `created`).
    (before, _placed_before), (after, _placed_after) = first.events, second.events
    assert before.type == after.type == "OrderUpdated"
    assert _placed_before.event_id != _placed_after.event_id
    assert before.provider.event_id == after.provider.event_id == "dd70c0976e06b67aaf671e73f49dcb79230ebf9d"
    assert before.event_id != after.event_id
    assert (before.data.paid, after.data.paid) == (False, True)
    assert after.data.updated_at == datetime(2026, 11, 21, 9, 2, 47, tzinfo=UTC)
    assert (before.provider.delivery_id, after.provider.delivery_id) == ("msg_upd_1", "msg_upd_2")


def test_a_retry_of_one_message_is_the_same_delivery_and_the_same_event():
    fake = FakeBigCommerce()
    fake.add_order(250)
    first = source(fake).parse(request(DOC_ORDER_UPDATED, message="msg_upd_1"), CONFIG)
    retry = source(fake).parse(request(DOC_ORDER_UPDATED, message="msg_upd_1", timestamp=NOW + 60), CONFIG)
    assert retry.dedupe_key == first.dedupe_key == f"bigcommerce:{STORE_HASH}:msg_upd_1"
    assert retry.events[0].event_id == first.events[0].event_id


def test_two_messages_reporting_one_change_of_an_order_are_one_event():
    # BigCommerce fires store/order/updated and store/order/statusUpdated for one status change.
    fake = FakeBigCommerce()
    fake.add_order(250)
    updated = source(fake).parse(request(DOC_ORDER_UPDATED, message="msg_a"), CONFIG)
    status = source(fake).parse(request(DOC_STATUS_UPDATED, message="msg_b"), CONFIG)
    assert updated.dedupe_key != status.dedupe_key
    assert updated.events[0].event_id == status.events[0].event_id
    assert (updated.events[0].provider.topic, status.events[0].provider.topic) == (
        "store/order/updated",
        "store/order/statusUpdated",
    )


@pytest.mark.parametrize(
    "change",
    [{"status_id": 5, "status": "Cancelled"}, {"refunded_amount": "10.0000"}, {"date_modified": LATER}],
    ids=["status", "refund", "modified"],
)
def test_any_change_of_the_order_read_is_a_new_event(change):
    fake = FakeBigCommerce()
    fake.add_order(250)
    before = source(fake).parse(request(DOC_ORDER_UPDATED, message="msg_a"), CONFIG).events[0]
    fake.order(250).update(change)
    after = source(fake).parse(request(DOC_ORDER_UPDATED, message="msg_a"), CONFIG).events[0]
    assert before.event_id != after.event_id


def test_every_update_of_a_customer_is_a_new_event():
    body = (PAYLOADS / "bigcommerce_store_customer_updated.json").read_bytes()
    fake = FakeBigCommerce()
    first = source(fake).parse(request(body, message="msg_c1"), CONFIG)
    same = source(fake).parse(request(body, message="msg_c2"), CONFIG)
    fake.documents[f"/stores/{STORE_HASH}/v3/customers?id:in=274"]["data"][0].update(
        date_modified="2026-11-22T10:00:00Z", phone="+1 312 555 0142"
    )
    changed = source(fake).parse(request(body, message="msg_c3"), CONFIG)
    assert len({first.dedupe_key, same.dedupe_key, changed.dedupe_key}) == 3
    assert first.events[0].event_id == same.events[0].event_id  # one fact, reported twice
    assert changed.events[0].event_id != first.events[0].event_id
    assert changed.events[0].data.phone == "+1 312 555 0142"


def test_every_message_about_a_variant_level_is_a_new_event():
    # A variant carries no modification time: the message names the fact.
    body = (PAYLOADS / "bigcommerce_store_sku_inventory_updated.json").read_bytes()
    fake = FakeBigCommerce()
    first = source(fake).parse(request(body, message="msg_v1"), CONFIG)
    retry = source(fake).parse(request(body, message="msg_v1"), CONFIG)
    second = source(fake).parse(request(body, message="msg_v2"), CONFIG)
    assert first.events[0].event_id == retry.events[0].event_id
    assert first.events[0].event_id != second.events[0].event_id
    assert first.dedupe_key != second.dedupe_key


def test_intake_accepts_each_update_and_answers_a_retry_as_a_duplicate():
    from hub.intake import IntakeService

    from tests.unit.test_intake_service import FakeDeliveryLog

    fake = FakeBigCommerce()
    fake.add_order(250, status_id=7, status="Awaiting Payment")
    log = FakeDeliveryLog()
    service = IntakeService({"bigcommerce": source(fake)}, secrets(), lambda: CONFIG, log)
    first = service.receive("bigcommerce", request(DOC_ORDER_UPDATED, message="msg_upd_1"))
    fake.order(250).update(status_id=11, status="Awaiting Fulfillment", date_modified=LATER)
    second = service.receive("bigcommerce", request(DOC_ORDER_UPDATED, message="msg_upd_2"))
    retry = service.receive("bigcommerce", request(DOC_ORDER_UPDATED, message="msg_upd_2"))
    assert [first.status, second.status, retry.status] == ["accepted", "accepted", "duplicate"]
    assert len(log.published) == 2
    assert first.event_ids != second.event_ids


# ------------------------------------------------------------------------------- fetch failures
@pytest.mark.parametrize(
    ("prepare", "reason"),
    [
        (lambda fake: setattr(fake, "fail_next", 9), "answered 503"),
        (lambda fake: (setattr(fake, "fail_next", 9), setattr(fake, "fail_status", 429)), "rate-limited"),
        (lambda fake: fake.documents.clear(), "has no /v2/orders/3108 (404)"),
        (lambda fake: setattr(fake, "token", "another-token"), "refused the access token"),
    ],
    ids=["5xx", "429", "404", "401"],
)
def test_a_failed_fetch_still_publishes_a_durable_fetch_request(prepare, reason):
    fake = FakeBigCommerce()
    prepare(fake)
    delivery = source(fake).parse(request(), CONFIG)
    (event,) = delivery.events
    assert event.type == "ResourceFetchRequested"
    assert reason in event.data.reason
    assert (event.data.resource, event.data.resource_id, event.data.store_hash) == ("order", "3108", STORE_HASH)
    assert event.data.dedupe_key == delivery.dedupe_key
    assert event.provider.delivery_id == "msg_2pQk7Lr"
    assert event.data.canonical_event_id != event.event_id
    assert CLIENT_SECRET not in event.model_dump_json() and ACCESS_TOKEN not in event.model_dump_json()


def test_no_access_token_is_a_fetch_for_later():
    api = HttpBigCommerceApi(secrets(token=None), transport=FakeBigCommerce().transport())
    (event,) = BigCommerceSource(api, clock=lambda: NOW).parse(request(), CONFIG).events
    assert event.type == "ResourceFetchRequested"
    assert "no BIGCOMMERCE_ACCESS_TOKEN is configured" in event.data.reason


def test_an_unreachable_api_is_a_fetch_for_later():
    import httpx

    def refuse(request):
        raise httpx.ConnectError("connection refused", request=request)

    api = HttpBigCommerceApi(secrets(), transport=httpx.MockTransport(refuse))
    (event,) = BigCommerceSource(api, clock=lambda: NOW).parse(request(), CONFIG).events
    assert event.type == "ResourceFetchRequested" and "could not be reached" in event.data.reason


def test_a_fetch_that_runs_out_of_time_is_a_fetch_for_later():
    (event,) = source(fetch_budget_seconds=1e-9).parse(request(), CONFIG).events
    assert event.type == "ResourceFetchRequested" and "no time was left" in event.data.reason


def test_the_later_fetch_publishes_the_event_intake_would_have_published():
    fake = FakeBigCommerce()
    fake.fail_next = 1
    (requested,) = source(fake).parse(request(), CONFIG).events
    # It travels on the bus as JSON and comes back as the same event.
    requested = parse_event(json.loads(requested.model_dump_json()))
    (later,), ignored = source(fake).complete(requested, CONFIG)
    (direct,) = source(FakeBigCommerce()).parse(request(), CONFIG).events
    assert ignored is None
    assert later.event_id == direct.event_id == requested.data.canonical_event_id
    assert later.model_dump(exclude={"received_at"}) == direct.model_dump(exclude={"received_at"})
    assert Notice.from_fetch_request(requested, CONFIG).dedupe_key == requested.data.dedupe_key


def test_each_update_whose_read_fails_is_its_own_fetch_request_completed_as_a_direct_read_would_be():
    fake = FakeBigCommerce()
    fake.add_order(250)
    fake.fail_next = 2
    requests = [source(fake).parse(request(DOC_ORDER_UPDATED, message=m), CONFIG) for m in ("msg_f1", "msg_f2")]
    first, second = (d.events[0] for d in requests)
    assert first.type == second.type == "ResourceFetchRequested"
    assert first.event_id != second.event_id and first.data.dedupe_key != second.data.dedupe_key
    # An update's id depends on what the read returns, so it is not known before the read.
    assert first.data.canonical_event_id is None
    later, _ = source(fake).complete(parse_event(json.loads(first.model_dump_json())), CONFIG)
    direct = source(fake).parse(request(DOC_ORDER_UPDATED, message="msg_f1"), CONFIG).events
    assert [e.type for e in direct] == ["OrderUpdated", "OrderPlaced"]
    assert [e.model_dump(exclude={"received_at"}) for e in later] == [
        e.model_dump(exclude={"received_at"}) for e in direct
    ]


def test_the_notice_of_a_fetch_request_names_the_same_resource():
    fake = FakeBigCommerce()
    fake.fail_next = 1
    body = (PAYLOADS / "bigcommerce_store_sku_inventory_updated.json").read_bytes()
    (requested,) = source(fake).parse(request(body), CONFIG).events
    notice = Notice.from_fetch_request(requested, CONFIG)
    assert (notice.resource, notice.resource_id, notice.parent_id) == ("variant", "5087", "1142")


# ------------------------------------------------------------------------------------ malformed
def test_scopes_the_hub_does_not_use_are_ignored_without_a_fetch():
    fake = FakeBigCommerce()
    body = json.dumps({**json.loads(CREATED), "scope": "store/cart/abandoned"}).encode()
    delivery = source(fake).parse(request(body), CONFIG)
    assert delivery.events == [] and "store/cart/abandoned" in delivery.ignored_reason
    assert fake.requests == []


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"hash": None}, "not a BigCommerce webhook: 'hash'"),
        ({"data": {"type": "order"}}, "'data.id'"),
        ({"data": {"type": "order", "id": "../../v3/customers"}}, "must be a numeric id"),
        ({"producer": "stores/../../evil"}, "'producer' must be stores/<store hash>"),
        ({"created_at": 10**15}, "'created_at'"),
        ({"scope": "store/sku/inventory/updated", "data": {"type": "sku", "id": 1}}, "'data.inventory.product_id'"),
    ],
)
def test_malformed_payloads_say_what_is_wrong(change, message):
    body = json.dumps({**json.loads(CREATED), **change}).encode()
    with pytest.raises(MalformedPayloadError, match=message):
        source().parse(request(body), CONFIG)


def test_a_body_that_is_not_json_is_malformed():
    with pytest.raises(MalformedPayloadError, match="not valid JSON"):
        source().parse(request(b"scope=store/order/created"), CONFIG)


def test_timestamps_are_checked_against_the_injected_clock():
    stale = request(timestamp=NOW)
    later = source(now=NOW + timedelta(minutes=6).total_seconds())
    with pytest.raises(SignatureError, match="5 minutes old"):
        later.verify(stale, secrets())


# ------------------------------------------------------------------ every line kept; vendor shapes
def _products(fake: FakeBigCommerce) -> list:
    return fake.documents[f"/stores/{STORE_HASH}/v2/orders/3108/products"]


def test_products_without_a_sku_custom_products_and_digital_products_are_all_lines():
    """Order products as the V2 API answers them (GET /v2/orders/{id}/products): a custom product
    has product_id 0 and no SKU; a digital product is "type": "digital"."""
    fake = FakeBigCommerce()
    products = _products(fake)
    products[1]["sku"] = ""
    products.append({**products[0], "id": 9003, "product_id": 0, "variant_id": 0, "sku": "", "name": "Custom sign",
                     "price_ex_tax": "12.5000", "quantity": 1})  # fmt: skip
    products.append({**products[0], "id": 9004, "product_id": 1201, "variant_id": 5301, "sku": "EBOOK-BREW",
                     "type": "digital", "price_ex_tax": "9.0000", "quantity": 1})  # fmt: skip
    (placed,) = source(fake).parse(request(), CONFIG).events
    assert [(ln.sku, ln.quantity, ln.unit_price, ln.stocked) for ln in placed.data.lines] == [
        ("DRIP-CER-SLT", 2, 2800, True),
        ("bigcommerce:product:1150:variation:5120", 1, 3000, True),
        ("bigcommerce:item:9003", 1, 1250, True),
        ("EBOOK-BREW", 1, 900, False),
    ]


def test_a_product_without_a_sku_is_named_through_the_sku_map_first():
    config = parse_config(
        "channels:\n  bigcommerce:\n    platform: bigcommerce\n"
        "    sku_map: {FILTER-100: {product_id: 1150, variation_id: 5120}}\n"
        "locations: [{id: wh-east, country: US}]\n"
    )
    fake = FakeBigCommerce()
    _products(fake)[1]["sku"] = None
    (placed,) = source(fake).parse(request(), config).events
    assert placed.data.lines[1].sku == "FILTER-100"


def test_v2_shapes_four_decimals_rfc_2822_dates_and_empty_strings_are_read():
    fake = FakeBigCommerce()
    fake.order().update(
        total_inc_tax="101.6000",
        refunded_amount="",  # "" where null is meant
        date_created="Tue, 20 Nov 2012 00:00:00 +0000",  # the V2 docs' example date
        date_modified="",
    )
    _products(fake)[0]["quantity"] = "2"
    (placed,) = source(fake).parse(request(), CONFIG).events
    assert placed.data.total == 10160
    assert placed.data.updated_at == datetime(2012, 11, 20, tzinfo=UTC)
    assert placed.data.lines[0].quantity == 2


@pytest.mark.parametrize(
    ("product", "reason"),
    [
        ({"price_ex_tax": "28.00001"}, "more decimals than USD"),
        ({"price_ex_tax": "NaN"}, "not a finite amount"),
        ({"quantity": 2.5}, "not a whole number"),  # read as a Decimal (never a float): refused
        ({"quantity": 10**12}, "between 0 and"),
    ],
)
def test_an_order_the_hub_cannot_read_exactly_is_fetched_again_later_never_guessed(product, reason):
    # The webhook itself is good, so it is acknowledged; the order is read again by resource_fetch.
    fake = FakeBigCommerce()
    _products(fake)[0].update(product)
    (event,) = source(fake).parse(request(), CONFIG).events
    assert event.type == "ResourceFetchRequested"
    assert "products.0" in event.data.reason and reason in event.data.reason
