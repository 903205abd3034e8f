"""How the hub authenticates to Adobe Commerce and WooCommerce: exact requests, a known signature
vector, and one test per refusal of the stores' fakes (tests/magento_oauth.py, tests/woocommerce_auth.py)."""

from __future__ import annotations

import json
import logging
from urllib.parse import parse_qs

import httpx
import pytest
from hub.adapters.storefront_auth import MagentoOAuthSigner
from hub.adapters.storefront_stock import StorefrontStock
from hub.adapters.storefronts import StorefrontWriters, magento_carrier_code
from hub.config import parse_config
from hub.domain.orders import Fulfilment, Order, OrderLine, OrderStatus
from hub.domain.sync import PlatformIds, StockPush
from hub.errors import ConfigError, CredentialsMissingError, OutboundError
from hub.money import Money
from hub.secrets import SecretsProvider

from tests.magento_oauth import (
    ACCESS_TOKEN,
    MAGENTO_OAUTH_SECRETS,
    MagentoOAuthCheck,
    base_string,
    header_params,
    query_params,
    signature,
)
from tests.woocommerce_auth import KEY_MISSING, SECRET_INVALID
from tests.woocommerce_auth import refusal as woocommerce_refusal

WOO = {"WOOCOMMERCE_CONSUMER_KEY": "ck_live_1a2b", "WOOCOMMERCE_CONSUMER_SECRET": "cs_live_3c4d, with a comma "}
LOCATIONS = "locations: [{id: wh-east, country: US}]"


def config(channel: str) -> str:
    return f"channels: {{{channel}}}\n{LOCATIONS}"


# ------------------------------------------------------------------------------- the signature itself
# The "photos" example of OAuth Core 1.0 Appendix A.5 (whose signature RFC 5849 section 1.2 repeats):
# GET http://photos.example.net/photos?file=vacation.jpg&size=original, consumer dpf43f3p2l4k3l03 /
# kd94hf93k423kf44, token nnch734d00sl2jdk / pfkkdhi9sl3r4s00, nonce kllo9940pd9333jh, timestamp
# 1191242096, version 1.0.
PHOTOS = "http://photos.example.net/photos?file=vacation.jpg&size=original"
PHOTOS_SIGNER = {
    "consumer_key": "dpf43f3p2l4k3l03",
    "consumer_secret": "kd94hf93k423kf44",
    "access_token": "nnch734d00sl2jdk",
    "access_token_secret": "pfkkdhi9sl3r4s00",
    "nonce": lambda: "kllo9940pd9333jh",
    "clock": lambda: 1191242096.7,
}


def test_the_signer_reproduces_the_published_hmac_sha1_vector():
    header = MagentoOAuthSigner(**PHOTOS_SIGNER, signature_method="HMAC-SHA1").authorization("GET", PHOTOS)
    # The signature printed in OAuth Core 1.0 A.5.2 and RFC 5849 section 1.2.
    assert header_params(header)["oauth_signature"] == "tR3+Ty81lMeYAr/Fid0kMTYa/WM="


def test_the_signer_signs_the_same_request_with_hmac_sha256():
    header = MagentoOAuthSigner(**PHOTOS_SIGNER).authorization("GET", PHOTOS)
    params = header_params(header)
    assert params["oauth_signature_method"] == "HMAC-SHA256" and params["oauth_version"] == "1.0"
    expected_base = (
        "GET&http%3A%2F%2Fphotos.example.net%2Fphotos&file%3Dvacation.jpg%26oauth_consumer_key%3Ddpf43f3p2l4k3l03"
        "%26oauth_nonce%3Dkllo9940pd9333jh%26oauth_signature_method%3DHMAC-SHA256%26oauth_timestamp%3D1191242096"
        "%26oauth_token%3Dnnch734d00sl2jdk%26oauth_version%3D1.0%26size%3Doriginal"
    )
    # The store's side (the fake, written from Commerce's code) builds the base string of A.5.1 ...
    assert base_string("GET", PHOTOS, {**query_params(PHOTOS), **params}) == expected_base
    # ... whose HMAC-SHA256 under "kd94hf93k423kf44&pfkkdhi9sl3r4s00" is, by
    # `printf %s "$BASE" | openssl dgst -sha256 -binary -hmac 'kd94hf93k423kf44&pfkkdhi9sl3r4s00' | base64`:
    assert params["oauth_signature"] == "WVPzl1j6ZsnkIjWr7e3OZ3jkenL57KwaLFhYsroX1hg="
    assert signature(expected_base, "HMAC-SHA256", "kd94hf93k423kf44", "pfkkdhi9sl3r4s00") == params["oauth_signature"]


