"""The console's dead-letters pages: each dead-letter queue with its count, a queue's messages with
why they failed and the order they concern, and a redrive button per queue.

They read and redrive through hub.services.deadletters, the same implementation as
`commerce-hub dlq list | show | redrive` (docs/recovery.md).
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlencode

from hub.console.frame import PREFIX, Request, Response, page, redirect, render
from hub.domain.deadletters import age_text, queue_name_of_url
from hub.observability import logger

if TYPE_CHECKING:
    from hub.bootstrap import Sandbox

__all__ = ["dead_letter_queue", "dead_letters", "redrive"]

SHOWN = 50  # messages a queue's page shows, oldest first (the CLI's `dlq show` default)


@page("dead-letters", nav="Dead letters")
def dead_letters(sandbox: Sandbox, request: Request) -> Response:
    letters = sandbox.dead_letters()
    now = letters.now()
    summaries = letters.summaries()
    return render(
        request,
        "dead_letters.html",
        title="Dead letters",
        summaries=summaries,
        ages={s.queue.short: age_text(s.oldest_age_seconds(now)) for s in summaries},
        destinations={s.queue.short: ", ".join(queue_name_of_url(u) for u in s.queue.sources) for s in summaries},
        waiting=sum(s.messages for s in summaries),
        redriven=request.query.get("redriven"),
        moved=request.query.get("moved"),
        task=request.query.get("task"),
    )


@page("dead-letters/<queue>")
def dead_letter_queue(sandbox: Sandbox, request: Request, queue: str) -> Response:
    letters = sandbox.dead_letters()
    found = letters.find(queue)  # UnknownQueueError is a 404 naming the queues there are
    now = letters.now()
    shown = letters.show(found, SHOWN)
    return render(
        request,
        "dead_letter_queue.html",
        title=f"Dead letters: {found.short}",
        queue=found,
        letters=shown,
        ages={letter.message_id: age_text(letter.age_seconds(now)) for letter in shown},
        depth=found.visible + found.in_flight,
        limit=SHOWN,
        destinations=", ".join(queue_name_of_url(u) for u in found.sources),
    )


@page("dead-letters/<queue>/redrive", methods=("POST",))
def redrive(sandbox: Sandbox, request: Request, queue: str) -> Response:
    """What `commerce-hub dlq redrive QUEUE` does: every message back to the queue it came from."""
    letters = sandbox.dead_letters()
    found = letters.find(queue)
    result = letters.redrive(found)
    logger.info(
        "dead letters redriven from the console",
        extra={"queue": found.short, "moved": len(result.moved), "task": result.task_handle is not None},
    )
    done = {"redriven": found.short, "moved": str(len(result.moved))}
    if result.task_handle:
        done["task"] = "1"
    return redirect(f"{PREFIX}/dead-letters?{urlencode(done)}")
