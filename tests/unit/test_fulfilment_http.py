"""Exact outbound requests of the carriers and storefront write-back, with httpx.MockTransport."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from datetime import UTC, datetime

import httpx
import pytest
from hub.adapters.carriers import EasyPostCarrier, ShipmentRequest, ShippoCarrier, carrier_for
from hub.adapters.http import default_retry
from hub.adapters.storefronts import (
    FULFILLMENT_CREATE,
    FULFILLMENT_ORDER_OPEN,
    ORDER_FULFILMENTS_QUERY,
    SHOPIFY_API_VERSION,
    StorefrontWriters,
)
from hub.config import parse_config
from hub.domain.orders import Address, Fulfilment, Order, OrderLine, OrderStatus
from hub.errors import NoRateError, OutboundError
from hub.money import Money
from hub.secrets import SecretsProvider

from tests.magento_oauth import ACCESS_TOKEN, MAGENTO_OAUTH_SECRETS, MagentoOAuthCheck, header_params

CONFIG = parse_config(
    """
channels:
  shopify: {platform: shopify, shop_domain: ada-goods.myshopify.com}
  woocommerce: {platform: woocommerce, site_url: "https://shop.example.com"}
  magento: {platform: magento, site_url: "https://magento.example.com"}
  bigcommerce: {platform: bigcommerce, store_hash: abc123}
locations: [{id: wh-east, country: US}]
carrier:
  provider: easypost
  service_level: {max_days: 3}
  from_address: {name: Ada Goods, street1: 9 Dock St, city: Newark, state: NJ, zip: "07102", country: US}
  parcel: {length: 12, width: 9, height: 3, weight: 20}
