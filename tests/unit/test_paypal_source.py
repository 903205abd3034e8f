import datetime as dt
import json
import zlib
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from hub.config import parse_config
from hub.errors import MalformedPayloadError, NotDurableError, SignatureError
from hub.events import event_id_for
from hub.intake.paypal import PayPalSource
from hub.ports import WebhookRequest
from hub.secrets import SecretsProvider

from commerce_hub.signing import paypal as paypal_signer

PAYLOADS = Path(__file__).resolve().parents[2] / "events" / "payloads"
COMPLETED = (PAYLOADS / "paypal_payment_capture_completed.json").read_bytes()
CONFIG = parse_config("gateways: {paypal: {channel: magento}}\nlocations: [{id: wh-east, country: US}]\n")
WEBHOOK_ID = "8PT597110X687430LKGECATA"
NOW = dt.datetime(2026, 11, 24, 15, 41, tzinfo=dt.UTC)
SANDBOX_CERT_URL = "https://api.sandbox.paypal.com/v1/notifications/certs/CERT-360caa42-fca2a594-a5cafa77"

# PayPal's published SDK vector (PayPal-Python-SDK notifications test; the certificate it was
# signed with, CERT-360caa42-fca2a594-a5cafa77, from the PayPal-node-SDK fixture). The
# certificate was valid from 2015-03-18 to 2017-03-22, so the clock is set inside that window.
VECTOR_TRANSMISSION_ID = "dfb3be50-fd74-11e4-8bf3-77339302725b"
VECTOR_TIME = "2015-05-18T15:45:13Z"
VECTOR_WEBHOOK_ID = "4JH86294D6297924G"
VECTOR_BODY = (
    b'{"id":"WH-0G2756385H040842W-5Y612302CV158622M","create_time":"2015-05-18T15:45:13Z","resource_type":"sale",'
    b'"event_type":"PAYMENT.SALE.COMPLETED","summary":"Payment completed for $ 20.0 USD","resource":{"id":'
    b'"4EU7004268015634R","create_time":"2015-05-18T15:44:02Z","update_time":"2015-05-18T15:44:21Z","amount":'
    b'{"total":"20.00","currency":"USD"},"payment_mode":"INSTANT_TRANSFER","state":"completed",'
    b'"protection_eligibility":"ELIGIBLE","protection_eligibility_type":"ITEM_NOT_RECEIVED_ELIGIBLE,'
    b'UNAUTHORIZED_PAYMENT_ELIGIBLE","parent_payment":"PAY-86C81811X5228590KKVNARQQ","transaction_fee":{"value":'
    b'"0.88","currency":"USD"},"links":[{"href":"https://api.sandbox.paypal.com/v1/payments/sale/4EU7004268015634R",'
    b'"rel":"self","method":"GET"},{"href":"https://api.sandbox.paypal.com/v1/payments/sale/4EU7004268015634R/refund",'
    b'"rel":"refund","method":"POST"},{"href":"https://api.sandbox.paypal.com/v1/payments/payment/'
    b'PAY-86C81811X5228590KKVNARQQ","rel":"parent_payment","method":"GET"}]},"links":[{"href":'
    b'"https://api.sandbox.paypal.com/v1/notifications/webhooks-events/WH-0G2756385H040842W-5Y612302CV158622M",'
    b'"rel":"self","method":"GET"},{"href":"https://api.sandbox.paypal.com/v1/notifications/webhooks-events/'
    b'WH-0G2756385H040842W-5Y612302CV158622M/resend","rel":"resend","method":"POST"}]}'
)
VECTOR_SIG = (
    "thy4/U002quzxFavHPwbfJGcc46E8rc5jzgyeafWm5mICTBdY/8rl7WJpn8JA0GKA+oDTPsSruqusw+XXg5RLAP7ip53Euh9Xu3UbUhQFX7Ugw"
    "zE2FeYoY6lyRMiiiQLzy9BvHfIzNIVhPad4KnC339dr6y2l+mN8ALgI4GCdIh3/SoJO5wE64Bh/ueWtt8EVuvsvXfda2Le5a2TrOI9vLEzsm9G"
    "S79hAR/5oLexNz8UiZr045Mr5ObroH4w4oNfmkTaDk9Rj0G19uvISs5QzgmBpauKr7Nw++JI0pr/v5mFctQkoWJSGfBGzPRXawrvIIVHQ9Wer4"
    "8GR2g9ZiApWg=="
)
VECTOR_CERT = """-----BEGIN CERTIFICATE-----
MIIHqDCCBpCgAwIBAgIQCSVMkxB1Kw9SPZtpAr3lTDANBgkqhkiG9w0BAQsFADB1
MQswCQYDVQQGEwJVUzEVMBMGA1UEChMMRGlnaUNlcnQgSW5jMRkwFwYDVQQLExB3
d3cuZGlnaWNlcnQuY29tMTQwMgYDVQQDEytEaWdpQ2VydCBTSEEyIEV4dGVuZGVk
IFZhbGlkYXRpb24gU2VydmVyIENBMB4XDTE1MDMxODAwMDAwMFoXDTE3MDMyMjEy
MDAwMFowggElMR0wGwYDVQQPDBRQcml2YXRlIE9yZ2FuaXphdGlvbjETMBEGCysG
AQQBgjc8AgEDEwJVUzEZMBcGCysGAQQBgjc8AgECEwhEZWxhd2FyZTEQMA4GA1UE
BRMHMzAxNDI2NzEWMBQGA1UECRMNMjIxMSBOIDFzdCBTdDEOMAwGA1UEERMFOTUx
MzExCzAJBgNVBAYTAlVTMRMwEQYDVQQIEwpDYWxpZm9ybmlhMREwDwYDVQQHEwhT
YW4gSm9zZTEVMBMGA1UEChMMUGF5UGFsLCBJbmMuMRgwFgYDVQQLEw9QYXJ0bmVy
IFN1cHBvcnQxNDAyBgNVBAMTK21lc3NhZ2V2ZXJpZmljYXRpb25jZXJ0cy5zYW5k
Ym94LnBheXBhbC5jb20wggEiMA0GCSqGSIb3DQEBAQUAA4IBDwAwggEKAoIBAQDI
XgwJj1E+vPOLNA7e3nFsRpQq7G1CFcoCNeRgFIGRfd4itt2jBRPfHXf1eeXODQ6V
wTMP6rVYrI3HBQu5SZRZKO3gALPiBWTcz5FhVovYDz/d/DtasA5L7l1xmRM+GGPE
e/D3ETPeyym6GTAuIzR1ju1BuSQlVnIrcILDHrFZo0RyqFH1eNL3oYfgz+ZCv+WH
65rhS60VowiLAb2lsARckJ2P8wKIps3YUxAqVG5SJ9H49ueBDI01wEzE/+59J8s9
GThmbMTqP6x4MneAcGN1TPimGd9wZlbwwrCYDtCoqFDcxMVgvD83uPrIinFwTIOX
w63QSv8/+ANuawBcNJDrAgMBAAGjggOAMIIDfDAfBgNVHSMEGDAWgBQ901Cl1qCt
7vNKYApl0yHU+PjWDzAdBgNVHQ4EFgQUt5yLggZOjjfzULzZCgX2KZO3R/gwNgYD
VR0RBC8wLYIrbWVzc2FnZXZlcmlmaWNhdGlvbmNlcnRzLnNhbmRib3gucGF5cGFs
LmNvbTAOBgNVHQ8BAf8EBAMCBaAwHQYDVR0lBBYwFAYIKwYBBQUHAwEGCCsGAQUF
BwMCMHUGA1UdHwRuMGwwNKAyoDCGLmh0dHA6Ly9jcmwzLmRpZ2ljZXJ0LmNvbS9z
aGEyLWV2LXNlcnZlci1nMS5jcmwwNKAyoDCGLmh0dHA6Ly9jcmw0LmRpZ2ljZXJ0
LmNvbS9zaGEyLWV2LXNlcnZlci1nMS5jcmwwQgYDVR0gBDswOTA3BglghkgBhv1s
AgEwKjAoBggrBgEFBQcCARYcaHR0cHM6Ly93d3cuZGlnaWNlcnQuY29tL0NQUzCB
iAYIKwYBBQUHAQEEfDB6MCQGCCsGAQUFBzABhhhodHRwOi8vb2NzcC5kaWdpY2Vy
dC5jb20wUgYIKwYBBQUHMAKGRmh0dHA6Ly9jYWNlcnRzLmRpZ2ljZXJ0LmNvbS9E
aWdpQ2VydFNIQTJFeHRlbmRlZFZhbGlkYXRpb25TZXJ2ZXJDQS5jcnQwDAYDVR0T
AQH/BAIwADCCAX0GCisGAQQB1nkCBAIEggFtBIIBaQFnAHUApLkJkLQYWBSHuxOi
zGdwCjw1mAT5G9+443fNDsgN3BAAAAFMLovtNgAABAMARjBEAiBTR7r3p76qUJzF
23lsbD/cLsA0KlxoJRSIvIK0OIYWiQIgVQWja8tWBlpcoFP30Iym7IuczitSazpH
fhKAVroTgXgAdgBo9pj4H2SCvjqM7rkoHUz8cVFdZ5PURNEKZ6y7T0/7xAAAAUwu
i+z4AAAEAwBHMEUCIEP3VYyLQB7lOgFo4WstyOurmRe3xa0OVaeFL/bDohHOAiEA
+xQrRVAfaeT4qBdBJzLyVLU4V9bh/qBMXJdjvYujhAcAdgBWFAaaL9fC7NP14b1E
sj7HRna5vJkRXMDvlJhV1onQ3QAAAUwui+6EAAAEAwBHMEUCIQC/YUc5X6xyb3ho
o4VMSJqSoNg9KKkvLh9nUQCdwHi3/QIgNwcBc9ZZCR/aWXQ7hKH6d39kpkDX2Z43
XPy/Kl5sKI4wDQYJKoZIhvcNAQELBQADggEBAHixEZNpb0M1MsvsfNI6lLKxrs9s
JkcBcmxrFyhTC8KP+Qp+Z1fnMRQwpTLIMr1+uAMqCPAnIShGHeFNJpUFSMyW4o0l
+pZGz/L/YJBs7XP3ChSGC17ZKeGSQFfMqMQXfY/L6+n/1HkAwqmewqUMEuUmWN3F
kXJqVngIYGZtxXRyiv2azLOhrNP8BgNZK6d2gVxntQfGr4hnd8Juq8SJy/S4xpPY
YPD8vW7/wSOdAe1/kU38QwDVBQ5PJePS2WFwz8YA/eKcyg9lfsianfw35SjehJbn
wGwzUbjtibyJnv3eAeYDGxaI6vbuoE99pSmYGIwSBLJwZamJHjci6HL6wLg=
-----END CERTIFICATE-----
"""
# A minute after the vector was sent: inside both the certificate's validity and the replay window.
AT_VECTOR_TIME = dt.datetime(2015, 5, 18, 15, 46, 13, tzinfo=dt.UTC)


