"""Social posting's pure decisions (hub.domain.social) and its configuration (marketing.social)."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from hub.config import parse_config
from hub.domain.social import (
    SocialDue,
    SocialProduct,
    SocialTrigger,
    back_in_stock,
    posting_day,
    quiet_until,
    render_text,
    template_problem,
)
from hub.errors import ConfigError

PARIS = ZoneInfo("Europe/Paris")
NEW_YORK = ZoneInfo("America/New_York")
MUG = SocialProduct(
    "shopify:8123", "Enamel Mug", "https://shop.example/products/mug", "https://cdn.example/mug.jpg", 1250, "EUR"
)


# ------------------------------------------------------------------ the text
def test_the_default_template_shows_title_exact_price_and_link():
    assert render_text("{title} — {price} {link}", MUG) == "Enamel Mug — 12.50 EUR https://shop.example/products/mug"


@pytest.mark.parametrize(
    ("price", "currency", "shown"),
    [
        (1250, "JPY", "1250 JPY"),
        (1250, "KWD", "1.250 KWD"),
        (5, "USD", "0.05 USD"),
        (1999999999, "EUR", "19999999.99 EUR"),
    ],
)
def test_prices_use_the_currency_exponent_never_float(price, currency, shown):
    product = SocialProduct("k", "T", None, None, price, currency)
    assert render_text("{price}", product) == shown


def test_an_empty_value_leaves_no_double_space():
    product = SocialProduct("k", "Cap", None, None, None, None)
    assert render_text("New: {title} {price} {link} !", product) == "New: Cap !"


def test_text_over_the_network_limit_is_cut_with_an_ellipsis():
    product = SocialProduct("k", "x" * 3000, None, None, None, None)
    text = render_text("{title}", product, limit=2200)
    assert len(text) == 2200 and text.endswith("…")


@pytest.mark.parametrize(
    ("template", "said"),
    [
        ("{title} {sku}", "unknown placeholder {sku}"),
        ("{title:>10}", "takes no format"),
        ("{price!r}", "takes no format"),
        ("{title", "not valid"),
        ("{0}", "unknown placeholder {0}"),
        ("   ", "empty"),
    ],
)
def test_a_bad_template_says_what_is_wrong(template, said):
    assert said in (template_problem(template) or "")


def test_literal_braces_are_allowed():
    assert template_problem("{{new}} {title}") is None
    assert render_text("{{new}} {title}", MUG) == "{new} Enamel Mug"


# ------------------------------------------------------------------ quiet hours
@pytest.mark.parametrize(
    ("now", "until"),
    [
        # 21:00-08:00 Paris (UTC+1 in December): 22:30 local -> 08:00 the next morning, local.
        (datetime(2026, 12, 6, 21, 30, tzinfo=UTC), datetime(2026, 12, 7, 7, 0, tzinfo=UTC)),
        # 02:00 local, after midnight -> 08:00 the same morning.
        (datetime(2026, 12, 7, 1, 0, tzinfo=UTC), datetime(2026, 12, 7, 7, 0, tzinfo=UTC)),
        # 21:00 local exactly is quiet; 08:00 local exactly is not.
        (datetime(2026, 12, 6, 20, 0, tzinfo=UTC), datetime(2026, 12, 7, 7, 0, tzinfo=UTC)),
        (datetime(2026, 12, 7, 7, 0, tzinfo=UTC), None),
        (datetime(2026, 12, 7, 12, 0, tzinfo=UTC), None),
    ],
)
def test_quiet_hours_across_midnight(now, until):
    assert quiet_until(now, "21:00", "08:00", PARIS) == until


def test_quiet_hours_within_one_day():
    # 12:00-14:00 New York (UTC-5): 17:30 UTC is 12:30 local -> 14:00 local, 19:00 UTC.
    assert quiet_until(datetime(2026, 12, 6, 17, 30, tzinfo=UTC), "12:00", "14:00", NEW_YORK) == datetime(
        2026, 12, 6, 19, 0, tzinfo=UTC
    )
    assert quiet_until(datetime(2026, 12, 6, 16, 59, tzinfo=UTC), "12:00", "14:00", NEW_YORK) is None


def test_quiet_hours_end_on_the_wall_clock_across_a_daylight_saving_change():
    # Paris moves to summer time on 2027-03-28 at 02:00: 08:00 local that morning is 06:00 UTC.
    assert quiet_until(datetime(2027, 3, 27, 22, 0, tzinfo=UTC), "21:00", "08:00", PARIS) == datetime(
        2027, 3, 28, 6, 0, tzinfo=UTC
    )


def test_the_cap_counts_in_the_shops_day():
    late = datetime(2026, 12, 6, 23, 30, tzinfo=UTC)
    assert posting_day(late, PARIS) == "2026-12-07"
    assert posting_day(late, NEW_YORK) == "2026-12-06"


# ------------------------------------------------------------------ back in stock
@pytest.mark.parametrize(
    ("available", "previous", "total", "restocked"),
    [
        (5, 0, 5, True),  # nothing anywhere, 5 arrive
        (3, -2, 3, True),  # oversold location comes back above 0
        (5, 0, 12, False),  # other locations had 7 already
        (4, 5, 4, False),  # a fall
        (0, -3, 0, False),  # still none
        (2, None, None, True),  # no total: the location decides
        (2, 1, None, False),
    ],
)
def test_back_in_stock_is_the_sku_rising_from_zero(available, previous, total, restocked):
    assert back_in_stock(available, previous, total) is restocked


# ------------------------------------------------------------------ once per product and event
def test_a_new_product_is_one_occasion_ever_and_a_restock_one_per_local_day():
    at = datetime(2026, 12, 6, 23, 30, tzinfo=UTC)
    new = SocialDue.for_event(SocialTrigger.NEW_PRODUCT, MUG, "shopify", at, PARIS)
    assert new.post_key("facebook") == "new_product:shopify:8123:new:facebook"
    restock = SocialDue.for_event(SocialTrigger.BACK_IN_STOCK, MUG, "shopify", at, PARIS)
    assert restock.post_key("pinterest") == "back_in_stock:shopify:8123:2026-12-07:pinterest"
    assert len(restock.schedule_name) <= 64 and restock.schedule_name.startswith("social-back_in_stock-")


def test_a_due_survives_its_schedule_payload():
    from hub.marketing.scheduled import SocialDueBody

    due = SocialDue.for_event(SocialTrigger.NEW_PRODUCT, MUG, "shopify", datetime(2026, 12, 6, tzinfo=UTC), PARIS)
    assert SocialDueBody.model_validate(due.to_payload()).due() == due


# ------------------------------------------------------------------ configuration
BASE = "locations: [{id: wh, country: FR}]\nmarketing:\n  sender: shop@example.com\n  social:\n"


def social(text: str):
    return parse_config(BASE + text).marketing.social  # type: ignore[union-attr]


def test_social_is_off_unless_configured():
    assert parse_config(BASE.replace("  social:\n", "")).marketing.social is None  # type: ignore[union-attr]


def test_a_full_section_reads():
    config = social(
        "    facebook: {page_id: 104918374651234}\n"
        "    instagram: {ig_user_id: '17841405822304914'}\n"
        "    pinterest: {board_id: '549755885175'}\n"
        "    rules: {new_product: {}, back_in_stock: {template: 'Back: {title} {link}'}}\n"
        "    quiet_hours: {start: 21:00, end: 08:00}\n"  # unquoted: YAML 1.1 sexagesimal numbers
        "    timezone: Europe/Paris\n"
        "    max_posts_per_day: 2\n"
    )
    assert config.networks() == ("facebook", "instagram", "pinterest")
    assert config.facebook.page_id == "104918374651234" and config.facebook.api_version == "v25.0"
    assert (config.quiet_hours.start, config.quiet_hours.end) == ("21:00", "08:00")
    assert config.template_for("back_in_stock") == "Back: {title} {link}"
    assert config.template_for("new_product") == "{title} — {price} {link}"
    assert config.rules.active("new_product") and config.rules.active("back_in_stock")


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("    facebook: {page_id: 1, token: x}\n", "marketing.social.facebook.token"),
        ("    facebook: {page_id: 1}\n    posts_per_day: 3\n", "marketing.social.posts_per_day"),
        ("    rules: {new_product: {}}\n", "at least one of facebook, instagram, pinterest"),
        ("    facebook: {page_id: 1}\n    template: '{title} {url}'\n", "unknown placeholder {url}"),
        ("    facebook: {page_id: 1}\n    rules: {back_in_stock: {template: '{price:.2f}'}}\n", "takes no format"),
        ("    facebook: {page_id: 1}\n    timezone: Mars/Olympus\n", "not an IANA time zone"),
        ("    facebook: {page_id: 1}\n    quiet_hours: {start: '25:00', end: '08:00'}\n", "HH:MM"),
        ("    facebook: {page_id: 1}\n    quiet_hours: {start: '08:00', end: '08:00'}\n", "the same time"),
        ("    facebook: {page_id: 1, api_url: 'http://graph.example'}\n", "must be https://"),
        ("    pinterest: {board_id: 'a b'}\n", "marketing.social.pinterest.board_id"),
        ("    facebook: {page_id: 1}\n    max_posts_per_day: 0\n", "max_posts_per_day"),
    ],
)
def test_bad_configuration_names_the_key_and_the_problem(text, said):
    with pytest.raises(ConfigError) as caught:
        social(text)
    assert said in str(caught.value)
