"""What the benchmarks share: a throwaway sshd on 127.0.0.1 with qxub remotes configured for
it, the environment qxub runs in, and ssh command lines over the same master or a fresh one.

qxub's modules are compiled to bytecode first (`compile_package`), as pip does when it
installs qxub: where PYTHONDONTWRITEBYTECODE is set, an uncompiled qxub would compile every
module it imports on each run (some 80 ms), which no installed qxub does."""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from sshd_server import SshServer


def installed_python() -> str:
    """A Python that runs qxub as `pip install .` leaves it: a venv whose path holds this
    checkout and the dependencies of the running one, with no editable-install finder, and
    the `qxub` program (`installed_qxub`).

    A development checkout installed with `pip install -e` loads setuptools' import finder
    (and pathlib) in every Python that starts, about 15 ms: a user's installed qxub never
    pays it, and a start-up benchmark would time it on every call. Made once per checkout
    and interpreter, in the temporary folder."""
    import hashlib
    import sysconfig

    root = Path(__file__).resolve().parent.parent
    key = hashlib.sha256(f"{sys.prefix}\0{root}".encode()).hexdigest()[:12]
    venv = Path(tempfile.gettempdir()) / f"qxub-bench-python-{key}"
    python = venv / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
        purelib = subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            check=True, capture_output=True, text=True,
        ).stdout.strip()  # fmt: skip
        lines = [str(root), sysconfig.get_paths()["purelib"]]
        Path(purelib, "qxub-bench.pth").write_text("\n".join(lines) + "\n")
    return str(python)


# What pip writes for pyproject's `qxub = "qxub.entry:main"`: the program a user runs. Through
# it, not `python -m qxub` (runpy and the module search cost about 5 ms more at start-up). This
# is pip 26's; pip before 25.0 wrote `import re` and a `re.sub` on argv[0] there, which cost
# an `exec --remote` some 8 ms more before its ssh session starts (`qxub remote install`
# writes no `re` either).
_SCRIPT = """#!{python}
import sys
from qxub.entry import main
if __name__ == '__main__':
    sys.argv[0] = sys.argv[0].removesuffix('.exe')
    sys.exit(main())
"""


def installed_qxub() -> str:
    """The `qxub` program of `installed_python`'s venv, as pip installs it."""
    python = installed_python()
    program = Path(python).parent / "qxub"
    text = _SCRIPT.format(python=python)
    if not program.exists() or program.read_text() != text:
        program.write_text(text)
        program.chmod(0o755)
    return str(program)


QXUB = [installed_qxub()]


@dataclass(frozen=True)
class Bench:
    server: SshServer
    base: Path  # scratch space, removed at the end
    runtime: str  # XDG_RUNTIME_DIR: where qxub's ssh control sockets live
    env: dict[str, str]  # the environment qxub runs in (config, state and runtime dirs)

    def ssh(self, *, shared: bool = True) -> list[str]:
        """ssh to the server, through qxub's master connection or over a fresh one."""
        argv = ["ssh", "-F", str(self.server.ssh_config), "-p", str(self.server.port)]
        argv += ["-l", self.server.user]
        if shared:
            return [*argv, "-o", f"ControlPath={self.runtime}/qxub/%C"]
        return [*argv, "-o", "ControlMaster=no", "-o", "ControlPath=none"]

    def warm(self) -> None:
        """Open the master connection qxub will share (same ControlPath), so that the first
        timed command does not pay for it."""
        Path(self.runtime, "qxub").mkdir(mode=0o700, exist_ok=True)
        argv = [*self.ssh(), "-o", "ControlMaster=auto", "-o", "ControlPersist=10m"]
        subprocess.run([*argv, self.server.host, "true"], check=True, capture_output=True)

    def rsh(self, *, shared: bool = True) -> str:
        return shlex.join(self.ssh(shared=shared))


Remotes = Callable[[Path], dict[str, dict[str, str]]]


def compile_package(folder: Path) -> None:
    """Write the bytecode of the Python package at `folder`, as an install does."""
    argv = [sys.executable, "-m", "compileall", "-q", str(folder)]
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)


@contextlib.contextmanager
def bench_remotes(remotes: Remotes, prefix: str) -> Iterator[Bench]:
    """Start an sshd and configure the remotes that `remotes(base)` names (name -> settings
    besides url and ssh config) to reach it; `base` is the bench's scratch folder."""
    import qxub

    compile_package(Path(qxub.__file__).parent)
    base = Path(tempfile.mkdtemp(prefix=f"qxub-bench-{prefix}-"))
    runtime = tempfile.mkdtemp(prefix="qb", dir="/tmp")  # short: a socket path has a limit
    server = SshServer(base / "sshd")
    server.start()
    try:
        config = base / "config" / "qxub" / "config.yaml"
        config.parent.mkdir(parents=True)
        lines = ["remotes:"]
        for name, settings in remotes(base).items():
            lines += [f"  {name}:", f"    url: {server.url}", f"    config: {server.ssh_config}"]
            lines += [f"    {key}: {value!r}" for key, value in settings.items()]
        config.write_text("\n".join(lines) + "\n")
        # Bytecode as an installed qxub has it (pip compiles it): without this a shell that
        # sets PYTHONDONTWRITEBYTECODE would time compiling qxub's modules on every run.
        env = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
        env = {
            **env,
            "XDG_CACHE_HOME": str(base / "cache"),
            "XDG_CONFIG_HOME": str(base / "config"),
            "XDG_RUNTIME_DIR": runtime,
            "XDG_STATE_HOME": str(base / "state"),
        }
        yield Bench(server, base, runtime, env)
    finally:
        argv = ["ssh", "-o", f"ControlPath={runtime}/qxub/%C", "-O", "exit"]
        subprocess.run([*argv, "-p", str(server.port), server.host], capture_output=True)
        server.stop()
        shutil.rmtree(base, ignore_errors=True)
        shutil.rmtree(runtime, ignore_errors=True)


def command(argv: list[str], **options: object) -> Callable[[], None]:
    """A call that runs `argv` to success, its output captured and /dev/null as its stdin (a
    qxub exec reads a piped stdin to its end for the job, and so does one behind `ssh R`)."""

    if "input" not in options:
        options = {"stdin": subprocess.DEVNULL, **options}

    def run() -> None:
        done = subprocess.run(argv, capture_output=True, **options)  # type: ignore[call-overload]
        if done.returncode != 0:
            said = done.stderr.decode(errors="replace")[-2000:]
            raise SystemExit(f"{argv} failed with exit code {done.returncode}:\n{said}")

    return run


def interleaved(fns: list[Callable[[], object]], runs: int) -> list[float]:
    """The median time of each of `fns`, called in turn `runs` times: one of each per round,
    so that a machine loaded by others slows them alike."""
    samples: list[list[float]] = [[] for _ in fns]
    for _ in range(runs):
        for fn, times in zip(fns, samples, strict=True):
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
    return [statistics.median(times) for times in samples]


def median(fn: Callable[[], object], runs: int) -> float:
    """Median wall time of `runs` calls."""
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def once(fn: Callable[[], object]) -> float:
    return median(fn, 1)
