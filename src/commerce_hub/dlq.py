"""`commerce-hub dlq list | show QUEUE | redrive QUEUE [--message ID]`: the dead-letter queues.

    commerce-hub dlq list                  every dead-letter queue: messages, oldest, a first failure
    commerce-hub dlq show crm              its messages: order, event, attempts, why they failed
    commerce-hub dlq redrive crm           all of them back to the crm queue (after fixing the cause)
    commerce-hub dlq redrive crm --message 6a1c47e2-...

Against the running local stack by default; `--stack-name` for a deployed one (commerce_hub.target).
`--json` prints what the text shows as one JSON document. See docs/recovery.md.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime

from hub.domain.deadletters import DeadLetter, QueueSummary, UnknownQueueError, age_text, queue_name_of_url
from hub.services.deadletters import DeadLetters

from commerce_hub.target import Target, TargetError, add_target_arguments, project_root, target_from

__all__ = ["add_arguments", "dead_letters", "main"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", metavar="ACTION")
    actions.required = True
    listing = actions.add_parser("list", help="every dead-letter queue: messages, oldest, a first failure reason")
    show = actions.add_parser("show", help="a dead-letter queue's messages, with their orders and failure reasons")
    show.add_argument("queue", help="the short name `list` prints (e.g. crm), or the queue's name, URL or ARN")
    show.add_argument("--limit", type=int, default=50, help="at most this many messages (default 50)")
    redrive = actions.add_parser("redrive", help="send a dead-letter queue's messages back to their source queue")
    redrive.add_argument("queue", help="the short name `list` prints (e.g. crm), or the queue's name, URL or ARN")
    redrive.add_argument("--message", metavar="ID", help="only this message (its id, as `show` prints it)")
    for sub in (listing, show, redrive):
        sub.add_argument("--json", action="store_true", help="print JSON instead of text")
        add_target_arguments(sub)


def dead_letters(target: Target) -> DeadLetters:
    from hub.adapters.failures import DynamoFailureLog
    from hub.adapters.sqs_queues import SqsQueues

    sqs = SqsQueues(target.client("sqs"))
    queues = DeadLetters.discover(sqs, target.of_type("AWS::SQS::Queue"))
    failures = DynamoFailureLog(target.client("dynamodb"), target.physical_id("HubTable"))
    # The emulator has no SQS move tasks: locally, a whole queue moves message by message.
    return DeadLetters(sqs, failures, queues, move_tasks=not target.local)


_age = age_text


def _print_list(summaries: list[QueueSummary], now: datetime, where: str) -> None:
    print(f"Dead-letter queues of {where}:")
    width = max([len(s.queue.short) for s in summaries] + [5])
    print(f"  {'QUEUE':<{width}}  {'MESSAGES':>8}  {'OLDEST':>6}  FIRST FAILURE (oldest of a sample)")
    for summary in summaries:
        age = (now - summary.oldest_sent_at).total_seconds() if summary.oldest_sent_at else None
        reason = summary.sample_reason or ("-" if not summary.messages else "(no failure recorded)")
        print(f"  {summary.queue.short:<{width}}  {summary.messages:>8}  {_age(age):>6}  {reason}")
    waiting = sum(s.messages for s in summaries)
    if waiting:
        print(f"\n{waiting} message(s) wait. `commerce-hub dlq show QUEUE` says why each failed.")
    else:
        print("\nNo message waits in any dead-letter queue.")


def _print_show(short: str, name: str, letters: list[DeadLetter], now: datetime) -> None:
    print(f"{short} ({name}): {len(letters)} message(s)")
    for letter in letters:
        age = _age((now - letter.sent_at).total_seconds()) if letter.sent_at else "-"
        print(f"\n  message  {letter.message_id}  (sent {age} ago)")
        if letter.order_id:
            print(f"  order    {letter.order_id}")
        if letter.event_type or letter.event_id:
            print(f"  event    {letter.event_type or '?'} {letter.event_id or ''}".rstrip())
        failure = letter.failure
        if failure is None:
            print("  failure  none recorded (it failed before the hub could say why, e.g. a timeout)")
            continue
        print(f"  attempts {failure.attempts} failed, the last at {failure.last_failed_at}")
        print(f"  first    {failure.first_error}: {failure.first_reason}")
        if (failure.error, failure.reason) != (failure.first_error, failure.first_reason):
            print(f"  last     {failure.error}: {failure.reason}")


def main(args: argparse.Namespace) -> int:
    from botocore.exceptions import BotoCoreError, ClientError

    root = project_root()
    try:
        target = target_from(args, root=root)
        letters = dead_letters(target)
        now = datetime.now(UTC)
        if args.action == "list":
            summaries = letters.summaries()
            if args.json:
                print(json.dumps({"queues": [s.as_dict(now) for s in summaries]}, indent=2))
            else:
                _print_list(summaries, now, target.describe())
            return 0
        queue = letters.find(args.queue)
        if args.action == "show":
            shown = letters.show(queue, max(1, args.limit))
            if args.json:
                print(json.dumps({"queue": queue.short, "messages": [s.as_dict() for s in shown]}, indent=2))
            else:
                _print_show(queue.short, queue.name, shown, now)
            return 0
        result = letters.redrive(queue, args.message)
    except (TargetError, UnknownQueueError, ClientError, BotoCoreError) as exc:
        print(f"commerce-hub dlq: {exc}", file=sys.stderr)
        return 1
    destinations = ", ".join(queue_name_of_url(u) for u in queue.sources)
    if args.json:
        document = {
            "queue": queue.short,
            "moved": result.moved,
            "task_handle": result.task_handle,
            "missing": result.missing,
        }
        print(json.dumps(document, indent=2))
    elif result.task_handle:
        print(f"SQS is moving every message of {queue.short} back to {destinations} (task {result.task_handle}).")
    elif result.missing:
        print(f"No message {result.missing} in {queue.short} (already redriven, or expired).")
    else:
        print(f"Moved {len(result.moved)} message(s) of {queue.short} back to {destinations}.")
    return 1 if result.missing else 0