"""
)
SECRETS = SecretsProvider(
    values={
        "EASYPOST_API_KEY": "EZTK-test-key",
        "SHIPPO_API_TOKEN": "shippo_test_token",
        "SHOPIFY_ACCESS_TOKEN": "shpat_test",
        "WOOCOMMERCE_CONSUMER_KEY": "ck_test",
        "WOOCOMMERCE_CONSUMER_SECRET": "cs_test",
        **MAGENTO_OAUTH_SECRETS,
    }
)
TO = Address(
    name="Ada Lovelace",
    street1="1 Analytical Way",
    city="Boston",
    state="MA",
    postal_code="02110",
    country="US",
    email="ada@example.com",
)
REQUEST = ShipmentRequest("ful_abc123", TO, CONFIG.carrier.from_address, CONFIG.carrier)  # type: ignore[arg-type]


class Api:
    """Answers scripted responses by (method, path) and remembers every request."""

    def __init__(self, routes: dict[tuple[str, str], list[httpx.Response] | Callable[[httpx.Request], httpx.Response]]):
        self.routes = routes
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.routes[(request.method, request.url.path)]
        if callable(answer):
            return answer(request)
        return answer.pop(0) if len(answer) > 1 else answer[0]

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self)

    def sent(self, method: str, path: str) -> list[httpx.Request]:
        return [r for r in self.requests if r.method == method and r.url.path == path]


def ok(body) -> httpx.Response:
    return httpx.Response(200, json=body)


def busy(status: int = 429) -> httpx.Response:
    return httpx.Response(status, headers={"Retry-After": "0"}, json={"error": "slow down"})


# ---------------------------------------------------------------------------------------- EasyPost
EASYPOST_RATES = [
    {
        "id": "rate_cheap_slow",
        "carrier": "USPS",
        "service": "GroundAdvantage",
        "rate": "5.10",
        "currency": "USD",
        "delivery_days": 5,
    },
    {"id": "rate_ups", "carrier": "UPS", "service": "Ground", "rate": "6.80", "currency": "USD", "delivery_days": 3},
    {
        "id": "rate_fast",
        "carrier": "USPS",
        "service": "Express",
        "rate": "29.00",
        "currency": "USD",
        "delivery_days": 1,
    },
]
BOUGHT = {
    "id": "shp_1",
    "tracking_code": "1Z999AA10123456784",
    "postage_label": {"label_url": "https://easypost-files.example/label.pdf"},
    "selected_rate": {"carrier": "UPS", "service": "Ground"},
    "tracker": {"public_url": "https://track.easypost.com/abc"},
}


def test_easypost_creates_the_shipment_then_buys_the_cheapest_rate_meeting_the_level():
    api = Api(
        {
            ("POST", "/v2/shipments"): [busy(503), ok({"id": "shp_1", "rates": EASYPOST_RATES})],
            ("GET", "/v2/shipments/shp_1"): [ok({"id": "shp_1", "rates": EASYPOST_RATES})],
            ("POST", "/v2/shipments/shp_1/buy"): [busy(), ok(BOUGHT)],
        }
    )
    carrier = EasyPostCarrier("EZTK-test-key", transport=api.transport())
    assert carrier.create_shipment(REQUEST) == "shp_1"
    label = carrier.buy("shp_1", REQUEST)

    assert (label.tracking_number, label.carrier, label.service) == ("1Z999AA10123456784", "UPS", "Ground")
    assert label.label_url == "https://easypost-files.example/label.pdf"
    basic = "Basic " + base64.b64encode(b"EZTK-test-key:").decode()
    assert all(r.headers["Authorization"] == basic for r in api.requests)
    assert all(str(r.url).startswith("https://api.easypost.com/v2/shipments") for r in api.requests)
    create = api.sent("POST", "/v2/shipments")
    assert len(create) == 2 and create[0].content == create[1].content  # a 503 is retried with the same body
    assert create[0].headers["Idempotency-Key"] == "ful_abc123-shipment"
    assert json.loads(create[0].content) == {
        "shipment": {
            "reference": "ful_abc123",
            "to_address": {
                "name": "Ada Lovelace",
                "street1": "1 Analytical Way",
                "city": "Boston",
                "state": "MA",
                "zip": "02110",
                "country": "US",
                "email": "ada@example.com",
            },
            "from_address": {
                "name": "Ada Goods",
                "street1": "9 Dock St",
                "city": "Newark",
                "state": "NJ",
                "zip": "07102",
                "country": "US",
            },
            "parcel": {"length": 12.0, "width": 9.0, "height": 3.0, "weight": 20.0},
            "options": {"label_format": "PDF"},
        }
    }
    buys = api.sent("POST", "/v2/shipments/shp_1/buy")
    assert len(buys) == 2  # the 429 was retried
    assert json.loads(buys[-1].content) == {"rate": {"id": "rate_ups"}}
    assert buys[-1].headers["Idempotency-Key"] == "ful_abc123-label"


def test_easypost_reuses_a_label_already_bought_instead_of_buying_again():
    api = Api({("GET", "/v2/shipments/shp_1"): [ok(BOUGHT)]})
    label = EasyPostCarrier("k", transport=api.transport()).buy("shp_1", REQUEST)
    assert label.tracking_number == "1Z999AA10123456784"
    assert [r.method for r in api.requests] == ["GET"]


@pytest.mark.parametrize(
    "answer",
    [
        lambda request: (_ for _ in ()).throw(httpx.ReadTimeout("slow carrier", request=request)),
        lambda request: httpx.Response(502, json={"error": {"code": "INTERNAL_SERVER_ERROR"}}),
    ],
    ids=["timeout", "502"],
)
def test_an_easypost_buy_that_may_have_happened_is_not_retried_and_the_retry_reads_the_shipment(answer):
    # EasyPost documents no Idempotency-Key for POST /v2/shipments/{id}/buy; a shipment holds one label.
    api = Api(
        {
            ("GET", "/v2/shipments/shp_1"): [ok({"id": "shp_1", "rates": EASYPOST_RATES}), ok(BOUGHT)],
            ("POST", "/v2/shipments/shp_1/buy"): answer,
        }
    )
    carrier = EasyPostCarrier("k", transport=api.transport(), retry=default_retry(backoff=0.001, budget=2))
    with pytest.raises(OutboundError):
        carrier.buy("shp_1", REQUEST)
    assert len(api.sent("POST", "/v2/shipments/shp_1/buy")) == 1
    assert carrier.buy("shp_1", REQUEST).tracking_number == "1Z999AA10123456784"  # read, not bought again
    assert len(api.sent("POST", "/v2/shipments/shp_1/buy")) == 1


def test_easypost_without_a_qualifying_rate_says_what_was_offered():
    slow = [dict(EASYPOST_RATES[0])]
    api = Api({("GET", "/v2/shipments/shp_1"): [ok({"id": "shp_1", "rates": slow})]})
    with pytest.raises(NoRateError, match=r"max_days=3.*USPS GroundAdvantage 5.10 \(5 days\)"):
        EasyPostCarrier("k", transport=api.transport()).buy("shp_1", REQUEST)


def test_a_carrier_call_that_keeps_failing_raises():
    api = Api({("POST", "/v2/shipments"): [busy(429)]})
    with pytest.raises(OutboundError, match="EasyPost create shipment failed with HTTP 429") as info:
        carrier = EasyPostCarrier(
            "EZTK-test-key", transport=api.transport(), retry=default_retry(backoff=0.001, budget=2)
        )
        carrier.create_shipment(REQUEST)
    assert "EZTK-test-key" not in str(info.value)
    assert len(api.requests) == 5


# ------------------------------------------------------------------------------------------ Shippo
SHIPPO_RATES = [
    {
        "object_id": "r_slow",
        "provider": "USPS",
        "servicelevel": {"token": "usps_ground_advantage"},
        "amount": "4.90",
        "currency": "USD",
        "estimated_days": 6,
    },
    {
        "object_id": "r_pri",
        "provider": "USPS",
        "servicelevel": {"token": "usps_priority"},
        "amount": "7.60",
        "currency": "USD",
        "estimated_days": 2,
    },
]


def test_shippo_creates_the_shipment_and_buys_with_an_idempotency_key():
    api = Api(
        {
            ("POST", "/shipments/"): [ok({"object_id": "s_1", "rates": SHIPPO_RATES})],
            ("GET", "/shipments/s_1"): [ok({"object_id": "s_1", "rates": SHIPPO_RATES})],
            ("GET", "/transactions/"): [ok({"next": None, "previous": None, "results": []})],
            ("POST", "/transactions/"): [
                busy(),
                ok(
                    {
                        "object_id": "t_1",
                        "status": "SUCCESS",
                        "tracking_number": "9400100000000000000001",
                        "tracking_url_provider": "https://tools.usps.com/t?n=94001",
                        "label_url": "https://shippo-delivery.example/label.pdf",
                    }
                ),
            ],
        }
    )
    carrier = ShippoCarrier("shippo_test_token", transport=api.transport())
    label = carrier.buy(carrier.create_shipment(REQUEST), REQUEST)
    assert (label.tracking_number, label.carrier, label.service) == ("9400100000000000000001", "USPS", "usps_priority")
    assert all(r.headers["Authorization"] == "ShippoToken shippo_test_token" for r in api.requests)
    (create,) = api.sent("POST", "/shipments/")
    assert create.headers["Idempotency-Key"] == "ful_abc123-shipment"
    body = json.loads(create.content)
    assert body["address_to"]["zip"] == "02110" and body["address_from"]["street1"] == "9 Dock St"
    assert body["parcels"] == [
        {"length": "12.0", "width": "9.0", "height": "3.0", "distance_unit": "in", "weight": "20.0", "mass_unit": "oz"}
    ]
    assert body["metadata"] == "ful_abc123" and body["async"] is False
    # Before buying, the rate's transactions are listed (GET /transactions/?rate=, the documented filter).
    (listed,) = api.sent("GET", "/transactions/")
    assert listed.url.params == httpx.QueryParams(rate="r_pri", results="100")
    transactions = api.sent("POST", "/transactions/")
    assert len(transactions) == 2  # a 429 is retried: Shippo did not act on it
    assert {r.headers["Idempotency-Key"] for r in transactions} == {"ful_abc123-label"}
    assert json.loads(transactions[-1].content) == {
        "rate": "r_pri",
        "label_file_type": "PDF",
        "metadata": "ful_abc123",
        "async": False,
    }


def test_a_shippo_transaction_that_is_not_successful_fails():
    api = Api(
        {
            ("GET", "/shipments/s_1"): [ok({"object_id": "s_1", "rates": SHIPPO_RATES})],
            ("GET", "/transactions/"): [ok({"results": []})],
            ("POST", "/transactions/"): [ok({"status": "ERROR", "messages": [{"text": "address invalid"}]})],
        }
    )
    with pytest.raises(OutboundError, match="status ERROR address invalid"):
        ShippoCarrier("t", transport=api.transport()).buy("s_1", REQUEST)


def test_credentials_come_from_the_secret():
    with pytest.raises(OutboundError, match="EASYPOST_API_KEY is not in the hub secret"):
        carrier_for(CONFIG.carrier, SecretsProvider(values={}))
    assert carrier_for(CONFIG.carrier, SECRETS).name == "easypost"


# ------------------------------------------------------------------------------------- storefronts
SHIPPED_AT = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def order(channel: str, platform_id: str, *, status=OrderStatus.SHIPPED, lines=None) -> Order:
    lines = lines or (OrderLine("MUG", 2, 1800, "7001"), OrderLine("TEE", 1, 3800, "7002"))
    return Order(f"{channel}:{platform_id}", channel, status, Money(7400, "USD"), lines)


def fulfilment(lines=None) -> Fulfilment:
    return Fulfilment(
        "ful_abc123",
        "wh-east",
        lines or (OrderLine("MUG", 2, 1800, "7001"), OrderLine("TEE", 1, 3800, "7002")),
        status="shipped",
        carrier="UPS",
        service="Ground",
        tracking_number="1Z999AA10123456784",
        tracking_url="https://track.example/1Z999",
        shipped_at=SHIPPED_AT,
    )


def writers(api: Api) -> StorefrontWriters:
    return StorefrontWriters(CONFIG, SECRETS, transport=api.transport())


def shopify_order(fulfilled_numbers=(), status="OPEN"):
    return {
        "data": {
            "order": {
                "fulfillments": [
                    {"id": "gid://shopify/Fulfillment/1", "trackingInfo": [{"number": n}]} for n in fulfilled_numbers
                ],
                "fulfillmentOrders": {
                    "nodes": [
                        {
                            "id": "gid://shopify/FulfillmentOrder/11",
                            "status": status,
                            "lineItems": {
                                "nodes": [
                                    {
                                        "id": "gid://shopify/FulfillmentOrderLineItem/21",
                                        "remainingQuantity": 2,
                                        "lineItem": {"id": "gid://shopify/LineItem/7001", "sku": "MUG"},
                                    },
                                    {
                                        "id": "gid://shopify/FulfillmentOrderLineItem/22",
                                        "remainingQuantity": 1,
                                        "lineItem": {"id": "gid://shopify/LineItem/7002", "sku": "TEE"},
                                    },
                                ]
                            },
                        }
                    ]
                },
            }
        }
    }


CREATED = {
    "data": {
        "fulfillmentCreate": {
            "fulfillment": {"id": "gid://shopify/Fulfillment/9", "status": "SUCCESS"},
            "userErrors": [],
        }
    }
}


def shopify_api(*answers) -> Api:
    return Api({("POST", f"/admin/api/{SHOPIFY_API_VERSION}/graphql.json"): list(answers)})


def test_shopify_reads_fulfillment_orders_then_creates_the_fulfilment_with_tracking():
    api = shopify_api(ok(shopify_order()), busy(), ok(CREATED))
    result = writers(api).write(order("shopify", "5849162203412"), fulfilment())
    assert result.reference == "gid://shopify/Fulfillment/9"
    assert all(str(r.url).startswith("https://ada-goods.myshopify.com/admin/api/") for r in api.requests)
    assert all(r.headers["X-Shopify-Access-Token"] == "shpat_test" for r in api.requests)
    query, *creates = (json.loads(r.content) for r in api.requests)
    assert query == {"query": ORDER_FULFILMENTS_QUERY, "variables": {"id": "gid://shopify/Order/5849162203412"}}
    assert len(creates) == 2  # the 429 was retried
    assert creates[-1] == {
        "query": FULFILLMENT_CREATE,
        "variables": {
            "fulfillment": {
                "lineItemsByFulfillmentOrder": [{"fulfillmentOrderId": "gid://shopify/FulfillmentOrder/11"}],
                "trackingInfo": {
                    "company": "UPS",
                    "number": "1Z999AA10123456784",
                    "url": "https://track.example/1Z999",
                },
                "notifyCustomer": True,
            }
        },
    }


def test_shopify_part_of_an_order_names_its_fulfillment_order_line_items():
    api = shopify_api(ok(shopify_order()), ok(CREATED))
    writers(api).write(order("shopify", "1"), fulfilment(lines=(OrderLine("TEE", 1, 3800, "7002"),)))
    variables = json.loads(api.requests[-1].content)["variables"]["fulfillment"]
    assert variables["lineItemsByFulfillmentOrder"] == [
        {
            "fulfillmentOrderId": "gid://shopify/FulfillmentOrder/11",
            "fulfillmentOrderLineItems": [{"id": "gid://shopify/FulfillmentOrderLineItem/22", "quantity": 1}],
        }
    ]


def test_shopify_already_holding_the_tracking_number_is_not_written_again():
    api = shopify_api(ok(shopify_order(fulfilled_numbers=["1Z999AA10123456784"], status="CLOSED")))
    result = writers(api).write(order("shopify", "1"), fulfilment())
    assert result.skipped == "already on the storefront" and len(api.requests) == 1


def test_shopify_user_errors_and_throttling_fail_the_write():
    refused = {
        "data": {"fulfillmentCreate": {"fulfillment": None, "userErrors": [{"field": ["x"], "message": "nope"}]}}
    }
    # The error names the fields Shopify refused, never its message (which can quote what was sent).
    with pytest.raises(OutboundError, match="refused the fulfilment: fields x") as refusal:
        writers(shopify_api(ok(shopify_order()), ok(refused))).write(order("shopify", "1"), fulfilment())
    assert "nope" not in str(refusal.value)
    throttled = {"errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED"}}]}
    with pytest.raises(OutboundError, match="THROTTLED") as info:
        writers(shopify_api(ok(throttled))).write(order("shopify", "1"), fulfilment())
    assert info.value.status_code == 429 and info.value.code == "THROTTLED"


def test_woocommerce_adds_a_customer_note_and_completes_the_shipped_order():
    api = Api(
        {
            ("GET", "/wp-json/wc/v3/orders/727/notes"): [busy(502), ok([{"id": 1, "note": "Order status changed."}])],
            ("POST", "/wp-json/wc/v3/orders/727/notes"): [ok({"id": 31, "note": "..."})],
            ("PUT", "/wp-json/wc/v3/orders/727"): [ok({"id": 727, "status": "completed"})],
        }
    )
    result = writers(api).write(order("woocommerce", "727"), fulfilment())
    assert result.reference == "31"
    basic = "Basic " + base64.b64encode(b"ck_test:cs_test").decode()
    assert all(r.headers["Authorization"] == basic for r in api.requests)
    assert all(str(r.url).startswith("https://shop.example.com/wp-json/wc/v3/orders/727") for r in api.requests)
    (note,) = api.sent("POST", "/wp-json/wc/v3/orders/727/notes")
    assert json.loads(note.content) == {
        "note": "Shipped with UPS (Ground), tracking number 1Z999AA10123456784, https://track.example/1Z999.",
        "customer_note": True,
    }
    (put,) = api.sent("PUT", "/wp-json/wc/v3/orders/727")
    assert json.loads(put.content) == {"status": "completed"}


def test_woocommerce_writes_no_second_note_and_completes_only_a_wholly_shipped_order():
    api = Api(
        {
            ("GET", "/wp-json/wc/v3/orders/727/notes"): [ok([{"id": 31, "note": "Shipped ... 1Z999AA10123456784"}])],
        }
    )
    result = writers(api).write(order("woocommerce", "727", status=OrderStatus.FULFILLING), fulfilment())
    assert result.reference == "31" and [r.method for r in api.requests] == ["GET"]


def magento_route(store: MagentoOAuthCheck, *answers: httpx.Response):
    """Answers in turn, each only once the request passes the store's OAuth check."""
    queue = list(answers)

    def answer(request: httpx.Request) -> httpx.Response:
        refused = store.check(request.method, str(request.url), dict(request.headers))
        if refused:
            return httpx.Response(refused[0], json=refused[1])
        return queue.pop(0) if len(queue) > 1 else queue[0]

    return answer


