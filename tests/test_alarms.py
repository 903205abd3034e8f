"""template.yaml's alarms and dead letters: every failure that can lose or hold up an order reaches someone.

Checked on the template as written and, where SAM generates resources (a function's Schedule event
becomes a rule), on the template as the SAM transform translates it.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from samtranslator.yaml_helper import yaml_parse

from commerce_hub.local.template import load_template

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = yaml_parse((ROOT / "template.yaml").read_text())
RESOURCES = TEMPLATE["Resources"]
TOPIC = {"Fn::If": ["HasAlarmTopic", {"Ref": "AlarmTopicArn"}, {"Ref": "AlarmTopic"}]}


@pytest.fixture(scope="module")
def translated() -> dict:
    return load_template(ROOT, {"Stage": "dev"}, region="us-east-1").resources


def _of_type(resources: dict, kind: str) -> dict:
    return {k: v for k, v in resources.items() if v["Type"] == kind}


ALARMS = _of_type(RESOURCES, "AWS::CloudWatch::Alarm")
FUNCTIONS = sorted(_of_type(RESOURCES, "AWS::Serverless::Function"))


def _watched(alarm: dict) -> list[tuple[str, str, dict]]:
    """(namespace, metric, {dimension: value}) of each metric an alarm reads, plain or in metric math."""
    props = alarm["Properties"]
    metrics = [props] if "MetricName" in props else []
    metrics += [q["MetricStat"]["Metric"] for q in props.get("Metrics", []) if "MetricStat" in q]
    return [
        (m["Namespace"], m["MetricName"], {d["Name"]: d["Value"] for d in m.get("Dimensions", [])}) for m in metrics
    ]


def _alarms_on(namespace: str, metric: str) -> list[dict]:
    return [
        dims for alarm in ALARMS.values() for ns, name, dims in _watched(alarm) if (ns, name) == (namespace, metric)
    ]


@pytest.mark.parametrize("name", sorted(ALARMS))
def test_every_alarm_notifies_the_topic_when_it_fires_and_when_it_clears(name):
    props = ALARMS[name]["Properties"]
    assert props["AlarmActions"] == [TOPIC], name
    assert props["OKActions"] == [TOPIC], name
    # A quiet hour is not an incident; no action on INSUFFICIENT_DATA.
    assert props["TreatMissingData"] == "notBreaching", name
    assert "InsufficientDataActions" not in props, name
    assert props["AlarmName"]["Fn::Sub"].endswith("-${Stage}"), name


def test_the_stack_creates_an_encrypted_topic_unless_one_is_given_and_subscribes_the_email():
    conditions = TEMPLATE["Conditions"]
    assert conditions["CreatesAlarmTopic"] == {"Fn::Equals": [{"Ref": "AlarmTopicArn"}, ""]}
    assert conditions["HasAlarmTopic"] == {"Fn::Not": [conditions["CreatesAlarmTopic"]]}
    topic = RESOURCES["AlarmTopic"]
    assert topic["Type"] == "AWS::SNS::Topic" and topic["Condition"] == "CreatesAlarmTopic"
    assert topic["Properties"]["KmsMasterKeyId"] == {"Ref": "AlarmTopicKey"}
    key = RESOURCES["AlarmTopicKey"]
    assert key["Condition"] == "CreatesAlarmTopic" and key["Properties"]["EnableKeyRotation"]
    grants = {s["Principal"].get("Service"): s["Action"] for s in key["Properties"]["KeyPolicy"]["Statement"]}
    assert set(grants["cloudwatch.amazonaws.com"]) == {"kms:Decrypt", "kms:GenerateDataKey*"}
    subscription = RESOURCES["AlarmEmailSubscription"]
    assert subscription["Condition"] == "HasAlarmEmail"
    assert subscription["Properties"] == {"TopicArn": TOPIC, "Protocol": "email", "Endpoint": {"Ref": "AlarmEmail"}}
    assert TEMPLATE["Parameters"]["AlarmEmail"]["Default"] == ""
    assert TEMPLATE["Outputs"]["AlarmTopicArn"]["Value"] == TOPIC


@pytest.mark.parametrize("function", FUNCTIONS)
@pytest.mark.parametrize("metric", ["Errors", "Throttles"])
def test_every_function_has_an_errors_and_a_throttles_alarm(function, metric):
    assert {"FunctionName": {"Ref": function}} in _alarms_on("AWS/Lambda", metric)


def _rules(translated: dict) -> dict:
    return _of_type(translated, "AWS::Events::Rule")


def test_every_rule_has_a_failed_invocations_alarm(translated):
    rules = _rules(translated)
    assert len(rules) >= 9, sorted(rules)  # the eight queue rules and queue_health's schedule
    failed = _alarms_on("AWS/Events", "FailedInvocations")
    lost = _alarms_on("AWS/Events", "InvocationsFailedToBeSentToDlq")
    for logical_id, rule in rules.items():
        props = rule["Properties"]
        assert "Name" in props, f"{logical_id} needs a Name for its alarm's RuleName dimension"
        # A rule on the hub's bus reports with EventBusName and RuleName; the default bus's with RuleName only.
        expected = {"RuleName": props["Name"]}
        if "EventBusName" in props:
            expected["EventBusName"] = props["EventBusName"]
        assert expected in failed, f"{logical_id} has no FailedInvocations alarm"
        assert expected in lost, f"{logical_id} has no alarm on events it could not dead-letter"


def _queue_policy_statements(translated: dict) -> list[dict]:
    return [
        statement
        for policy in _of_type(translated, "AWS::SQS::QueuePolicy").values()
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]


def _allows_rule(statement: dict, dead_letter: dict, rule_id: str, rule: dict) -> bool:
    if statement.get("Principal") != {"Service": "events.amazonaws.com"} or statement["Action"] != "sqs:SendMessage":
        return False
    if statement["Resource"] != dead_letter:
        return False
    sources = statement["Condition"]["ArnEquals"]["aws:SourceArn"]
    sources = sources if isinstance(sources, list) else [sources]
    by_name = "rule/" + rule["Properties"]["Name"]["Fn::Sub"]
    return {"Fn::GetAtt": [rule_id, "Arn"]} in sources or any(by_name in s.get("Fn::Sub", "") for s in sources)


def test_every_rule_target_has_a_dead_letter_queue_it_may_send_to_and_a_retry_policy(translated):
    statements = _queue_policy_statements(translated)
    alarmed = {
        dims["QueueName"]["Fn::GetAtt"][0] for dims in _alarms_on("AWS/SQS", "ApproximateNumberOfMessagesVisible")
    }
    for rule_id, rule in _rules(translated).items():
        for target in rule["Properties"]["Targets"]:
            where = f"{rule_id} -> {target['Id']}"
            dead_letter = target["DeadLetterConfig"]["Arn"]
            queue = dead_letter["Fn::GetAtt"][0]
            assert translated[queue]["Type"] == "AWS::SQS::Queue", where
            assert queue in alarmed, f"{where}: its DLQ {queue} has no alarm"
            retry = target["RetryPolicy"]
            assert retry["MaximumRetryAttempts"] >= 1 and retry["MaximumEventAgeInSeconds"] >= 60, where
            # Scoped to this rule: no other rule (and no other account's) may write to the DLQ.
            assert any(_allows_rule(s, dead_letter, rule_id, rule) for s in statements), (
                f"{where}: no queue policy lets this rule send to {queue}"
            )


def test_a_queue_rule_dead_letters_to_its_own_queue_dlq_so_a_redrive_delivers_it():
    for rule_id, rule in _of_type(RESOURCES, "AWS::Events::Rule").items():
        for target in rule["Properties"]["Targets"]:
            queue = target["Arn"]["Fn::GetAtt"][0]
            redrive = RESOURCES[queue]["Properties"]["RedrivePolicy"]["deadLetterTargetArn"]
            assert target["DeadLetterConfig"]["Arn"] == redrive, rule_id


def test_every_scheduler_schedule_target_has_a_dead_letter_queue_and_a_retry_policy(translated):
    """Schedules in the template; the ones created at run time (marketing) are checked by its adapter's tests."""
    for logical_id, schedule in _of_type(translated, "AWS::Scheduler::Schedule").items():
        target = schedule["Properties"]["Target"]
        assert "Arn" in target["DeadLetterConfig"], logical_id
        assert "MaximumRetryAttempts" in target["RetryPolicy"], logical_id
    for name, fn in _of_type(RESOURCES, "AWS::Serverless::Function").items():
        for event_id, event in fn["Properties"].get("Events", {}).items():
            if event["Type"] == "ScheduleV2":
                assert "Arn" in event["Properties"]["DeadLetterConfig"], f"{name}.{event_id}"
                assert "RetryPolicy" in event["Properties"], f"{name}.{event_id}"