def vector_request(**changes: str) -> WebhookRequest:
    headers = {
        "paypal-transmission-id": VECTOR_TRANSMISSION_ID,
        "paypal-transmission-time": VECTOR_TIME,
        "paypal-transmission-sig": VECTOR_SIG,
        "paypal-cert-url": SANDBOX_CERT_URL,
        "paypal-auth-algo": "SHA256withRSA",
    }
    return WebhookRequest({**headers, **changes}, VECTOR_BODY)


# --- a key pair of the test's own, as the local stack has --------------------------------------------


def _certificate(key: rsa.RSAPrivateKey, name: str, start: dt.datetime, days: int) -> str:
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + dt.timedelta(days=days))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM).decode()


KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
KEY_PEM = KEY.private_bytes(
    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
).decode()
CERT = _certificate(KEY, "messageverificationcerts.sandbox.paypal.com", NOW - dt.timedelta(days=30), 365)
TRUSTED = {"PAYPAL_WEBHOOK_ID": WEBHOOK_ID, "PAYPAL_CERT": CERT}


def signed(
    body: bytes = COMPLETED, *, webhook_id: str = WEBHOOK_ID, sent_at: dt.datetime = NOW, **headers: str
) -> WebhookRequest:
    delivery = paypal_signer.sign(
        body,
        topic=None,
        secrets={"PAYPAL_WEBHOOK_ID": webhook_id},
        delivery_id="7f2c8a10-c9d1-11f1-9b5e-2d4f6a8c0e13",
        private_key_pem=KEY_PEM,
        transmission_time=sent_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
    )
    lowered = {k.lower(): v for k, v in delivery.headers.items()}
    lowered.update({k.replace("_", "-"): v for k, v in headers.items()})
    return WebhookRequest({k: v for k, v in lowered.items() if v != "-"}, body)


