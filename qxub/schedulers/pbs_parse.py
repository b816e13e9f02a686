"""Pure parsers for what PBS Pro / OpenPBS prints: `qstat -f` (text and JSON), qsub's job id,
and the exit-status conventions. (The qstat tables are parsed in pbs_tables.py, and what PBS
writes into a job's own output files in pbs_output.py.)

Everything here takes text and returns data; nothing runs a command. The quirks handled are
the ones seen in recorded output (tests/data/pbs/README.md says where each sample came from).
"""

from __future__ import annotations

import json
import re
import signal
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from qxub.record import record
from qxub.schedulers.base import JobState, State


class PbsParseError(ValueError):
    """Text that does not hold what the parser expected."""


# --- states and exit statuses -------------------------------------------------------------

# Q queued, H held, W waiting for its start time, T in transit, S suspended, U suspended
# (workstation busy), M moved to another server, B array job begun, R running, E exiting,
# F finished, X finished subjob. Suspended and held jobs will run again, so they count as queued.
_STATES = {
    **dict.fromkeys("QHWTSU", State.QUEUED),
    **dict.fromkeys("REB", State.RUNNING),
    **dict.fromkeys("FX", State.DONE),
}


def state_of(letter: str) -> State:
    """A qstat state letter -> State (M, moved away, and anything new -> UNKNOWN)."""
    return _STATES.get(letter.strip().upper(), State.UNKNOWN)


# JOB_EXEC_* from OpenPBS src/include/job.h: PBS writes these into Exit_status itself.
JOB_EXEC_REASONS: Mapping[int, str] = {
    -1: "PBS could not start the job (failed before its files were staged)",
    -2: "PBS could not start the job (failed after its files were staged)",
    -3: "PBS could not start the job and will retry it",
    -4: "job aborted while PBS MoM was initialising",
    -5: "job aborted while PBS MoM was initialising (checkpointed, no migration)",
    -6: "job aborted while PBS MoM was initialising (checkpointed, may migrate)",
    -7: "job restart from checkpoint failed",
    -10: "job could not run as its user (invalid uid/gid)",
    -11: "job was requeued to run again",
    -12: "job was checkpointed and killed",
    -13: "job failed due to a bad password",
    -14: "job was requeued after a sister node failed",
    -15: "job was requeued to restart from a checkpoint",
    -16: "a PBS hook rejected the job; it will be retried",
    -17: "a PBS hook rejected the job; it was deleted",
    -18: "a PBS hook requeued the job",
    -19: "a PBS hook deleted the job",
    -20: "job was requeued after the mother superior node failed",
    -21: "job failed a security check",
    -22: "a PBS hook failed while starting the job",
    -23: "job failed to get Kerberos credentials",
    -24: "ncpus exceeded (CPU burst over the limit)",
    -25: "ncpus exceeded (CPU use over the limit)",
    -26: "virtual memory (vmem) exceeded",
    -27: "memory exceeded",
    -28: "CPU time exceeded",
    -29: "walltime exceeded",
    -30: "job failed to join its sister nodes",
}
# Resource-limit kills. PBS stops such a job with SIGTERM (SIGKILL after kill_delay), and
# before OpenPBS v22 recorded the very same walltime kill as 271 = 256 + SIGTERM; reporting
# 128 + SIGTERM keeps the code the same whichever PBS version did the killing.
_LIMIT_KILLS = range(-29, -23)


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def exit_code_from_pbs(exit_status: int) -> tuple[int, str | None]:
    """PBS `Exit_status` -> (exit code as a shell reports it, why PBS ended it or None).

    0..255     the job script's own code (a child killed by signal N already shows 128+N).
    256+N      the job's top shell was killed by signal N -> 128+N ("killed by SIGKILL").
    -24..-29   killed for exceeding a resource limit -> 143 (128+SIGTERM), with the limit.
    other < 0  PBS failed to start or keep the job; the command gave no code -> 1.
    """
    if 0 <= exit_status <= 255:
        return exit_status, None
    if exit_status > 256:
        number = exit_status - 256
        return 128 + number, f"killed by {_signal_name(number)}"
    if exit_status in _LIMIT_KILLS:
        return 128 + signal.SIGTERM, JOB_EXEC_REASONS[exit_status]
    reason = JOB_EXEC_REASONS.get(exit_status, f"PBS ended the job with status {exit_status}")
    return 1, reason


