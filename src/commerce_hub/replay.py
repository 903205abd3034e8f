"""`commerce-hub replay --from T --to T [--type DetailType]`: a window of the event archive, again.

EventBridge's `StartReplay` sends every event the archive (template.yaml's `HubBusArchive`) kept
between the two times back into the hub bus, where the rules route it to the consumers again. The
consumers are idempotent (events are keyed by the provider's ids, state changes are guarded by
conditions), so what was already applied stays as it is and only what was missed takes effect.

`--type` narrows the replay to the rules that route that detail-type (StartReplay's `FilterArns`):
EventBridge cannot replay by type, so the other types those rules route are replayed too; the
consumers take them as the redeliveries they are.

Times are ISO 8601 (`2026-12-05T10:00:00Z`, `2026-12-05 10:00`, `2026-12-05`; UTC unless they
say otherwise), `now`, or an age such as `2h`, `30m`, `1d` (that long ago). On the local stack the
emulator's archive is used; its replay is made to honour the window and the rules
(commerce_hub.local.moto_patches), as EventBridge does.
"""

from __future__ import annotations

import argparse
import json
import re
import secrets
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from commerce_hub.target import Target, TargetError, add_target_arguments, project_root, target_from

__all__ = ["ReplayError", "ReplayResult", "add_arguments", "main", "parse_time", "replay", "rules_for_type"]