def test_a_bracketed_search_query_is_signed_as_commerce_reads_it():
    # Commerce splits the query on & and =, urldecodes both sides, and signs them encoded again:
    # searchCriteria[...] must be signed as searchCriteria%5B...%5D, not as the encoded wire form.
    url = str(
        httpx.URL(
            "https://magento.example.com/rest/V1/shipments",
            params={"searchCriteria[filterGroups][0][filters][0][field]": "order_id"},
        )
    )
    signer = MagentoOAuthSigner(*MAGENTO_OAUTH_SECRETS.values())
    store = MagentoOAuthCheck()
    assert store.check("GET", url, {"Authorization": signer.authorization("GET", url)}) is None


# ----------------------------------------------------------------------- what the store refuses
def signed(method: str = "POST", url: str = "https://magento.example.com/rest/V1/inventory/source-items") -> dict:
    return {"Authorization": MagentoOAuthSigner(*MAGENTO_OAUTH_SECRETS.values()).authorization(method, url)}


def test_the_store_refuses_the_access_token_as_a_bearer_token():
    store = MagentoOAuthCheck()
    status, body = store.check("POST", "https://m.example/rest/V1/x", {"Authorization": f"Bearer {ACCESS_TOKEN}"})
    assert status == 401 and body["message"] == "The consumer isn't authorized to access %resources."
    # A store whose merchant turned the standalone bearer setting on takes it.
    assert MagentoOAuthCheck(allow_bearer=True).check("POST", "https://m.example/rest/V1/x", {
        "Authorization": f"Bearer {ACCESS_TOKEN}"}) is None  # fmt: skip


def test_the_store_refuses_a_bad_signature():
    url = "https://magento.example.com/rest/V1/inventory/source-items"
    headers = signed("POST", url)
    # The same header for another URL (or method) no longer matches.
    assert MagentoOAuthCheck().check("POST", url + "?x=1", headers) == (
        401,
        {"message": "The signature is invalid. Verify and try again."},
    )
    assert MagentoOAuthCheck().check("PUT", url, signed("POST", url))[0] == 401
    wrong_secret = MagentoOAuthSigner(*list(MAGENTO_OAUTH_SECRETS.values())[:3], "not-the-token-secret")
    refused = MagentoOAuthCheck().check("POST", url, {"Authorization": wrong_secret.authorization("POST", url)})
    assert refused is not None and refused[0] == 401


def test_the_store_refuses_a_nonce_it_has_seen_even_on_a_refused_request():
    url = "https://magento.example.com/rest/V1/inventory/source-items"
    store, headers = MagentoOAuthCheck(), signed("POST", url)
    assert store.check("POST", url, headers) is None
    status, body = store.check("POST", url, headers)
    assert status == 401 and body["message"].startswith("The nonce is already being used")
    assert store.refusals == ["nonce_used"]


def test_the_store_refuses_a_timestamp_from_the_future_and_missing_parameters():
    url = "https://magento.example.com/rest/V1/x"
    late = MagentoOAuthSigner(*MAGENTO_OAUTH_SECRETS.values(), clock=lambda: 4_102_444_800)  # 2100
    assert MagentoOAuthCheck().check("GET", url, {"Authorization": late.authorization("GET", url)})[0] == 400
    assert MagentoOAuthCheck().check("GET", url, {"Authorization": 'OAuth oauth_consumer_key="x"'})[0] == 400


# ------------------------------------------------------------------------- the adapters, end to end
def push(sku: str = "TEE", quantity: int = 7) -> StockPush:
    return StockPush("magento", sku, quantity, PlatformIds(), platform_location="default")