# --- amounts --------------------------------------------------------------------------------

_SIZE_RE = re.compile(r"^(\d+(?:\.\d+)?)\s*([kmgtp]?)(b|w)?$", re.IGNORECASE)
_POWERS = {"": 0, "k": 1, "m": 2, "g": 3, "t": 4, "p": 5}


def parse_pbs_size(text: str) -> int:
    """PBS size -> bytes: '404316kb', '104857600b', '1gb', '3072m', '491.87GB' (binary units;
    a word is 8 bytes; no unit means bytes)."""
    match = _SIZE_RE.match(text.strip())
    if not match:
        raise PbsParseError(f"not a PBS size: {text!r}")
    number, prefix, unit = match.groups()
    scale: int = 1024 ** _POWERS[prefix.lower()] * (8 if (unit or "").lower() == "w" else 1)
    return round(float(number) * scale)


def parse_pbs_duration(text: str) -> int:
    """'4090:56:03', '00:30', '90' -> seconds."""
    parts = text.strip().split(":")
    if not 1 <= len(parts) <= 3 or not all(p.isdigit() for p in parts):
        raise PbsParseError(f"not a PBS duration: {text!r}")
    seconds = 0
    for part in parts:
        seconds = seconds * 60 + int(part)
    return seconds


_MONTHS = {m: i for i, m in enumerate(("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug",
                                       "Sep", "Oct", "Nov", "Dec"), 1)}  # fmt: skip
_PBS_TIME_RE = re.compile(r"^\w{3}\s+(\w{3})\s+(\d{1,2})\s+(\d\d):(\d\d):(\d\d)\s+(\d{4})$")


def parse_pbs_time(text: str) -> datetime:
    """'Tue Apr  9 15:01:47 2013' -> naive datetime in the PBS server's local time.
    Parsed by hand: strptime's %b follows the locale, qstat's month names do not."""
    match = _PBS_TIME_RE.match(text.strip())
    if not match or match.group(1) not in _MONTHS:
        raise PbsParseError(f"not a PBS time: {text!r}")
    month, day, hour, minute, sec, year = match.groups()
    return datetime(int(year), _MONTHS[month], int(day), int(hour), int(minute), int(sec))


# --- qstat -f --------------------------------------------------------------------------------


@record(frozen=True)
class ResourcesUsed:
    """`resources_used.*`: times in seconds, sizes in bytes."""

    cput: int | None = None
    walltime: int | None = None
    mem: int | None = None
    vmem: int | None = None
    ncpus: int | None = None
    cpupercent: int | None = None
    jobfs: int | None = None


@record(frozen=True)
class PbsJob:
    """One job as `qstat -f` reports it; `attributes` keeps every value as printed, with
    nested names flattened the way the text form writes them (`Resource_List.mem`)."""

    job_id: str
    attributes: Mapping[str, str]
    name: str | None
    owner: str | None
    state: str | None  # the letter: Q, R, F ...
    substate: int | None
    queue: str | None
    project: str | None
    comment: str | None
    exit_status: int | None
    used: ResourcesUsed
    requested: Mapping[str, str]  # Resource_List.*
    ctime: datetime | None  # created
    qtime: datetime | None  # queued
    etime: datetime | None  # eligible to run
    stime: datetime | None  # started
    mtime: datetime | None  # last modified
    obittime: datetime | None  # ended

    def job_state(self) -> JobState:
        """The protocol's view: state, and for a finished job its exit code and why."""
        state = state_of(self.state or "")
        if state is not State.DONE:
            return JobState(state, raw_state=self.state)
        deleted = self.substate == SUBSTATE_DELETED
        if self.exit_status is None:
            if deleted:  # deleted before it ran: PBS records no status; the shell's TERM code
                why = _deleted_by(self.comment, "deleted before it ran")
                return JobState(state, exit_code=EXIT_DELETED, reason=why, raw_state=self.state)
            waited = self.attributes.get("depend", "")
            if "afterok" in waited and self.stime is None:  # PBS deletes it when one fails
                why = f"PBS deleted it: a job it comes after did not succeed ({waited})"
                return JobState(state, reason=why, raw_state=self.state)
            return JobState(state, reason=self.comment, raw_state=self.state)
        code, reason = exit_code_from_pbs(self.exit_status)
        if deleted and self.exit_status > 256:
            reason = _deleted_by(self.comment, "deleted while running")
        return JobState(state, exit_code=code, reason=reason, raw_state=self.state)


