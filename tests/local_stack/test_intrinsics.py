"""Intrinsic functions resolve as CloudFormation resolves them, for the template and in general."""

from __future__ import annotations

from typing import Any

import pytest

from commerce_hub.local.functions import function_specs
from commerce_hub.local.intrinsics import Resolver, UnresolvableError, references
from commerce_hub.local.template import SamTemplate

from .conftest import ENDPOINT, SECRETS_PREFIX, make_resolver


class FakeResources:
    refs = {"Queue": "http://127.0.0.1:4566/123456789012/orders", "Bus": "hub-bus"}
    attributes = {("Queue", "Arn"): "arn:aws:sqs:us-east-1:123456789012:orders", ("Bus", "Name"): "hub-bus"}

    def ref(self, logical_id: str) -> Any:
        if logical_id not in self.refs:
            raise UnresolvableError(f"{logical_id!r} is not a parameter or resource of the template")
        return self.refs[logical_id]

    def get_att(self, logical_id: str, attribute: str) -> Any:
        return self.attributes[(logical_id, attribute)]


def resolver(**parameters: Any) -> Resolver:
    return Resolver(
        parameters={"Stage": "dev", "Retention": "30", "Topic": "", **parameters},
        resources=FakeResources(),
        conditions={
            "IsProd": {"Fn::Equals": [{"Ref": "Stage"}, "prod"]},
            "HasTopic": {"Fn::Not": [{"Fn::Equals": [{"Ref": "Topic"}, ""]}]},
            "ProdWithTopic": {"Fn::And": [{"Condition": "IsProd"}, {"Condition": "HasTopic"}]},
            "ProdOrTopic": {"Fn::Or": [{"Condition": "IsProd"}, {"Condition": "HasTopic"}]},
        },
        mappings={"Sizes": {"dev": {"Memory": 256}}},
    )


@pytest.mark.parametrize(
    ("node", "expected"),
    [
        ({"Ref": "Stage"}, "dev"),
        ({"Ref": "AWS::Region"}, "us-east-1"),
        ({"Ref": "AWS::AccountId"}, "123456789012"),
        ({"Ref": "Queue"}, "http://127.0.0.1:4566/123456789012/orders"),
        ({"Fn::GetAtt": ["Queue", "Arn"]}, "arn:aws:sqs:us-east-1:123456789012:orders"),
        ({"Fn::GetAtt": "Bus.Name"}, "hub-bus"),
        ({"Fn::Sub": "hub-${Stage}"}, "hub-dev"),
        ({"Fn::Sub": "${Queue.Arn}/x"}, "arn:aws:sqs:us-east-1:123456789012:orders/x"),
        ({"Fn::Sub": "q=${Queue},r=${AWS::Region}"}, "q=http://127.0.0.1:4566/123456789012/orders,r=us-east-1"),
        ({"Fn::Sub": "${!Literal}-${Stage}"}, "${Literal}-dev"),
        ({"Fn::Sub": ["${a}-${Stage}", {"a": {"Ref": "Bus"}}]}, "hub-bus-dev"),
        ({"Fn::If": ["IsProd", "INFO", "DEBUG"]}, "DEBUG"),
        ({"Fn::If": ["ProdOrTopic", 1, 2]}, 2),
        ({"Fn::Select": [1, {"Fn::Split": ["/", "/commerce-hub/local/config"]}]}, "commerce-hub"),
        ({"Fn::Select": ["0", ["a", "b"]]}, "a"),
        ({"Fn::Join": [",", ["a", {"Ref": "Stage"}, 3]]}, "a,dev,3"),
        ({"Fn::FindInMap": ["Sizes", {"Ref": "Stage"}, "Memory"]}, 256),
        ({"Fn::Base64": "hi"}, "aGk="),
        ({"Fn::Equals": [{"Ref": "Retention"}, 30]}, True),
    ],
)
def test_resolves(node: Any, expected: Any) -> None:
    assert resolver().resolve(node) == expected


def test_conditions_follow_parameters() -> None:
    prod = resolver(Stage="prod", Topic="arn:aws:sns:us-east-1:123456789012:alarms")
    assert prod.resolve({"Fn::If": ["ProdWithTopic", "yes", "no"]}) == "yes"
    assert resolver().resolve({"Fn::If": ["ProdWithTopic", "yes", "no"]}) == "no"


