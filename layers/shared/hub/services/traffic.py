"""traffic_import's use case: read each configured GA4 property's sessions and users for the last
`lookback_days` days (today included) and store them beside the daily report, replacing what an
earlier run read for those days (GA4 revises about the last 48 hours, so every run reads them again).

A property that fails (after the outbound client's retries) is logged and the others are still read;
the run then raises, so the invocation counts as an error (its alarm) and the next run reads the same
days again. Nothing is read, and no AWS call made, when traffic is not configured.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from hub.config import Ga4TrafficConfig, HubConfig
from hub.errors import OutboundError, TrafficImportError
from hub.observability import logger
from hub.ports import TrafficSource, TrafficStore

__all__ = ["TrafficImport"]


def _utcnow() -> datetime:
    return datetime.now(UTC)


class TrafficImport:
    def __init__(
        self,
        store: TrafficStore,
        config: Callable[[], HubConfig],
        source: Callable[[Ga4TrafficConfig], TrafficSource],
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        self._store = store
        self._config = config
        self._source = source
        self._clock = clock

    def run(self) -> dict[str, Any]:
        traffic = self._config().analytics.traffic
        if traffic is None:
            return {"configured": False}
        ga4 = traffic.ga4
        now = self._clock().astimezone(UTC)
        # GA4 reads explicit dates as the property's days; today (UTC) and the days before it.
        last = now.date()
        first = last - timedelta(days=ga4.lookback_days - 1)
        source = self._source(ga4)
        read: dict[str, int] = {}
        failed: dict[str, str] = {}
        for channel, property_id in sorted(ga4.properties.items()):
            try:
                days = source.read(
                    property_id, channel, first, last, top=ga4.top_sources, read_at=now.isoformat(timespec="seconds")
                )
            except OutboundError as exc:
                logger.warning(
                    "GA4 traffic not read", extra={"channel": channel, "property_id": property_id, "error": str(exc)}
                )
                failed[channel] = str(exc)
                continue
            self._store.replace(days)
            read[channel] = sum(day.sessions for day in days)
        off_utc = {pid: zone for pid, zone in source.time_zones.items() if zone not in ("UTC", "Etc/UTC", "GMT")}
        if off_utc:
            # GA4's days are the property's; the report's are UTC (docs/reporting.md, the time zone).
            logger.warning("GA4 properties report days in a time zone other than UTC", extra={"time_zones": off_utc})
        logger.info(
            "GA4 traffic read",
            extra={"sessions": read, "failed": sorted(failed), "quota_remaining": source.quota_remaining},
        )
        if failed:
            raise TrafficImportError(
                f"GA4 traffic of {', '.join(sorted(failed))} not read ({'; '.join(failed.values())}); "
                "the next run reads those days again"
            )
        return {"configured": True, "from": first.isoformat(), "to": last.isoformat(), "sessions": read}