def test_magento_ships_with_tracks_signed_with_oauth_afresh_on_each_attempt():
    # POST /V1/order/{orderId}/ship (AdobeDocs/commerce-webapi, REST reference salesShipOrderV1: items
    # of order_item_id and qty, notify, tracks of track_number, title, carrier_code). Commerce 2.4.4+
    # refuses the integration token as a bearer token by default, so every call is signed (OAuth 1.0a).
    store = MagentoOAuthCheck()
    api = Api(
        {
            ("GET", "/rest/V1/shipments"): magento_route(store, ok({"items": [], "total_count": 0})),
            ("POST", "/rest/V1/order/42/ship"): magento_route(store, busy(503), httpx.Response(200, json="77")),
        }
    )
    result = writers(api).write(
        order("magento", "42", status=OrderStatus.FULFILLING), fulfilment(lines=(OrderLine("TEE", 1, 3800, "7002"),))
    )
    assert result.reference == "77"
    assert store.refusals == []
    signed = [header_params(r.headers["Authorization"]) for r in api.requests]
    assert all(p["oauth_signature_method"] == "HMAC-SHA256" and p["oauth_token"] == ACCESS_TOKEN for p in signed)
    assert len({p["oauth_nonce"] for p in signed}) == len(api.requests) == 3  # the retry is signed anew
    (search,) = api.sent("GET", "/rest/V1/shipments")
    assert search.url.params["searchCriteria[filterGroups][0][filters][0][field]"] == "order_id"
    assert search.url.params["searchCriteria[filterGroups][0][filters][0][value]"] == "42"
    ships = api.sent("POST", "/rest/V1/order/42/ship")
    assert len(ships) == 2
    assert json.loads(ships[-1].content) == {
        "notify": True,
        "tracks": [{"track_number": "1Z999AA10123456784", "title": "UPS", "carrier_code": "ups"}],
        "items": [{"order_item_id": 7002, "qty": 1}],
    }