def source(*, http: httpx.Client | None = None, now: dt.datetime = NOW, monotonic=None) -> PayPalSource:
    extra = {"monotonic": monotonic} if monotonic else {}
    return PayPalSource(http=http or _refusing_client(), clock=lambda: now, **extra)


def _refusing_client() -> httpx.Client:
    def handler(request: httpx.Request) -> httpx.Response:
        raise AssertionError(f"nothing may be fetched here, yet {request.url} was")

    return httpx.Client(transport=httpx.MockTransport(handler))


class CertServer:
    """PayPal's certificate endpoint, as httpx.MockTransport, counting what was fetched."""

    def __init__(self, body: str | bytes = VECTOR_CERT, status: int = 200) -> None:
        self.body, self.status, self.fetched = body, status, []

    def client(self) -> httpx.Client:
        def handler(request: httpx.Request) -> httpx.Response:
            self.fetched.append(str(request.url))
            headers = {"location": "https://attacker.example/cert.pem"} if 300 <= self.status < 400 else {}
            return httpx.Response(self.status, content=self.body, headers=headers)

        return httpx.Client(transport=httpx.MockTransport(handler))


def verify(request: WebhookRequest, values: dict | None = None, **kwargs) -> None:
    source(**kwargs).verify(request, SecretsProvider(values=values if values is not None else TRUSTED))


