"""Adobe Commerce through Adobe I/O Events: RSA signatures with a key pair made here, the
registration challenge, and each Commerce event as canonical events."""

import base64
import json
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from hub.config import parse_config
from hub.errors import MalformedPayloadError, MethodNotAllowedError, NotDurableError, SignatureError
from hub.intake import IntakeService
from hub.intake.keyfetch import KeyFetcher
from hub.intake.magento import KEY_POLICY, MagentoSource
from hub.intake.shopify import ShopifySource
from hub.ports import WebhookRequest
from hub.secrets import SecretsProvider

from commerce_hub.signing.magento import sign as sign_delivery
from tests.unit.test_intake_service import FakeDeliveryLog

PAYLOADS = Path(__file__).resolve().parents[2] / "events" / "payloads"
PLACED = (PAYLOADS / "magento_sales_order_place_after.json").read_bytes()
CONFIG = parse_config("locations: [{id: wh-east, country: US}]\n")


def _pair() -> tuple[rsa.RSAPrivateKey, str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return key, private, public


ADOBE_KEY, ADOBE_PRIVATE, ADOBE_PUBLIC = _pair()
NEXT_KEY, _, NEXT_PUBLIC = _pair()
OTHER_KEY, _, _ = _pair()


def rsa_sign(body: bytes, key: rsa.RSAPrivateKey = ADOBE_KEY) -> str:
    return base64.b64encode(key.sign(body, padding.PKCS1v15(), hashes.SHA256())).decode()


HUB_CLIENT_ID = "b41f6c2e9d0a4e7b8c35f1a2d6e90c47"  # the recipient_client_id of the samples in events/


def secrets(public: str = ADOBE_PUBLIC, client_id: str = HUB_CLIENT_ID) -> SecretsProvider:
    return SecretsProvider(values={"ADOBE_IO_PUBLIC_KEY": public, "ADOBE_IO_CLIENT_ID": client_id})


def request(body: bytes = PLACED, **overrides: str | None) -> WebhookRequest:
    signature = rsa_sign(body)
    headers = {
        "content-type": "application/json",
        "x-adobe-digital-signature-1": signature,
        "x-adobe-digital-signature-2": signature,
        "x-adobe-public-key1-path": "/prod/keys/pub-key-1.pem",
        "x-adobe-public-key2-path": "/prod/keys/pub-key-2.pem",
    }
    for name, value in overrides.items():
        key = name.replace("_", "-")
        if value is None:
            headers.pop(key, None)
        else:
            headers[key] = value
    return WebhookRequest(headers, body)


def payload(name: str) -> bytes:
    return (PAYLOADS / f"magento_{name}.json").read_bytes()


def parse(body: bytes = PLACED, config=CONFIG):
    return MagentoSource().parse(request(body), config)


# ------------------------------------------------------------------------------------ signature
def test_a_signature_with_the_configured_key_verifies():
    MagentoSource().verify(request(), secrets())


def test_the_signer_signs_as_adobe_does():
    delivery = sign_delivery(PLACED, topic=None, secrets={"ADOBE_IO_PRIVATE_KEY": ADOBE_PRIVATE}, delivery_id="d-1")
    headers = {k.lower(): v for k, v in delivery.headers.items()}
    MagentoSource().verify(WebhookRequest(headers, PLACED), secrets())


@pytest.mark.parametrize("which", ["x_adobe_digital_signature_1", "x_adobe_digital_signature_2"])
def test_either_signature_verifying_is_enough(which):
    # Adobe signs with its current and its next key; during a rotation only one may match ours.
    MagentoSource().verify(request(**{which: rsa_sign(PLACED, OTHER_KEY)}), secrets())
    MagentoSource().verify(request(**{which: None}), secrets())


def test_any_of_several_configured_keys_verifies():
    both = f"{NEXT_PUBLIC}\n{ADOBE_PUBLIC}"
    MagentoSource().verify(request(), secrets(both))
    MagentoSource().verify(request(), secrets(json.dumps([NEXT_PUBLIC, ADOBE_PUBLIC])))


@pytest.mark.parametrize(
    ("req", "message"),
    [
        (request(x_adobe_digital_signature_1=None, x_adobe_digital_signature_2=None), "missing x-adobe-digital"),
        (
            request(
                x_adobe_digital_signature_1=rsa_sign(PLACED, OTHER_KEY),
                x_adobe_digital_signature_2=rsa_sign(PLACED, OTHER_KEY),
            ),
            "neither x-adobe-digital-signature-1 nor -2 verifies",
        ),
        (WebhookRequest(request().headers, PLACED.replace(b"139.8300", b"1.8300")), "neither"),
        (request(x_adobe_digital_signature_1="%%%", x_adobe_digital_signature_2="not base64!"), "neither"),
        (request(x_adobe_digital_signature_1="\x80é", x_adobe_digital_signature_2=None), "neither"),
    ],
    ids=["missing", "wrong-key", "tampered-body", "garbage", "not-ascii"],
)
def test_bad_signatures_are_refused(req, message):
    with pytest.raises(SignatureError, match=message):
        MagentoSource().verify(req, secrets())


def test_without_a_configured_key_an_unreachable_key_host_asks_for_a_retry_never_accepts():
    # Formerly "no configured key refuses": with no key configured, Adobe's key is fetched.
    server = KeyServer(error=httpx.ConnectTimeout("timed out"))
    with pytest.raises(NotDurableError, match=r"could not be fetched \(ConnectTimeout\)"):
        MagentoSource(http=server.client()).verify(request(), fetching())


def test_a_configured_key_that_is_not_pem_refuses_and_says_why():
    with pytest.raises(SignatureError, match="not a PEM public key"):
        MagentoSource().verify(request(), secrets("ssh-rsa AAAAB3NzaC1yc2E"))


# ------------------------------------------------------------------------------ the recipient
# Adobe signs every integration's events with one key pair: the signature says Adobe sent the body,
# recipient_client_id says to whom. (Adobe I/O Events, "Signature Verification for Events".)


def with_recipient(recipient: object, body: bytes = PLACED) -> bytes:
    document = json.loads(body)
    if recipient is None:
        document.pop("recipient_client_id")
    else:
        document["recipient_client_id"] = recipient
    return json.dumps(document).encode()


def test_an_event_for_the_hubs_client_id_verifies():
    MagentoSource().verify(request(with_recipient(HUB_CLIENT_ID)), secrets())


def test_an_event_adobe_signed_for_another_integration_is_refused():
    with pytest.raises(SignatureError, match="recipient_client_id is not this hub's Adobe I/O client id"):
        MagentoSource().verify(request(with_recipient("5e1a2b3c4d5e6f708192a3b4c5d6e7f8")), secrets())


@pytest.mark.parametrize("recipient", [None, "", 42, ["b41f6c2e9d0a4e7b8c35f1a2d6e90c47"]])
def test_an_event_without_a_recipient_is_refused(recipient):
    with pytest.raises(SignatureError, match="no recipient_client_id"):
        MagentoSource().verify(request(with_recipient(recipient)), secrets())


def test_the_recipient_is_checked_only_after_the_signature():
    forged = with_recipient("5e1a2b3c4d5e6f708192a3b4c5d6e7f8")
    with pytest.raises(SignatureError, match="neither"):
        MagentoSource().verify(WebhookRequest(request().headers, forged), secrets())


class SeveralClientIds(SecretsProvider):
    """Several values of ADOBE_IO_CLIENT_ID, whatever their encoding in the secret."""

    def __init__(self, *ids: str) -> None:
        super().__init__(values={"ADOBE_IO_PUBLIC_KEY": ADOBE_PUBLIC})
        self._ids = list(ids)

    def candidates(self, name: str) -> list[str]:
        return list(self._ids) if name == "ADOBE_IO_CLIENT_ID" else super().candidates(name)


@pytest.mark.parametrize("recipient", ["0c9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f", HUB_CLIENT_ID])
def test_any_of_the_hubs_client_ids_verifies(recipient):
    several = SeveralClientIds("0c9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f", HUB_CLIENT_ID)
    MagentoSource().verify(request(with_recipient(recipient)), several)


def test_no_configured_client_id_refuses_rather_than_accepts():
    with pytest.raises(SignatureError, match="no Adobe I/O client id"):
        MagentoSource().verify(request(), SecretsProvider(values={"ADOBE_IO_PUBLIC_KEY": ADOBE_PUBLIC}))


def test_a_signed_body_that_is_not_json_is_malformed():
    with pytest.raises(MalformedPayloadError, match="not valid JSON"):
        MagentoSource().verify(request(b"not json"), secrets())


# ---------------------------------------------------------------- Adobe's keys, fetched by path
KEY_1_PATH = "/prod/keys/pub-key-7c1e2d4f-0a9b-4c3d-8e5f-6a7b8c9d0e1f.pem"
KEY_2_PATH = "/prod/keys/pub-key-3b2a1c0d-9e8f-4a7b-b6c5-d4e3f2a1b0c9.pem"


def adobe_url(path: str) -> str:
    return f"https://static.adobeioevents.com{path}"


class KeyServer:
    """static.adobeioevents.com as an httpx.MockTransport, counting what was fetched."""

    def __init__(self, keys: dict[str, str | bytes] | None = None, *, status: int = 200, error=None) -> None:
        self.keys = keys if keys is not None else {KEY_1_PATH: ADOBE_PUBLIC, KEY_2_PATH: NEXT_PUBLIC}
        self.status, self.error, self.fetched = status, error, []

    def client(self) -> httpx.Client:
        def handler(req: httpx.Request) -> httpx.Response:
            self.fetched.append(str(req.url))
            if self.error is not None:
                raise type(self.error)(str(self.error), request=req)
            if 300 <= self.status < 400:
                return httpx.Response(self.status, headers={"location": "https://attacker.example/k.pem"})
            body = self.keys.get(req.url.path)
            if body is None:
                return httpx.Response(404)
            return httpx.Response(self.status, content=body.encode() if isinstance(body, str) else body)

        return httpx.Client(transport=httpx.MockTransport(handler))


def fetching(client_id: str = HUB_CLIENT_ID) -> SecretsProvider:
    return SecretsProvider(values={"ADOBE_IO_CLIENT_ID": client_id})


def adobe_request(body: bytes = PLACED, *, sig1=ADOBE_KEY, sig2=NEXT_KEY, **overrides: str | None) -> WebhookRequest:
    """As Adobe sends it: signature n by the key whose file is at path n."""
    headers = {
        "x_adobe_digital_signature_1": rsa_sign(body, sig1),
        "x_adobe_digital_signature_2": rsa_sign(body, sig2),
        "x_adobe_public_key1_path": KEY_1_PATH,
        "x_adobe_public_key2_path": KEY_2_PATH,
    }
    return request(body, **{**headers, **overrides})


def test_the_key_is_fetched_from_adobes_host_by_its_path_and_cached():
    server = KeyServer()
    adobe = MagentoSource(http=server.client())
    adobe.verify(adobe_request(), fetching())
    adobe.verify(adobe_request(), fetching())
    assert server.fetched == [adobe_url(KEY_1_PATH)]  # signature 1 verified: key 2 was not needed


def test_signature_2_with_key_2_verifies_while_adobe_rotates_key_1():
    server = KeyServer()
    MagentoSource(http=server.client()).verify(adobe_request(sig1=OTHER_KEY), fetching())
    assert server.fetched == [adobe_url(KEY_1_PATH), adobe_url(KEY_2_PATH)]


def test_each_signature_is_checked_with_its_own_key_only():
    # Signature 1 was made with key 2 and signature 2 with key 1: valid signatures, wrong pairing.
    server = KeyServer()
    with pytest.raises(SignatureError, match="neither x-adobe-digital-signature-1 nor -2 verifies"):
        MagentoSource(http=server.client()).verify(adobe_request(sig1=NEXT_KEY, sig2=ADOBE_KEY), fetching())


def test_a_bad_signature_with_adobes_fetched_keys_is_refused():
    with pytest.raises(SignatureError, match="neither"):
        MagentoSource(http=KeyServer().client()).verify(adobe_request(sig1=OTHER_KEY, sig2=OTHER_KEY), fetching())


def test_the_recipient_is_checked_with_fetched_keys_too():
    body = with_recipient("5e1a2b3c4d5e6f708192a3b4c5d6e7f8")
    with pytest.raises(SignatureError, match="recipient_client_id is not this hub's"):
        MagentoSource(http=KeyServer().client()).verify(adobe_request(body), fetching())


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/prod/other/pub-key-1.pem", "must be a path under /prod/keys/"),
        ("/prod/keys/../../admin/token", "must be a path under /prod/keys/"),
        ("/prod/keys/pub-key-1.pem?next=x", "must be a path under /prod/keys/"),
        ("/prod/keys/pub key.pem", "not a plain URL"),
        ("https://attacker.example/prod/keys/pub-key-1.pem", "is not a path on Adobe's key host"),
        ("http://static.adobeioevents.com/prod/keys/pub-key-1.pem", "is not a path on Adobe's key host"),
        ("//attacker.example/prod/keys/pub-key-1.pem", "is not a path on Adobe's key host"),
        ("@attacker.example/prod/keys/pub-key-1.pem", "is not a path on Adobe's key host"),
        (".attacker.example/prod/keys/pub-key-1.pem", "is not a path on Adobe's key host"),
    ],
)
def test_a_key_path_off_adobes_key_host_is_refused_and_never_fetched(path, message):
    server = KeyServer()
    with pytest.raises(SignatureError, match=message):
        MagentoSource(http=server.client()).verify(adobe_request(x_adobe_public_key1_path=path), fetching())
    with pytest.raises(SignatureError, match=message):
        MagentoSource().verify(request(x_adobe_public_key1_path=path), secrets())  # a configured key too
    assert server.fetched == []


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://static.adobeioevents.com/prod/keys/pub-key-1.pem", "must be https"),
        ("https://adobeioevents.com.attacker.example/prod/keys/pub-key-1.pem", "is not one of Adobe's key hosts"),
        ("https://static.adobeioevents.com:8443/prod/keys/pub-key-1.pem", "no user or port"),
    ],
)
def test_adobes_key_policy_allows_https_on_its_one_host_only(url, message):
    with pytest.raises(SignatureError, match=message):
        KeyFetcher(KEY_POLICY, bytes).check(url)


