"""template.yaml translated: what the emulator creates, and where each function's code lives."""

from __future__ import annotations

from pathlib import Path

import pytest
from samtranslator.yaml_helper import yaml_parse

from commerce_hub.local.errors import LocalStackError
from commerce_hub.local.template import EMULATED_TYPES, SamTemplate, find_project_root, load_template

from .conftest import PARAMETERS, ROOT


def test_the_emulator_gets_exactly_the_resources_moto_creates(template: SamTemplate) -> None:
    emulated, warnings = template.emulator_template()
    assert warnings == []
    assert "Outputs" not in emulated and "Transform" not in emulated
    kinds = {r["Type"] for r in emulated["Resources"].values()}
    assert kinds <= EMULATED_TYPES
    assert not any("ScheduleExpression" in r.get("Properties", {}) for r in emulated["Resources"].values())
    source = yaml_parse((ROOT / "template.yaml").read_text())["Resources"]
    for logical_id, resource in source.items():
        if resource["Type"] in ("AWS::DynamoDB::Table", "AWS::SQS::Queue", "AWS::Events::EventBus"):
            assert logical_id in emulated["Resources"], logical_id


def test_code_folders_map_back_to_the_project(template: SamTemplate) -> None:
    for logical_id in template.of_type("AWS::Lambda::Function"):
        folder = template.code_folder(logical_id)
        assert folder.parent == ROOT / "functions"
    (layer,) = template.of_type("AWS::Lambda::LayerVersion")
    assert template.layer_python_folder(layer) == ROOT / "layers" / "shared"


def test_the_project_root_is_found_from_a_subfolder() -> None:
    assert find_project_root(ROOT / "functions") == ROOT


def test_no_template_anywhere_up_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(LocalStackError, match=r"no template\.yaml"):
        find_project_root(tmp_path)


SMALL = """
Transform: AWS::Serverless-2016-10-31
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: {code}
      Handler: app.handler
      Runtime: python3.12
      Events:
        FromBus:
          Type: EventBridgeRule
          Properties:
            Pattern: {{source: [x]}}
  Table:
    Type: AWS::DynamoDB::Table
    Properties:
      AttributeDefinitions: [{{AttributeName: id, AttributeType: S}}]
      KeySchema: [{{AttributeName: id, KeyType: HASH}}]
      BillingMode: PAY_PER_REQUEST
"""


def test_a_rule_that_targets_a_function_directly_is_left_out_with_a_warning(tmp_path: Path) -> None:
    (tmp_path / "fn").mkdir()
    (tmp_path / "template.yaml").write_text(SMALL.format(code="fn/"))
    emulated, warnings = load_template(tmp_path, {}, region="us-east-1").emulator_template()
    assert "Table" in emulated["Resources"]
    (rule,) = [r for r in emulated["Resources"].values() if r["Type"] == "AWS::Events::Rule"]
    assert rule["Properties"]["Targets"] == []
    assert len(warnings) == 1 and "through a queue" in warnings[0]


def test_a_missing_code_folder_is_named(tmp_path: Path) -> None:
    (tmp_path / "template.yaml").write_text(SMALL.format(code="nowhere/"))
    with pytest.raises(LocalStackError, match="Fn: code folder 'nowhere/' does not exist"):
        load_template(tmp_path, PARAMETERS, region="us-east-1")


def test_the_consoles_routes_come_from_the_template_without_an_authorizer(template: SamTemplate) -> None:
    """GET /console and ANY /console/{proxy+}: the greedy ANY route takes every page and method, and
    the local gateway asks no bearer token for them (the console signs its visitors in itself)."""
    from commerce_hub.local.apigw import match_route, routes_from_openapi

    routes = [
        route
        for api in template.of_type("AWS::ApiGatewayV2::Api").values()
        for route in routes_from_openapi(api["Properties"]["Body"], template.function_of)
    ]
    console = {r.key: r for r in routes if r.function == "ConsoleFunction"}
    assert set(console) == {"GET /console", "ANY /console/{proxy+}"}
    assert {r.authorization for r in console.values()} == {"NONE"}
    for method, path, key, parameters in (
        ("GET", "/console", "GET /console", {}),
        ("GET", "/console/", "ANY /console/{proxy+}", {"proxy": ""}),  # the design's /console/
        ("POST", "/console/login", "ANY /console/{proxy+}", {"proxy": "login"}),
        ("GET", "/console/orders/shopify:1", "ANY /console/{proxy+}", {"proxy": "orders/shopify:1"}),
    ):
        found = match_route(routes, method, path)
        assert found is not None and (found[0].key, found[1]) == (key, parameters), path
    admin = match_route(routes, "GET", "/orders")
    assert admin is not None and admin[0].function == "AdminApiFunction" and admin[0].authorization == "AWS_IAM"
