"""ad_audiences' use case: keep the merchant's ad audiences in step with segments of consenting
customers, in batches.

`sync` takes the customers a batch of events touched (profiles that changed, by email; erasures, by
erasure key; customers due for their review, by erasure key) and, for each:
1. decides the audiences they belong in now (hub.domain.audiences: consent, segments, targets); an
   erased customer belongs in none, and neither does one without consent;
2. compares with what was last sent to each audience (their `AudienceRecord`): adds and removes;
3. sends every add and every remove of the batch per audience, one vendor call per audience and
   direction, batched at the vendor's limits;
4. records, per customer and audience, what was sent (member or not, when, the vendor's answer),
   the identifiers sent and the next time the passing of time alone changes their segments.
A redelivered event finds its change recorded and sends nothing. A vendor call that fails (after
the outbound client's retries) leaves its customers' records as they were and is reported in
`Synced.failed` by erasure key, so the records that named them fail and come back from their queue
(then its dead-letter queue), while the rest of the batch is recorded.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from hub.config import AudiencesConfig, HubConfig
from hub.domain.audiences import (
    Audience,
    AudienceChange,
    AudienceRecord,
    Identifiers,
    Membership,
    SegmentInputs,
    SegmentRules,
    identifiers_of,
    inputs_of,
    next_review,
    plan,
    segments_of,
    wanted_audiences,
)
from hub.errors import HubError
from hub.ports import AudienceDestination, AudienceRecords, ProfileStore

__all__ = ["REVIEW_BATCH", "AudienceSync", "Synced", "rules_of"]

REVIEW_BATCH = 500  # customers one review run takes; the next run takes the rest


def _utcnow() -> datetime:
    return datetime.now(UTC)


def rules_of(config: AudiencesConfig) -> SegmentRules:
    """The domain's view of the configured segments and the audiences each one fills."""
    segments = config.segments
    targets: dict[str, tuple[Audience, ...]] = {}
    for name in ("recent_buyers", "lapsed", "high_value"):
        segment = getattr(segments, name)
        if segment is None:
            continue
        found: list[Audience] = []
        if segment.meta_audience_id and config.meta is not None:
            found.append(Audience("meta", segment.meta_audience_id))
        if segment.google_user_list_id and config.google_ads is not None:
            found.append(Audience("google", segment.google_user_list_id))
        targets[name] = tuple(found)
    high = segments.high_value
    return SegmentRules(
        recent_days=segments.recent_buyers.days if segments.recent_buyers else None,
        lapsed_after_days=segments.lapsed.after_days if segments.lapsed else None,
        min_spend=(high.min_spend.currency, high.min_spend.minor) if high and high.min_spend else None,
        min_orders=high.min_orders if high else None,
        targets=targets,
    )


@dataclass
class Synced:
    """What a sync did: calls made per audience and direction, customers recorded, and failures."""

    sent: dict[str, int] = field(default_factory=dict)  # "meta:123 add" -> customers
    recorded: int = 0
    unchanged: int = 0
    failed: dict[str, HubError] = field(default_factory=dict)  # erasure key -> the vendor's error
    emails: dict[str, str] = field(default_factory=dict)  # email -> erasure key, for the records

    @property
    def outcome(self) -> str:
        if self.failed:
            return "failed"
        return "sent" if self.sent else "unchanged"


@dataclass
class _Customer:
    key: str
    wanted: frozenset[Audience]
    identifiers: Identifiers | None
    inputs: SegmentInputs | None
    erased: bool = False


