"""`any_match`: the one constant-time "does any candidate match" every source's check uses.

A test per way a check can fail, and one that the comparison does not stop at the first match
(an early exit would let the time taken tell which rotated secret matched).
"""

from __future__ import annotations

import hmac

import pytest
from hub.intake import signatures
from hub.intake.signatures import any_match


def test_a_value_equal_to_one_candidate_matches() -> None:
    assert any_match(["old-secret", "new-secret"], ["new-secret"])


def test_any_given_value_may_match_any_candidate() -> None:
    # Stripe sends several v1 signatures and BigCommerce several v1 values: one of them suffices.
    assert any_match([b"a", b"b"], [b"x", b"b", b"y"])


def test_a_value_equal_to_no_candidate_does_not_match() -> None:
    assert not any_match(["old-secret", "new-secret"], ["guess"])


def test_a_prefix_of_a_candidate_does_not_match() -> None:
    assert not any_match(["new-secret"], ["new-secre"])


def test_no_candidates_is_no_match() -> None:
    assert not any_match([], ["anything"])


def test_nothing_given_is_no_match() -> None:
    assert not any_match(["new-secret"], [])


def test_text_outside_ascii_is_a_mismatch_not_an_error() -> None:
    # hmac.compare_digest refuses str with non-ASCII characters; a forged header must not raise.
    assert not any_match(["secret"], ["sécret"])
    assert any_match(["sécret"], ["sécret"])


def test_text_and_bytes_compare_as_utf8() -> None:
    assert any_match([b"secret"], ["secret"])


@pytest.mark.parametrize("position", [0, 1, 2])
def test_every_pair_is_compared_wherever_the_match_is(monkeypatch: pytest.MonkeyPatch, position: int) -> None:
    calls: list[tuple[bytes, bytes]] = []
    compare = hmac.compare_digest

    def counting(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return compare(a, b)

    monkeypatch.setattr(signatures.hmac, "compare_digest", counting)
    candidates = [b"k0", b"k1", b"k2"]
    given = [b"nope", candidates[position]]

    assert any_match(candidates, given)
    assert len(calls) == len(candidates) * len(given)