# --- the published vector -------------------------------------------------------------------------


def test_published_vector_message_is_built_as_paypal_does():
    crc = zlib.crc32(VECTOR_BODY) & 0xFFFFFFFF
    assert crc == 2771810304
    message = paypal_signer.transmission_message(VECTOR_TRANSMISSION_ID, VECTOR_TIME, VECTOR_WEBHOOK_ID, VECTOR_BODY)
    assert message == b"dfb3be50-fd74-11e4-8bf3-77339302725b|2015-05-18T15:45:13Z|4JH86294D6297924G|2771810304"


def test_published_vector_verifies_against_a_trusted_certificate():
    verify(vector_request(), {"PAYPAL_WEBHOOK_ID": VECTOR_WEBHOOK_ID, "PAYPAL_CERT": VECTOR_CERT}, now=AT_VECTOR_TIME)


def test_published_vector_verifies_against_the_fetched_certificate_which_is_cached():
    server = CertServer()
    paypal = source(http=server.client(), now=AT_VECTOR_TIME)
    secrets = SecretsProvider(values={"PAYPAL_WEBHOOK_ID": VECTOR_WEBHOOK_ID})
    paypal.verify(vector_request(), secrets)
    paypal.verify(vector_request(), secrets)
    assert server.fetched == [SANDBOX_CERT_URL]


def test_published_vector_with_another_webhook_id_is_refused():
    with pytest.raises(SignatureError, match="does not match this body for this hub's PAYPAL_WEBHOOK_ID"):
        verify(
            vector_request(), {"PAYPAL_WEBHOOK_ID": "9XL90610J3647323C", "PAYPAL_CERT": VECTOR_CERT}, now=AT_VECTOR_TIME
        )


def test_an_expired_certificate_is_refused():
    expired = _certificate(KEY, "messageverificationcerts.sandbox.paypal.com", NOW - dt.timedelta(days=400), 365)
    with pytest.raises(SignatureError, match="PayPal's certificate expired on"):
        verify(signed(), {"PAYPAL_WEBHOOK_ID": WEBHOOK_ID}, http=CertServer(expired).client())


# --- a delivery signed by the project's own signer ----------------------------------------------------


def test_a_signed_delivery_verifies_without_fetching():
    verify(signed())


def test_every_configured_webhook_id_is_tried():
    verify(signed(), {**TRUSTED, "PAYPAL_WEBHOOK_ID": json.dumps(["OLDWEBHOOK1234567", WEBHOOK_ID])})


def test_any_of_several_configured_certificates_verifies():
    other = _certificate(rsa.generate_private_key(public_exponent=65537, key_size=2048), "old", NOW, 30)
    verify(signed(), {**TRUSTED, "PAYPAL_CERT": other + CERT})


@pytest.mark.parametrize(
    "header",
    [
        "PAYPAL-TRANSMISSION-ID",
        "PAYPAL-TRANSMISSION-TIME",
        "PAYPAL-TRANSMISSION-SIG",
        "PAYPAL-CERT-URL",
        "PAYPAL-AUTH-ALGO",
    ],
)
def test_a_missing_header_is_named(header):
    with pytest.raises(SignatureError, match=f"missing {header} header"):
        verify(signed(**{header.lower().replace("-", "_"): "-"}))


