"""One SQS consumer, the same for every function a queue feeds: a record's way from SQS to its service.

For each record, `SqsConsumer`:
1. resolves a claim-checked event from the payload store (hub.claimcheck), so a handler always sees
   the whole event;
2. skips, with a debug line, an event the function does not handle (`accepts`);
3. appends the event's keys (`event_id`, `event_type`, and what `keys` adds) to every log line;
4. runs the function's `handle`, and counts and logs each `Outcome` it returns;
5. lets the failure of a record fail that record alone (ReportBatchItemFailures, hub.bus).
After the batch, it counts `RecordsFailed` (the records SQS will deliver again, then dead-letter).

One naming scheme for the counts: `metric_name("Payment", "already_paid")` is `PaymentAlreadyPaid`,
the area then the outcome in CamelCase. The names are the ones dashboards and alarms read
(docs/alarms.md): a function keeps a table only where a name predates the scheme (stock_updates).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from aws_lambda_powertools.utilities.batch import EventType
from aws_lambda_powertools.utilities.batch.exceptions import UnexpectedBatchTypeError
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse

from hub.bus import HubBatchProcessor, HubBusEvent, HubSqsRecord
from hub.claimcheck import resolve
from hub.observability import MetricUnit, logger, metrics
from hub.ports import FailureLog, PayloadStore

__all__ = ["Outcome", "SqsConsumer", "event_keys", "metric_name"]


def metric_name(area: str, outcome: str) -> str:
    """`area` then `outcome` in CamelCase: ("Payment", "already_paid") -> "PaymentAlreadyPaid";
    an outcome already in CamelCase (an event type) is kept as it is."""
    return area + "".join(part[:1].upper() + part[1:] for part in outcome.split("_"))


@dataclass(frozen=True)
class Outcome:
    """What a record came to: counted once as `metric` (unless None) and logged as `message`.

    `result` is what the batch's records hand to `after_batch` (crm_upsert's customers to push)."""

    metric: str | None
    message: str
    extra: Mapping[str, Any] = field(default_factory=dict)
    result: Any = None


def event_keys(event: Any) -> dict[str, Any]:
    """The keys every log line of a hub event's record carries."""
    return {"event_id": event.event_id, "event_type": event.type}


Handled = Outcome | Iterable[Outcome] | None


class SqsConsumer:
    """`handle(message, record)` gets the resolved hub event (or, for a body that is not one, the
    parsed body: marketing_triggers' due messages) and the record, and returns what it came to."""

    def __init__(
        self,
        handle: Callable[[Any, Any], Handled],
        *,
        payloads: Callable[[], PayloadStore],
        model: type = HubSqsRecord,
        accepts: tuple[type, ...] | None = None,
        keys: Callable[[Any], Mapping[str, Any]] = lambda _message: {},
        before_batch: Callable[[dict, Any], None] | None = None,
        before_record: Callable[[], None] | None = None,
        after_batch: Callable[[list[tuple]], None] | None = None,
        failures: Callable[[], FailureLog] | None = None,
    ) -> None:
        where = {} if failures is None else {"failures": failures}
        self.processor = HubBatchProcessor(event_type=EventType.SQS, model=model, **where)
        self._handle = handle
        self._payloads = payloads
        self._accepts = accepts
        self._keys = keys
        self._before_batch = before_batch
        self._before_record = before_record
        self._after_batch = after_batch

    def __call__(self, event: dict, context: Any) -> PartialItemFailureResponse:
        records = event.get("Records") if isinstance(event, dict) else None
        if not records or not isinstance(records, list):
            raise UnexpectedBatchTypeError("the event is not an SQS batch: no list of Records")
        if self._before_batch is not None:
            self._before_batch(event, context)
        with self.processor(records=records, handler=self.record_handler, lambda_context=context):
            results = self.processor.process()
            if self._after_batch is not None:
                self._after_batch(results)
        response = self.processor.response()
        failed = len(response.get("batchItemFailures", []))
        if failed:
            metrics.add_metric(name="RecordsFailed", unit=MetricUnit.Count, value=failed)
        return response

    def record_handler(self, record: Any) -> Any:
        if self._before_record is not None:
            self._before_record()
        body = record.body
        message = resolve(body.detail, self._payloads()) if isinstance(body, HubBusEvent) else body
        if self._accepts is not None and not isinstance(message, self._accepts):
            logger.debug("not an event this function handles", extra={"event_type": getattr(message, "type", None)})
            return None
        if isinstance(body, HubBusEvent):
            logger.append_keys(**event_keys(message))
        logger.append_keys(**self._keys(message))
        handled = self._handle(message, record)
        outcomes = [handled] if isinstance(handled, Outcome) else list(handled or [])
        self.report(outcomes)
        return outcomes[0].result if len(outcomes) == 1 else None

    def report(self, outcomes: Iterable[Outcome]) -> None:
        """Count and log each outcome (also for the work a failing record did before it failed)."""
        for outcome in outcomes:
            if outcome.metric is not None:
                metrics.add_metric(name=outcome.metric, unit=MetricUnit.Count, value=1)
            logger.info(outcome.message, extra=dict(outcome.extra))

    def fail(self, record: Any, error: BaseException) -> None:
        """Fail a record the batch's own work (after its records) could not finish for it."""
        self.processor.failure_handler(record=record, exception=(type(error), error, error.__traceback__))