def test_a_redirect_for_a_key_is_refused_and_not_followed():
    server = KeyServer(status=302)
    with pytest.raises(SignatureError, match="answered a redirect"):
        MagentoSource(http=server.client()).verify(adobe_request(sig2=OTHER_KEY), fetching())
    assert server.fetched == [adobe_url(KEY_1_PATH), adobe_url(KEY_2_PATH)]


def test_a_key_document_too_large_is_refused():
    server = KeyServer({KEY_1_PATH: b"A" * (64 * 1024 + 1), KEY_2_PATH: b"B" * (64 * 1024 + 1)})
    with pytest.raises(SignatureError, match="too large for a public key"):
        MagentoSource(http=server.client()).verify(adobe_request(), fetching())


def test_a_key_document_that_is_not_a_pem_public_key_is_refused():
    server = KeyServer({KEY_1_PATH: "<html>hello</html>", KEY_2_PATH: "<html>hello</html>"})
    with pytest.raises(SignatureError, match="is not a PEM public key"):
        MagentoSource(http=server.client()).verify(adobe_request(), fetching())


def test_a_key_adobe_does_not_have_is_refused():
    with pytest.raises(SignatureError, match=r"has no public key at that .* \(HTTP 404\)"):
        MagentoSource(http=KeyServer({}).client()).verify(adobe_request(), fetching())


