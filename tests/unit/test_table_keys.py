"""One list of partition key prefixes (hub.adapters.keys), mirrored by docs/architecture.md's state
table and covering every `dynamodb:LeadingKeys` condition of template.yaml."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hub.adapters.keys import FIXED_KEYS, ORDER, PARTITIONS, SKU, Prefix
from samtranslator.yaml_helper import yaml_parse

ROOT = Path(__file__).resolve().parents[2]


def _state_table(text: str) -> list[str]:
    """The pk column of the `## State` table."""
    section = text.split("\n## State\n", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    return [re.match(r"\| `([^`]+)`", row).group(1) for row in rows]  # type: ignore[union-attr]


def _documented(text: str) -> set[str]:
    return {pk.split("#", 1)[0] + "#" for pk in _state_table(text)}


def _leading_keys(template: dict) -> set[str]:
    found = set()
    for resource in template["Resources"].values():
        for policy in resource.get("Properties", {}).get("Policies", []) or []:
            for statement in policy.get("Statement", []) if isinstance(policy, dict) else []:
                condition = statement.get("Condition", {}).get("ForAllValues:StringLike", {})
                found.update(condition.get("dynamodb:LeadingKeys", []))
    return found


def _unknown_patterns(patterns: set[str]) -> list[str]:
    """Patterns that name no listed prefix: each is a fixed key, or `<stem>*` where the stem starts
    with a listed prefix (`PRIVACY#customer:*`) or begins some listed prefix (`MKT*`)."""
    unknown = []
    for pattern in sorted(patterns):
        if pattern in FIXED_KEYS:
            continue
        stem = pattern.removesuffix("*")
        if pattern.endswith("*") and any(stem.startswith(p) or p.startswith(stem) for p in PARTITIONS):
            continue
        unknown.append(pattern)
    return unknown


def test_a_prefix_builds_its_keys():
    assert ORDER("shopify:1") == "ORDER#shopify:1"
    assert SKU("A-1", "SHARD", "03") == "SKU#A-1#SHARD#03"
    assert "ORDER#shopify:1".removeprefix(ORDER) == "shopify:1"


def test_the_list_has_each_prefix_once():
    assert len(set(PARTITIONS)) == len(PARTITIONS)
    assert all(isinstance(p, Prefix) and p.endswith("#") and "#" not in p[:-1] for p in PARTITIONS)


def test_the_state_table_lists_exactly_the_prefixes():
    documented = _documented((ROOT / "docs" / "architecture.md").read_text())
    assert documented == set(PARTITIONS)


def test_a_prefix_missing_from_the_state_table_is_found():
    text = (ROOT / "docs" / "architecture.md").read_text()
    without = "\n".join(line for line in text.splitlines() if not line.startswith("| `SHIPMENT#"))
    assert set(PARTITIONS) - _documented(without) == {"SHIPMENT#"}


def test_every_leading_keys_condition_names_a_listed_prefix():
    template = yaml_parse((ROOT / "template.yaml").read_text())
    patterns = _leading_keys(template)
    assert patterns, "template.yaml has no LeadingKeys conditions: the parser above is wrong"
    assert _unknown_patterns(patterns) == []


@pytest.mark.parametrize("pattern", ["CART#*", "ORDERS", "SKUX#*"])
def test_a_leading_key_outside_the_list_is_found(pattern):
    assert _unknown_patterns({pattern, "ORDER#*"}) == [pattern]


def test_every_prefix_is_granted_to_some_function():
    """A prefix no function may touch is either dead or missing from template.yaml."""
    patterns = _leading_keys(yaml_parse((ROOT / "template.yaml").read_text()))
    stems = [p.removesuffix("*") for p in patterns if p.endswith("*")]
    assert [p for p in PARTITIONS if not any(p.startswith(stem) for stem in stems)] == []
