"""template.yaml grants each function what its code calls, and nothing broader (tests/aws_calls.py).

The functional tests check every call they see against the template as it happens; here, without
moto, the other direction and the rules around it: every grant is used by some test (or explained),
each function reads only its own secrets, and the limits of docs/security.md are in place.
"""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
from hub.secrets import SECRET_KEYS, environment_variable
from samtranslator.yaml_helper import yaml_parse

from tests.aws_calls import NOT_RECORDED, AwsCall, Policies, function_folders, load_recorded

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = yaml_parse((ROOT / "template.yaml").read_text())
RESOURCES = TEMPLATE["Resources"]
FUNCTIONS = function_folders(RESOURCES)  # logical id -> folder
LOGICAL = {folder: logical for logical, folder in FUNCTIONS.items()}

# Secrets the stack creates itself (GenerateSecretString) rather than `commerce-hub secrets`.
STACK_SECRETS = {"console"}
# Which secrets each function may read (docs/security.md, Secrets per concern).
SECRETS_OF = {
    "webhook_intake": {"webhooks", "storefronts"},
    "resource_fetch": {"storefronts"},
    "channel_sync": {"storefronts"},
    "catalog_sync": {"storefronts"},
    "order_routing": {"storefronts", "carriers"},
    "crm_upsert": {"crm", "privacy"},
    "marketing_triggers": {"marketing", "unsubscribe", "privacy", "social"},
    "marketing_unsubscribe": {"unsubscribe"},
    "reporting": {"analytics", "privacy"},
    "stock_updates": set(),
    "payment_confirmation": set(),
    "admin_api": set(),
    # Its own secret, which the stack generates (ConsoleTokenSecret), not one `commerce-hub secrets` writes.
    "console": {"console"},
    "queue_health": set(),
    "reconciler": {"storefronts", "gateways"},
    "traffic_import": {"traffic"},
    "ad_audiences": {"audiences"},
}


def test_every_function_has_explicit_statements_only():
    policies = Policies(RESOURCES)  # raises on a SAM policy template or an unreadable resource
    assert set(policies.by_function) == set(SECRETS_OF)


def test_every_recorded_call_is_granted():
    recorded = load_recorded()
    assert recorded, "tests/functional/aws_calls.json is empty: record it (see tests/aws_calls.py)"
    calls = [AwsCall(f, action, resource, (key,) if key else None) for f, action, resource, key in recorded]
    assert Policies(RESOURCES).refused(calls) == []


def test_every_grant_is_used_by_a_test_or_explained():
    assert Policies(RESOURCES).unused(load_recorded(), NOT_RECORDED) == []


def test_explained_grants_are_still_granted():
    policies = Policies(RESOURCES)
    everywhere = {a for grants in policies.by_function.values() for grant in grants for a in grant.actions}
    for key in NOT_RECORDED:
        if isinstance(key, str):
            assert key in everywhere, f"NOT_RECORDED explains {key}, which no function is granted"
            continue
        function, action = key
        granted = {a for grant in policies.by_function[function] for a in grant.actions}
        granted |= {f"keys {p}" for grant in policies.by_function[function] for p in grant.leading_keys or ()}
        assert action in granted, f"NOT_RECORDED explains {function} {action}, which is no longer granted"


# ------------------------------------------------------------------ the checker can fail
def _without_action(function: str, action: str) -> dict:
    resources = copy.deepcopy(RESOURCES)
    for policy in resources[LOGICAL[function]]["Properties"]["Policies"]:
        for statement in policy["Statement"]:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            statement["Action"] = [a for a in actions if a != action] or ["none:Nothing"]
    return resources


def test_a_missing_grant_is_reported():
    """resource_fetch's backoff stretches the visibility; without the grant that silently failed in AWS."""
    call = AwsCall("resource_fetch", "sqs:ChangeMessageVisibility", "ResourceFetchQueue")
    assert Policies(RESOURCES).refused([call]) == []
    refused = Policies(_without_action("resource_fetch", "sqs:ChangeMessageVisibility")).refused([call])
    assert refused == ["resource_fetch calls sqs:ChangeMessageVisibility on ResourceFetchQueue"]


def test_a_key_outside_the_leading_keys_is_reported():
    inside = AwsCall("marketing_unsubscribe", "dynamodb:UpdateItem", "HubTable", ("MKTOPTOUT#abc",))
    outside = AwsCall("marketing_unsubscribe", "dynamodb:UpdateItem", "HubTable", ("ORDER#shopify:1",))
    assert Policies(RESOURCES).refused([inside, outside]) == [outside.describe()]


def test_a_call_on_another_resource_is_reported():
    call = AwsCall("marketing_unsubscribe", "secretsmanager:GetSecretValue", "SecretsPrefix/webhooks-abcdef")
    assert Policies(RESOURCES).refused([call]) == [call.describe()]


def test_a_grant_no_test_uses_is_reported():
    resources = copy.deepcopy(RESOURCES)
    resources["QueueHealthFunction"]["Properties"]["Policies"][0]["Statement"].append(
        {
            "Sid": "Extra",
            "Effect": "Allow",
            "Action": "sqs:PurgeQueue",
            "Resource": {"Fn::GetAtt": ["StockQueue", "Arn"]},
        }
    )
    assert Policies(resources).unused(load_recorded(), NOT_RECORDED) == [
        "queue_health is granted sqs:PurgeQueue on StockQueue (Extra) but no test uses it"
    ]