@pytest.mark.parametrize(
    ("request_", "message"),
    [
        (signed(paypal_auth_algo="SHA1withRSA"), "PAYPAL-AUTH-ALGO 'SHA1withRSA' is not supported"),
        (signed(webhook_id="SOMEONEELSES12345"), "does not match this body"),
        (WebhookRequest(signed().headers, COMPLETED.replace(b"112.35", b"1.35")), "does not match this body"),
        (signed(paypal_transmission_time="2026-11-24T15:40:59Z"), "does not match this body"),
        (signed(paypal_transmission_sig="not base64!"), "is not base64"),
    ],
)
def test_bad_signatures_are_refused(request_, message):
    with pytest.raises(SignatureError, match=message):
        verify(request_)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("https://paypal.attacker.example/v1/notifications/certs/CERT-1", "host 'paypal.attacker.example' is not one"),
        ("https://api.paypal.com.attacker.example/v1/notifications/certs/CERT-1", "is not one of PayPal's API hosts"),
        ("https://api.paypal.com@attacker.example/v1/notifications/certs/CERT-1", "host 'attacker.example'"),
        ("http://api.paypal.com/v1/notifications/certs/CERT-1", "must be https"),
        ("https://user@api.paypal.com/v1/notifications/certs/CERT-1", "no user or port"),
        ("https://api.paypal.com:8443/v1/notifications/certs/CERT-1", "no user or port"),
        ("https://api.paypal.com/v1/oauth2/token", "must be a path under /v1/notifications/certs/"),
        ("https://api.paypal.com/v1/notifications/certs/CERT-1?next=x", "must be a path under"),
        ("https://169.254.169.254/latest/meta-data/", "is not one of PayPal's API hosts"),
        ("file:///etc/passwd", "must be https"),
    ],
)
def test_a_certificate_url_off_paypals_hosts_is_refused_and_never_fetched(url, message):
    server = CertServer()
    with pytest.raises(SignatureError, match=message):
        verify(signed(paypal_cert_url=url), {"PAYPAL_WEBHOOK_ID": WEBHOOK_ID}, http=server.client())
    with pytest.raises(SignatureError, match=message):
        verify(signed(paypal_cert_url=url))  # even when a trusted certificate is configured
    assert server.fetched == []


@pytest.mark.parametrize(
    "host", ["api.paypal.com", "api-m.paypal.com", "api.sandbox.paypal.com", "api-m.sandbox.paypal.com"]
)
def test_every_paypal_api_host_is_allowed(host):
    verify(signed(paypal_cert_url=f"https://{host}:443/v1/notifications/certs/CERT-360caa42-fca2a594-1a5f47cb"))


def test_a_fetched_certificate_not_issued_to_paypal_is_refused():
    impostor = _certificate(KEY, "webhooks.attacker.example", NOW - dt.timedelta(days=1), 30)
    server = CertServer(impostor)
    with pytest.raises(SignatureError, match=r"not issued to a paypal.com name \(webhooks.attacker.example"):
        verify(signed(), {"PAYPAL_WEBHOOK_ID": WEBHOOK_ID}, http=server.client())


def test_a_fetched_certificate_issued_to_paypal_verifies():
    verify(signed(), {"PAYPAL_WEBHOOK_ID": WEBHOOK_ID}, http=CertServer(CERT).client())


def test_a_document_that_is_not_a_certificate_is_refused():
    with pytest.raises(SignatureError, match="is not a PEM certificate"):
        verify(signed(), {"PAYPAL_WEBHOOK_ID": WEBHOOK_ID}, http=CertServer(b"<html>hello</html>").client())


def test_a_certificate_paypal_does_not_have_is_refused():
    with pytest.raises(SignatureError, match=r"PayPal has no certificate at that PAYPAL-CERT-URL \(HTTP 404\)"):
        verify(signed(), {"PAYPAL_WEBHOOK_ID": WEBHOOK_ID}, http=CertServer(b"", status=404).client())


def test_paypal_being_down_asks_for_a_retry():
    with pytest.raises(NotDurableError, match="please retry"):
        verify(signed(), {"PAYPAL_WEBHOOK_ID": WEBHOOK_ID}, http=CertServer(b"", status=503).client())


def test_an_unreachable_certificate_host_asks_for_a_retry():
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectTimeout("timed out", request=request)

    client = httpx.Client(transport=httpx.MockTransport(handler))
    with pytest.raises(NotDurableError, match=r"could not be fetched \(ConnectTimeout\)"):
        verify(signed(), {"PAYPAL_WEBHOOK_ID": WEBHOOK_ID}, http=client)


