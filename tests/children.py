"""How the tests start processes: `run` and `popen` are subprocess's, with SIGINT reset to its
default in the child.

A suite started in the background by a non-interactive shell (`scripts/test &`, nohup, some CI
runners) inherits SIGINT ignored, and an ignored signal stays ignored across exec: a child
would then never see the Ctrl-C the tests send it. Plain Python, no pytest: the benchmarks
use it too."""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Callable
from typing import Any


def default_sigint(then: Callable[[], object] | None = None) -> Callable[[], None]:
    """A `preexec_fn` that resets SIGINT (and SIGQUIT) to their defaults, then calls `then`."""

    def reset() -> None:
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        signal.signal(signal.SIGQUIT, signal.SIG_DFL)
        if then is not None:
            then()

    return reset


def _no_stdin(options: dict[str, Any]) -> dict[str, Any]:
    """stdin /dev/null unless given: never the runner's own, which may be a pipe that a CI
    runner keeps open (qxub exec reads a piped stdin to its end, for the job)."""
    if "stdin" not in options and options.get("input") is None:
        options.pop("input", None)
        options["stdin"] = subprocess.DEVNULL
    return options


def run(argv: Any, **options: Any) -> subprocess.CompletedProcess[Any]:
    """subprocess.run with SIGINT at its default in the child (and /dev/null as stdin unless
    given)."""
    options = _no_stdin(options)
    return subprocess.run(
        argv, preexec_fn=default_sigint(options.pop("preexec_fn", None)), **options
    )


def popen(argv: Any, **options: Any) -> subprocess.Popen[Any]:
    """subprocess.Popen with SIGINT at its default in the child (and /dev/null as stdin
    unless given)."""
    options = _no_stdin(options)
    reset = default_sigint(options.pop("preexec_fn", None))
    return subprocess.Popen(argv, preexec_fn=reset, **options)
