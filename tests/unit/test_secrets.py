"""How a configured secret value is read: one secret as given, or a JSON array during a rotation."""

import json
import random

import pytest
from hub.errors import SecretsError
from hub.secrets import SecretsProvider, secret_values

# The alphabet of WordPress's wp_generate_password($length, true, true), which WooCommerce uses for
# a new webhook's secret (wp-includes/pluggable.php): letters and digits, the special characters,
# and the extra special characters, which include ',' and ' '.
WP_ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789" + "!@#$%^&*()" + "-_ []{}<>~`+=,.;:/?|"
# A secret as a merchant may have one: generated, then edited in wp-admin (quotes and '&' too).
WOO_SECRET = "x7,Q a]b{\"c'd&e=f,g<h>`i ~j|k;l:m/n?o.p+q-r_s!t@u#v$w%"


def wp_generate_password(rng: random.Random, length: int = 50) -> str:
    return "".join(rng.choice(WP_ALPHABET) for _ in range(length))


def provider(value: object) -> SecretsProvider:
    return SecretsProvider(values={"WOOCOMMERCE_WEBHOOK_SECRET": value})  # type: ignore[dict-item]


def test_a_value_is_one_secret_with_its_commas_spaces_brackets_quotes_and_ampersands():
    assert provider(WOO_SECRET).candidates("WOOCOMMERCE_WEBHOOK_SECRET") == [WOO_SECRET]
    assert provider(WOO_SECRET).get("WOOCOMMERCE_WEBHOOK_SECRET") == WOO_SECRET


def test_generated_woocommerce_secrets_are_never_split():
    rng = random.Random(20260512)
    generated = [wp_generate_password(rng) for _ in range(200)]
    # About 4 in 10 hold a comma: the secrets the comma rule used to lock out.
    assert sum("," in s for s in generated) > 40
    for secret in generated:
        expected = [secret] if not secret.strip().startswith("[") else None
        if expected is None:  # a secret starting with '[' is written as a one-element array
            assert secret_values("K", json.dumps([secret])) == [secret]
        else:
            assert secret_values("K", secret) == expected


@pytest.mark.parametrize("secret", [" leading", "trailing ", "  both  ", "tab\tinside"])
def test_spaces_around_and_inside_a_secret_are_kept(secret):
    assert secret_values("K", secret) == [secret]


def test_line_breaks_around_a_value_are_dropped():
    # From `$(cat file)`-less pipes and editors; no vendor puts a line break in a secret.
    assert secret_values("K", "s3cret \n") == ["s3cret "]
    assert secret_values("K", '["a", "b"]\r\n') == ["a", "b"]


@pytest.mark.parametrize("value", [None, "", "\n", "   "])
def test_an_unset_or_blank_value_holds_no_secret(value):
    assert secret_values("K", value) == []


def test_a_json_array_is_a_rotation_oldest_first():
    value = json.dumps(["old-secret", WOO_SECRET])
    assert provider(value).candidates("WOOCOMMERCE_WEBHOOK_SECRET") == ["old-secret", WOO_SECRET]
    # What the hub signs or calls with during a rotation: the newest, the last.
    assert provider(value).get("WOOCOMMERCE_WEBHOOK_SECRET") == WOO_SECRET
    assert secret_values("K", '  ["a", "b"]') == ["a", "b"]


def test_a_real_json_array_in_the_secret_document_is_a_rotation_too():
    # In Secrets Manager the key's value may be the array itself rather than its text.
    assert provider(["old", "new"]).candidates("WOOCOMMERCE_WEBHOOK_SECRET") == ["old", "new"]


def test_a_comma_separated_value_is_one_secret_now():
    # The old rotation format: it is no longer split, so "a,b" verifies only a delivery signed with "a,b".
    assert secret_values("K", "old-secret,new-secret") == ["old-secret,new-secret"]


@pytest.mark.parametrize(
    "value",
    [
        "[not json, s3cret-value",
        '["unterminated", "s3cret-value"',
        "[]",
        '["s3cret-value", 42]',
        '["s3cret-value", ""]',
        '[["s3cret-value"]]',
        "[" * 100_000,
    ],
)
def test_a_malformed_array_is_an_error_naming_the_key_and_never_the_value(value):
    with pytest.raises(SecretsError, match="WOOCOMMERCE_WEBHOOK_SECRET starts with '\\[' but is not") as caught:
        provider(value).candidates("WOOCOMMERCE_WEBHOOK_SECRET")
    assert "s3cret-value" not in str(caught.value)
    assert "not json" not in str(caught.value)