def test_magento_with_the_tracking_already_on_a_shipment_is_not_shipped_again():
    found = {"items": [{"entity_id": 77, "tracks": [{"track_number": "1Z999AA10123456784"}]}]}
    store = MagentoOAuthCheck()
    api = Api({("GET", "/rest/V1/shipments"): magento_route(store, ok(found))})
    result = writers(api).write(order("magento", "42"), fulfilment())
    assert (result.reference, result.skipped) == ("77", "already on the storefront")
    assert store.refusals == []


def test_channels_without_an_api_or_credentials():
    bare = StorefrontWriters(parse_config("locations: [{id: a, country: US}]"), SECRETS)
    result = bare.write(order("shopify", "1"), fulfilment())
    assert not result.known and "shop_domain" in (result.skipped or "")
    assert not writers(Api({})).write(order("bigcommerce", "1"), fulfilment()).known
    no_token = StorefrontWriters(CONFIG, SecretsProvider(values={}))
    with pytest.raises(OutboundError, match="SHOPIFY_ACCESS_TOKEN is not in the hub secret"):
        no_token.write(order("shopify", "1"), fulfilment())


def test_api_url_overrides_the_storefront_base_url():
    config = parse_config(
        'channels: {woocommerce: {platform: woocommerce, site_url: "https://shop.example.com", '
        'api_url: "http://127.0.0.1:9"}}\nlocations: [{id: a, country: US}]'
    )
    api = Api(
        {
            ("GET", "/wp-json/wc/v3/orders/5/notes"): [ok([{"id": 3, "note": "1Z999AA10123456784"}])],
            ("PUT", "/wp-json/wc/v3/orders/5"): [ok({})],
        }
    )
    StorefrontWriters(config, SECRETS, transport=api.transport()).write(order("woocommerce", "5"), fulfilment())
    assert str(api.requests[0].url).startswith("http://127.0.0.1:9/wp-json/")