def test_a_configured_certificate_that_is_not_yet_valid_is_refused():
    later = _certificate(KEY, "local", NOW + dt.timedelta(days=1), 30)
    with pytest.raises(SignatureError, match="the configured PAYPAL_CERT is not valid before"):
        verify(signed(), {**TRUSTED, "PAYPAL_CERT": later})


def test_a_configured_certificate_that_is_not_pem_is_refused():
    with pytest.raises(SignatureError, match="the configured PAYPAL_CERT is not a PEM certificate"):
        verify(signed(), {**TRUSTED, "PAYPAL_CERT": "-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----"})


def test_no_configured_webhook_id_refuses_rather_than_accepts():
    with pytest.raises(SignatureError, match="no PayPal webhook id"):
        verify(signed(), {"PAYPAL_CERT": CERT})


# --- the replay window on PAYPAL-TRANSMISSION-TIME ----------------------------------------------------


def test_a_retry_sent_at_the_end_of_paypals_retry_schedule_verifies():
    # PayPal retries for 3 days; even a retry carrying its first transmission time still verifies.
    verify(signed(sent_at=NOW - dt.timedelta(hours=84)))


def test_a_transmission_older_than_the_window_is_refused_before_anything_is_fetched():
    stale = signed(sent_at=NOW - dt.timedelta(hours=84, seconds=1))
    with pytest.raises(SignatureError, match=r"PAYPAL-TRANSMISSION-TIME .* is more than 84 h old"):
        verify(stale, {"PAYPAL_WEBHOOK_ID": WEBHOOK_ID})  # the refusing client: no fetch was tried


def test_a_transmission_a_little_ahead_of_the_hubs_clock_verifies():
    verify(signed(sent_at=NOW + dt.timedelta(minutes=5)))


def test_a_transmission_time_far_in_the_future_is_refused():
    with pytest.raises(SignatureError, match="more than 5 min in the future"):
        verify(signed(sent_at=NOW + dt.timedelta(minutes=5, seconds=1)))


@pytest.mark.parametrize("value", ["yesterday", "2026-11-24T15:41:00", "1795533130", ""])
def test_a_transmission_time_that_is_not_rfc3339_with_an_offset_is_refused(value):
    with pytest.raises(SignatureError, match="PAYPAL-TRANSMISSION-TIME"):
        verify(signed(paypal_transmission_time=value or "-"))


def test_the_window_ends_before_intake_forgets_an_event_id():
    """Any replay the window lets through is a duplicate of an event intake still remembers."""
    from hub.adapters.idempotency import DEDUPE_SECONDS
    from hub.intake.paypal import MAX_TRANSMISSION_AGE

    assert MAX_TRANSMISSION_AGE.total_seconds() >= 3 * 24 * 3600  # PayPal's retry schedule
    assert MAX_TRANSMISSION_AGE.total_seconds() < DEDUPE_SECONDS


# --- certificate fetch failures are remembered, so strangers cannot make every call wait --------------


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _other_cert_url(n: int) -> str:
    return f"https://api-m.sandbox.paypal.com/v1/notifications/certs/CERT-forged-{n}"  # the signer's host


def test_paypal_being_down_is_remembered_and_the_host_not_tried_again_for_a_while():
    server, clock = CertServer(b"", status=503), Clock()
    paypal = source(http=server.client(), monotonic=clock)
    secrets = SecretsProvider(values={"PAYPAL_WEBHOOK_ID": WEBHOOK_ID})
    with pytest.raises(NotDurableError, match="please retry"):
        paypal.verify(signed(), secrets)
    for n in range(5):  # the same URL, or any other on the host: answered at once
        with pytest.raises(NotDurableError, match="please retry"):
            paypal.verify(signed(paypal_cert_url=_other_cert_url(n)), secrets)
    assert len(server.fetched) == 1
    clock.now += 31
    server.status, server.body = 200, CERT
    paypal.verify(signed(), secrets)
    assert len(server.fetched) == 2


def test_a_certificate_url_paypal_does_not_know_is_not_fetched_again_for_a_minute():
    server, clock = CertServer(b"", status=404), Clock()
    paypal = source(http=server.client(), monotonic=clock)
    secrets = SecretsProvider(values={"PAYPAL_WEBHOOK_ID": WEBHOOK_ID})
    for _ in range(3):
        with pytest.raises(SignatureError, match=r"HTTP 404"):
            paypal.verify(signed(), secrets)
    assert len(server.fetched) == 1
    clock.now += 61
    with pytest.raises(SignatureError, match=r"HTTP 404"):
        paypal.verify(signed(), secrets)
    assert len(server.fetched) == 2


