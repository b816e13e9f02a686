"""The watch Batcher with a fake clock: quiet period, cap, and what a batch holds."""

from __future__ import annotations

from qxub.sync.watch import Batcher


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_batch_waits_for_the_quiet_period_after_the_last_event() -> None:
    clock = FakeClock()
    batcher = Batcher(quiet=0.1, cap=1.0, clock=clock)
    assert batcher.take() is None
    batcher.add({"a.py"})
    clock.now += 0.05
    batcher.add({"b.py"})
    clock.now += 0.09  # 0.14 after the first, 0.09 after the last
    assert batcher.take() is None
    clock.now += 0.01
    batch = batcher.take()
    assert batch is not None
    assert batch.paths == {"a.py", "b.py"}
    assert batch.events == 2
    assert batcher.take() is None  # taken: the next batch starts empty


def test_a_steady_stream_of_events_is_cut_at_the_cap() -> None:
    clock = FakeClock()
    # Binary fractions, so the sums are exact.
    batcher = Batcher(quiet=0.125, cap=1.0, clock=clock)
    taken = []
    for i in range(24):  # an event every 1/16 s for 1.5 s: never quiet for 1/8 s
        batcher.add({f"f{i}"})
        batch = batcher.take()
        if batch is not None:
            taken.append((clock.now - 100.0, len(batch.paths)))
        clock.now += 0.0625
    assert taken == [(1.0, 17)]


def test_next_batch_returns_at_once_when_the_clock_says_it_is_ready() -> None:
    clock = FakeClock()
    batcher = Batcher(quiet=0.1, cap=1.0, clock=clock)
    assert batcher.next_batch(timeout=0) is None  # no event at all
    batcher.add({"x"})
    clock.now += 5.0  # long past the quiet period: no real waiting
    batch = batcher.next_batch(timeout=0)
    assert batch is not None and batch.paths == {"x"}


def test_an_event_without_paths_still_makes_a_batch() -> None:
    """An ignore file changed: nothing to name, but the selection must be pushed again."""
    clock = FakeClock()
    batcher = Batcher(quiet=0.1, cap=1.0, clock=clock)
    batcher.add(set())
    clock.now += 0.1
    batch = batcher.take()
    assert batch is not None
    assert batch.paths == set()
    assert batch.events == 1