# ------------------------------------------------- Shopify: one fulfillmentCreate per location
# The fake Shopify (tests/shopify_fake.py) keeps fulfillment orders per assigned location and refuses
# what the 2026-10 reference refuses. Shapes: shopify.dev/docs/api/admin-graphql/2026-10,
# mutations/fulfillmentCreate (FulfillmentInput.lineItemsByFulfillmentOrder, trackingInfo,
# notifyCustomer), mutations/fulfillmentOrderOpen, objects/FulfillmentOrder (status, assignedLocation).
TWO_LOCATIONS = parse_config(
    """
channels:
  shopify:
    platform: shopify
    shop_domain: ada-goods.myshopify.com
    locations: {'71234567890': wh-east, '71234567891': wh-west}
locations: [{id: wh-east, country: US}, {id: wh-west, country: US}]
"""
)
EAST, WEST = "gid://shopify/Location/71234567890", "gid://shopify/Location/71234567891"


def shopify_fake(*, mug_status="OPEN", tee_status="OPEN"):
    from tests.shopify_fake import FakeShopifyOrders
    from tests.stock_fakes import SHOPIFY_TOKEN, FakeStorefronts

    store = FakeStorefronts()
    store.orders = FakeShopifyOrders()
    # The order's MUG line is assigned to the west warehouse, its TEE line to the east one.
    store.orders.add("5849162203412", "11", "71234567891", [("21", "7001", "MUG", 2)], status=mug_status)
    store.orders.add("5849162203412", "12", "71234567890", [("22", "7002", "TEE", 1)], status=tee_status)
    writers = StorefrontWriters(
        TWO_LOCATIONS, SecretsProvider(values={"SHOPIFY_ACCESS_TOKEN": SHOPIFY_TOKEN}), transport=store.transport()
    )
    return store, writers


