"""The monitor's poller, tails and end rule, driven by a fake clock: no test here sleeps.

The scheduler is the real local runner, whose state is the job's log directory (its pid file,
started stamp and exit code file); the tests write those files at chosen (fake) times.
"""

from __future__ import annotations

import io
import os
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from qxub import protocol
from qxub.errors import JobLost
from qxub.job.script import EXIT_CODE_FILE, OUTPUT_LOG, STARTED_FILE
from qxub.job.spec import JobSpec
from qxub.monitor import follow
from qxub.polling import Outcome, Poller
from qxub.record import replace
from qxub.schedulers.base import JobState
from qxub.schedulers.local import PID_FILE, RUNNER_LOG, LocalScheduler
from qxub.schedulers.pbs import PbsScheduler
from qxub.schedulers.slurm import SlurmScheduler
from qxub.state import JobRecord, new_logdir, save_record

import children

WALL_START = 1_700_000_000.0


class FakeClock:
    """Monotonic and wall time that move only when the code under test sleeps; actions
    scheduled at a time run when the clock passes it."""

    def __init__(self) -> None:
        self.now = 0.0
        self.slept = 0.0
        self.actions: list[tuple[float, Callable[[], None]]] = []

    def monotonic(self) -> float:
        return self.now

    def wall(self) -> float:
        return WALL_START + self.now

    def at(self, when: float, action: Callable[[], None]) -> None:
        self.actions.append((when, action))
        self.actions.sort(key=lambda item: item[0])

    def sleep(self, seconds: float) -> None:
        assert self.now < 600, "the follow never ended"
        self.now += seconds
        self.slept += seconds
        while self.actions and self.actions[0][0] <= self.now:
            self.actions.pop(0)[1]()