def test_adobes_key_host_down_asks_for_a_retry_and_is_remembered():
    server = KeyServer(status=503)
    adobe = MagentoSource(http=server.client(), monotonic=lambda: 1000.0)
    for _ in range(3):
        with pytest.raises(NotDurableError, match="please retry"):
            adobe.verify(adobe_request(), fetching())
    assert server.fetched == [adobe_url(KEY_1_PATH)]  # the host is not tried again for a while


def test_one_key_fetched_is_enough_when_the_other_fails():
    server = KeyServer({KEY_2_PATH: NEXT_PUBLIC})  # key 1 is gone (404); signature 2 verifies
    MagentoSource(http=server.client()).verify(adobe_request(), fetching())


# ------------------------------------------------------------------------------------ challenge
def _service(log=None):
    sources = {"magento": MagentoSource(), "shopify": ShopifySource()}
    return IntakeService(sources, secrets(), lambda: CONFIG, log or FakeDeliveryLog())


def test_the_registration_challenge_is_answered_with_its_value():
    answer = _service().challenge("magento", WebhookRequest({}, b"", {"challenge": "9f1e2d3c-4b5a-6978"}))
    assert answer == {"challenge": "9f1e2d3c-4b5a-6978"}


def test_a_get_without_a_challenge_says_what_is_missing():
    with pytest.raises(MalformedPayloadError, match="missing the challenge query parameter"):
        _service().challenge("magento", WebhookRequest({}, b"", {}))