def located(fulfilment_: Fulfilment, location: str) -> Fulfilment:
    return Fulfilment(
        **{**{f: getattr(fulfilment_, f) for f in fulfilment_.__dataclass_fields__}, "location": location}
    )


def test_shopify_writes_one_fulfillment_per_location_the_hubs_location_first():
    store, writers = shopify_fake()
    result = writers.write(order("shopify", "5849162203412"), located(fulfilment(), "wh-east"))
    creates = store.orders.creates()
    tracking = {"company": "UPS", "number": "1Z999AA10123456784", "url": "https://track.example/1Z999"}
    assert creates == [
        {
            "lineItemsByFulfillmentOrder": [{"fulfillmentOrderId": "gid://shopify/FulfillmentOrder/12"}],
            "trackingInfo": tracking,
            "notifyCustomer": True,
        },
        {
            "lineItemsByFulfillmentOrder": [{"fulfillmentOrderId": "gid://shopify/FulfillmentOrder/11"}],
            "trackingInfo": tracking,
            "notifyCustomer": True,
        },
    ]
    assert result.reference == "gid://shopify/Fulfillment/900,gid://shopify/Fulfillment/901"
    assert [f.location for f in store.orders.fulfillments] == [EAST, WEST]


def test_shopify_part_of_an_order_across_locations_names_each_locations_line_items():
    store, writers = shopify_fake()
    part = fulfilment(lines=(OrderLine("MUG", 1, 1800, "7001"), OrderLine("TEE", 1, 3800, "7002")))
    writers.write(order("shopify", "5849162203412"), located(part, "wh-west"))
    assert [c["lineItemsByFulfillmentOrder"] for c in store.orders.creates()] == [
        [
            {
                "fulfillmentOrderId": "gid://shopify/FulfillmentOrder/11",
                "fulfillmentOrderLineItems": [{"id": "gid://shopify/FulfillmentOrderLineItem/21", "quantity": 1}],
            }
        ],
        [
            {
                "fulfillmentOrderId": "gid://shopify/FulfillmentOrder/12",
                "fulfillmentOrderLineItems": [{"id": "gid://shopify/FulfillmentOrderLineItem/22", "quantity": 1}],
            }
        ],
    ]


