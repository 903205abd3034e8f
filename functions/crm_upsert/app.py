"""crm_upsert: customer profiles from order, payment, refund and customer events; the CRM push;
privacy requests. One SQS record at a time, then one CRM push for the customers the batch touched."""

from __future__ import annotations

from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.typing import LambdaContext
from hub.bootstrap import Sandbox
from hub.consumer import Outcome, SqsConsumer, metric_name
from hub.errors import HubError
from hub.events import HubEvent
from hub.observability import MetricUnit, logger, metrics

sandbox = Sandbox()


def handle(event: HubEvent, record: object) -> Outcome:
    handled = sandbox.customers.handle(event)
    message = f"customer event {handled.outcome}"
    touched = (record, handled.emails, handled.order_id, event.event_id)
    return Outcome(metric_name("Customer", handled.outcome), message, handled.detail, result=touched)


def push(results: list[tuple]) -> None:
    """Push the customers the batch's records touched; a customer whose push failed fails its records.
    Then announce the profiles that changed to ad_audiences (only when audiences are configured)."""
    touched = [result for status, result, _raw in results if status == "success" and result]
    orders: dict[str, set[str]] = {}
    causes: dict[str, set[str]] = {}
    for _record, emails, order_id, event_id in touched:
        for email in emails:
            orders.setdefault(email, set()).update([order_id] if order_id else [])
            causes.setdefault(email, set()).add(event_id)
    failures = sandbox.crm.push(list(orders), orders=orders)
    if failures:
        metrics.add_metric(name="CrmPushFailed", unit=MetricUnit.Count, value=len(failures))
    for record, emails, _order_id, _event_id in touched:
        error = next((failures[e] for e in sorted(emails) if e in failures), None)
        if error is not None:
            consumer.fail(record, error)
    try:
        sandbox.customers.announce(causes)
    except HubError as exc:
        for record, emails, _order_id, _event_id in touched:
            if emails and not any(e in failures for e in emails):
                consumer.fail(record, exc)


consumer = SqsConsumer(handle, payloads=lambda: sandbox.payloads, after_batch=push)


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> PartialItemFailureResponse:
    return consumer(event, context)