def test_new_certificate_urls_are_fetched_at_most_twenty_a_minute():
    server, clock = CertServer(b"", status=404), Clock()
    paypal = source(http=server.client(), monotonic=clock)
    secrets = SecretsProvider(values={"PAYPAL_WEBHOOK_ID": WEBHOOK_ID})
    for n in range(20):
        with pytest.raises(SignatureError, match=r"HTTP 404"):
            paypal.verify(signed(paypal_cert_url=_other_cert_url(n)), secrets)
    with pytest.raises(NotDurableError, match="too many new PayPal certificate URLs this minute"):
        paypal.verify(signed(paypal_cert_url=_other_cert_url(20)), secrets)
    assert len(server.fetched) == 20
    clock.now += 60
    with pytest.raises(SignatureError, match=r"HTTP 404"):
        paypal.verify(signed(paypal_cert_url=_other_cert_url(21)), secrets)


def test_a_cached_certificate_still_verifies_while_strangers_exhaust_the_fetch_budget():
    server, clock = CertServer(CERT), Clock()
    paypal = source(http=server.client(), monotonic=clock)
    secrets = SecretsProvider(values={"PAYPAL_WEBHOOK_ID": WEBHOOK_ID})
    paypal.verify(signed(), secrets)
    server.status = 404
    for n in range(40):
        with pytest.raises((SignatureError, NotDurableError)):
            paypal.verify(signed(paypal_cert_url=_other_cert_url(n)), secrets)
    paypal.verify(signed(), secrets)  # PayPal's own certificate, from the cache


def test_a_redirect_for_the_certificate_is_refused_and_not_followed():
    server = CertServer(b"", status=302)
    with pytest.raises(SignatureError, match="answered a redirect"):
        verify(signed(), {"PAYPAL_WEBHOOK_ID": WEBHOOK_ID}, http=server.client())
    assert server.fetched == [signed().headers["paypal-cert-url"]]


def test_a_document_too_large_for_a_certificate_is_refused():
    with pytest.raises(SignatureError, match="too large for a certificate"):
        verify(signed(), {"PAYPAL_WEBHOOK_ID": WEBHOOK_ID}, http=CertServer(b"A" * (64 * 1024 + 1)).client())


# --- normalisation --------------------------------------------------------------------------------


def payload(name: str) -> dict:
    return json.loads((PAYLOADS / f"paypal_{name}.json").read_text())


def parse(document: dict | bytes, config=CONFIG):
    body = document if isinstance(document, bytes) else json.dumps(document).encode()
    return source().parse(WebhookRequest({"paypal-transmission-id": "7f2c8a10-c9d1"}, body), config)


def test_capture_completed_becomes_payment_succeeded():
    delivery = parse(COMPLETED)
    assert delivery.dedupe_key == "paypal:WH-7YX49823S2290830K-0JE13296W68552352"
    (event,) = delivery.events
    assert event.type == "PaymentSucceeded"
    assert event.channel == "magento"
    assert event.event_id == event_id_for("paypal", "PaymentSucceeded", "8MC585209K746392H")
    data = event.data
    assert (data.gateway, data.payment_id, data.amount, data.currency) == ("paypal", "8MC585209K746392H", 11235, "USD")
    assert (data.reference.order_id, data.reference.invoice_id) == ("318", "MG-000000318")
    assert event.provider.event_id == "WH-7YX49823S2290830K-0JE13296W68552352"
    assert event.provider.delivery_id == "7f2c8a10-c9d1"
    assert event.occurred_at == dt.datetime(2026, 11, 24, 15, 40, 18, 402000, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("value", "currency", "minor"),
    [("59.10", "USD", 5910), ("1500", "JPY", 1500), ("12.345", "KWD", 12345), ("0.01", "EUR", 1)],
)
def test_paypal_amounts_are_parsed_exactly(value, currency, minor):
    body = payload("payment_capture_completed")
    body["resource"]["amount"] = {"currency_code": currency, "value": value}
    data = parse(body).events[0].data
    assert (data.amount, data.currency) == (minor, currency)


