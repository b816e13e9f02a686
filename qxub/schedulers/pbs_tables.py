"""A pure parser for the tables qstat prints (`qstat`, `qstat -x`, `-J`, `-u`, `-a`, `-s`,
`-H`), for `qxub status`; a job's full record (`qstat -f`) is parsed in pbs_parse.

Text in, rows out; the quirks handled are the ones seen in recorded output
(tests/data/pbs/README.md says where each sample came from).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any


@dataclass(frozen=True)
class QstatRow:
    """One row of a qstat table: the default form (`qstat`, `qstat -x`, `-J`) or the
    alternate form (`qstat -u`, `-a`, `-s`, `-H`). Fields the form lacks are None; values are
    as printed, since qstat truncates them ('normal-*', '3876:18:')."""

    job_id: str  # without the `*` that marks truncation
    truncated: bool  # the id was cut short: compare with `matches`
    name: str
    user: str
    state: str
    queue: str
    time_use: str | None = None  # default form: CPU time used
    session_id: str | None = None
    nodes: str | None = None
    tasks: str | None = None
    req_mem: str | None = None
    req_time: str | None = None
    elapsed: str | None = None
    comment: str | None = None

    def matches(self, job_id: str) -> bool:
        """Is this the row of `job_id`? qstat cuts long ids short (with a `*`, or silently on
        older PBS), always inside the server suffix, so the sequence numbers must agree and the
        rest may be a prefix; an id without a suffix matches any server."""
        mine, _, my_server = self.job_id.partition(".")
        theirs, _, their_server = job_id.partition(".")
        if mine != theirs:
            return False
        return not my_server or not their_server or their_server.startswith(my_server)


_ROW_START_RE = re.compile(r"^\d+(\[\d*\])?")


def _none_if_dash(value: str) -> str | None:
    return None if value == "--" else value


def parse_qstat_table(text: str) -> list[QstatRow]:
    """The rows of a qstat table. Header, server and dash lines are skipped, a `-s` comment
    line is attached to the row above it, and a JSON object after the table ends it."""
    rows: list[QstatRow] = []
    form: str | None = None
    for line in text.splitlines():
        words = line.split()
        if line.startswith("{"):
            break
        if line.startswith("Job id"):
            form = "default"
        elif line.startswith("Job ID"):
            form = "alt"
        elif form == "default" and len(words) >= 6 and _ROW_START_RE.match(words[0]):
            job_id, name, user, time_use, state, queue = words[:6]
            rows.append(_row(job_id, name, user, state, queue, time_use=time_use))
        elif form == "alt" and len(words) >= 11 and _ROW_START_RE.match(words[0]):
            job_id, user, queue, name, sess, nds, tsk, mem, req, state, elap = words[:11]
            comment = line.split(None, 11)[11].strip() if len(words) > 11 else None
            rows.append(
                _row(job_id, name, user, state, queue, session_id=_none_if_dash(sess),
                     nodes=_none_if_dash(nds), tasks=_none_if_dash(tsk),
                     req_mem=_none_if_dash(mem), req_time=_none_if_dash(req),
                     elapsed=_none_if_dash(elap), comment=comment)
            )  # fmt: skip
        elif form == "alt" and rows and rows[-1].comment is None and _is_comment(line):
            rows[-1] = replace(rows[-1], comment=line.strip())
    return rows


def _is_comment(line: str) -> bool:
    # `qstat -s` prints each job's comment on the line below it, `--` when there is none.
    text = line.strip()
    return bool(text) and text != "--" and not set(text) <= {"-", " "} and "Req'd" not in text


def _row(job_id: str, name: str, user: str, state: str, queue: str, **rest: Any) -> QstatRow:
    truncated = job_id.endswith("*")
    return QstatRow(job_id.rstrip("*"), truncated, name, user, state, queue, **rest)
