"""Marketing rules, pure: which status schedules what and what it cancels, deterministic names, the
skip rules when a message comes due, the frequency window and co-purchase suggestions."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from hub.config import parse_config
from hub.domain.marketing_rules import (
    Due,
    Situation,
    Trigger,
    admit,
    co_purchase_pairs,
    for_checkout,
    for_order_placed,
    for_status,
    order_schedule_names,
    skip_reason,
    suggest,
)
from hub.errors import ConfigError
from hub.marketing.scheduled import DueBody
from hub.marketing.unsubscribe import sign, unsubscribe_link, verify
from pydantic import ValidationError

from tests.marketing_fakes import MARKETING_YAML, T0, config

RULES = config().marketing.rules
NAME = re.compile(r"^[0-9A-Za-z_.-]{1,64}$")


def test_payment_schedules_the_follow_up_for_when_delivery_stays_unknown():
    plan = for_status(RULES, "shopify:1", "shopify", "paid", T0, "ck_1")
    [due] = plan.schedule
    assert (due.trigger, due.basis, due.subject_id, due.customer) == (
        Trigger.POST_PURCHASE,
        "paid",
        "shopify:1",
        "ck_1",
    )
    assert due.due_at == T0 + timedelta(days=14)
    assert plan.cancel == ()


def test_delivery_replaces_the_payment_follow_up_and_asks_for_a_review():
    paid = for_status(RULES, "shopify:1", "shopify", "paid", T0).schedule[0]
    plan = for_status(RULES, "shopify:1", "shopify", "delivered", T0 + timedelta(days=3))
    follow_up, review = plan.schedule
    assert (follow_up.trigger, follow_up.basis) == (Trigger.POST_PURCHASE, "delivered")
    assert follow_up.due_at == T0 + timedelta(days=10)
    assert (review.trigger, review.due_at) == (Trigger.REVIEW_REQUEST, T0 + timedelta(days=13))
    assert plan.cancel == (paid.schedule_name,)
    # One message either way: both bases share the message key, so once-only covers them together.
    assert follow_up.message_key == paid.message_key
    assert follow_up.schedule_name != paid.schedule_name


@pytest.mark.parametrize("status", ["cancelled", "refunded"])
def test_a_cancelled_or_refunded_order_cancels_its_follow_up_and_review_but_not_the_win_back(status):
    plan = for_status(RULES, "shopify:1", "shopify", status, T0)
    assert plan.schedule == ()
    win_back = for_order_placed(RULES, "shopify:1", "shopify", T0, None, None).schedule[0].schedule_name
    assert set(plan.cancel) == set(order_schedule_names("shopify:1")) - {win_back}
    assert len(order_schedule_names("shopify:1")) == 4


def test_disabled_rules_schedule_nothing():
    rules = config(MARKETING_YAML.replace("post_purchase: {", "post_purchase: {enabled: false, ")).marketing.rules
    assert for_status(rules, "shopify:1", "shopify", "paid", T0).schedule == ()
    assert [d.trigger for d in for_status(rules, "shopify:1", "shopify", "delivered", T0).schedule] == [
        Trigger.REVIEW_REQUEST
    ]
    unlisted = parse_config("locations: [{id: a, country: US}]\nmarketing: {sender: a@b.example}").marketing.rules
    assert not any(unlisted.active(t.value) for t in Trigger)


def test_a_newer_order_moves_the_win_back_and_cancels_the_previous_one():
    plan = for_order_placed(RULES, "shopify:2", "shopify", T0, "ck_1", previous_order="shopify:1")
    [due] = plan.schedule
    assert (due.trigger, due.due_at) == (Trigger.WIN_BACK, T0 + timedelta(days=90))
    previous = for_order_placed(RULES, "shopify:1", "shopify", T0, "ck_1", None).schedule[0]
    assert plan.cancel == (previous.schedule_name,)


@pytest.mark.parametrize(
    ("field", "value"),
    [("trigger", "birthday"), ("subject_kind", "customer"), ("due_at", "next tuesday"), ("surprise", "1")],
)
def test_a_scheduled_message_with_a_field_the_rules_do_not_know_is_refused(field: str, value: str):
    payload = Due(Trigger.WIN_BACK, "order", "shopify:1", "placed", "shopify", T0).to_payload()
    payload["marketing_due"][field] = value
    with pytest.raises(ValidationError):
        DueBody.model_validate(payload)


def test_abandoned_checkout_is_due_hours_after_the_start():
    due = for_checkout(RULES, "shopify:tok", "shopify", T0, "ck_1")
    assert due is not None and due.due_at == T0 + timedelta(hours=4) and due.subject_kind == "checkout"


def test_names_are_deterministic_valid_scheduler_names_and_payloads_round_trip():
    due = Due(Trigger.ABANDONED_CHECKOUT, "checkout", "shopify:" + "x" * 200, "started", "shopify", T0, "ck_1")
    again = Due(Trigger.ABANDONED_CHECKOUT, "checkout", "shopify:" + "x" * 200, "started", "other", T0 + timedelta(1))
    assert due.schedule_name == again.schedule_name  # the subject names it, not when or where
    assert NAME.match(due.schedule_name)
    # What the schedule's Input carries (hub.adapters.scheduler) reads back as the same Due.
    assert DueBody.model_validate_json(json.dumps(due.to_payload(), sort_keys=True)).due() == due
    stock = Due(Trigger.BACK_IN_STOCK, "order", "shopify:1", "restocked", "shopify", T0, None, "MUG")
    assert stock.message_key == "back_in_stock:order:shopify:1:MUG"
    assert NAME.match(stock.schedule_name)


@pytest.mark.parametrize(
    ("trigger", "basis", "situation", "reason"),
    [
        (Trigger.POST_PURCHASE, "paid", Situation(order_status="paid"), None),
        (Trigger.POST_PURCHASE, "paid", Situation(order_status="shipped"), None),
        (Trigger.POST_PURCHASE, "paid", Situation(order_status="delivered", delivered=True), "delivered_since"),
        (Trigger.POST_PURCHASE, "delivered", Situation(order_status="delivered", delivered=True), None),
        (Trigger.POST_PURCHASE, "delivered", Situation(order_status="refunded"), "order_refunded"),
        (Trigger.POST_PURCHASE, "paid", Situation(order_status="cancelled"), "order_cancelled"),
        (Trigger.POST_PURCHASE, "paid", Situation(order_status="on_hold"), "order_on_hold"),
        (Trigger.POST_PURCHASE, "paid", Situation(), "no_order"),
        (Trigger.REVIEW_REQUEST, "delivered", Situation(order_status="partially_refunded", delivered=True), None),
        (Trigger.REVIEW_REQUEST, "delivered", Situation(order_status="refunded"), "order_refunded"),
        (Trigger.WIN_BACK, "placed", Situation(order_status="delivered"), None),
        (Trigger.WIN_BACK, "placed", Situation(order_status="delivered", newer_order=True), "ordered_since"),
        (Trigger.BACK_IN_STOCK, "restocked", Situation(order_status="on_hold"), None),
        (Trigger.BACK_IN_STOCK, "restocked", Situation(order_status="cancelled"), None),
        (Trigger.BACK_IN_STOCK, "restocked", Situation(order_status="fulfilling"), "order_went_ahead"),
    ],
)
def test_order_messages_skip_when_they_no_longer_apply(trigger, basis, situation, reason):
    due = Due(
        trigger, "order", "shopify:1", basis, "shopify", T0, sku="MUG" if trigger is Trigger.BACK_IN_STOCK else None
    )
    assert skip_reason(due, situation) == reason


@pytest.mark.parametrize(
    ("situation", "reason"),
    [
        (Situation(), None),
        (Situation(checkout_converted=True), "checkout_converted"),
        (Situation(ordered_since=True), "ordered_since"),
    ],
)
def test_an_abandoned_checkout_reminder_skips_a_converted_checkout(situation, reason):
    due = Due(Trigger.ABANDONED_CHECKOUT, "checkout", "shopify:tok", "started", "shopify", T0)
    assert skip_reason(due, situation) == reason


def test_the_frequency_window_slides_and_never_counts_a_retry_twice():
    now, day = 10_000_000, 86400
    allowed, window = admit({}, "a", now, 2, 7)
    allowed_b, window = admit(window, "b", now + day, 2, 7)
    assert allowed and allowed_b and window == {"a": now, "b": now + day}
    assert admit(window, "c", now + 2 * day, 2, 7) == (False, window)
    assert admit(window, "a", now + 2 * day, 2, 7) == (True, window)  # a retry of a counted message
    # Seven days after "a", it leaves the window and "c" fits.
    allowed, window = admit(window, "c", now + 7 * day, 2, 7)
    assert allowed and window == {"b": now + day, "c": now + 7 * day}


def test_co_purchases_pair_every_distinct_sku_both_ways_and_suggest_what_others_bought():
    assert co_purchase_pairs(["B", "A", "A"]) == [("A", "B"), ("B", "A")]
    assert co_purchase_pairs(["A"]) == []
    assert len(co_purchase_pairs([f"S{i:02}" for i in range(20)])) == 9 * 8
    counts = {"MUG": {"TEE": 3, "CAP": 5, "SOCKS": 1}, "TEE": {"MUG": 3, "CAP": 2, "BAG": 6}}
    assert suggest(["MUG"], counts, 2) == ["CAP", "TEE"]
    assert suggest(["MUG", "TEE"], counts, 3) == ["CAP", "BAG", "SOCKS"]  # CAP 5+2, BAG 6, SOCKS 1
    assert suggest(["MUG"], {"MUG": {"B": 2, "A": 2}}, 2) == ["A", "B"]  # ties: the SKU that sorts first
    assert suggest(["MUG", "TEE"], counts, 0) == []
    assert suggest(["NEW"], counts, 3) == []


def test_unsubscribe_tokens_name_the_customer_and_verify_only_with_the_secret():
    key = "ck_" + "ab" * 20
    token = sign(key, "s1")
    assert "@" not in token and verify(token, ["s1"]) == key
    assert verify(token, ["old", "s1"]) == key  # rotation
    assert verify(token, ["s2"]) is None
    assert verify(token.replace("ck_ab", "ck_ac", 1), ["s1"]) is None
    assert verify("not-a-token", ["s1"]) is None
    assert unsubscribe_link("https://hub.example/unsubscribe", key, "s1") == (
        f"https://hub.example/unsubscribe?token={token}"
    )


@pytest.mark.parametrize(
    ("marketing", "message"),
    [
        ("{channels: [ses]}", "marketing.sender"),
        ("{channels: [mailchimp]}", "marketing.mailchimp.list_id"),
        ("{channels: [sms], sender: a@b.example}", "marketing.channels.0"),
        ("{channels: [ses, ses], sender: a@b.example}", "each channel may be listed once"),
        ("{sender: a@b.example, rules: {win_back: {days: 3}}}", "unknown key 'marketing.rules.win_back.days'"),
        ("{sender: a@b.example, surprise: 1}", "unknown key 'marketing.surprise'"),
        ("{sender: a@b.example, frequency_cap: {max_messages: 0}}", "marketing.frequency_cap.max_messages"),
    ],
)
def test_marketing_configuration_errors_name_the_key(marketing, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        parse_config(f"locations: [{{id: a, country: US}}]\nmarketing: {marketing}\n")


def test_marketing_is_off_without_its_section_and_several_channels_are_allowed():
    assert parse_config("locations: [{id: a, country: US}]").marketing is None
    marketing = parse_config(
        "locations: [{id: a, country: US}]\n"
        "marketing: {channels: [klaviyo, mailchimp], mailchimp: {list_id: 4f2a}, klaviyo: {revision: 2024-10-15}}"
    ).marketing
    assert marketing.channels == ["klaviyo", "mailchimp"]
    assert marketing.klaviyo_settings().revision == "2024-10-15"
    assert marketing.frequency_cap.max_messages == 3