def test_a_scheduled_fulfillment_order_is_opened_before_it_is_fulfilled():
    store, writers = shopify_fake(mug_status="SCHEDULED")
    writers.write(order("shopify", "5849162203412"), located(fulfilment(), "wh-east"))
    operations = [(op, v.get("id")) for op, v in store.orders.calls if op != "order"]
    assert operations == [
        ("fulfillmentCreate", None),
        ("fulfillmentOrderOpen", "gid://shopify/FulfillmentOrder/11"),
        ("fulfillmentCreate", None),
    ]
    assert store.orders.fulfillment_orders["11"].status == "CLOSED"
    (opened,) = [r for r in store.requests if "fulfillmentOrderOpen" in r.body["query"]]
    assert opened.body == {"query": FULFILLMENT_ORDER_OPEN, "variables": {"id": "gid://shopify/FulfillmentOrder/11"}}


def test_an_on_hold_fulfillment_order_is_never_written_to():
    store, writers = shopify_fake(mug_status="ON_HOLD")
    # The whole order: what Shopify holds back stays as it is; the rest is written.
    writers.write(order("shopify", "5849162203412"), located(fulfilment(), "wh-east"))
    assert [c["lineItemsByFulfillmentOrder"] for c in store.orders.creates()] == [
        [{"fulfillmentOrderId": "gid://shopify/FulfillmentOrder/12"}]
    ]
    # Lines named by a partial fulfilment that only an on-hold fulfillment order holds fail the write.
    store, writers = shopify_fake(mug_status="ON_HOLD")
    with pytest.raises(OutboundError, match="do not hold MUG x1"):
        part = fulfilment(lines=(OrderLine("MUG", 1, 1800, "7001"),))
        writers.write(order("shopify", "5849162203412"), located(part, "wh-west"))
    assert store.orders.creates() == []