def test_other_sources_answer_no_challenge():
    with pytest.raises(MethodNotAllowedError, match="only magento"):
        _service().challenge("shopify", WebhookRequest({}, b"", {"challenge": "x"}))


# ------------------------------------------------------------------------------------ normalise
def test_order_placed_counts_a_configurable_product_once_with_exact_money():
    delivery = parse()
    assert delivery.dedupe_key == "magento:8c1d5e3a-0b42-4f6e-9d7c-3a5b1e2f4c68"
    (placed,) = delivery.events
    assert placed.type == "OrderPlaced"
    assert placed.channel == "magento"
    data = placed.data
    assert (data.order_id, data.platform_order_id, data.order_number) == ("magento:318", "318", "000000457")
    assert (data.total, data.currency, data.paid) == (13983, "EUR", True)
    assert (data.customer_email, data.shipping_country) == ("ilse.brandt@example.org", "DE")
    assert [(ln.sku, ln.quantity, ln.unit_price) for ln in data.lines] == [
        ("LINEN-THROW-SAGE", 1, 6950),
        ("CANDLE-CEDAR-L", 2, 2400),
    ]
    assert placed.occurred_at.isoformat() == "2026-11-20T16:02:19.415000+00:00"
    assert placed.provider.event_id == "8c1d5e3a-0b42-4f6e-9d7c-3a5b1e2f4c68"
    assert placed.provider.delivery_id == "1f0b7d7c-2e54-4c33-9a0e-6d8f1b2a7c11"


