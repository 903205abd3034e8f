"""Ad audiences: segments, the plan of adds and removes, each vendor's normalisation, the exact Meta
and Google Ads requests (batching at their limits, their error and rate-limit answers), and the sync
service over in-memory records."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs

import httpx
import pytest
import yaml
from hub.adapters.ad_audiences import (
    GOOGLE_MAX_IDENTIFIERS,
    META_MAX_ROWS,
    GoogleCustomerMatch,
    MetaCustomAudiences,
    audience_destinations,
)
from hub.adapters.http import default_retry
from hub.config import HubConfig
from hub.config import parse_config as _parse
from hub.config.audiences import GoogleAdsAudiencesConfig, MetaAudiencesConfig
from hub.domain.audiences import (
    HIGH_VALUE,
    LAPSED,
    META_SCHEMA,
    RECENT_BUYERS,
    Audience,
    AudienceRecord,
    Identifiers,
    Membership,
    SegmentInputs,
    SegmentRules,
    google_email,
    google_identifiers,
    google_phone,
    identifiers_of,
    meta_row,
    next_review,
    plan,
    segments_of,
)
from hub.domain.customers import ConsentStatement, CustomerProfile, OrderRef
from hub.errors import AudiencesConfigError, ConfigError, OutboundError
from hub.secrets import SecretsProvider
from hub.services.audiences import AudienceSync, rules_of

from tests.audience_apis import (
    AUDIENCE_SECRETS,
    GOOGLE_CUSTOMER,
    GOOGLE_LOGIN_CUSTOMER,
    META_AD_ACCOUNT,
    FakeGoogleAds,
    FakeMetaAudiences,
)

FAST = default_retry(backoff=0.001, budget=2)


def parse_config(document: dict) -> HubConfig:
    return _parse(yaml.safe_dump(document))


NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def profile(
    email: str = "ada@example.com",
    *,
    consent: bool | None = True,
    last_order_days: float | None = 2,
    orders: int = 1,
    spent: dict[str, int] | None = None,
    phone: str | None = "+1 (617) 555-0142",
) -> CustomerProfile:
    last = None
    if last_order_days is not None:
        placed = NOW - timedelta(days=last_order_days)
        last = OrderRef("shopify:1", "shopify", placed, "USD", 4200)
    return CustomerProfile(
        email=email,
        erasure_key="ck_" + sha(email)[:40],
        first_name="Ada",
        last_name="Lovelace",
        phone=phone,
        channels=("shopify",),
        platform_customer_ids={},
        order_ids=("shopify:1",) if last else (),
        order_count=orders if last else 0,
        cancelled_order_count=0,
        first_order=last,
        last_order=last,
        total_spent=spent if spent is not None else {"USD": 4200},
        average_order_value={},
        refund_count=0,
        refunded={},
        products=(),
        email_marketing=ConsentStatement(consent, NOW, "shopify"),
        sms_marketing=ConsentStatement(None),
        tags=(),
        updated_at=NOW,
    )


META_RECENT = Audience("meta", "23850000000000001")
GOOGLE_RECENT = Audience("google", "7000001")
META_LAPSED = Audience("meta", "23850000000000002")
META_HIGH = Audience("meta", "23850000000000003")
RULES = SegmentRules(
    recent_days=30,
    lapsed_after_days=180,
    min_spend=("USD", 50000),
    min_orders=5,
    targets={RECENT_BUYERS: (META_RECENT, GOOGLE_RECENT), LAPSED: (META_LAPSED,), HIGH_VALUE: (META_HIGH,)},
)


def inputs(consent: bool = True, days: float | None = 2, orders: int = 1, spent: dict[str, int] | None = None):
    return SegmentInputs(
        consent, NOW - timedelta(days=days) if days is not None else None, orders, spent or {"USD": 4200}
    )


# --------------------------------------------------------------------------------------- segments
def test_a_recent_buyer_is_in_recent_buyers_until_the_window_closes():
    assert segments_of(inputs(days=29.9), RULES, NOW) == {RECENT_BUYERS}
    assert segments_of(inputs(days=30), RULES, NOW) == frozenset()


def test_a_customer_is_lapsed_once_their_last_order_is_after_days_old():
    assert segments_of(inputs(days=179), RULES, NOW) == frozenset()
    assert segments_of(inputs(days=180), RULES, NOW) == {LAPSED}
    assert segments_of(inputs(days=None, orders=0), RULES, NOW) == frozenset()  # never ordered: not lapsed


def test_high_value_compares_spend_in_the_thresholds_currency_only():
    assert HIGH_VALUE in segments_of(inputs(spent={"USD": 50000}), RULES, NOW)
    # 400 USD and 300 EUR are not 700 of anything: never added across currencies.
    assert HIGH_VALUE not in segments_of(inputs(spent={"USD": 40000, "EUR": 30000}), RULES, NOW)
    assert HIGH_VALUE in segments_of(inputs(orders=5), RULES, NOW)


def test_without_consent_a_customer_is_in_no_segment():
    assert segments_of(inputs(consent=False, spent={"USD": 99999}, orders=9), RULES, NOW) == frozenset()
    assert next_review(inputs(consent=False), RULES, NOW) is None


def test_unknown_consent_is_no_consent():
    from hub.domain.audiences import inputs_of

    assert inputs_of(profile(consent=None)).consent is False
    assert inputs_of(profile(consent=False)).consent is False
    assert inputs_of(profile(consent=True)).consent is True


def test_the_next_review_is_when_the_window_closes_then_when_they_lapse():
    last = NOW - timedelta(days=2)
    assert next_review(inputs(days=2), RULES, NOW) == last + timedelta(days=30)
    assert next_review(inputs(days=40), RULES, NOW) == NOW - timedelta(days=40) + timedelta(days=180)
    assert next_review(inputs(days=200), RULES, NOW) is None


# ------------------------------------------------------------------------------------------- plan
IDS = Identifiers(("a" * 64, "", "", ""), (("hashedEmail", "a" * 64),))
NEW_IDS = Identifiers(("a" * 64, "b" * 64, "", ""), (("hashedEmail", "a" * 64),))


def test_a_customer_not_yet_a_member_is_added_and_a_member_is_not_added_again():
    wanted = frozenset({META_RECENT})
    first = plan(wanted, {}, IDS, None, [META_RECENT, META_LAPSED])
    assert [(c.audience, c.add) for c in first] == [(META_RECENT, True)]
    members = {META_RECENT: Membership(True, NOW, "ok")}
    assert plan(wanted, members, IDS, IDS, [META_RECENT, META_LAPSED]) == []


def test_new_identifiers_are_added_again_and_removes_use_what_was_sent():
    members = {META_RECENT: Membership(True, NOW, "ok"), META_LAPSED: Membership(True, NOW, "ok")}
    changes = plan(frozenset({META_RECENT}), members, NEW_IDS, IDS, [META_RECENT, META_LAPSED])
    assert [(c.audience, c.add, c.identifiers) for c in changes] == [
        (META_RECENT, True, NEW_IDS),
        (META_LAPSED, False, IDS),
    ]


def test_nothing_wanted_removes_from_every_audience_including_one_no_longer_configured():
    old = Audience("meta", "999")
    members = {META_RECENT: Membership(True, NOW, "ok"), old: Membership(True, NOW, "ok")}
    changes = plan(frozenset(), members, None, IDS, [META_RECENT])
    assert sorted((c.audience, c.add) for c in changes) == [(META_RECENT, False), (old, False)]


# ---------------------------------------------------------------------------------- normalisation
def test_meta_rows_are_normalised_and_hashed_as_meta_documents():
    # developers.facebook.com/docs/marketing-api/audiences/guides/custom-audiences#hash: email trimmed
    # and lower-cased; phone digits only with the country code ("+1 (616) 954-1034" -> 16169541034);
    # names lower-case without punctuation.
    row = meta_row(" John.Smith@Example.COM ", "+1 (616) 954-1034", "John", "Smith-")
    assert row == (sha("john.smith@example.com"), sha("16169541034"), sha("john"), sha("smith"))
    assert meta_row("a@b.co", None, None, None) == (sha("a@b.co"), "", "", "")
    assert META_SCHEMA == ("EMAIL", "PHONE", "FN", "LN")


def test_google_identifiers_are_normalised_as_google_documents():
    # developers.google.com/google-ads/api/docs/remarketing/audience-segments/customer-match/get-started
    # #prepare-data and googleads/google-ads-python examples/remarketing/add_customer_match_user_list.py
    # (_normalize_and_hash_email_address): trimmed, lower-cased, gmail/googlemail dots removed; phone E.164.
    assert google_email(" Jane.Doe@GMail.com ") == "janedoe@gmail.com"
    assert google_email("jane.doe@googlemail.com") == "janedoe@googlemail.com"
    assert google_email("Jane.Doe@Example.com") == "jane.doe@example.com"
    assert google_phone("+1 (650) 555-1212") == "+16505551212"
    assert google_phone("0044 20 7946 0958") == "+442079460958"
    assert google_phone("650-555-1212") is None  # no country code: cannot be E.164
    assert google_identifiers("Jane.Doe@gmail.com", "+1 650 555 1212") == (
        ("hashedEmail", sha("janedoe@gmail.com")),
        ("hashedPhoneNumber", sha("+16505551212")),
    )


def test_a_profiles_identifiers_carry_no_clear_text():
    ids = identifiers_of(profile())
    flat = [*ids.meta, *(v for _f, v in ids.google)]
    assert all(len(v) == 64 for v in flat if v)
    assert "ada@example.com" not in json.dumps(flat)


# ----------------------------------------------------------------------------------- Meta requests
def meta_client(fake: FakeMetaAudiences, transport: httpx.BaseTransport | None = None) -> MetaCustomAudiences:
    config = MetaAudiencesConfig(ad_account_id=META_AD_ACCOUNT)
    return MetaCustomAudiences(
        config, AUDIENCE_SECRETS["META_ADS_ACCESS_TOKEN"], transport=transport or fake.transport(), retry=FAST
    )


def test_meta_add_is_a_post_of_the_payload_form_field_with_the_token_in_the_query():
    seen: list[httpx.Request] = []
    fake = FakeMetaAudiences()
    inner = fake.transport()

    def spy(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return inner.handle_request(request)

    client = meta_client(fake, httpx.MockTransport(spy))
    answer = client.add("23850000000000001", [IDS])
    (request,) = seen
    assert request.method == "POST"
    assert request.url.path == "/v25.0/23850000000000001/users"
    assert parse_qs(request.url.query.decode()) == {"access_token": [AUDIENCE_SECRETS["META_ADS_ACCESS_TOKEN"]]}
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    form = parse_qs(request.content.decode())
    assert json.loads(form["payload"][0]) == {"schema": ["EMAIL", "PHONE", "FN", "LN"], "data": [list(IDS.meta)]}
    session = json.loads(form["session"][0])
    assert session["batch_seq"] == 1 and session["last_batch_flag"] is True and session["estimated_num_total"] == 1
    assert answer.startswith("meta received 1, invalid 0")
    assert fake.members["23850000000000001"] == {"a" * 64}


def test_meta_remove_is_a_delete_of_the_same_payload():
    fake = FakeMetaAudiences()
    client = meta_client(fake)
    client.add("23850000000000001", [IDS])
    client.remove("23850000000000001", [IDS])
    assert [c.method for c in fake.calls] == ["POST", "DELETE"]
    assert fake.members["23850000000000001"] == set()


def test_meta_rows_go_10000_a_request_in_one_session():
    fake = FakeMetaAudiences()
    members = [Identifiers((f"{i:064x}", "", "", ""), ()) for i in range(META_MAX_ROWS + 1)]
    meta_client(fake).add("23850000000000001", members)
    assert [len(c.data) for c in fake.calls] == [10_000, 1]
    first, last = fake.calls[0].session, fake.calls[1].session
    assert first["session_id"] == last["session_id"]
    assert (first["batch_seq"], first["last_batch_flag"]) == (1, False)
    assert (last["batch_seq"], last["last_batch_flag"]) == (2, True)
    assert first["estimated_num_total"] == 10_001


def test_meta_custom_audience_throttling_80003_is_retried():
    fake = FakeMetaAudiences(throttle_next=2, throttle_code=80003)
    assert meta_client(fake).add("23850000000000001", [IDS]).startswith("meta received 1")
    assert len(fake.calls) == 1


def test_meta_throttling_that_lasts_fails_with_the_code_and_no_token():
    fake = FakeMetaAudiences(throttle_next=50, throttle_code=17)
    with pytest.raises(OutboundError) as caught:
        meta_client(fake).add("23850000000000001", [IDS])
    assert "HTTP 400" in str(caught.value) and "OAuthException" in str(caught.value)
    assert AUDIENCE_SECRETS["META_ADS_ACCESS_TOKEN"] not in str(caught.value)


def test_meta_refusing_an_unknown_audience_is_an_outbound_error_not_retried():
    fake = FakeMetaAudiences()
    with pytest.raises(OutboundError, match="HTTP 400"):
        meta_client(fake).add("999", [IDS])


def test_meta_receiving_fewer_rows_than_sent_is_an_error():
    def short(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"audience_id": "1", "session_id": "1", "num_received": 0})

    with pytest.raises(OutboundError, match="received 0 of 1"):
        meta_client(FakeMetaAudiences(), httpx.MockTransport(short)).add("1", [IDS])


# ---------------------------------------------------------------------------------- Google requests
def google_client(fake: FakeGoogleAds, transport: httpx.BaseTransport | None = None) -> GoogleCustomerMatch:
    config = GoogleAdsAudiencesConfig(
        customer_id="123-456-7890", login_customer_id="987-654-3210", token_url="https://oauth2.googleapis.com/token"
    )
    return GoogleCustomerMatch(
        config, AUDIENCE_SECRETS.__getitem__, transport=transport or fake.transport(), retry=FAST
    )


def test_google_customer_match_is_a_job_created_filled_and_run_with_exact_requests():
    seen: list[httpx.Request] = []
    fake = FakeGoogleAds()
    inner = fake.transport()

    def spy(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return inner.handle_request(request)

    answer = google_client(fake, httpx.MockTransport(spy)).add("7000001", [IDS])
    token, create, add, run = seen
    assert (token.method, str(token.url)) == ("POST", "https://oauth2.googleapis.com/token")
    assert parse_qs(token.content.decode()) == {
        "grant_type": ["refresh_token"],
        "client_id": [AUDIENCE_SECRETS["GOOGLE_ADS_CLIENT_ID"]],
        "client_secret": [AUDIENCE_SECRETS["GOOGLE_ADS_CLIENT_SECRET"]],
        "refresh_token": [AUDIENCE_SECRETS["GOOGLE_ADS_REFRESH_TOKEN"]],
    }
    base = f"https://googleads.googleapis.com/v26/customers/{GOOGLE_CUSTOMER}/offlineUserDataJobs"
    assert str(create.url) == base + ":create"
    assert json.loads(create.content) == {
        "job": {
            "type": "CUSTOMER_MATCH_USER_LIST",
            "customerMatchUserListMetadata": {
                "userList": f"customers/{GOOGLE_CUSTOMER}/userLists/7000001",
                "consent": {"adUserData": "GRANTED", "adPersonalization": "GRANTED"},
            },
        }
    }
    for request in (create, add, run):
        assert request.headers["authorization"] == "Bearer ya29.local-access-token"
        assert request.headers["developer-token"] == AUDIENCE_SECRETS["GOOGLE_ADS_DEVELOPER_TOKEN"]
        assert request.headers["login-customer-id"] == GOOGLE_LOGIN_CUSTOMER
    assert str(add.url) == base + "/501:addOperations"
    assert json.loads(add.content) == {
        "enablePartialFailure": True,
        "operations": [{"create": {"userIdentifiers": [{"hashedEmail": "a" * 64}]}}],
    }
    assert (str(run.url), json.loads(run.content)) == (base + "/501:run", {})
    assert answer == "google job 501 create 1"
    assert fake.members["7000001"] == {"a" * 64}


def test_google_remove_runs_a_job_of_remove_operations_and_reuses_the_access_token():
    fake = FakeGoogleAds()
    client = google_client(fake)
    client.add("7000001", [IDS])
    client.remove("7000001", [IDS])
    assert fake.tokens_issued == 1
    assert [list(op) for op in fake.jobs["502"].operations] == [["remove"]]
    assert fake.members["7000001"] == set()


def test_google_operations_go_100000_identifiers_a_request():
    fake = FakeGoogleAds()
    members = [
        Identifiers((), (("hashedEmail", f"{i:064x}"), ("hashedPhoneNumber", f"{i + 1:064x}")))
        for i in range(GOOGLE_MAX_IDENTIFIERS // 2 + 1)
    ]
    google_client(fake).add("7000001", members)
    adds = [path for method, path in fake.requests if path.endswith(":addOperations")]
    assert len(adds) == 2
    assert len(fake.jobs["501"].operations) == GOOGLE_MAX_IDENTIFIERS // 2 + 1


def test_google_resource_exhausted_is_retried_then_fails_naming_the_status():
    fake = FakeGoogleAds(exhaust_next=1)
    assert google_client(fake).add("7000001", [IDS]) == "google job 501 create 1"
    stuck = FakeGoogleAds(exhaust_next=100)
    with pytest.raises(OutboundError) as caught:
        google_client(stuck).add("7000001", [IDS])
    assert "HTTP 429" in str(caught.value) and "RESOURCE_EXHAUSTED" in str(caught.value)
    assert "ya29" not in str(caught.value)


def test_google_refusing_the_refresh_token_is_an_outbound_error_without_the_secret():
    fake = FakeGoogleAds()
    secrets = dict(AUDIENCE_SECRETS, GOOGLE_ADS_REFRESH_TOKEN="1//revoked")
    config = GoogleAdsAudiencesConfig(customer_id="1234567890", login_customer_id="9876543210")
    client = GoogleCustomerMatch(config, secrets.__getitem__, transport=fake.transport(), retry=FAST)
    with pytest.raises(OutboundError) as caught:
        client.add("7000001", [IDS])
    assert "invalid_grant" in str(caught.value) and "revoked" not in str(caught.value)


def test_a_configured_vendor_without_its_credential_is_a_configuration_error():
    config = parse_config(
        {"locations": [{"id": "wh", "country": "US"}], "audiences": {"meta": {"ad_account_id": "act_1"}}}
    ).audiences
    assert config is not None
    with pytest.raises(AudiencesConfigError, match="META_ADS_ACCESS_TOKEN"):
        audience_destinations(config, SecretsProvider(values={}))


# ---------------------------------------------------------------------------------- configuration
def test_the_audiences_section_is_optional_and_strict():
    base = {"locations": [{"id": "wh", "country": "US"}]}
    assert parse_config(base).audiences is None
    with pytest.raises(ConfigError, match="unknown_key"):
        parse_config({**base, "audiences": {"unknown_key": 1}})
    with pytest.raises(ConfigError, match=r"needs audiences\.google_ads"):
        parse_config({**base, "audiences": {"segments": {"lapsed": {"google_user_list_id": "1"}}}})
    with pytest.raises(ConfigError, match="min_spend or min_orders"):
        parse_config({**base, "audiences": {"segments": {"high_value": {}}}})
    with pytest.raises(ConfigError, match="10 digits"):
        parse_config({**base, "audiences": {"google_ads": {"customer_id": "12"}}})
    with pytest.raises(ConfigError, match="https"):
        parse_config({**base, "audiences": {"meta": {"ad_account_id": "1", "api_url": "http://example.com"}}})


def test_rules_come_from_the_configuration_with_money_in_minor_units():
    config = parse_config(
        {
            "locations": [{"id": "wh", "country": "US"}],
            "audiences": {
                "meta": {"ad_account_id": "act_1"},
                "google_ads": {"customer_id": "123-456-7890"},
                "segments": {
                    "recent_buyers": {"days": 14, "meta_audience_id": "1", "google_user_list_id": "2"},
                    "high_value": {"min_spend": {"amount": "500.00", "currency": "USD"}, "meta_audience_id": "3"},
                },
            },
        }
    ).audiences
    assert config is not None
    rules = rules_of(config)
    assert rules.recent_days == 14 and rules.lapsed_after_days is None
    assert rules.min_spend == ("USD", 50000)
    assert rules.targets[RECENT_BUYERS] == (Audience("meta", "1"), Audience("google", "2"))


# -------------------------------------------------------------------------------- the sync service
class Profiles:
    def __init__(self, *found: CustomerProfile) -> None:
        self.found = {p.email: p for p in found}

    def get(self, email: str) -> CustomerProfile | None:
        return self.found.get(email.strip().lower())


class Records:
    def __init__(self) -> None:
        self.items: dict[str, AudienceRecord] = {}

    def records(self, keys):
        return {k: self.items[k] for k in keys if k in self.items}

    def save(self, records, previous):
        for record in records:
            self.items[record.erasure_key] = record

    def due(self, until, limit):
        due = [r for r in self.items.values() if r.review_at is not None and r.review_at <= until]
        return [r.erasure_key for r in sorted(due, key=lambda r: r.review_at)][:limit]


CONFIG = {
    "locations": [{"id": "wh", "country": "US"}],
    "audiences": {
        "meta": {"ad_account_id": "act_1"},
        "google_ads": {"customer_id": "1234567890", "login_customer_id": "9876543210"},
        "segments": {
            "recent_buyers": {
                "days": 30,
                "meta_audience_id": META_RECENT.audience_id,
                "google_user_list_id": "7000001",
            },
            "lapsed": {"after_days": 180, "meta_audience_id": META_LAPSED.audience_id},
        },
    },
}


def service(profiles: Profiles, records: Records, meta: FakeMetaAudiences, google: FakeGoogleAds, clock=lambda: NOW):
    config = parse_config(CONFIG)
    destinations = {"meta": meta_client(meta), "google": google_client(google)}
    return AudienceSync(profiles, records, lambda _c: destinations, lambda: config, clock=clock)


def test_a_consenting_recent_buyer_is_added_to_both_vendors_once():
    meta, google, records = FakeMetaAudiences(), FakeGoogleAds(), Records()
    ada = profile()
    sync = service(Profiles(ada), records, meta, google)
    result = sync.sync(emails=["Ada@Example.com "])
    assert result.sent == {f"{META_RECENT.name} add": 1, "google:7000001 add": 1}
    assert meta.members[META_RECENT.audience_id] == {sha("ada@example.com")}
    assert google.members["7000001"] == {sha("ada@example.com")}
    record = records.items[ada.erasure_key]
    assert record.members[META_RECENT].member and record.members[META_RECENT].answer.startswith("meta received 1")
    assert record.review_at == NOW - timedelta(days=2) + timedelta(days=30)
    # A redelivery sends nothing.
    again = sync.sync(emails=["ada@example.com"])
    assert again.sent == {} and again.recorded == 0 and len(meta.calls) == 1 and len(google.jobs) == 1


def test_a_customer_without_consent_is_never_sent_and_nothing_is_kept():
    meta, google, records = FakeMetaAudiences(), FakeGoogleAds(), Records()
    result = service(Profiles(profile(consent=False)), records, meta, google).sync(emails=["ada@example.com"])
    assert result.sent == {} and meta.calls == [] and google.jobs == {} and records.items == {}


def test_consent_withdrawn_removes_from_every_audience_and_forgets_the_identifiers():
    meta, google, records = FakeMetaAudiences(), FakeGoogleAds(), Records()
    service(Profiles(profile()), records, meta, google).sync(emails=["ada@example.com"])
    withdrawn = service(Profiles(profile(consent=False)), records, meta, google)
    result = withdrawn.sync(emails=["ada@example.com"])
    assert result.sent == {f"{META_RECENT.name} remove": 1, "google:7000001 remove": 1}
    assert meta.members[META_RECENT.audience_id] == set() and google.members["7000001"] == set()
    record = next(iter(records.items.values()))
    assert not any(m.member for m in record.members.values())
    assert record.sent is None and record.inputs is None and record.review_at is None


def test_an_erasure_removes_from_every_audience_and_keeps_no_personal_data():
    meta, google, records = FakeMetaAudiences(), FakeGoogleAds(), Records()
    ada = profile()
    service(Profiles(ada), records, meta, google).sync(emails=["ada@example.com"])
    result = service(Profiles(), records, meta, google).sync(erased=[ada.erasure_key])
    assert result.sent == {f"{META_RECENT.name} remove": 1, "google:7000001 remove": 1}
    record = records.items[ada.erasure_key]
    assert (record.sent, record.inputs, record.review_at) == (None, None, None)
    assert {m.member for m in record.members.values()} == {False}


def test_the_review_moves_a_buyer_from_recent_to_lapsed_as_time_passes():
    meta, google, records = FakeMetaAudiences(), FakeGoogleAds(), Records()
    ada = profile(last_order_days=2)
    service(Profiles(ada), records, meta, google).sync(emails=["ada@example.com"])
    later = NOW + timedelta(days=29)  # the 30-day window closed
    result = service(Profiles(), records, meta, google, clock=lambda: later).review()
    assert result.sent == {f"{META_RECENT.name} remove": 1, "google:7000001 remove": 1}
    lapsing = NOW + timedelta(days=179)
    result = service(Profiles(), records, meta, google, clock=lambda: lapsing).review()
    assert result.sent == {f"{META_LAPSED.name} add": 1}
    assert meta.members[META_LAPSED.audience_id] == {sha("ada@example.com")}
    assert records.items[ada.erasure_key].review_at is None


def test_a_vendor_that_fails_leaves_its_customers_records_and_reports_them():
    meta, google, records = FakeMetaAudiences(fail_next=50), FakeGoogleAds(), Records()
    ada = profile()
    result = service(Profiles(ada), records, meta, google).sync(emails=["ada@example.com"])
    assert set(result.failed) == {ada.erasure_key}
    assert result.sent == {"google:7000001 add": 1}
    record = records.items[ada.erasure_key]
    assert META_RECENT not in record.members and record.members[GOOGLE_RECENT].member
    # The retry sends only what is still missing.
    meta.fail_next = 0
    retried = service(Profiles(ada), records, meta, google).sync(emails=["ada@example.com"])
    assert retried.sent == {f"{META_RECENT.name} add": 1} and not retried.failed


def test_audiences_not_configured_do_nothing():
    config = parse_config({"locations": [{"id": "wh", "country": "US"}]})
    records = Records()
    sync = AudienceSync(Profiles(profile()), records, lambda _c: {}, lambda: config, clock=lambda: NOW)
    assert sync.sync(emails=["ada@example.com"]).sent == {} and records.items == {}
    assert sync.review().recorded == 0


# ------------------------------------------------------------------------ crm_upsert's announcement
def test_crm_upsert_announces_changed_profiles_only_with_audiences_configured():
    from hub.domain.customers import erasure_key
    from hub.services.customers import CustomerService

    from tests.customer_fakes import FakeCustomerStore, FakeOrderPrivacy
    from tests.fakes import FakePublisher

    store, bus = FakeCustomerStore(), FakePublisher()
    without = parse_config({"locations": [{"id": "wh", "country": "US"}]})
    off = CustomerService(store, FakeOrderPrivacy(), bus, lambda: without, clock=lambda: NOW)
    assert off.announce({"ada@example.com": {"evt_1"}}) == 0 and bus.events == []

    on = CustomerService(store, FakeOrderPrivacy(), bus, lambda: parse_config(CONFIG), clock=lambda: NOW)
    assert on.announce({"ada@example.com": {"evt_2", "evt_1"}}) == 1
    (announced,) = bus.events
    assert announced.type == "CustomerProfileChanged"
    assert announced.data.email == "ada@example.com"
    assert announced.data.erasure_key == erasure_key("ada@example.com", store.salt())
    # A redelivered batch (the same customer and causes, in any order) publishes the same event id.
    on.announce({"ada@example.com": {"evt_1", "evt_2"}})
    assert bus.events[1].event_id == announced.event_id