class CountingLocal(LocalScheduler):
    """The real local runner, remembering when it was asked."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.asked: list[float] = []

    def state(self, job_id: str) -> JobState:
        self.asked.append(self.clock.now)
        return super().state(job_id)


def local_record(pid: int) -> JobRecord:
    logdir = new_logdir()
    (logdir / PID_FILE).write_text(f"{pid}\n")
    spec = JobSpec(argv=("job",), execdir=str(logdir))
    record = JobRecord("7.local", "local", str(logdir), spec, WALL_START, "here")
    save_record(record)
    return record


def dead_pid() -> int:
    proc = children.popen(["true"])
    proc.wait()
    return proc.pid


def write(path: Path, text: str) -> Callable[[], None]:
    def action() -> None:
        with open(path, "a") as handle:
            handle.write(text)

    return action


def output(logdir: Path, kind: int, text: str) -> Callable[[], None]:
    """Append to the job's output log as the job's writer does (qxub.job.capture)."""

    def action() -> None:
        with open(logdir / OUTPUT_LOG, "ab") as handle:
            handle.write(protocol.frame(kind, text.encode()))

    return action


def run_follow(
    record: JobRecord, clock: FakeClock, scheduler: LocalScheduler | None = None
) -> tuple[Outcome, bytes, bytes, list[str]]:
    out, err, said = io.BytesIO(), io.BytesIO(), list[str]()
    outcome = follow(
        record,
        scheduler or LocalScheduler(),
        out=out,
        err=err,
        status=said.append,
        clock=clock.monotonic,
        wall_clock=clock.wall,
        sleep=clock.sleep,
    )
    return outcome, out.getvalue(), err.getvalue(), said


def test_output_streams_and_the_exit_code_file_ends_the_follow() -> None:
    record = local_record(os.getpid())  # alive: the runner says queued, then running
    logdir = record.path
    clock = FakeClock()
    clock.at(0.5, write(logdir / STARTED_FILE, f"{WALL_START + 0.5}\n"))
    clock.at(0.5, output(logdir, protocol.STDOUT, "hello\n"))
    clock.at(1.0, output(logdir, protocol.STDERR, "oops\n"))
    clock.at(1.2, output(logdir, protocol.STDOUT, "more\n"))
    clock.at(2.0, write(logdir / EXIT_CODE_FILE, "3\n"))
    outcome, out, err, said = run_follow(record, clock)
    assert (outcome.exit_code, outcome.reason) == (3, None)
    assert outcome.elapsed == pytest.approx(1.5, abs=0.3)
    assert out == b"hello\nmore\n"
    assert err == b"oops\n"
    # A local job is queued only while bash starts: no status line for that.
    assert said == ["job 7.local started"]
    assert 2.0 <= clock.now < 2.3


def test_the_poller_backs_off_to_the_schedulers_own_pace() -> None:
    record = local_record(os.getpid())
    clock = FakeClock()
    scheduler = CountingLocal(clock)
    poller = Poller(scheduler, record.job_id, lambda _: None, clock.monotonic)
    for _ in range(300):  # three fake seconds, looked at every 1/100 s
        poller.poll()
        clock.now += 0.01
    gaps = [round(b - a, 2) for a, b in zip(scheduler.asked, scheduler.asked[1:], strict=False)]
    policy = scheduler.poll
    assert gaps[:3] == [
        pytest.approx(policy.first * policy.factor, abs=0.011),
        pytest.approx(policy.first * policy.factor**2, abs=0.011),
        pytest.approx(policy.most, abs=0.011),
    ]
    assert all(gap == pytest.approx(policy.most, abs=0.011) for gap in gaps[2:])


def test_each_scheduler_keeps_its_own_polling_policy() -> None:
    local, slurm, pbs = LocalScheduler.poll, SlurmScheduler.poll, PbsScheduler.poll
    # qstat sleeps when called twice in a second: PBS is never asked more than once a second.
    assert pbs.first >= 1.0 and pbs.most > slurm.most > local.most
    assert slurm.after(1.0) == 1.5
    assert slurm.after(9.0) == slurm.most
    assert slurm.after(1.0, failed=True) == slurm.most  # a failed ask waits the longest
    assert not local.queue_is_news and slurm.queue_is_news and pbs.queue_is_news


def test_a_job_gone_without_an_exit_code_is_lost_after_the_file_grace() -> None:
    record = local_record(dead_pid())
    clock = FakeClock()
    clock.at(0.1, output(record.path, protocol.STDOUT, "last words\n"))
    (record.path / RUNNER_LOG).write_text("bash: killed\n")
    with pytest.raises(JobLost, match="recorded no exit code") as caught:
        run_follow(record, clock)
    assert "7.local" in caught.value.message
    assert "runner.log:\n  bash: killed" in caught.value.message  # the runner's own words
    grace = LocalScheduler.poll.file_grace
    assert grace <= clock.now < grace + 0.5


def test_an_exit_code_file_that_lags_the_scheduler_within_the_grace_wins() -> None:
    record = local_record(dead_pid())
    clock = FakeClock()
    late = LocalScheduler.poll.file_grace * 0.6
    clock.at(late, write(record.path / EXIT_CODE_FILE, "0\n"))
    outcome, *_ = run_follow(record, clock)
    assert outcome.exit_code == 0
    assert late <= clock.now < LocalScheduler.poll.file_grace


def test_no_real_time_passes() -> None:
    record = local_record(os.getpid())
    clock = FakeClock()
    clock.at(30.0, write(record.path / EXIT_CODE_FILE, "5\n"))
    started = time.monotonic()
    outcome, *_ = run_follow(record, clock)
    assert outcome.exit_code == 5
    assert clock.slept >= 30.0
    assert time.monotonic() - started < 5.0


def test_a_signal_code_asks_the_scheduler_why_then_the_record() -> None:
    """143 says only SIGTERM: the monitor asks the scheduler why (a real PBS answers in
    test_exec_pbs.py); the local runner never knows, so the reason
    comes from the record that `qxub cancel` marked."""
    record = local_record(os.getpid())
    clock = FakeClock()
    clock.at(1.0, write(record.path / EXIT_CODE_FILE, "143\n"))
    save_record(replace(record, extra={"cancelled": True}))
    outcome, *_ = run_follow(record, clock)
    assert (outcome.exit_code, outcome.reason) == (143, "cancelled")
    assert clock.now >= 1.0


def test_an_ordinary_code_does_not_wait_for_the_scheduler() -> None:
    record = local_record(os.getpid())
    clock = FakeClock()
    clock.at(1.0, write(record.path / EXIT_CODE_FILE, "128\n"))
    outcome, *_ = run_follow(record, clock)
    assert (outcome.exit_code, outcome.reason) == (128, None)
    assert clock.now < 1.3