def test_a_new_order_awaiting_payment_is_not_paid():
    document = json.loads(PLACED)
    document["data"]["value"].update(state="new", status="pending", total_paid=None)
    assert parse(json.dumps(document).encode()).events[0].data.paid is False


def test_a_redelivery_maps_to_the_same_ids():
    first, again = parse(), parse()
    assert first.dedupe_key == again.dedupe_key
    assert first.events[0].event_id == again.events[0].event_id


def test_a_canceled_order_save_is_an_update_and_a_cancellation():
    events = parse(payload("sales_order_save_commit_after")).events
    # A saved order carries the whole order: it is also a placement, recorded cancelled if it comes first.
    assert [e.type for e in events] == ["OrderUpdated", "OrderPlaced", "OrderCancelled"]
    updated, placed, cancelled = events
    assert (placed.data.cancelled, placed.data.order_id) == (True, "magento:318")
    assert (updated.data.platform_status, updated.data.cancelled, updated.data.paid) == ("canceled", True, False)
    assert updated.data.refunded_total == 0
    assert cancelled.data.order_id == "magento:318"


def test_the_same_cancellation_in_two_events_has_one_id():
    document = json.loads(payload("sales_order_save_commit_after"))
    first = parse(json.dumps(document).encode()).events
    document["event_id"] = "0d9c8b7a-6f5e-4d3c-2b1a-098f7e6d5c4b"
    document["data"]["value"]["updated_at"] = "2026-11-21 09:20:00"
    second = parse(json.dumps(document).encode()).events
    assert first[0].event_id != second[0].event_id  # two saves, two updates
    assert first[1].event_id != second[1].event_id  # two snapshots, two placements (the first records it)
    assert first[2].event_id == second[2].event_id  # one cancellation


def test_an_invoice_paid_is_the_order_paid():
    (paid,) = parse(payload("sales_order_invoice_pay")).events
    assert paid.type == "OrderPaid"
    assert (paid.data.order_id, paid.data.amount, paid.data.currency) == ("magento:318", 13983, "EUR")
    assert paid.data.payment_reference == "7h2kq9vx"


def test_a_credit_memo_is_a_refund_with_its_lines():
    (refund,) = parse(payload("sales_order_creditmemo_save_after")).events
    assert refund.type == "RefundIssued"
    assert (refund.data.order_id, refund.data.refund_id, refund.data.amount) == ("magento:318", "000000057", 2856)
    assert [(ln.sku, ln.quantity, ln.restock) for ln in refund.data.lines] == [("CANDLE-CEDAR-L", 1, True)]