def test_capture_denied_becomes_payment_failed():
    (event,) = parse(payload("payment_capture_denied")).events
    assert event.type == "PaymentFailed"
    assert (event.data.amount, event.data.failure_reason) == (4800, "declined_by_risk_fraud_filters")
    assert event.event_id == event_id_for("paypal", "WH-3LM20574B9916042T-5RH86915XC2371845")


def test_capture_denied_without_details_says_denied():
    body = payload("payment_capture_denied")
    del body["resource"]["status_details"]
    assert parse(body).events[0].data.failure_reason == "denied"


def test_capture_refunded_names_the_capture_from_its_up_link():
    (event,) = parse(payload("payment_capture_refunded")).events
    assert event.type == "PaymentRefunded"
    data = event.data
    assert (data.payment_id, data.refund_id, data.amount, data.currency, data.status) == (
        "8MC585209K746392H",
        "6HW40193SE771504N",
        3745,
        "USD",
        "completed",
    )
    assert (data.reference.order_id, data.reference.invoice_id) == ("318", "MG-000000318")


def test_capture_reversed_is_a_refund_paypal_made():
    body = payload("payment_capture_refunded")
    body.update(event_type="PAYMENT.CAPTURE.REVERSED", summary="A $ 112.35 USD capture payment was reversed")
    body["resource"].update(id="3JR55810AB2469017", amount={"currency_code": "USD", "value": "112.35"})
    body["resource"]["note_to_payer"] = "Payment reversed"
    (event,) = parse(body).events
    assert event.type == "PaymentRefunded"
    assert (event.data.payment_id, event.data.amount, event.data.status) == ("8MC585209K746392H", 11235, "completed")


def test_a_refund_without_its_capture_link_is_malformed():
    body = payload("payment_capture_refunded")
    body["resource"]["links"] = [body["resource"]["links"][0]]
    with pytest.raises(MalformedPayloadError, match=r"'resource\.links' has no rel=up link to the capture"):
        parse(body)


def test_dispute_created_is_opened():
    (event,) = parse(payload("customer_dispute_created")).events
    assert event.type == "PaymentDisputed"
    data = event.data
    assert (data.dispute_id, data.payment_id, data.amount, data.status) == (
        "PP-R-KXD-10384562",
        "8MC585209K746392H",
        11235,
        "opened",
    )
    assert (data.reference.order_id, data.reference.invoice_id) == ("318", "MG-000000318")


@pytest.mark.parametrize(
    ("outcome", "status"),
    [
        ("RESOLVED_SELLER_FAVOUR", "won"),
        ("CANCELED_BY_BUYER", "won"),
        ("RESOLVED_BUYER_FAVOUR", "lost"),
        ("ACCEPTED", "lost"),
        ("RESOLVED_WITH_PAYOUT", "closed"),
    ],
)
def test_dispute_resolved_follows_the_outcome(outcome, status):
    body = payload("customer_dispute_created")
    body["event_type"] = "CUSTOMER.DISPUTE.RESOLVED"
    body["resource"].update(status="RESOLVED", dispute_outcome={"outcome_code": outcome})
    assert parse(body).events[0].data.status == status


def test_an_approved_order_is_ignored_until_it_is_captured():
    body = {"id": "WH-58D329510W468432D-8HN650336L201105X", "event_type": "CHECKOUT.ORDER.APPROVED", "resource": {}}
    delivery = parse(body)
    assert delivery.events == [] and "nothing is captured yet" in delivery.ignored_reason


def test_event_types_the_hub_does_not_use_are_ignored():
    delivery = parse(VECTOR_BODY)
    assert delivery.events == [] and "PAYMENT.SALE.COMPLETED" in delivery.ignored_reason


def _with(path: list[str], value) -> dict:
    body = payload("payment_capture_completed")
    target = body
    for key in path[:-1]:
        target = target[key]
    if value is None:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return body


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{oops", "not valid JSON"),
        ({"event_type": "PAYMENT.CAPTURE.COMPLETED"}, "not a PayPal webhook event: 'id'"),
        (_with(["resource", "amount"], None), "not a PayPal PAYMENT.CAPTURE.COMPLETED event: 'resource.amount'"),
        (_with(["resource", "amount", "value"], "112.355"), "more decimals than USD allows"),
        (_with(["resource", "amount", "value"], "lots"), "'resource.amount.value': not a decimal amount"),
        (_with(["create_time"], "yesterday"), "'create_time'"),
    ],
)
def test_malformed_events_say_what_is_wrong(body, message):
    with pytest.raises(MalformedPayloadError, match=message):
        parse(body)
