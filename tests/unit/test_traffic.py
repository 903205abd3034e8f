"""Website traffic (GA4 Data API): the exact requests, the token flow, parsing with GA4's quirks, paging,
errors and quota answers (against tests/ga4_data_api.py, behind httpx.MockTransport), the session
conversion maths and the unavailable cases of the report, and the configuration's checks."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest
from hub.adapters.ga4_data import (
    GA4_SCOPE,
    Ga4DataClient,
    Ga4TrafficSource,
    ServiceAccount,
    ServiceAccountTokens,
    parse_report,
    read_traffic,
    signed_assertion,
)
from hub.adapters.http import default_retry
from hub.config import parse_config
from hub.domain.reporting import BucketRow, daily_report, range_report
from hub.domain.traffic import (
    NO_SESSIONS,
    NOT_CONFIGURED,
    NOT_MEASURED,
    NOT_READ_YET,
    SourceMedium,
    Traffic,
    TrafficDay,
    top_sources,
)
from hub.errors import ConfigError, Ga4DataError, ServiceAccountError
from hub.services.traffic import TrafficImport

from tests.ga4_data_api import (
    CLIENT_EMAIL,
    PERMISSION_DENIED,
    QUOTA_EXHAUSTED,
    SCOPE,
    FakeGa4Data,
    service_account_json,
)

TOKEN_URL = "https://oauth2.googleapis.com/token"
API_URL = "https://analyticsdata.googleapis.com"
DAY = date(2026, 11, 20)


@pytest.fixture(autouse=True)
def _no_cached_tokens():
    ServiceAccountTokens.forget_all()
    yield
    ServiceAccountTokens.forget_all()


def client(fake: FakeGa4Data, *, page_size: int = 10_000, clock=None) -> Ga4DataClient:
    account = ServiceAccount.from_json(service_account_json(TOKEN_URL))
    quick = default_retry(attempts=2, backoff=0.01, budget=1.0)
    kwargs = {"clock": clock} if clock else {}
    tokens = ServiceAccountTokens(account, transport=fake.transport(), retry=quick, **kwargs)
    return Ga4DataClient(tokens, API_URL, transport=fake.transport(), retry=quick, page_size=page_size)


def shop_fake() -> FakeGa4Data:
    fake = FakeGa4Data()
    fake.set_day(
        "123456789",
        DAY,
        {("google", "organic"): (120, 100), ("(direct)", "(none)"): (60, 55), ("(not set)", "(not set)"): (20, 20)},
        users=160,
    )
    fake.set_day("123456789", date(2026, 11, 19), {("newsletter", "email"): (40, 38)}, users=38)
    return fake


# ------------------------------------------------------------------ the requests
def test_the_run_report_request_is_exactly_what_the_api_reference_documents():
    fake = shop_fake()
    read_traffic(client(fake), "123456789", "shopify", date(2026, 11, 18), DAY, top=5, read_at="t")
    totals, sources = fake.report_calls()
    for call in (totals, sources):
        assert call.method == "POST"
        assert call.url == "https://analyticsdata.googleapis.com/v1beta/properties/123456789:runReport"
        assert call.headers["Authorization"].startswith("Bearer ya29.")
        assert call.headers["Content-Type"] == "application/json"
    assert totals.json() == {
        "dateRanges": [{"startDate": "2026-11-18", "endDate": "2026-11-20"}],
        "dimensions": [{"name": "date"}],
        "metrics": [{"name": "sessions"}, {"name": "totalUsers"}],
        "orderBys": [{"dimension": {"dimensionName": "date"}}],
        "limit": "10000",
        "offset": "0",
        "returnPropertyQuota": True,
    }
    assert sources.json()["dimensions"] == [{"name": "date"}, {"name": "sessionSource"}, {"name": "sessionMedium"}]
    assert sources.json()["orderBys"][1] == {"metric": {"metricName": "sessions"}, "desc": True}


def test_the_token_request_is_a_jwt_bearer_grant_signed_with_the_key():
    fake = shop_fake()
    read_traffic(client(fake), "123456789", "shopify", DAY, DAY, top=0, read_at="t")
    (call,) = fake.token_calls()
    assert call.url == TOKEN_URL and call.headers["Content-Type"] == "application/x-www-form-urlencoded"
    (claims,) = fake.assertions  # the fake verified the RS256 signature with the key's public half
    assert claims["iss"] == CLIENT_EMAIL and claims["scope"] == SCOPE == GA4_SCOPE and claims["aud"] == TOKEN_URL
    assert claims["exp"] - claims["iat"] == 3600


def test_a_jwt_signed_with_another_key_is_refused_by_the_token_endpoint():
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = other.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    fake = shop_fake()
    account = ServiceAccount.from_json(service_account_json(TOKEN_URL, key=pem))
    tokens = ServiceAccountTokens(account, transport=fake.transport())
    with pytest.raises(Ga4DataError) as caught:
        tokens.token()
    assert caught.value.status_code == 400 and caught.value.code == "invalid_grant"
    assert "BEGIN" not in str(caught.value) and CLIENT_EMAIL not in str(caught.value)


def test_the_token_is_kept_until_a_minute_before_it_expires_and_a_401_renews_it_once():
    now = [1_800_000_000.0]
    fake = shop_fake()
    fake.clock = lambda: now[0]
    ga4 = client(fake, clock=lambda: now[0])
    read_traffic(ga4, "123456789", "shopify", DAY, DAY, top=5, read_at="t")
    assert len(fake.token_calls()) == 1  # two runReport calls, one token
    now[0] += 3599 - 61
    read_traffic(ga4, "123456789", "shopify", DAY, DAY, top=0, read_at="t")
    assert len(fake.token_calls()) == 1
    now[0] += 2
    read_traffic(ga4, "123456789", "shopify", DAY, DAY, top=0, read_at="t")
    assert len(fake.token_calls()) == 2
    fake.tokens.clear()  # Google revoked it: 401, a new token, the same request again
    (day,) = read_traffic(ga4, "123456789", "shopify", DAY, DAY, top=0, read_at="t")
    assert len(fake.token_calls()) == 3 and day.sessions == 200


def test_the_assertion_claims_name_the_audience_it_is_sent_to():
    account = ServiceAccount.from_json(service_account_json(TOKEN_URL))
    jwt = signed_assertion(account, "http://127.0.0.1:9/token", 1_800_000_000)
    header, claims, _sig = jwt.split(".")
    pad = lambda t: t + "=" * (-len(t) % 4)  # noqa: E731
    import base64

    assert json.loads(base64.urlsafe_b64decode(pad(header))) == {
        "alg": "RS256",
        "typ": "JWT",
        "kid": account.private_key_id,
    }
    assert json.loads(base64.urlsafe_b64decode(pad(claims)))["aud"] == "http://127.0.0.1:9/token"


# ------------------------------------------------------------------ parsing
def test_metric_strings_dates_and_not_set_sources_are_read_as_ga4_means_them():
    fake = shop_fake()
    days = read_traffic(
        client(fake), "123456789", "shopify", date(2026, 11, 18), DAY, top=2, read_at="2026-11-20T15:00:00+00:00"
    )
    assert [(d.day, d.sessions, d.users) for d in days] == [
        ("2026-11-18", 0, 0),  # no row: no sessions that day
        ("2026-11-19", 40, 38),
        ("2026-11-20", 200, 160),  # users of the day, not the sum over sources (175)
    ]
    assert days[2].sources == (
        SourceMedium("google", "organic", 120, 100),
        SourceMedium("(direct)", "(none)", 60, 55),
    )
    assert days[2].property_id == "123456789" and days[2].channel == "shopify"


def test_a_report_without_rows_leaves_out_rows_and_row_count():
    page = parse_report(
        {"dimensionHeaders": [{"name": "date"}], "metricHeaders": [{"name": "sessions", "type": "TYPE_INTEGER"}],
         "metadata": {"currencyCode": "USD", "timeZone": "America/Los_Angeles"}, "kind": "analyticsData#runReport"},
        ("date",),
        ("sessions",),
    )  # fmt: skip
    assert page.rows == [] and page.row_count == 0 and page.quota_remaining is None


def test_a_metric_that_is_not_a_whole_number_or_a_column_not_asked_for_is_refused():
    headers = {"dimensionHeaders": [{"name": "date"}], "metricHeaders": [{"name": "sessions"}]}
    with pytest.raises(Ga4DataError, match="whole number"):
        parse_report(
            {**headers, "rows": [{"dimensionValues": [{"value": "20261120"}], "metricValues": [{"value": "1.5"}]}]},
            ("date",),
            ("sessions",),
        )
    with pytest.raises(Ga4DataError, match="not the"):
        parse_report(
            {**headers, "rows": [{"dimensionValues": [{"value": "x"}], "metricValues": [{"value": "1"}]}]},
            ("country",),
            ("sessions",),
        )


def test_pages_are_read_with_limit_and_offset_until_row_count():
    fake = FakeGa4Data()
    fake.set_day("1", DAY, {(f"site{n}", "referral"): (10 + n, 5) for n in range(5)}, users=25)
    ga4 = client(fake, page_size=2)
    (day,) = read_traffic(ga4, "1", "shopify", DAY, DAY, top=3, read_at="t")
    offsets = [(json.loads(r.body)["offset"], json.loads(r.body)["limit"]) for r in fake.report_calls()]
    assert offsets == [("0", "2"), ("0", "2"), ("2", "2"), ("4", "2")]  # totals: one page; sources: three
    assert [s.source for s in day.sources] == ["site4", "site3", "site2"]
    assert ga4.quota_remaining == 40000 - 10 * 4
    assert ga4.time_zones == {"1": "UTC"}


def test_a_property_whose_days_are_not_utc_days_is_warned_of(caplog):
    fake = shop_fake()
    fake.time_zone = "America/New_York"
    config = _config({"ga4": {"properties": {"shopify": "123456789"}}})
    run = TrafficImport(_Store(), lambda: config, lambda _cfg: Ga4TrafficSource(client(fake)))
    with caplog.at_level("WARNING"):
        run.run()
    assert any("other than UTC" in r.getMessage() for r in caplog.records)


# ------------------------------------------------------------------ errors
def test_a_quota_answer_is_retried_then_fails_naming_resource_exhausted():
    fake = shop_fake()
    fake.fail_next(429, QUOTA_EXHAUSTED, {"Retry-After": "0"}, times=3)
    with pytest.raises(Ga4DataError) as caught:
        read_traffic(client(fake), "123456789", "shopify", DAY, DAY, top=0, read_at="t")
    assert len(fake.report_calls()) == 3  # the first try and two retries
    assert caught.value.status_code == 429 and caught.value.code == "RESOURCE_EXHAUSTED"
    assert "quota" in str(caught.value) and "Exhausted property tokens" not in str(caught.value)


def test_a_quota_answer_that_clears_is_read_on_retry():
    fake = shop_fake()
    fake.fail_next(429, QUOTA_EXHAUSTED, {"Retry-After": "0"})
    (day,) = read_traffic(client(fake), "123456789", "shopify", DAY, DAY, top=0, read_at="t")
    assert day.sessions == 200


def test_a_property_the_account_may_not_read_says_how_to_grant_it():
    fake = shop_fake()
    fake.readable = {"999"}
    with pytest.raises(Ga4DataError) as caught:
        read_traffic(client(fake), "123456789", "shopify", DAY, DAY, top=0, read_at="t")
    assert caught.value.status_code == 403 and caught.value.code == "PERMISSION_DENIED"
    assert "Viewer role on property 123456789" in str(caught.value)
    assert PERMISSION_DENIED["error"]["message"] not in str(caught.value)


@pytest.mark.parametrize(
    ("text", "says"),
    [
        (None, "not in the hub's traffic secret"),
        ("not json", "not a service account key file"),
        (json.dumps({"type": "authorized_user"}), "not a service account key file"),
        (
            json.dumps({"type": "service_account", "client_email": "a@b"}),
            "lacks private_key_id, private_key, token_uri",
        ),
    ],
)
def test_a_bad_key_file_says_what_is_wrong_and_never_echoes_it(text, says):
    with pytest.raises(ServiceAccountError, match=says):
        ServiceAccount.from_json(text)


def test_a_key_that_is_not_pem_is_refused_without_showing_it():
    account = ServiceAccount.from_json(service_account_json(key="-----BEGIN PRIVATE KEY-----\nsecretstuff\n"))
    with pytest.raises(ServiceAccountError) as caught:
        account.signing_key()
    assert "secretstuff" not in str(caught.value) and "secretstuff" not in repr(account)


# ------------------------------------------------------------------ the import run
class _Store:
    def __init__(self):
        self.items: dict[tuple[str, str], TrafficDay] = {}

    def replace(self, days):
        for day in days:
            self.items[(day.day, day.channel)] = day

    def read(self, days):
        out: dict[str, dict[str, TrafficDay]] = {}
        for (day, channel), item in self.items.items():
            if day in days:
                out.setdefault(day, {})[channel] = item
        return out


def _config(traffic: dict | None):
    document = {"locations": [{"id": "wh", "country": "US"}]}
    if traffic is not None:
        document["analytics"] = {"traffic": traffic}
    return parse_config(json.dumps(document))


def test_a_run_rereads_the_lookback_days_and_replaces_what_it_read_before():
    fake = shop_fake()
    store = _Store()
    config = _config({"ga4": {"properties": {"shopify": "123456789"}, "lookback_days": 3}})
    ga4 = client(fake)
    run = TrafficImport(
        store,
        lambda: config,
        lambda _cfg: Ga4TrafficSource(ga4),
        clock=lambda: datetime(2026, 11, 20, 15, tzinfo=UTC),
    )
    assert run.run() == {"configured": True, "from": "2026-11-18", "to": "2026-11-20", "sessions": {"shopify": 240}}
    fake.set_day("123456789", DAY, {("google", "organic"): (130, 110)}, users=110)  # GA4 revised the day
    run.run()
    assert store.items[("2026-11-20", "shopify")].sessions == 130  # replaced, not added
    assert len(store.items) == 3


def test_without_traffic_configured_a_run_reads_nothing():
    store = _Store()
    run = TrafficImport(store, lambda: _config(None), lambda _cfg: pytest.fail("no source is built"))
    assert run.run() == {"configured": False}
    assert store.items == {}


# ------------------------------------------------------------------ the report
def _rows(channel: str, orders: int) -> list[BucketRow]:
    return [BucketRow(channel, "USD", {"orders": orders, "revenue": 1000 * orders})]


def _traffic(day: str, channel: str, sessions: int, users: int, sources=()) -> TrafficDay:
    return TrafficDay(day, channel, "1", sessions, users, tuple(sources), "t")


def test_session_conversion_is_orders_over_sessions_to_four_places_half_even():
    traffic = Traffic(frozenset({"shopify"}), {"2026-11-20": {"shopify": _traffic("2026-11-20", "shopify", 800, 700)}})
    report = daily_report("2026-11-20", _rows("shopify", 3), window_days=7, traffic=traffic)
    (shop,) = report["channels"]
    # 3 / 800 = 0.00375: half to even gives 0.0038 (and 1 / 8000 = 0.000125 -> 0.0001)
    assert (shop["sessions"], shop["users"], shop["session_conversion_rate"]) == (800, 700, "0.0038")
    assert shop["sessions_unavailable"] is None
    assert report["totals"]["session_conversion_rate"] == "0.0038"
    assert shop["conversion_rate"] is None  # the checkout conversion stays beside it, as it was


def test_without_traffic_configured_the_figures_are_null_with_the_reason_never_zero():
    report = daily_report("2026-11-20", _rows("shopify", 2), window_days=7, traffic=Traffic())
    (shop,) = report["channels"]
    assert (shop["sessions"], shop["users"], shop["session_conversion_rate"]) == (None, None, None)
    assert shop["sessions_unavailable"] == NOT_CONFIGURED == report["totals"]["sessions_unavailable"]


def test_a_channel_without_a_property_or_a_day_not_read_yet_says_so():
    traffic = Traffic(frozenset({"shopify"}), {})
    rows = _rows("shopify", 1) + _rows("woocommerce", 1)
    report = daily_report("2026-11-20", rows, window_days=7, traffic=traffic)
    shop, woo = report["channels"]
    assert shop["sessions_unavailable"] == NOT_READ_YET and shop["sessions"] is None
    assert woo["sessions_unavailable"] == NOT_MEASURED
    assert report["totals"]["sessions_unavailable"] == NOT_READ_YET


def test_a_day_read_with_no_sessions_has_no_rate_and_says_why():
    traffic = Traffic(frozenset({"shopify"}), {"2026-11-20": {"shopify": _traffic("2026-11-20", "shopify", 0, 0)}})
    (shop,) = daily_report("2026-11-20", _rows("shopify", 1), window_days=7, traffic=traffic)["channels"]
    assert (shop["sessions"], shop["session_conversion_rate"], shop["sessions_unavailable"]) == (0, None, NO_SESSIONS)


def test_a_channel_with_sessions_and_no_orders_is_listed_with_a_zero_rate():
    traffic = Traffic(frozenset({"shopify"}), {"2026-11-20": {"shopify": _traffic("2026-11-20", "shopify", 50, 40)}})
    report = daily_report("2026-11-20", [], window_days=7, traffic=traffic)
    (shop,) = report["channels"]
    assert (shop["channel"], shop["orders"], shop["sessions"], shop["session_conversion_rate"]) == (
        "shopify",
        0,
        50,
        "0.0000",
    )


def test_totals_divide_only_the_orders_of_channels_whose_sessions_are_known():
    day = "2026-11-20"
    traffic = Traffic(frozenset({"shopify"}), {day: {"shopify": _traffic(day, "shopify", 200, 150)}})
    report = daily_report(day, _rows("shopify", 4) + _rows("woocommerce", 9), window_days=7, traffic=traffic)
    assert report["totals"]["orders"] == 13
    assert (report["totals"]["sessions"], report["totals"]["session_conversion_rate"]) == (200, "0.0200")


def test_a_range_sums_the_days_read_and_counts_the_days_missing():
    traffic = Traffic(
        frozenset({"shopify"}),
        {
            "2026-11-19": {
                "shopify": _traffic("2026-11-19", "shopify", 100, 90, [SourceMedium("google", "cpc", 60, 50)])
            },
            "2026-11-20": {
                "shopify": _traffic("2026-11-20", "shopify", 300, 250, [SourceMedium("google", "cpc", 100, 90)])
            },
        },
    )
    rows = {"2026-11-18": _rows("shopify", 5), "2026-11-19": _rows("shopify", 2), "2026-11-20": _rows("shopify", 6)}
    report = range_report(date(2026, 11, 18), DAY, rows, window_days=7, traffic=traffic)
    (shop,) = report["channels"]
    # The 18th's 5 orders have no sessions to divide by: (2 + 6) / (100 + 300)
    assert (shop["orders"], shop["sessions"], shop["users"], shop["session_conversion_rate"]) == (
        13,
        400,
        340,
        "0.0200",
    )
    assert shop["traffic_days_missing"] == 1
    assert shop["top_sources"] == [{"source": "google", "medium": "cpc", "sessions": 160, "users": 140}]
    assert [d["channels"][0]["sessions"] for d in report["days"]] == [None, 100, 300]


def test_top_sources_merge_a_pair_and_rank_by_sessions():
    pairs = [SourceMedium("a", "x", 1, 1), SourceMedium("b", "y", 5, 2), SourceMedium("a", "x", 6, 3)]
    assert top_sources(pairs, 1) == (SourceMedium("a", "x", 7, 4),)


# ------------------------------------------------------------------ configuration
def test_traffic_configuration_is_checked_with_errors_naming_the_key():
    good = _config({"ga4": {"properties": {"shopify": 123456789}}})
    assert good.analytics.traffic.ga4.properties == {"shopify": "123456789"}
    assert good.analytics.traffic.ga4.lookback_days == 3
    with pytest.raises(ConfigError, match="every_hour"):
        _config({"ga4": {"properties": {"shopify": "1"}, "every_hour": 1}})
    with pytest.raises(ConfigError, match="not a GA4 property id"):
        _config({"ga4": {"properties": {"shopify": "G-ABC123"}}})
    with pytest.raises(ConfigError, match="already measures"):
        _config({"ga4": {"properties": {"shopify": "1", "woocommerce": "1"}}})
    with pytest.raises(ConfigError, match="not a channel of this hub"):
        _config({"ga4": {"properties": {"myshop": "1"}}})
    with pytest.raises(ConfigError, match="HTTPS"):
        _config({"ga4": {"properties": {"shopify": "1"}, "api_url": "http://example.com"}})