class AudienceSync:
    def __init__(
        self,
        profiles: ProfileStore,
        records: AudienceRecords,
        destinations: Callable[[AudiencesConfig], Mapping[str, AudienceDestination]],
        config: Callable[[], HubConfig],
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        self._profiles = profiles
        self._records = records
        self._destinations = destinations
        self._config = config
        self._clock = clock

    def sync(self, emails: Iterable[str] = (), erased: Iterable[str] = (), due: Iterable[str] = ()) -> Synced:
        config = self._config().audiences
        result = Synced()
        if config is None:
            return result
        rules = rules_of(config)
        every = {a for targets in rules.targets.values() for a in targets}
        now = self._clock()
        customers: dict[str, _Customer] = {}
        for email in sorted(set(emails)):
            profile = self._profiles.get(email)
            if profile is None:
                continue  # never seen, or erased: the erasure's own event removes them
            inputs = inputs_of(profile, config.consent)
            wanted = wanted_audiences(segments_of(inputs, rules, now), rules)
            customers[profile.erasure_key] = _Customer(profile.erasure_key, wanted, identifiers_of(profile), inputs)
            result.emails[email] = profile.erasure_key
        for key in sorted(set(erased)):
            customers[key] = _Customer(key, frozenset(), None, None, erased=True)
        stored = self._records.records(set(customers) | set(due))
        for key in sorted(set(due) - set(customers)):
            record = stored.get(key)
            if record is None or record.inputs is None:
                continue
            wanted = wanted_audiences(segments_of(record.inputs, rules, now), rules)
            customers[key] = _Customer(key, wanted, record.sent, record.inputs)

        changes: dict[str, list[AudienceChange]] = {}
        for key, customer in customers.items():
            record = stored.get(key, AudienceRecord(key))
            identifiers = customer.identifiers if customer.wanted else None
            changes[key] = plan(customer.wanted, record.members, identifiers, record.sent, every)

        answers = self._send(config, changes, result)
        updated: list[AudienceRecord] = []
        for key, customer in customers.items():
            previous = stored.get(key)
            record = previous or AudienceRecord(key)
            members = dict(record.members)
            sent = record.sent
            for change in changes[key]:
                answer = answers.get((change.audience, change.add))
                if answer is None:
                    continue  # failed: the record keeps what was sent before
                members[change.audience] = Membership(change.add, now, answer)
                if change.add:
                    sent = change.identifiers
            # Inputs and identifiers are kept only while the customer consents: the daily review adds
            # them to an audience they enter with time (lapsed) from these. Without consent, only what
            # is needed to remove them from an audience they are still in (a failed remove) is kept.
            kept = customer.inputs if customer.inputs is not None and customer.inputs.consent else None
            if kept is not None and customer.identifiers is not None:
                sent = sent if any(m.member for m in members.values()) and sent else customer.identifiers
            elif not any(m.member for m in members.values()):
                sent = None
            review = next_review(kept, rules, now) if kept is not None else None
            new = AudienceRecord(key, members, sent, kept, review)
            if new == previous or (previous is None and not members and review is None):
                result.unchanged += 1
                continue  # nothing changed, or nothing to keep about a customer in no audience
            updated.append(new)
        if updated:
            self._records.save(updated, stored)
        result.recorded = len(updated)
        return result

    def review(self, limit: int = REVIEW_BATCH) -> Synced:
        """The customers whose segments time alone has changed (the daily schedule)."""
        if self._config().audiences is None:
            return Synced()
        return self.sync(due=self._records.due(self._clock(), limit))

    def _send(
        self, config: AudiencesConfig, changes: Mapping[str, list[AudienceChange]], result: Synced
    ) -> dict[tuple[Audience, bool], str]:
        grouped: dict[tuple[Audience, bool], list[tuple[str, Identifiers]]] = {}
        for key, planned in changes.items():
            for change in planned:
                grouped.setdefault((change.audience, change.add), []).append((key, change.identifiers))
        if not grouped:
            return {}
        destinations = self._destinations(config)
        answers: dict[tuple[Audience, bool], str] = {}
        # Removes first: a customer who withdrew consent leaves before anyone new is added.
        for (audience, add), members in sorted(grouped.items(), key=lambda item: (item[0][1], item[0][0])):
            destination = destinations.get(audience.destination)
            if destination is None:
                # An audience of a vendor no longer configured: nothing can be sent there any more.
                answers[(audience, add)] = "vendor no longer configured"
                continue
            identifiers = [ids for _key, ids in members]
            try:
                if add:
                    answer = destination.add(audience.audience_id, identifiers)
                else:
                    answer = destination.remove(audience.audience_id, identifiers)
            except HubError as exc:
                for key, _ids in members:
                    result.failed.setdefault(key, exc)
                continue
            answers[(audience, add)] = answer
            result.sent[f"{audience.name} {'add' if add else 'remove'}"] = len(members)
        return answers
