"""ad_audiences: Meta Custom Audiences and Google Ads Customer Match kept in step with segments of
consenting customers. From its queue: profiles that changed and erasures, batched into one call per
audience and direction; on its daily schedule: the customers whose segments time alone changed."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from hub.bootstrap import Sandbox
from hub.consumer import Outcome, SqsConsumer, metric_name
from hub.events import CustomerErased, CustomerProfileChanged, HubEvent
from hub.observability import MetricUnit, logger, metrics
from hub.services.audiences import Synced

sandbox = Sandbox()


def handle(event: HubEvent, record: object) -> Outcome:
    if isinstance(event, CustomerProfileChanged):
        return Outcome(None, "profile changed", result=(record, "profile", event.data.email))
    if isinstance(event, CustomerErased) and event.data.erasure_key:
        return Outcome(None, "customer erased", result=(record, "erased", event.data.erasure_key))
    return Outcome(metric_name("Audience", "ignored"), "nothing for the audiences")


def _count(synced: Synced) -> None:
    for name, customers in synced.sent.items():
        metrics.add_metric(name="AudienceMembersSent", unit=MetricUnit.Count, value=customers)
        logger.info("audience updated", extra={"audience": name, "customers": customers})
    if synced.recorded:
        metrics.add_metric(name="AudienceRecordsWritten", unit=MetricUnit.Count, value=synced.recorded)
    if synced.failed:
        metrics.add_metric(name="AudienceCustomersFailed", unit=MetricUnit.Count, value=len(synced.failed))


def sync(results: list[tuple]) -> None:
    """One sync for the batch's customers; a record whose customer's call failed fails alone."""
    touched = [result for status, result, _raw in results if status == "success" and result]
    emails = [value for _record, kind, value in touched if kind == "profile"]
    erased = [value for _record, kind, value in touched if kind == "erased"]
    if not touched:
        return
    synced = sandbox.audiences.sync(emails=emails, erased=erased)
    _count(synced)
    for record, kind, value in touched:
        key = synced.emails.get(value) if kind == "profile" else value
        error = synced.failed.get(key) if key else None
        if error is not None:
            consumer.fail(record, error)


consumer = SqsConsumer(handle, payloads=lambda: sandbox.payloads, after_batch=sync)


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> Any:
    if isinstance(event, dict) and "Records" in event:
        return consumer(event, context)
    # The daily schedule: a failure fails the invocation, which the schedule retries, then dead-letters.
    synced = sandbox.audiences.review()
    _count(synced)
    if synced.failed:
        raise next(iter(synced.failed.values()))
    return {"reviewed": synced.recorded + synced.unchanged, "recorded": synced.recorded, "sent": synced.sent}