def test_a_retry_after_one_location_was_written_writes_only_the_other():
    store, writers = shopify_fake()
    store.orders.fail_create_at = {2}
    whole = located(fulfilment(), "wh-east")
    with pytest.raises(OutboundError, match="fulfillmentCreate failed"):
        writers.write(order("shopify", "5849162203412"), whole)
    assert len(store.orders.fulfillments) == 1
    result = writers.write(order("shopify", "5849162203412"), whole)
    assert [f.location for f in store.orders.fulfillments] == [EAST, WEST]
    assert result.reference == "gid://shopify/Fulfillment/900,gid://shopify/Fulfillment/901"
    # And once both are there, a redelivery writes nothing.
    again = writers.write(order("shopify", "5849162203412"), whole)
    assert again.skipped == "already on the storefront" and len(store.orders.fulfillments) == 2


def test_a_partial_retry_counts_what_its_tracking_number_already_holds():
    store, writers = shopify_fake()
    store.orders.fail_create_at = {2}
    part = located(fulfilment(lines=(OrderLine("MUG", 1, 1800, "7001"), OrderLine("TEE", 1, 3800, "7002"))), "wh-west")
    with pytest.raises(OutboundError):
        writers.write(order("shopify", "5849162203412"), part)
    writers.write(order("shopify", "5849162203412"), part)
    assert sorted(f.lines[0][2] for f in store.orders.fulfillments) == [1, 1]
    assert store.orders.fulfillment_orders["11"].lines[0].remaining == 1  # one MUG still to ship
    assert writers.write(order("shopify", "5849162203412"), part).skipped == "already on the storefront"


def test_fake_shopify_refuses_a_fulfillment_mixing_locations():
    store, _ = shopify_fake()
    answer = store.orders.graphql(
        FULFILLMENT_CREATE,
        {
            "fulfillment": {
                "lineItemsByFulfillmentOrder": [
                    {"fulfillmentOrderId": "gid://shopify/FulfillmentOrder/11"},
                    {"fulfillmentOrderId": "gid://shopify/FulfillmentOrder/12"},
                ]
            }
        },
    )
    (error,) = answer["data"]["fulfillmentCreate"]["userErrors"]
    assert "same location" in error["message"] and store.orders.fulfillments == []


def test_fake_shopify_refuses_a_scheduled_fulfillment_order():
    store, _ = shopify_fake(mug_status="SCHEDULED")
    answer = store.orders.graphql(
        FULFILLMENT_CREATE,
        {"fulfillment": {"lineItemsByFulfillmentOrder": [{"fulfillmentOrderId": "gid://shopify/FulfillmentOrder/11"}]}},
    )
    (error,) = answer["data"]["fulfillmentCreate"]["userErrors"]
    assert "SCHEDULED" in error["message"] and store.orders.fulfillments == []


def test_fake_shopify_refuses_more_than_a_line_has_left():
    store, _ = shopify_fake()
    items = [{"id": "gid://shopify/FulfillmentOrderLineItem/21", "quantity": 3}]
    answer = store.orders.graphql(
        FULFILLMENT_CREATE,
        {
            "fulfillment": {
                "lineItemsByFulfillmentOrder": [
                    {"fulfillmentOrderId": "gid://shopify/FulfillmentOrder/11", "fulfillmentOrderLineItems": items}
                ]
            }
        },
    )
    assert answer["data"]["fulfillmentCreate"]["userErrors"] and store.orders.fulfillments == []


def test_fake_shopify_refuses_to_open_a_fulfillment_order_that_is_not_scheduled():
    store, _ = shopify_fake()
    answer = store.orders.graphql(FULFILLMENT_ORDER_OPEN, {"id": "gid://shopify/FulfillmentOrder/11"})
    assert answer["data"]["fulfillmentOrderOpen"]["userErrors"]
