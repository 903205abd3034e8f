"""Complete a durable delivery whose resource intake could not read, and publish its event once.

A `ResourceFetchRequested` names the resource (a BigCommerce order, say) and everything the event
needs besides it; the platform's completer reads the resource and builds the very event intake
would have published, same id included. Publishing goes through the delivery log under a key of
its own, so a redelivered request publishes nothing twice.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from hub.config import HubConfig
from hub.errors import UnknownPlatformError
from hub.events import ResourceFetchRequested
from hub.ports import DeliveryLog, ResourceCompleter

__all__ = ["FetchOutcome", "FetchResult", "ResourceFetchService"]


class FetchOutcome(StrEnum):
    PUBLISHED = "published"
    DUPLICATE = "duplicate"
    NOTHING = "nothing"


@dataclass(frozen=True)
class FetchResult:
    outcome: FetchOutcome
    event_ids: list[str] = field(default_factory=list)
    reason: str | None = None


class ResourceFetchService:
    def __init__(
        self,
        completers: Mapping[str, ResourceCompleter],
        deliveries: DeliveryLog,
        config: Callable[[], HubConfig],
    ) -> None:
        self._completers = completers
        self._deliveries = deliveries
        self._config = config

    @staticmethod
    def publish_key(request: ResourceFetchRequested) -> str:
        return f"{request.data.dedupe_key}#fetched"

    def fetch(self, request: ResourceFetchRequested) -> FetchResult:
        completer = self._completers.get(request.data.platform)
        if completer is None:
            raise UnknownPlatformError(f"no completer for platform '{request.data.platform}'")
        events, reason = completer.complete(request, self._config())
        if not events:
            return FetchResult(FetchOutcome.NOTHING, reason=reason)
        published = self._deliveries.publish_once(self.publish_key(request), events)
        outcome = FetchOutcome.PUBLISHED if published else FetchOutcome.DUPLICATE
        return FetchResult(outcome, [e.event_id for e in events])