def test_a_key_prefix_no_test_uses_is_reported():
    resources = copy.deepcopy(RESOURCES)
    statement = resources["MarketingUnsubscribeFunction"]["Properties"]["Policies"][0]["Statement"][0]
    statement["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"].append("ORDER#*")
    assert Policies(resources).unused(load_recorded(), NOT_RECORDED) == [
        "marketing_unsubscribe is granted keys ORDER#* (RecordOptOuts) but no test uses them"
    ]


def test_a_sam_policy_template_is_refused():
    resources = copy.deepcopy(RESOURCES)
    resources["QueueHealthFunction"]["Properties"]["Policies"].append({"DynamoDBCrudPolicy": {"TableName": "x"}})
    with pytest.raises(ValueError, match="only explicit Statements"):
        Policies(resources)


# ------------------------------------------------------------------ secrets per concern
def _secret_grants(logical_id: str) -> set[str]:
    concerns = set()
    for policy in RESOURCES[logical_id]["Properties"].get("Policies", []):
        for statement in policy["Statement"]:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            if not any(a.startswith("secretsmanager:") for a in actions):
                continue
            assert actions == ["secretsmanager:GetSecretValue"], logical_id
            for resource in statement["Resource"]:
                text = resource["Fn::Sub"]
                assert text.startswith("arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:")
                assert text.endswith("-??????"), "a secret's ARN ends in six random characters, matched exactly"
                concerns.add(text.split("${SecretsPrefix}/", 1)[1].removesuffix("-??????"))
    return concerns


@pytest.mark.parametrize("folder", sorted(SECRETS_OF))
def test_each_function_may_read_only_its_own_secrets(folder):
    logical_id = LOGICAL[folder]
    assert _secret_grants(logical_id) == SECRETS_OF[folder]
    variables = RESOURCES[logical_id]["Properties"].get("Environment", {}).get("Variables", {})
    named = {name for name in variables if name.startswith("HUB_SECRET")}
    assert named == {environment_variable(concern) for concern in SECRETS_OF[folder]}
    for concern in SECRETS_OF[folder]:
        assert variables[environment_variable(concern)] == {"Fn::Sub": f"${{SecretsPrefix}}/{concern}"}


def test_no_secret_is_named_for_every_function():
    variables = TEMPLATE["Globals"]["Function"]["Environment"]["Variables"]
    assert not [name for name in variables if name.startswith("HUB_SECRET")]
    assert {c for concerns in SECRETS_OF.values() for c in concerns} == set(SECRET_KEYS) | STACK_SECRETS
    assert not STACK_SECRETS & set(SECRET_KEYS), "`commerce-hub secrets` would overwrite a generated secret"


# ------------------------------------------------------------------ limits
def test_public_functions_have_reserved_concurrency():
    for logical_id in ("WebhookIntakeFunction", "MarketingUnsubscribeFunction"):
        reserved = RESOURCES[logical_id]["Properties"]["ReservedConcurrentExecutions"]
        assert reserved["Fn::If"][0] == "ReservesConcurrency", logical_id
    assert TEMPLATE["Parameters"]["IntakeReservedConcurrency"]["Default"] == 50


MAPPINGS = {k: v for k, v in RESOURCES.items() if v["Type"] == "AWS::Lambda::EventSourceMapping"}


@pytest.mark.parametrize("name", sorted(MAPPINGS))
def test_every_queue_consumer_is_capped(name):
    cap = MAPPINGS[name]["Properties"]["ScalingConfig"]["MaximumConcurrency"]
    assert 2 <= cap <= 10, name


def test_every_consumer_polls_its_own_queue_only():
    for name, mapping in MAPPINGS.items():
        queue = mapping["Properties"]["EventSourceArn"]["Fn::GetAtt"][0]
        folder = FUNCTIONS[mapping["Properties"]["FunctionName"]["Ref"]]
        poll = [g for g in Policies(RESOURCES).by_function[folder] if "sqs:ReceiveMessage" in g.actions]
        assert [g.resources for g in poll] == [(queue,)], name


def test_the_consumers_caps_stay_under_what_intake_leaves_them():
    caps = [mapping["Properties"]["ScalingConfig"]["MaximumConcurrency"] for mapping in MAPPINGS.values()]
    assert len(caps) == 10
    # Lambda keeps 100 executions unreserved in every account: the consumers always fit in them.
    assert sum(caps) <= 100


def test_public_routes_are_throttled_each_on_its_own():
    api = RESOURCES["HubHttpApi"]["Properties"]
    routes = api["RouteSettings"]
    assert routes["POST /webhooks/{source}"] == {"ThrottlingBurstLimit": 200, "ThrottlingRateLimit": 100}
    for key in ("GET /unsubscribe", "POST /unsubscribe", "GET /webhooks/{source}"):
        assert routes[key]["ThrottlingRateLimit"] <= 10, key
    assert (
        api["DefaultRouteSettings"]["ThrottlingRateLimit"] <= routes["POST /webhooks/{source}"]["ThrottlingRateLimit"]
    )
