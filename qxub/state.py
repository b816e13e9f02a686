"""Where qxub keeps its own state (XDG base dirs), and the records of submitted jobs.

Each job gets a directory before it is submitted (the script must know where to write its
output), named by a local key; an index maps the scheduler's job id to that directory.
The config and `qxub exec --remote` on the laptop need only the folders: what the records
need is imported when a record is written or read.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from qxub import record as records
from qxub.errors import JobNotFound
from qxub.record import field, record
from qxub.xdg import state_dir, xdg_dir

TYPE_CHECKING = False  # as typing's, without importing typing
if TYPE_CHECKING:
    from typing import Any

    from qxub.job.spec import JobSpec


def _xdg(name: str, fallback: str) -> Path:
    return Path(xdg_dir(name, fallback))


def config_home() -> Path:
    return _xdg("XDG_CONFIG_HOME", ".config") / "qxub"


def config_dirs() -> list[Path]:
    """System config dirs, most important first (XDG_CONFIG_DIRS, default /etc/xdg)."""
    value = os.environ.get("XDG_CONFIG_DIRS") or "/etc/xdg"
    return [Path(d) / "qxub" for d in value.split(":") if d and os.path.isabs(d)]


def state_home() -> Path:
    return Path(state_dir())


def cache_home() -> Path:
    """What can be thrown away at any time (qxub.yaml_cache)."""
    return _xdg("XDG_CACHE_HOME", ".cache") / "qxub"


# Where job folders go: this variable (what a laptop sets for a remote with `jobs_dir:`),
# else the config's `jobs_dir:` (use_jobs_dir), else the XDG state dir.
JOBS_DIR_ENV = "QXUB_JOBS_DIR"
# A job submitted by `exec --remote --snapshot` runs in this run folder (a copy of the
# mirror): the remote qxub records it with the job, and writes the job's id beside it.
RUN_FOLDER_ENV = "QXUB_RUN_FOLDER"
RUN_ID_SUFFIX = ".job"
_configured_jobs_dir: list[Path] = []


def expand_dir(text: str) -> Path:
    """A configured folder: `~` and `$VARIABLES` expanded."""
    return Path(os.path.expanduser(os.path.expandvars(text)))


def use_jobs_dir(text: str | None) -> None:
    """The config's `jobs_dir:`, once the CLI has read the config (None: the default)."""
    _configured_jobs_dir[:] = [expand_dir(text)] if text else []


def jobs_dir() -> Path:
    """The folder of job records and logs (one sub-folder per job)."""
    value = os.environ.get(JOBS_DIR_ENV)
    if value:
        return expand_dir(value)
    if _configured_jobs_dir:
        return _configured_jobs_dir[0]
    return state_home() / "jobs"


@record(frozen=True)
class JobRecord:
    """What qxub remembers of a submitted job. Stored as record.json in the job's log dir."""

    job_id: str
    scheduler: str
    logdir: str
    spec: JobSpec
    submitted_at: float
    host: str
    unhonoured: tuple[str, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def path(self) -> Path:
        return Path(self.logdir)


def new_logdir() -> Path:
    """A fresh, private directory for a job that is about to be submitted."""
    base = jobs_dir()
    base.mkdir(parents=True, exist_ok=True, mode=0o700)
    while True:
        key = time.strftime("%Y%m%d-%H%M%S-") + os.urandom(3).hex()
        path = base / key
        try:
            path.mkdir(mode=0o700)
        except FileExistsError:
            continue
        return path


def _index_path(job_id: str) -> Path:
    safe = job_id.replace("/", "_")
    return jobs_dir() / "by-id" / safe


def save_record(record: JobRecord) -> None:
    """Write the record atomically and index it by job id."""
    import json

    data = records.asdict(record)
    tmp = record.path / "record.json.tmp"
    tmp.write_text(json.dumps(data, indent=2) + "\n")
    tmp.replace(record.path / "record.json")
    index = _index_path(record.job_id)
    index.parent.mkdir(parents=True, exist_ok=True)
    tmp_link = index.with_name(index.name + ".tmp" + os.urandom(2).hex())
    tmp_link.symlink_to(os.path.relpath(record.path, index.parent))
    tmp_link.replace(index)


def load_record(job_id: str) -> JobRecord:
    """The record of a job by its id, or JobNotFound with a hint."""
    import json

    path = _index_path(job_id) / "record.json"
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise JobNotFound(
            f"no job {job_id!r} was submitted with qxub from this account",
            hint="`qxub status` lists the jobs qxub knows",
        ) from None
    return record_from_dict(data)


def update_record(record: JobRecord, **extra: Any) -> JobRecord:
    new = records.replace(record, extra={**record.extra, **extra})
    save_record(new)
    return new


def record_from_dict(data: dict[str, Any]) -> JobRecord:
    from qxub.job.spec import Context, JobSpec, Resources  # not on every command's path

    spec = dict(data["spec"])
    spec["context"] = Context(**{k: _tuple(v) for k, v in spec["context"].items()})
    resources = dict(spec["resources"])
    resources["extra"] = tuple(tuple(p) for p in resources.get("extra", ()))
    spec["resources"] = Resources(**resources)
    spec["argv"] = tuple(spec["argv"])
    spec["variables"] = tuple(tuple(p) for p in spec.get("variables", ()))
    spec["options"] = tuple(spec.get("options", ()))
    for name in ("after", "after_any", "mail_on"):
        spec[name] = tuple(spec.get(name, ()))
    return JobRecord(
        job_id=data["job_id"],
        scheduler=data["scheduler"],
        logdir=data["logdir"],
        spec=JobSpec(**spec),
        submitted_at=data["submitted_at"],
        host=data["host"],
        unhonoured=tuple(data.get("unhonoured", ())),
        extra=dict(data.get("extra", {})),
    )


def _tuple(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


def read_exit_code(logdir: Path) -> int | None:
    """The exit code the job script's EXIT trap wrote, or None while there is none."""
    from qxub.job.script import EXIT_CODE_FILE

    try:
        return int((logdir / EXIT_CODE_FILE).read_text().strip())
    except (OSError, ValueError):
        return None


def list_records(limit: int | None = None) -> list[JobRecord]:
    """Known jobs, newest first."""
    import json

    index = jobs_dir() / "by-id"
    if not index.is_dir():
        return []
    records = []
    for entry in index.iterdir():
        try:
            records.append(record_from_dict(json.loads((entry / "record.json").read_text())))
        except (OSError, ValueError, KeyError, TypeError):
            continue  # a half-written or foreign entry: not ours to judge here
    records.sort(key=lambda r: r.submitted_at, reverse=True)
    return records[:limit] if limit else records