def magento_store(store: MagentoOAuthCheck, calls: list[httpx.Request], *statuses: int) -> httpx.MockTransport:
    answers = list(statuses)

    def handle(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        refused = store.check(request.method, str(request.url), dict(request.headers))
        if refused:
            return httpx.Response(refused[0], json=refused[1])
        status = answers.pop(0) if answers else 200
        return httpx.Response(status, headers={"Retry-After": "0"}, json=[] if status == 200 else {"message": "busy"})

    return httpx.MockTransport(handle)


def test_a_stock_push_is_signed_and_its_retry_signed_again():
    # POST /V1/inventory/source-items: AdobeDocs/commerce-webapi src/pages/rest/inventory/manage-source-items.md.
    store, calls = MagentoOAuthCheck(), []
    stock = StorefrontStock(SecretsProvider(values=MAGENTO_OAUTH_SECRETS), transport=magento_store(store, calls, 503))
    channel = parse_config(config('magento: {platform: magento, site_url: "https://m.example.com"}')).channels
    stock.pusher("magento", channel["magento"]).push(push())
    assert [c.url.path for c in calls] == ["/rest/V1/inventory/source-items"] * 2
    assert store.refusals == [] and len({header_params(c.headers["Authorization"])["oauth_nonce"] for c in calls}) == 2
    assert json.loads(calls[-1].content) == {
        "sourceItems": [{"sku": "TEE", "source_code": "default", "quantity": 7, "status": 1}]
    }


def test_a_bearer_push_to_a_default_store_fails_with_its_401_and_bearer_is_sent_when_configured():
    store, calls = MagentoOAuthCheck(), []
    stock = StorefrontStock(SecretsProvider(values=MAGENTO_OAUTH_SECRETS), transport=magento_store(store, calls))
    bearer = parse_config(config('magento: {platform: magento, site_url: "https://m.example.com", auth: bearer}'))
    with pytest.raises(OutboundError, match="HTTP 401"):
        stock.pusher("magento", bearer.channels["magento"]).push(push())
    assert calls[-1].headers["Authorization"] == f"Bearer {ACCESS_TOKEN}" and store.refusals == ["bearer_refused"]
    # Bearer needs only the access token.
    only_token = StorefrontStock(
        SecretsProvider(values={"MAGENTO_ACCESS_TOKEN": ACCESS_TOKEN}),
        transport=magento_store(MagentoOAuthCheck(allow_bearer=True), calls),
    )
    only_token.pusher("magento", bearer.channels["magento"]).push(push())


@pytest.mark.parametrize("missing", list(MAGENTO_OAUTH_SECRETS))
def test_a_missing_oauth_value_names_its_key(missing):
    values = {k: v for k, v in MAGENTO_OAUTH_SECRETS.items() if k != missing}
    channel = parse_config(config('magento: {platform: magento, site_url: "https://m.example.com"}')).channels
    with pytest.raises(CredentialsMissingError, match=f"^{missing} is not in the hub secret"):
        StorefrontStock(SecretsProvider(values=values)).pusher("magento", channel["magento"])


@pytest.mark.parametrize(
    ("carrier", "code"),
    [
        ("UPS", "ups"),
        ("USPS", "usps"),
        ("FedEx", "fedex"),
        ("DHL Express", "dhl"),
        ("DHLExpress", "dhl"),
        ("dhl", "dhl"),
        ("Royal Mail", "custom"),
        ("DHL eCommerce", "custom"),
        (None, "custom"),
    ],
)
def test_carrier_codes_are_commerces_own(carrier, code):
    assert magento_carrier_code(carrier) == code


def test_a_custom_carrier_is_written_back_as_custom_with_its_title():
    store, calls = MagentoOAuthCheck(), []
    answers = iter([{"items": []}, "81"])

    def handle(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        refused = store.check(request.method, str(request.url), dict(request.headers))
        return httpx.Response(refused[0], json=refused[1]) if refused else httpx.Response(200, json=next(answers))

    hub_config = parse_config(config('magento: {platform: magento, site_url: "https://m.example.com"}'))
    writers = StorefrontWriters(hub_config, SecretsProvider(values=MAGENTO_OAUTH_SECRETS), httpx.MockTransport(handle))
    order = Order("magento:42", "magento", OrderStatus.SHIPPED, Money(1800, "USD"), (OrderLine("MUG", 1, 1800, "9"),))
    shipped = Fulfilment("ful_1", "wh-east", order.lines, status="shipped", carrier="Royal Mail", tracking_number="RM1")
    assert writers.write(order, shipped).reference == "81"
    assert store.refusals == []
    assert json.loads(calls[-1].content)["tracks"] == [
        {"track_number": "RM1", "title": "Royal Mail", "carrier_code": "custom"}
    ]


# ------------------------------------------------------------------------------------- WooCommerce
def woo_store(calls: list[httpx.Request], *, strips_authorization: bool = False) -> httpx.MockTransport:
    def handle(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        refused = woocommerce_refusal(
            str(request.url), dict(request.headers), *WOO.values(), strips_authorization=strips_authorization
        )
        if refused:
            return httpx.Response(refused[0], json=refused[1])
        return httpx.Response(200, json={"id": 812})

    return httpx.MockTransport(handle)


WOO_PUSH = StockPush("woocommerce", "TEE", 5, PlatformIds(product_id="812"), None)


def test_woocommerce_query_string_credentials_reach_a_host_that_strips_authorization(caplog):
    # woocommerce/woocommerce-rest-api-docs, "Authentication over HTTPS": consumer_key and
    # consumer_secret as query string parameters for servers that do not parse the Authorization header.
    calls: list[httpx.Request] = []
    channels = parse_config(
        config('w: {platform: woocommerce, site_url: "https://shop.example.com", auth: query_string}')
    )
    stock = StorefrontStock(SecretsProvider(values=WOO), transport=woo_store(calls, strips_authorization=True))
    with caplog.at_level(logging.INFO, logger="httpx"):
        stock.pusher("w", channels.channels["w"]).push(WOO_PUSH)
    (call,) = calls
    assert call.url.path == "/wp-json/wc/v3/products/812" and "authorization" not in call.headers
    assert parse_qs(call.url.query.decode()) == {
        "consumer_key": ["ck_live_1a2b"],
        "consumer_secret": ["cs_live_3c4d, with a comma "],
    }
    assert json.loads(call.content) == {"manage_stock": True, "stock_quantity": 5}
    # httpx logs each request's URL; the credentials are added below it, on the wire only.
    assert "/wp-json/wc/v3/products/812" in caplog.text
    assert "cs_live_3c4d" not in caplog.text and "ck_live" not in caplog.text


def test_woocommerce_basic_auth_to_a_host_that_strips_it_gets_consumer_key_is_missing():
    calls: list[httpx.Request] = []
    channels = parse_config(config('w: {platform: woocommerce, site_url: "https://shop.example.com"}'))
    stock = StorefrontStock(SecretsProvider(values=WOO), transport=woo_store(calls, strips_authorization=True))
    with pytest.raises(OutboundError, match="HTTP 401 \\(code woocommerce_rest_authentication_error"):
        stock.pusher("w", channels.channels["w"]).push(WOO_PUSH)
    assert calls[0].headers["authorization"].startswith("Basic ")


def test_the_woocommerce_fake_refuses_missing_and_wrong_credentials():
    url = "https://shop.example.com/wp-json/wc/v3/products/812"
    assert woocommerce_refusal(url, {}, *WOO.values()) == (401, KEY_MISSING)
    wrong = f"{url}?consumer_key=ck_live_1a2b&consumer_secret=nope"
    assert woocommerce_refusal(wrong, {}, *WOO.values()) == (401, SECRET_INVALID)
    assert woocommerce_refusal(f"{url}?consumer_key=ck_other&consumer_secret=x", {}, *WOO.values())[0] == 401


@pytest.mark.parametrize(
    ("channel", "problem"),
    [
        ('w: {platform: woocommerce, site_url: "http://shop.example.com"}', "'channels.w.site_url'"),
        (
            'w: {platform: woocommerce, site_url: "https://s.example", api_url: "http://10.0.0.8"}',
            "'channels.w.api_url'",
        ),
        ("w: {platform: woocommerce, auth: oauth1}", "'channels.w.auth'"),
        ("m: {platform: magento, auth: query_string}", "'channels.m.auth'"),
        ("s: {platform: shopify, auth: bearer}", "'channels.s.auth'"),
    ],
)
def test_the_configuration_refuses_plain_http_woocommerce_and_foreign_auth_choices(channel, problem):
    with pytest.raises(ConfigError, match=problem) as refused:
        parse_config(config(channel))
    assert "https" in str(refused.value) or "choice" in str(refused.value)


def test_a_local_fake_on_loopback_may_be_plain_http():
    for host in ("127.0.0.1:8080", "localhost:9", "[::1]:9"):
        channel = f'w: {{platform: woocommerce, site_url: "https://s.example", api_url: "http://{host}"}}'
        assert parse_config(config(channel)).channels["w"].api_url == f"http://{host}"


@pytest.mark.parametrize(
    ("channel", "values", "missing"),
    [
        (
            'woocommerce: {platform: woocommerce, site_url: "https://shop.example.com"}',
            WOO,
            "WOOCOMMERCE_CONSUMER_SECRET",
        ),
        (
            'magento: {platform: magento, site_url: "https://m.example.com"}',
            MAGENTO_OAUTH_SECRETS,
            "MAGENTO_ACCESS_TOKEN_SECRET",
        ),
    ],
)
def test_a_write_back_whose_credential_is_missing_names_the_key(channel, values, missing):
    name = channel.split(":", 1)[0]
    writers = StorefrontWriters(
        parse_config(config(channel)), SecretsProvider(values={k: v for k, v in values.items() if k != missing})
    )
    order = Order(f"{name}:7", name, OrderStatus.SHIPPED, Money(1800, "USD"), (OrderLine("MUG", 1, 1800, "9"),))
    shipped = Fulfilment("ful_7", "wh-east", order.lines, status="shipped", carrier="UPS", tracking_number="1Z")
    with pytest.raises(CredentialsMissingError, match=f"^{missing} is not in the hub secret, so writing shipments"):
        writers.write(order, shipped)