# substate of a finished job: 91 deleted (qdel), 92 finished, 93 failed or killed for a limit.
SUBSTATE_DELETED = 91
EXIT_DELETED = 128 + signal.SIGTERM  # what a job sent SIGTERM reports, as Slurm's cancelled jobs
_DELETED_BY_RE = re.compile(r"terminated by (\S+)")


def _deleted_by(comment: str | None, what: str) -> str:
    """'deleted while running (qdel by me@host)': who, when PBS's comment says."""
    match = _DELETED_BY_RE.search(comment or "")
    return f"{what} (qdel by {match.group(1)})" if match else f"{what} (qdel)"


_TIMES = ("ctime", "qtime", "etime", "stime", "mtime", "obittime")


def _opt(attrs: Mapping[str, str], key: str, parse: Any) -> Any:
    value = attrs.get(key)
    return None if value is None or value == "" else parse(value)


def pbs_job(job_id: str, attrs: Mapping[str, str]) -> PbsJob:
    """Build a PbsJob from flattened attributes (text or JSON form)."""
    used = {k.split(".", 1)[1]: v for k, v in attrs.items() if k.startswith("resources_used.")}
    return PbsJob(
        job_id=job_id,
        attributes=dict(attrs),
        name=attrs.get("Job_Name"),
        owner=attrs.get("Job_Owner"),
        state=attrs.get("job_state"),
        substate=_opt(attrs, "substate", int),
        queue=attrs.get("queue"),
        project=attrs.get("project"),
        comment=attrs.get("comment"),
        exit_status=_opt(attrs, "Exit_status", int),
        used=ResourcesUsed(
            cput=_opt(used, "cput", parse_pbs_duration),
            walltime=_opt(used, "walltime", parse_pbs_duration),
            mem=_opt(used, "mem", parse_pbs_size),
            vmem=_opt(used, "vmem", parse_pbs_size),
            ncpus=_opt(used, "ncpus", int),
            cpupercent=_opt(used, "cpupercent", int),
            jobfs=_opt(used, "jobfs", parse_pbs_size),
        ),
        requested={
            k.split(".", 1)[1]: v for k, v in attrs.items() if k.startswith("Resource_List.")
        },
        **{t: _opt(attrs, t, parse_pbs_time) for t in _TIMES},
    )


_ATTR_RE = re.compile(r"^ {4}([A-Za-z_][\w.\-]*) = ?(.*)$")
_TAB_AS_SPACES = " " * 8


