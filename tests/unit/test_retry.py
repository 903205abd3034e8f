"""Retrying a lost race within a deadline (hub.services.retry)."""

from hub.services.retry import Patience


class Clock:
    def __init__(self) -> None:
        self.now = 0.0
        self.waits: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += seconds


def test_waits_grow_with_jitter_and_stop_before_the_deadline():
    clock = Clock()
    patience = Patience(deadline=3.0, clock=lambda: clock.now, sleep=clock.sleep, jitter=lambda: 0.5)
    attempts = list(patience.attempts())
    assert attempts[:3] == [0, 1, 2]
    assert clock.waits[:4] == [0.01, 0.02, 0.04, 0.08]  # half of 10 ms doubling (jitter 0.5)
    assert max(clock.waits) == 0.25  # half of the 0.5 s cap
    assert clock.now <= 3.0 and clock.now + 0.25 > 3.0  # stopped only when the next wait would pass it


def test_a_deadline_already_passed_still_allows_the_first_attempt():
    clock = Clock()
    clock.now = 10.0
    patience = Patience(deadline=5.0, clock=lambda: clock.now, sleep=clock.sleep, jitter=lambda: 1.0)
    assert list(patience.attempts()) == [0]
    assert clock.waits == []