def test_the_intake_alarms_watch_api_gateway_5xx_and_intakes_own_401_metric():
    (five_xx,) = _alarms_on("AWS/ApiGateway", "5xx")
    assert five_xx == {"ApiId": {"Ref": "HubHttpApi"}, "Stage": "$default"}
    assert _alarms_on("AWS/ApiGateway", "Count") == [five_xx]  # the share's denominator
    namespace = TEMPLATE["Globals"]["Function"]["Environment"]["Variables"]["POWERTOOLS_METRICS_NAMESPACE"]
    assert _alarms_on(namespace, "WebhookUnauthorized") == [{"service": "webhook_intake"}]
    intake = RESOURCES["WebhookIntakeFunction"]["Properties"]["Environment"]["Variables"]
    assert intake["POWERTOOLS_SERVICE_NAME"] == "webhook_intake"


def test_the_reconciled_missed_alarm_sums_every_channel_above_the_parameter():
    props = RESOURCES["ReconciledMissedAlarm"]["Properties"]
    (query,) = props["Metrics"]
    namespace = TEMPLATE["Globals"]["Function"]["Environment"]["Variables"]["POWERTOOLS_METRICS_NAMESPACE"]
    # The series each reconciler run emits (functions/reconciler, through hub.consumers.reconciler: its
    # service and reconciler dimensions), summed over every channel and gateway.
    assert namespace == "CommerceHub"
    assert query["Expression"] == "SELECT SUM(ReconcilePublished) FROM SCHEMA(CommerceHub, reconciler, service)"
    handler = (ROOT / "layers" / "shared" / "hub" / "consumers" / "reconciler.py").read_text()
    assert '"ReconcilePublished": result.published' in handler
    assert 'add_dimension(name="reconciler"' in handler
    assert props["Threshold"] == {"Ref": "ReconciledMissedAlarmThreshold"}
    assert props["ComparisonOperator"] == "GreaterThanThreshold"


def test_the_alarm_topic_key_lets_only_this_accounts_hub_alarms_use_it():
    (grant,) = [
        s
        for s in RESOURCES["AlarmTopicKey"]["Properties"]["KeyPolicy"]["Statement"]
        if s["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    ]
    assert grant["Condition"]["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
    pattern = grant["Condition"]["ArnLike"]["aws:SourceArn"]["Fn::Sub"]
    assert pattern.endswith(":alarm:commerce-hub-*")
    for name, alarm in ALARMS.items():
        assert alarm["Properties"]["AlarmName"]["Fn::Sub"].startswith("commerce-hub-"), name