def test_no_value_removes_the_property_and_the_list_item() -> None:
    node = {
        "Keep": 1,
        "Drop": {"Fn::If": ["IsProd", "x", {"Ref": "AWS::NoValue"}]},
        "List": ["a", {"Fn::If": ["IsProd", "b", {"Ref": "AWS::NoValue"}]}],
    }
    assert resolver().resolve(node) == {"Keep": 1, "List": ["a"]}


def test_a_condition_key_inside_a_policy_statement_is_left_alone() -> None:
    statement = {"Condition": {"ArnEquals": {"aws:SourceArn": {"Ref": "Bus"}}}}
    assert resolver().resolve(statement) == {"Condition": {"ArnEquals": {"aws:SourceArn": "hub-bus"}}}


@pytest.mark.parametrize(
    ("node", "message"),
    [
        ({"Ref": "Missing"}, "'Missing' is not a parameter or resource"),
        ({"Fn::ImportValue": "x"}, "Fn::ImportValue is not supported"),
        ({"Fn::Split": ["/", "a/b", 2]}, r"Fn::Split needs exactly \[delimiter, string\]"),
        ({"Fn::If": ["Nope", 1, 2]}, "condition 'Nope' is not defined"),
        ({"Fn::Select": [5, ["a"]]}, "Fn::Select index 5"),
    ],
)
def test_unresolvable_fragments_name_the_problem(node: Any, message: str) -> None:
    with pytest.raises(UnresolvableError, match=message):
        resolver().resolve(node)


def test_references_lists_logical_ids_but_not_pseudo_parameters_or_sub_variables() -> None:
    node = {
        "a": {"Ref": "Queue"},
        "b": {"Fn::GetAtt": ["Bus", "Arn"]},
        "c": {"Fn::Sub": ["${Table}-${x}-${AWS::Region}-${!Not}-${Fn.Arn}", {"x": {"Ref": "Stage"}}]},
        "d": {"Ref": "AWS::NoValue"},
    }
    assert references(node) == {"Queue", "Bus", "Table", "Stage", "Fn"}


def test_the_template_functions_get_their_environment_resolved(template: SamTemplate) -> None:
    specs = function_specs(template, make_resolver(template))
    assert set(specs) == set(template.of_type("AWS::Lambda::Function"))
    secrets = {}
    for spec in specs.values():
        assert all(isinstance(v, str) for v in spec.environment.values())
        secrets.update({name: value for name, value in spec.environment.items() if name.startswith("HUB_SECRET_")})
        assert spec.environment["HUB_CONFIG_PARAMETER"] == "/commerce-hub/local/config"
        assert spec.environment["HUB_STAGE"] == "dev"
        assert spec.environment["POWERTOOLS_LOG_LEVEL"] == "DEBUG"  # Fn::If on IsProd, false locally
        assert spec.name.startswith("commerce-hub-") and spec.name.endswith("-dev")
        assert spec.arn == f"arn:aws:lambda:us-east-1:123456789012:function:{spec.name}"
        assert spec.code_folder.is_dir()
        assert [p.name for p in spec.layer_folders] == ["shared"]
        assert spec.log_group == f"/aws/lambda/{spec.name}"
    # Each function names its own secrets (template.yaml); every concern's is named by some function.
    assert secrets["HUB_SECRET_WEBHOOKS"] == f"{SECRETS_PREFIX}/webhooks"
    assert all(value.startswith(f"{SECRETS_PREFIX}/") for value in secrets.values())


def test_queue_refs_are_queue_urls_in_the_emulator(template: SamTemplate) -> None:
    resolver = make_resolver(template)
    url = resolver.resolve({"Ref": "StockQueue"})
    assert url == f"{ENDPOINT}/123456789012/commerce-hub-stock-dev"
    assert resolver.resolve({"Fn::GetAtt": ["StockQueue", "QueueName"]}) == "commerce-hub-stock-dev"
    assert resolver.resolve({"Fn::GetAtt": ["StockQueue", "Arn"]}).endswith(":commerce-hub-stock-dev")
    assert resolver.resolve({"Fn::GetAtt": ["HubBus", "Name"]}) == "commerce-hub-dev"
    assert resolver.resolve({"Fn::GetAtt": ["HubBus", "Arn"]}).endswith(":event-bus/commerce-hub-dev")


def test_get_att_of_an_unknown_attribute_is_an_error(template: SamTemplate) -> None:
    with pytest.raises(UnresolvableError, match=r"HubTable\.Nope"):
        make_resolver(template).resolve({"Fn::GetAtt": ["HubTable", "Nope"]})
