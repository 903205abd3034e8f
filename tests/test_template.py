"""template.yaml: linted by the tools AWS publishes, and held to the project's own rules."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from samtranslator.yaml_helper import yaml_parse

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = yaml_parse((ROOT / "template.yaml").read_text())
RESOURCES = TEMPLATE["Resources"]
BIN = Path(sys.executable).parent


def _tool(name: str) -> str:
    found = shutil.which(name, path=str(BIN)) or shutil.which(name)
    assert found, f"{name} is not installed; run make test, which installs it"
    return found


def _of_type(kind: str) -> dict:
    return {k: v for k, v in RESOURCES.items() if v["Type"] == kind}


def test_cfn_lint_passes_with_no_warnings():
    # `sam validate --lint` (run by make lint) is this same linter called through its API, with its
    # default rules and the same region, failing on any finding: the suite runs the linter once.
    result = subprocess.run([_tool("cfn-lint"), "template.yaml"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0 and result.stdout.strip() == "", result.stdout + result.stderr


def _watched(namespace: str, metric: str) -> list[dict]:
    """The dimensions ({name: value}) of every alarm's metric `namespace/metric`, plain or in metric math."""
    found = []
    for alarm in _of_type("AWS::CloudWatch::Alarm").values():
        props = alarm["Properties"]
        stats = [{**props, "Metric": props}] if "MetricName" in props else []
        stats += [query["MetricStat"] for query in props.get("Metrics", []) if "MetricStat" in query]
        for stat in stats:
            watched = stat["Metric"]
            if watched["Namespace"] == namespace and watched["MetricName"] == metric:
                found.append({d["Name"]: d["Value"] for d in watched.get("Dimensions", [])})
    return found


def test_every_consumer_queue_has_a_dead_letter_queue_with_an_alarm():
    queues = _of_type("AWS::SQS::Queue")
    consumers = {k: v for k, v in queues.items() if "RedrivePolicy" in v["Properties"]}
    dead_letters = set(queues) - set(consumers)
    assert consumers, "no consumer queues"
    for name, queue in consumers.items():
        target = queue["Properties"]["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
        assert target in dead_letters, f"{name} redrives to {target}, which is not a dead-letter queue"


def test_every_dead_letter_queue_has_an_alarm():
    queues = _of_type("AWS::SQS::Queue")
    dead_letters = {k for k, v in queues.items() if "RedrivePolicy" not in v["Properties"]}
    alarmed = {dims["QueueName"]["Fn::GetAtt"][0] for dims in _watched("AWS/SQS", "ApproximateNumberOfMessagesVisible")}
    assert dead_letters and dead_letters <= alarmed, f"no alarm on {sorted(dead_letters - alarmed)}"


def test_visibility_timeout_is_six_times_the_consumer_timeout():
    default = TEMPLATE["Globals"]["Function"]["Timeout"]
    mappings = _of_type("AWS::Lambda::EventSourceMapping")
    assert mappings, "no queue consumers"
    for name, mapping in mappings.items():
        props = mapping["Properties"]
        queue = props["EventSourceArn"]["Fn::GetAtt"][0]
        function = RESOURCES[props["FunctionName"]["Ref"]]
        timeout = function["Properties"].get("Timeout", default)
        assert RESOURCES[queue]["Properties"]["VisibilityTimeout"] >= 6 * timeout, name
        assert props["FunctionResponseTypes"] == ["ReportBatchItemFailures"], name


def test_queue_consumers_are_explicit_mappings_not_sam_sqs_events():
    """A SAM SQS event attaches AWSLambdaSQSQueueExecutionRole (every queue); mappings need no managed policy."""
    for name, fn in _of_type("AWS::Serverless::Function").items():
        assert all(source["Type"] != "SQS" for source in fn["Properties"].get("Events", {}).values()), name


@pytest.mark.parametrize("name", sorted(_of_type("AWS::Serverless::Function")))
def test_every_function_logs_to_its_own_group_with_retention(name):
    group = RESOURCES[name]["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]
    assert RESOURCES[group]["Type"] == "AWS::Logs::LogGroup"
    assert "RetentionInDays" in RESOURCES[group]["Properties"]
    assert (ROOT / RESOURCES[name]["Properties"]["CodeUri"] / "app.py").is_file()


def test_tables_keep_point_in_time_recovery_and_ttl():
    for name, table in _of_type("AWS::DynamoDB::Table").items():
        props = table["Properties"]
        assert props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"], name
        assert props["TimeToLiveSpecification"]["Enabled"], name


def _crm_rule_delivers(event: dict) -> bool:
    """Whether CrmRule's pattern, as the emulator's EventBridge (moto) evaluates it, delivers `event`."""
    import json

    from moto.events.models import EventPattern

    pattern = RESOURCES["CrmRule"]["Properties"]["EventPattern"]
    return EventPattern.load(json.dumps(pattern)).matches_event(event)


def test_crm_rule_delivers_exactly_the_status_changes_a_customer_summary_needs():
    from hub.domain.customers import status_tells_a_summary
    from hub.domain.orders import OrderStatus

    statuses = [s.value for s in OrderStatus]
    told = set()
    for previous in [None, *statuses]:
        for status in statuses:
            data = {"order_id": "shopify:1", "previous": previous, "status": status, "reserved": True}
            event = {"source": "commerce-hub.hub", "detail-type": "OrderStatusChanged", "detail": {"data": data}}
            assert _crm_rule_delivers(event) == status_tells_a_summary(previous, status), (previous, status)
            if status_tells_a_summary(previous, status):
                told.add((previous, status))
    # The moves a paid order makes after it was recorded paid reach crm_upsert no more; these do.
    assert ("paid", "fulfilling") not in told and ("shipped", "delivered") not in told and (None, "paid") not in told
    assert {("pending_payment", "paid"), ("on_hold", "fulfilling"), ("delivered", "refunded")} <= told
    assert {(None, "cancelled"), ("paid", "cancelled")} <= told


def test_crm_rule_delivers_every_other_event_crm_upsert_handles_and_claim_checked_status_changes():
    for detail_type in ["OrderPlaced", "OrderUpdated", "OrderPaid", "OrderCancelled", "RefundIssued",
                        "PaymentSucceeded", "PaymentRefunded", "CustomerUpserted", "CustomerRedactionRequested",
                        "CustomerDataRequested", "ShopRedactionRequested", "CustomerErased"]:  # fmt: skip
        assert _crm_rule_delivers({"source": "commerce-hub.shopify", "detail-type": detail_type, "detail": {}})
    checked = {"claim_check": {"bucket": "b", "key": "events/x.json", "bytes": 300000}}
    assert _crm_rule_delivers({"source": "commerce-hub.hub", "detail-type": "OrderStatusChanged", "detail": checked})
    assert not _crm_rule_delivers({"source": "commerce-hub.hub", "detail-type": "StockLevelChanged", "detail": {}})
    assert not _crm_rule_delivers({"source": "elsewhere", "detail-type": "OrderPlaced", "detail": {}})