def parse_qstat_full(text: str) -> list[PbsJob]:
    """`qstat -f [-x] ...` text -> one PbsJob per `Job Id:` record."""
    records: list[tuple[str, dict[str, str]]] = []
    key: str | None = None
    for line in text.splitlines():
        if line.startswith("Job Id:"):
            records.append((line.split(":", 1)[1].strip(), {}))
            key = None
        elif not records:
            continue  # anything printed before the first record
        elif match := _ATTR_RE.match(line):
            key = match.group(1)
            records[-1][1][key] = match.group(2)
        elif key is not None:
            attrs = records[-1][1]
            # qstat wraps long values at ~79 columns onto lines that start with a tab (some
            # copies turned that tab into 8 spaces); the pieces join with nothing between.
            # Any other line is a raw newline inside the value (an exported bash function).
            if line.startswith("\t"):
                attrs[key] += line[1:]
            elif line.startswith(_TAB_AS_SPACES):
                attrs[key] += line[len(_TAB_AS_SPACES) :]
            else:
                attrs[key] += "\n" + line
    # Trailing spaces come from terminals and blank lines from record ends, never from PBS.
    return [pbs_job(jid, {k: v.rstrip() for k, v in attrs.items()}) for jid, attrs in records]


def _flatten(prefix: str, value: Any, out: dict[str, str]) -> None:
    if isinstance(value, dict):
        for key, inner in value.items():
            _flatten(f"{prefix}.{key}" if prefix else str(key), inner, out)
    else:
        out[prefix] = str(value)


# A backslash followed by anything but a JSON escape. PBS lets `\'` and `\,` from the job's
# environment through into Variable_List (openpbs#2049); doubling the backslash keeps the text
# as qstat printed it. Leading zeros (`"foo":005`, openpbs#1255) are quoted for the same reason.
_BAD_ESCAPE_RE = re.compile(r'\\(u[0-9a-fA-F]{4}|["\\/bfnrt]|)')
_LEADING_ZERO_RE = re.compile(r'(":\s*)(-?0\d+(?:\.\d+)?)(\s*[,}\n])')


def _repair_json(text: str) -> str:
    text = _BAD_ESCAPE_RE.sub(lambda m: m.group(0) if m.group(1) else "\\\\", text)
    return _LEADING_ZERO_RE.sub(r'\1"\2"\3', text)


@record(frozen=True)
class QstatJson:
    """`qstat -f -F json` output: the server's header and the jobs (none when the job is
    gone, or when qstat hit the `-u` bug that drops them)."""

    pbs_version: str | None
    pbs_server: str | None
    jobs: tuple[PbsJob, ...]


def parse_qstat_json(text: str) -> QstatJson:
    """`qstat -f -F json` -> QstatJson. Junk before the JSON object (qstat -u prints a table
    first, openpbs#2675) is skipped; raw control characters and bad escapes are tolerated."""
    start = re.search(r"^\s*\{", text, re.MULTILINE)
    if not start:
        raise PbsParseError("qstat printed no JSON object")
    body = text[start.start() :]
    decoder = json.JSONDecoder(strict=False)  # strict=False: raw newlines/tabs in strings
    try:
        data, _ = decoder.raw_decode(body.lstrip())
    except json.JSONDecodeError:
        try:
            data, _ = decoder.raw_decode(_repair_json(body).lstrip())
        except json.JSONDecodeError as exc:
            raise PbsParseError(f"qstat printed invalid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise PbsParseError("qstat's JSON is not an object")
    jobs = []
    for job_id, found in (data.get("Jobs") or {}).items():
        attrs: dict[str, str] = {}
        _flatten("", found, attrs)
        jobs.append(pbs_job(job_id, attrs))
    version, server = data.get("pbs_version"), data.get("pbs_server")
    return QstatJson(version and str(version), server and str(server), tuple(jobs))


def pbs_version(text: str) -> str | None:
    """The version from `qstat --version` ('pbs_version = 19.2.8...') or a JSON header."""
    match = re.search(r'"?pbs_version"?\s*[=:]\s*"?([\w.\-]+)', text)
    return match.group(1) if match else None


# --- qsub's job id ------------------------------------------------------------------------------

_JOB_ID_RE = re.compile(r"^\d+(?:\[\d*\])?(?:\.[\w.\-]+)?$")


def parse_job_id(stdout: str) -> str | None:
    """qsub's stdout -> the job id ('136703295.gadi-pbs', '9[].djoko'); None if none."""
    for line in stdout.splitlines():
        if _JOB_ID_RE.match(line.strip()):
            return line.strip()
    return None