_AGO = re.compile(r"^(\d+)\s*([smhd])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
_DONE = {"COMPLETED", "FAILED", "CANCELLED"}


class ReplayError(Exception):
    """The replay cannot be started or did not complete; the message says why."""


def parse_time(text: str, now: datetime) -> datetime:
    value = text.strip()
    if value.lower() == "now":
        return now
    ago = _AGO.match(value.lower())
    if ago:
        return now - timedelta(**{_UNITS[ago.group(2)]: int(ago.group(1))})
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise ReplayError(
            f"{text!r} is not a time: use ISO 8601 (2026-12-05T10:00:00Z), `now`, or an age (2h)"
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _detail_types(pattern: Any) -> Iterable[list[Any] | None]:
    """The detail-type lists of a pattern, one per `$or` branch; None for a branch with none."""
    if not isinstance(pattern, dict):
        return [None]
    branches = pattern.get("$or")
    if isinstance(branches, list):
        top = {k: v for k, v in pattern.items() if k != "$or"}
        if "detail-type" in top:
            return [top["detail-type"]]
        return [t for branch in branches for t in _detail_types(branch)]
    return [pattern.get("detail-type")]


def _matches(values: list[Any] | None, detail_type: str) -> bool:
    if values is None:
        return True
    for value in values:
        if value == detail_type:
            return True
        if isinstance(value, dict) and "prefix" in value and detail_type.startswith(str(value["prefix"])):
            return True
    return False


def rules_for_type(events: Any, bus: str, detail_type: str) -> list[str]:
    """The ARNs of the bus's event rules (not schedules, not the archive's own) that route the type."""
    arns = []
    for page in events.get_paginator("list_rules").paginate(EventBusName=bus):
        for rule in page["Rules"]:
            if not rule.get("EventPattern") or rule.get("ManagedBy"):
                continue
            pattern = json.loads(rule["EventPattern"])
            if any(_matches(types, detail_type) for types in _detail_types(pattern)):
                arns.append(rule["Arn"])
    return sorted(arns)


def _archive_name(target: Target, events: Any) -> str:
    """The name of the stack's archive (HubBusArchive).

    CloudFormation reports it as the archive's physical id; the emulator's CloudFormation reports
    none, so on the local stack it is the one archive the emulator holds.
    """
    name = target.physical_id("HubBusArchive").rsplit("/", 1)[-1]
    if name:
        return name
    archives = [a["ArchiveName"] for a in events.list_archives().get("Archives", [])]
    if len(archives) != 1:
        raise ReplayError(f"{target.describe()} does not say which of its archives is HubBusArchive: {archives}")
    return archives[0]


@dataclass(frozen=True)
class ReplayResult:
    name: str
    state: str
    start: datetime
    end: datetime
    rules: list[str]
    reason: str | None = None


def replay(
    target: Target,
    start: datetime,
    end: datetime,
    *,
    detail_type: str | None = None,
    wait: bool = True,
    timeout: float = 900.0,
    sleep: Callable[[float], None] = time.sleep,
    now: datetime | None = None,
) -> ReplayResult:
    now = now or datetime.now(UTC)
    if end > now:
        end = now  # EventBridge refuses an end in the future; nothing is archived there yet
    if start >= end:
        raise ReplayError(f"--from ({start.isoformat()}) must be before --to ({end.isoformat()})")
    events = target.client("events")
    archive = events.describe_archive(ArchiveName=_archive_name(target, events))
    # The archive names its bus; a replay goes back into that bus only (EventBridge allows no other).
    archive_arn, bus_arn = archive["ArchiveArn"], archive["EventSourceArn"]
    bus_name = bus_arn.rsplit("/", 1)[-1]
    destination: dict[str, Any] = {"Arn": bus_arn}
    rules: list[str] = []
    if detail_type:
        rules = rules_for_type(events, bus_name, detail_type)
        if not rules:
            raise ReplayError(f"no rule on {bus_name} routes {detail_type}: there is nothing to replay it to")
        destination["FilterArns"] = rules
    name = f"commerce-hub-{now:%Y%m%d%H%M%S}-{secrets.token_hex(3)}"
    events.start_replay(
        ReplayName=name,
        Description=f"commerce-hub replay{' of ' + detail_type if detail_type else ''}",
        EventSourceArn=archive_arn,
        EventStartTime=start,
        EventEndTime=end,
        Destination=destination,
    )
    state, reason = "STARTING", None
    deadline = time.monotonic() + timeout
    while True:
        described = events.describe_replay(ReplayName=name)
        state, reason = described["State"], described.get("StateReason")
        if state in _DONE or not wait or time.monotonic() > deadline:
            break
        sleep(5)
    return ReplayResult(name, state, start, end, rules, reason)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--from", dest="start", required=True, metavar="T", help="start of the window (ISO 8601, or 2h)"
    )
    parser.add_argument("--to", dest="end", default="now", metavar="T", help="end of the window (default: now)")
    parser.add_argument("--type", dest="detail_type", metavar="DetailType", help="only the rules routing this type")
    parser.add_argument("--no-wait", action="store_true", help="start the replay and return without waiting")
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    add_target_arguments(parser)


def main(args: argparse.Namespace) -> int:
    from botocore.exceptions import BotoCoreError, ClientError

    now = datetime.now(UTC)
    try:
        start, end = parse_time(args.start, now), parse_time(args.end, now)
        target = target_from(args, root=project_root())
        result = replay(target, start, end, detail_type=args.detail_type, wait=not args.no_wait, now=now)
    except (ReplayError, TargetError, ClientError, BotoCoreError) as exc:
        print(f"commerce-hub replay: {exc}", file=sys.stderr)
        return 1
    if args.json:
        document = {
            "replay": result.name,
            "state": result.state,
            "from": result.start.isoformat(),
            "to": result.end.isoformat(),
            "rules": result.rules,
            "reason": result.reason,
        }
        print(json.dumps(document, indent=2))
    else:
        window = f"{result.start:%Y-%m-%d %H:%M:%S} to {result.end:%Y-%m-%d %H:%M:%S} UTC"
        print(f"Replay {result.name} of {window} on {target.describe()}: {result.state.lower()}.")
        if result.rules:
            print(
                f"Only to the rules routing {args.detail_type}: {', '.join(r.rsplit('/', 1)[-1] for r in result.rules)}."
            )
        if result.reason:
            print(f"Reason: {result.reason}")
        if result.state not in _DONE:
            print(f"Follow it with: aws events describe-replay --replay-name {result.name}")
    return 0 if result.state in ("COMPLETED", "STARTING", "RUNNING") else 1
