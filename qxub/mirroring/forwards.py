"""`--forward` with `--remote`, and `qxub forward`: the job's node, asked of the remote qxub
(`qxub node --wait ID` in one short session), and tunnels through the remote's transport."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from qxub.errors import EXIT_INTERRUPTED, QxubError
from qxub.remote.config import Remote
from qxub.remote.forwarding import Forwarder, PortSpec
from qxub.remote.scripts import plain_qxub_script
from qxub.remote.transport import Transport

STILL_RUNNING_EVERY = 5.0  # seconds between asks whether a forwarded job still runs


def remote_node(remote: Remote, job_id: str, *, transport: Transport, wait: bool) -> str | None:
    """The node job `job_id` runs on (waiting for its start with `wait`); None when it does
    not run; QxubError when the remote cannot say."""
    words = ["node", *(["--wait"] if wait else []), job_id]
    result = transport.run(plain_qxub_script(remote, words), check=False)
    lines = result.stdout.strip().splitlines()
    if result.returncode == 0 and lines:
        return lines[-1].strip()
    if not wait:
        return None
    said = [line for line in result.stderr.splitlines() if line.startswith("qxub")]
    raise QxubError(
        said[-1].removeprefix("qxub: ") if said else f"cannot learn where job {job_id} runs",
        hint=f"check it with: qxub status --remote {remote.name} {job_id}",
    )


def forward_remote_job(
    transport: Transport,
    specs: Sequence[PortSpec],
    job: Callable[[], tuple[Remote, str] | None],
    say: Callable[[str], None],
) -> Forwarder:
    """Tunnels to the job's node once `job()` names the remote and the job's id (None until
    the job is submitted)."""

    def find() -> str | None:
        known = job()
        return None if known is None else remote_node(*known, transport=transport, wait=True)

    return Forwarder(transport, specs, find, say)


def hold_forwards(
    forwarder: Forwarder, running: Callable[[], bool], say: Callable[[str], None], job_id: str
) -> int:
    """`qxub forward`: keep the tunnels until the job ends (0) or Ctrl-C (130), putting
    them back when their connection went."""
    try:
        while forwarder.failed is None:
            time.sleep(STILL_RUNNING_EVERY if forwarder.ready.is_set() else 0.2)
            if not forwarder.ready.is_set():
                continue
            if not running():
                say(f"job {job_id} has ended; forwarding stopped")
                return 0
            forwarder.heal()  # the connection may have gone meanwhile (the laptop slept)
        return 1
    except KeyboardInterrupt:
        say(f"forwarding stopped; job {job_id} goes on")
        return EXIT_INTERRUPTED
    finally:
        forwarder.close()
