"""Meta's normalisation and hashing rules, against the published vectors (reference/webhooks.md §9)."""

from __future__ import annotations

import hashlib

import pytest
from hub.domain.customers import erasure_key
from hub.domain.pii import customer_key, hashed, normalise, split_name

PERSON_EMAIL_SHA256 = "542d240129883c019e106e3b1b2d3f3cb3537c43c425364de8e951d5a3083345"
UK_PHONE_SHA256 = "dc008fda46e2e64002cf2f82a4906236282d431c4f75e5b60bfe79fc48546383"


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def test_the_published_email_vector():
    assert normalise("em", "Person@Example.com") == "person@example.com"
    assert hashed("em", "Person@Example.com") == PERSON_EMAIL_SHA256
    # As the reference abbreviates it: 542d2401…3083345.
    assert PERSON_EMAIL_SHA256.startswith("542d2401") and PERSON_EMAIL_SHA256.endswith("3083345")


def test_the_published_phone_vector():
    assert normalise("ph", "+44 844 412 4653") == "448444124653"
    assert hashed("ph", "+44 844 412 4653") == UK_PHONE_SHA256
    assert UK_PHONE_SHA256.startswith("dc008fda")


@pytest.mark.parametrize(
    ("field", "raw", "normal"),
    [
        ("em", "  Person@Example.COM \n", "person@example.com"),
        ("ph", "0044 844 412 4653", "448444124653"),
        ("ph", "(415) 555-0123", "4155550123"),
        ("fn", " Mary-Ann ", "maryann"),
        ("fn", "Élodie", "élodie"),
        ("ln", "O'Brien.", "obrien"),
        ("ct", "New York", "newyork"),
        ("ct", "St. Louis", "stlouis"),
        ("st", "CA", "ca"),
        ("st", " n.y. ", "ny"),
        ("country", "US", "us"),
    ],
)
def test_each_field_is_normalised_by_its_rule(field, raw, normal):
    assert normalise(field, raw) == normal
    assert hashed(field, raw) == sha(normal)


@pytest.mark.parametrize(
    ("raw", "country", "normal"),
    [("94107-1234", "US", "94107"), ("94107", "us", "94107"), ("SW1A 1AA", "GB", "sw1a1aa"), ("10-115", "PL", "10115")],
)
def test_postal_codes_lose_spaces_and_dashes_and_us_keeps_five_digits(raw, country, normal):
    assert normalise("zp", raw, country=country) == normal


def test_nothing_to_hash_gives_none_and_a_hash_is_not_hashed_again():
    assert hashed("em", None) is None
    assert hashed("fn", " .. ") is None
    assert hashed("em", PERSON_EMAIL_SHA256) == PERSON_EMAIL_SHA256


def test_the_customer_key_is_the_salted_erasure_key_of_the_normalised_email():
    key = customer_key("Person@Example.com", "salt-a")
    assert key == erasure_key("person@example.com", "salt-a") and key.startswith("ck_")
    assert customer_key(" person@example.com", "salt-a") == customer_key("PERSON@example.com", "salt-a")
    assert customer_key("person@example.com", "salt-b") != key  # same email, another salt: another key
    assert PERSON_EMAIL_SHA256[:40] not in key  # not the bare hash Meta's published vector gives
    assert customer_key(key, "salt-b") == key  # a key is passed through as it is
    assert customer_key(None, "salt-a") is None and customer_key("  ", "salt-a") is None


def test_an_unsalted_hash_is_not_a_customer_key_and_a_missing_salt_is_refused():
    assert customer_key(PERSON_EMAIL_SHA256, "salt-a") is None
    with pytest.raises(ValueError, match="salt"):
        customer_key("person@example.com", "")


def test_names_split_into_first_and_last_word():
    assert split_name("Ada King Lovelace") == ("Ada", "Lovelace")
    assert split_name("Cher") == ("Cher", None)
    assert split_name(None) == (None, None)