def test_a_customer_save_upserts_the_customer():
    (event,) = parse(payload("customer_save_after")).events
    assert event.type == "CustomerUpserted"
    assert (event.data.email, event.data.platform_customer_id, event.data.first_name) == (
        "ilse.brandt@example.org",
        "93",
        "Ilse",
    )


def test_a_stock_item_save_reports_the_level():
    (event,) = parse(payload("cataloginventory_stock_item_save_after")).events
    assert event.type == "StockLevelReported"
    assert (event.data.sku, event.data.available, event.data.platform_location_id) == ("CANDLE-CEDAR-L", 34, "1")


def test_amounts_sent_as_json_numbers_are_read_exactly():
    document = json.loads(PLACED)
    raw = json.dumps(document).replace('"139.8300"', "139.83").encode()
    assert parse(raw).events[0].data.total == 13983


def test_the_channel_comes_from_the_configuration():
    config = parse_config(
        "channels:\n  eu-store: {platform: magento, site_url: 'https://harbour-home.example'}\n"
        "locations: [{id: wh-east, country: US}]\n"
    )
    placed = parse(config=config).events[0]
    assert (placed.channel, placed.data.order_id) == ("eu-store", "eu-store:318")


def test_events_the_hub_does_not_use_are_ignored():
    document = {**json.loads(PLACED), "type": "com.adobe.commerce.observer.catalog_product_save_after"}
    delivery = parse(json.dumps(document).encode())
    assert delivery.events == [] and "observer.catalog_product_save_after" in delivery.ignored_reason


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.pop("data"), "not an Adobe Commerce I/O event: 'data'"),
        (lambda d: (d.pop("event_id"), d.pop("id")), "'event_id' is missing"),
        (lambda d: d["data"]["value"].pop("order_currency_code"), "not an Adobe Commerce order: 'order_currency_code'"),
        (lambda d: d["data"]["value"].update(grand_total="12.34567"), "more decimals"),
        (lambda d: d["data"]["value"]["items"][2].update(qty_ordered="1.5000"), "not a whole number of units"),
        (lambda d: (d.pop("time"), d["data"]["value"].pop("created_at")), "'time'"),
    ],
)
def test_malformed_events_say_what_is_wrong(change, message):
    document = json.loads(PLACED)
    change(document)
    with pytest.raises(MalformedPayloadError, match=message):
        parse(json.dumps(document).encode())


def test_a_batch_delivery_is_refused_with_a_hint():
    with pytest.raises(MalformedPayloadError, match="single events, not batches"):
        parse(b"[" + PLACED + b"]")


# ------------------------------------------------------------- parent and child items, vendor shapes
VENDOR = Path(__file__).resolve().parents[1] / "vendor_samples"
REST_ORDER = json.loads((VENDOR / "adobe_commerce_rest_order_3.json").read_text())


def placed_with(order: dict, config=CONFIG):
    """The order as the value of a sales_order_place_after event (the hub's Adobe I/O sample's envelope)."""
    document = json.loads(PLACED)
    document["data"]["value"] = order
    (placed,) = parse(json.dumps(document).encode(), config).events
    return placed


def test_adobes_documented_order_is_one_line_per_physical_unit_under_its_stock_sku():
    """Adobe's GET /V1/orders/3 example (order processing tutorial; tests/vendor_samples/README.md):
    a simple tee, a downloadable video, the bundle "Sprite Yoga Companion Kit" of four products, and
    the configurable "Chaz Kangeroo Hoodie" whose simple child carries no price."""
    placed = placed_with(REST_ORDER)
    lines = [(ln.sku, ln.quantity, ln.unit_price, ln.platform_line_id, ln.stocked) for ln in placed.data.lines]
    assert lines == [
        ("WS12-M-Orange", 1, 2200, "3", True),
        ("240-LV08", 1, 1800, "4", False),  # downloadable: recorded, never reserved
        ("24-WG082-blue", 1, 2700, "6", True),  # the bundle's four components, not the bundle
        ("24-WG084", 1, 500, "7", True),
        ("24-WG086", 1, 1700, "8", True),
        ("24-WG088", 1, 1900, "9", True),
        ("MH01-S-Gray", 1, 5200, "10", True),  # the child's SKU once, at the parent's price
    ]
    assert "24-WG080-24-WG084-24-WG088-24-WG082-blue-24-WG086" not in {ln.sku for ln in placed.data.lines}
    assert (placed.data.total, placed.data.currency, placed.data.paid) == (16500, "USD", False)
    assert placed.data.order_id == "magento:3"
    # "2017-08-21 22:22:20" has no zone: Adobe Commerce stores UTC.
    assert placed.data.updated_at.isoformat() == "2017-08-21T22:22:20+00:00"


