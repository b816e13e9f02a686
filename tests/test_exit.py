"""How the programs `qxub` and `qx` end (qxub.leaving.end_at_once): at once, with the
command's exit code, once the atexit functions have run and stdout and stderr are flushed;
the usual way (Python's teardown) when a thread that is not a daemon still runs, when the
exit carries a message, or when a flush fails."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import children

PRELUDE = """
import atexit, os, sys, threading, time
from qxub.leaving import end_at_once
out = sys.argv[1]
def mark(name):
    with open(os.path.join(out, name), "w") as handle:
        handle.write(name)
"""


def _run(tmp_path: Path, body: str, **options: object) -> subprocess.CompletedProcess[bytes]:
    script = PRELUDE + textwrap.dedent(body)
    return children.run(
        [sys.executable, "-c", script, str(tmp_path)], capture_output=True, **options
    )


def test_it_ends_with_the_code_after_the_atexit_functions_and_every_byte_of_output(
    tmp_path: Path,
) -> None:
    done = _run(
        tmp_path,
        """
        atexit.register(mark, "atexit-ran")
        threading.Thread(target=time.sleep, args=(30,), daemon=True).start()
        sys.stdout.write("x" * 1_000_000)  # buffered: flushed before the end
        sys.stderr.write("said\\n")
        end_at_once(SystemExit(3))
        print("NOT REACHED")
        """,
    )
    assert done.returncode == 3, done.stderr
    assert done.stdout == b"x" * 1_000_000
    assert done.stderr == b"said\n"
    assert (tmp_path / "atexit-ran").exists()


def test_no_code_is_zero(tmp_path: Path) -> None:
    done = _run(tmp_path, "print('hi'); end_at_once(SystemExit(None)); print('NOT REACHED')")
    assert (done.returncode, done.stdout) == (0, b"hi\n")


def test_a_running_thread_is_waited_for_the_usual_way(tmp_path: Path) -> None:
    done = _run(
        tmp_path,
        """
        def late():
            time.sleep(0.3)
            mark("thread-ended")
        threading.Thread(target=late).start()
        end_at_once(SystemExit(4))
        mark("returned")
        sys.exit(4)
        """,
    )
    assert done.returncode == 4, done.stderr
    assert (tmp_path / "returned").exists()
    assert (tmp_path / "thread-ended").exists()


def test_a_message_is_left_to_python_to_print(tmp_path: Path) -> None:
    done = _run(
        tmp_path,
        """
        end_at_once(SystemExit("qxub: the message"))
        raise SystemExit("qxub: the message")
        """,
    )
    assert done.returncode == 1
    assert done.stderr == b"qxub: the message\n"


def test_a_closed_stdout_is_left_to_the_usual_way(tmp_path: Path) -> None:
    """A reader that went away (`qxub ... | head -1`): the flush fails, and the usual end
    (which the command's own handling of a broken pipe counts on) takes over."""
    reader = children.popen(
        [
            sys.executable,
            "-c",
            PRELUDE
            + textwrap.dedent(
                """
                sys.stdin.read()  # until the reader has gone
                sys.stdout.write("y" * 100)  # held in the buffer until the flush
                end_at_once(SystemExit(0))
                mark("returned")
                os._exit(0)
                """
            ),
            str(tmp_path),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"},  # stdout held
    )
    assert reader.stdout is not None and reader.stdin is not None
    reader.stdout.close()  # nothing of it is read
    reader.stdin.close()  # now it writes
    assert reader.stderr is not None
    said = reader.stderr.read()
    reader.wait(timeout=60)
    assert (tmp_path / "returned").exists(), said


def test_the_program_ends_with_the_command_s_code_and_output(tmp_path: Path) -> None:
    """The real program, through `qxub.entry.main`: its output whole, its exit code kept."""
    version = children.run(
        [sys.executable, "-m", "qxub", "--version"], capture_output=True, text=True
    )
    assert version.returncode == 0
    assert version.stdout.startswith("qxub")
    unknown = children.run(
        [sys.executable, "-m", "qxub", "remote", "push", "no-such-remote"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert unknown.returncode not in (0, 3), unknown.stderr
    assert "no-such-remote" in unknown.stderr
