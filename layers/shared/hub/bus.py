"""The shape of a hub event as a queue consumer receives it: SQS record -> EventBridge -> HubEvent.

These extend the Powertools parser envelopes, so a record that is not a hub event fails
validation and is reported as a batch item failure (retried, then dead-lettered). The models hide
input values in their errors, and `HubBatchProcessor` records every failure redacted (see
`hub.redaction`): when a whole batch fails, Powertools raises an error carrying every record's
traceback, which Lambda logs and returns as the invocation's error. Sealed personal fields are
opened here, the one place every consumer parses its records (hub.shredding).

`HubBatchProcessor` also gives each record its time budget (hub.budget): the Lambda's remaining
time less a margin, read when the record starts, so an outbound call that cannot finish before the
function would be stopped is not started and the record fails alone (SQS delivers it again) instead
of the whole batch timing out. Work done for the batch after its records (crm_upsert's push) runs
under the budget taken when the batch started.

Every failure is also recorded in the hub table by SQS message id (hub.failures), so a message that
ends in a dead-letter queue can be explained by `commerce-hub dlq show` without reading logs.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import ExitStack
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.batch import BatchProcessor
from aws_lambda_powertools.utilities.parser.models import EventBridgeModel, SqsRecordModel
from pydantic import ConfigDict, Json, field_validator

from hub.budget import deadline_from, time_budget
from hub.claimcheck import ClaimChecked
from hub.events import HubEvent
from hub.failures import failure_of
from hub.redaction import redacted_info

if TYPE_CHECKING:
    from hub.ports import FailureLog

__all__ = ["HubBatchProcessor", "HubBusEvent", "HubSqsRecord"]


class HubBusEvent(EventBridgeModel):
    model_config = ConfigDict(hide_input_in_errors=True)

    # A claim-checked event (too large for the bus) arrives as its envelope; see hub.claimcheck.
    detail: HubEvent | ClaimChecked

    @field_validator("detail", mode="before")
    @classmethod
    def _open_personal_fields(cls, detail: object) -> object:
        # Personal fields travel sealed (hub.shredding); every consumer reads them opened, or as
        # None once the customer's data key is gone.
        from hub.shredding import open_sealed

        return open_sealed(detail)


class HubSqsRecord(SqsRecordModel):
    model_config = ConfigDict(hide_input_in_errors=True)

    body: Json[HubBusEvent]


def _table_failure_log() -> FailureLog:
    import boto3

    from hub.adapters.failures import DynamoFailureLog
    from hub.settings import settings

    return DynamoFailureLog(boto3.client("dynamodb"), settings().table)


class HubBatchProcessor(BatchProcessor):
    """Powertools' BatchProcessor, keeping each failure's exception redacted for its traces, and
    holding each record (and the batch) to the time the Lambda has left (hub.budget), and
    recording each failure (hub.failures) where `commerce-hub dlq show` finds it.

    `failures` builds the failure log on the first failure (the hub table by default), so a
    sandbox whose records all succeed never creates the client.
    """

    def __init__(self, *args: Any, failures: Callable[[], FailureLog] = _table_failure_log, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._failure_log_factory = failures
        self._failure_log: FailureLog | None = None
        self._context: Any = None
        self._batch_budget: ExitStack | None = None

    def __call__(self, records: list[dict], handler: Any, lambda_context: Any = None) -> Any:
        # Kept here, not only as Powertools' `lambda_context`, which a call without one leaves stale.
        self._context = lambda_context
        return super().__call__(records, handler, lambda_context)

    def _prepare(self) -> None:
        super()._prepare()
        self._batch_budget = ExitStack()
        self._batch_budget.enter_context(time_budget(deadline_from(self._context)))

    def _clean(self) -> None:
        try:
            super()._clean()
        finally:
            if self._batch_budget is not None:
                self._batch_budget.close()
                self._batch_budget = None

    def _process_record(self, record: dict) -> Any:
        with time_budget(deadline_from(self._context)):
            return super()._process_record(record)

    def failure_handler(self, record: Any, exception: Any) -> Any:
        self._record_failure(record, exception[1])
        return super().failure_handler(record=record, exception=redacted_info(exception))

    def _record_failure(self, record: Any, exception: BaseException | None) -> None:
        if exception is None:
            return
        # Recording is for the operator; it never changes what happens to the record, which fails
        # (and is retried, then dead-lettered) whether or not its reason could be kept.
        try:
            failure = failure_of(record, exception)
            if failure is None:
                return
            if self._failure_log is None:
                self._failure_log = self._failure_log_factory()
            self._failure_log.record(failure)
        except Exception as exc:
            from hub.observability import logger

            logger.warning("could not record a record's failure", extra={"problem": type(exc).__name__})