def test_a_bundle_of_two_counts_each_component_as_magento_multiplies_it():
    order = json.loads(json.dumps(REST_ORDER))
    for item in order["items"]:
        if item["item_id"] in (5, 6, 7, 8, 9):
            item["qty_ordered"] = 2
    placed = placed_with(order)
    assert [(ln.sku, ln.quantity) for ln in placed.data.lines if ln.platform_line_id in "6789"] == [
        ("24-WG082-blue", 2),
        ("24-WG084", 2),
        ("24-WG086", 2),
        ("24-WG088", 2),
    ]


def test_the_event_shape_with_strings_and_four_decimals_reads_the_same():
    """Adobe I/O Events sends the entity's fields as strings ("1.0000", "69.5000"), ids included."""
    document = json.loads(PLACED)
    items = document["data"]["value"]["items"]
    items[0]["qty_ordered"] = items[1]["qty_ordered"] = "3.0000"
    items.append(
        {"item_id": "614", "parent_item_id": None, "product_id": "3001", "product_type": "virtual",
         "is_virtual": "1", "sku": "GIFT-WRAP", "name": "Gift wrapping", "qty_ordered": "1.0000", "price": "4.5000"}
    )  # fmt: skip
    (placed,) = parse(json.dumps(document).encode()).events
    assert [(ln.sku, ln.quantity, ln.unit_price, ln.stocked) for ln in placed.data.lines] == [
        ("LINEN-THROW-SAGE", 3, 6950, True),  # the configurable counted once: 3, not 6
        ("CANDLE-CEDAR-L", 2, 2400, True),
        ("GIFT-WRAP", 1, 450, False),
    ]


def test_quantities_and_amounts_as_json_numbers_are_read_exactly():
    order = json.loads(json.dumps(REST_ORDER))
    raw = (
        json.dumps(order)
        .replace('"qty_ordered": 1,', '"qty_ordered": 1.0000,')
        .replace('"grand_total": 165,', '"grand_total": 165.0000,')
    )
    assert raw.count('"qty_ordered": 1.0000') == 9 and '"grand_total": 165.0000' in raw
    document = json.loads(PLACED)
    document["data"]["value"] = "ORDER"
    body = json.dumps(document).replace('"ORDER"', raw).encode()
    (placed,) = parse(body).events
    assert placed.data.total == 16500
    assert [ln.quantity for ln in placed.data.lines] == [1] * 7


def test_a_line_without_a_sku_is_named_by_its_product():
    order = json.loads(json.dumps(REST_ORDER))
    order["items"][0]["sku"] = ""
    assert placed_with(order).data.lines[0].sku == "magento:product:1553:variation:0"


@pytest.mark.parametrize(
    ("item", "field", "message"),
    [
        ({"qty_ordered": 3.5}, "items.0.qty_ordered", "not a whole number"),
        ({"qty_ordered": "1e12"}, "items.0.qty_ordered", "not a quantity"),
        ({"qty_ordered": 10**12}, "items.0.qty_ordered", "between 0 and"),
        ({"price": "NaN"}, "items.0.price", "not a finite amount"),
        ({"price": "22.001"}, "items.0.price", "more decimals than USD"),
        ({"price": ""}, "items.0.price", "not a decimal amount"),
    ],
)
def test_item_quantities_and_prices_the_hub_cannot_read_name_the_field(item, field, message):
    order = json.loads(json.dumps(REST_ORDER))
    order["items"][0].update(item)
    # The path is named from the order ('items.0.price') or from the Adobe I/O body ('data.value.items.0.price').
    with pytest.raises(MalformedPayloadError, match=rf"'(data\.value\.)?{field}'.*{message}"):
        placed_with(order)


@pytest.mark.parametrize("price", [True, None, [22]])
def test_a_price_that_is_not_a_number_names_the_field(price):
    order = json.loads(json.dumps(REST_ORDER))
    order["items"][0]["price"] = price
    with pytest.raises(MalformedPayloadError, match=r"'items\.0\.price'"):
        placed_with(order)
