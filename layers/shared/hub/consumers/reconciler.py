"""The reconciler's scheduled run: which reconcilers run, and one log line and metrics per run.

An event `{"force": true}` (the local stack's `POST /_local/reconcile`) runs every reconciler now;
`"only": NAME` limits it to one. Metrics per reconciler run: `ReconcileFound`, `ReconcilePublished`
(changes the webhooks had not delivered), `ReconcileKnown`, `ReconcileRefused` and `ReconcileFailed`,
with the channel or gateway as the `reconciler` dimension.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.metrics import single_metric

from hub.observability import MetricUnit, logger, metrics

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from hub.bootstrap import Sandbox
    from hub.services.reconciliation import ReconcileResult


def run(sandbox: Sandbox, event: Any, context: LambdaContext) -> dict:
    """Run the reconcilers due (or those the event forces); each run's body by reconciler name."""
    sandbox.register_context(context)
    force = bool(isinstance(event, dict) and event.get("force"))
    only = event.get("only") if isinstance(event, dict) else None
    results = sandbox.reconciler.run_due(
        force=force,
        only=only if isinstance(only, str) else None,
        time_left=lambda: context.get_remaining_time_in_millis() / 1000,
    )
    for result in results.values():
        _report(result)
    return {name: result.body() for name, result in results.items()}


def _report(result: ReconcileResult) -> None:
    counts = {
        "ReconcileFound": result.found,
        "ReconcilePublished": result.published,
        "ReconcileKnown": result.known,
        "ReconcileRefused": result.refused,
        "ReconcileFailed": 1 if result.failed else 0,
    }
    if result.skipped is None:
        for name, value in counts.items():
            with single_metric(
                name=name, unit=MetricUnit.Count, value=value, default_dimensions=metrics.default_dimensions
            ) as metric:
                metric.add_dimension(name="reconciler", value=result.name)
    # Counts, ids and reasons only: no personal data.
    extra = {"reconciler": result.name, "kind": result.kind, **result.body()}
    if result.failed:
        logger.error("reconcile run failed; its cursor stays, the next run lists the same changes", extra=extra)
    elif result.skipped:
        logger.info("reconcile run skipped", extra=extra)
    else:
        logger.info("reconcile run", extra=extra)
