"""The record of the last synced state and the three-way decisions, without a remote: the
table of docs/sync.md, a record written before there was one record, the rename of a pulled
file that checks the file here once more, and conflict copies of names at the length limit."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from unittest import mock

from hypothesis import given
from hypothesis import strategies as st

from qxub.sync import threeway
from qxub.sync.manifest import Entry, load_manifest, manifest_path, verified_path
from qxub.sync.pull import NAME_MAX, beside_name, place
from qxub.sync.threeway import There, decide_pull, decide_push

BASE = Entry(10, 5_000_000_000)
SAME_THERE = There(10, 5, "file")
CHANGED_HERE = Entry(11, 9_000_000_000)
CHANGED_THERE = There(12, 7, "file")


def test_push_follows_the_three_way_table() -> None:
    here = {"send": CHANGED_HERE, "del": None, "job": BASE, "both": CHANGED_HERE, "gone": None}
    base = {name: BASE for name in here}
    there = {
        "send": SAME_THERE,
        "del": SAME_THERE,
        "job": CHANGED_THERE,
        "both": CHANGED_THERE,
        "gone": CHANGED_THERE,
    }
    decision = decide_push(here, base, there)
    assert decision.send == ["send"] and decision.delete == ["del"]
    assert decision.changed_there == ["job"] and decision.conflicts == ["both", "gone"]
    forced = decide_push(here, base, there, force=True)
    assert forced.send == ["both", "send"] and forced.delete == ["del", "gone"]


def test_a_pulled_file_deleted_here_is_left_there() -> None:
    decision = decide_push({"r": None}, {"r": BASE}, {"r": SAME_THERE}, from_remote={"r"})
    assert decision.delete == [] and decision.forget == ["r"]


def test_equal_at_both_ends_is_recorded_not_sent() -> None:
    here = Entry(12, 7_400_000_000)
    decision = decide_push({"x": here}, {"x": BASE}, {"x": CHANGED_THERE})
    assert decision.in_sync == ["x"] and not decision.send


def test_pull_follows_the_three_way_table() -> None:
    there = {"get": CHANGED_THERE, "keep": SAME_THERE, "both": CHANGED_THERE, "new": SAME_THERE}
    here = {"get": BASE, "keep": CHANGED_HERE, "both": CHANGED_HERE, "new": None}
    base = {"get": BASE, "keep": BASE, "both": BASE}
    decision = decide_pull(there, here, base)
    assert decision.fetch == ["get", "new"]
    assert decision.kept == ["keep"] and decision.conflicts == ["both"]


def test_a_record_from_before_reads_as_synced(tmp_path: Path) -> None:
    path = manifest_path("R", tmp_path)
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"pushed": {"a": [1, 2]}, "pulled": {"b": [3, 4]}}))
    record = load_manifest("R", tmp_path)
    assert record.synced == {"a": Entry(1, 2), "b": Entry(3, 4)}
    assert record.from_remote == {"b"}
    record.save()
    assert load_manifest("R", tmp_path).synced == record.synced
    assert not path.with_name(path.name + ".tmp").exists()


def test_the_record_keeps_each_entry_and_reads_the_one_before_columns(tmp_path: Path) -> None:
    path = manifest_path("R", tmp_path)
    path.parent.mkdir(parents=True)
    latin1 = os.fsdecode(b"caf\xe9.txt")
    synced = {"a": Entry(1, 2), "l": Entry(3, 4_000_000_001, "link"), latin1: Entry(0, 5)}
    path.write_text(json.dumps({"synced": {rel: list(e) for rel, e in synced.items()}}))
    record = load_manifest("R", tmp_path)
    assert record.synced == synced
    record.save()
    text = path.read_text()
    assert '"synced"' not in text and '"kinds": "flf"' in text
    again = load_manifest("R", tmp_path)
    assert again.synced == synced and list(again.synced) == list(synced)
    # Each name once in memory: the copy any other interned one is (the selection's).
    assert all(sys.intern(rel) is rel for rel in again.synced)
    columns = json.loads(text)["entries"]
    for damaged in ({**columns, "names": ["a"]}, {**columns, "sizes": "AAAA"}, {"kinds": ""}):
        path.write_text(json.dumps({"entries": damaged}))
        assert load_manifest("R", tmp_path).synced == {}


def test_the_later_full_comparison_counts_the_record_s_or_the_one_beside_it(
    tmp_path: Path,
) -> None:
    record = load_manifest("R", tmp_path)
    record.synced["a"] = Entry(1, 2)
    record.verified_at = 1000.0
    record.save()
    path = manifest_path("R", tmp_path)
    saved = path.read_bytes()
    record.verified_at = 2000.0
    record.save_verified()
    assert path.read_bytes() == saved  # the record itself is not rewritten
    assert load_manifest("R", tmp_path).verified_at == 2000.0
    record.verified_at = 1500.0
    record.save()  # the record written: its own time counts, even an earlier one
    assert load_manifest("R", tmp_path).verified_at == 1500.0
    record.verified_at = 3000.0
    record.save()
    side = verified_path(path)
    for text in ("not a time", "", "nan", "inf", repr(time.time() + 86_400)):
        side.write_text(text)
        assert load_manifest("R", tmp_path).verified_at == 3000.0, text
    side.write_text(repr(4000.0))
    assert load_manifest("R", tmp_path).verified_at == 4000.0
    path.unlink()  # no record: nothing was compared, whatever is beside it
    assert load_manifest("R", tmp_path).verified_at == 0.0


def test_an_edit_saved_during_the_pull_is_kept(tmp_path: Path) -> None:
    root, scratch = tmp_path / "root", tmp_path / "scratch"
    root.mkdir()
    scratch.mkdir()
    (root / "out.txt").write_text("as last synced\n")
    planned = os.lstat(root / "out.txt")
    expected = Entry(planned.st_size, planned.st_mtime_ns)
    (scratch / "out.txt").write_text("from there\n")
    (root / "out.txt").write_text("saved while the pull ran\n")  # after the plan
    why = place(root, scratch, "out.txt", "out.txt", expected)
    assert why == "it changed here while the pull ran"
    assert (root / "out.txt").read_text() == "saved while the pull ran\n"


def test_place_never_goes_through_a_symlink(tmp_path: Path) -> None:
    root, scratch, outside = tmp_path / "root", tmp_path / "scratch", tmp_path / "outside"
    for folder in (root, scratch / "res", outside):
        folder.mkdir(parents=True)
    (root / "res").symlink_to(outside)
    (scratch / "res" / "a.txt").write_text("x\n")
    why = place(root, scratch, "res/a.txt", "res/a.txt", None)
    assert why is not None and "symlink" in why
    assert list(outside.iterdir()) == []


def test_conflict_copies_of_long_names_are_shortened() -> None:
    assert beside_name("d/x.txt", "R") == ("d/x.txt.from-R", False)
    for name in ["n" * 251, "é" * 127, os.fsdecode(b"\xff" * 250)]:
        copy, short = beside_name(f"d/{name}", "gadi")
        assert short and copy.startswith("d/") and copy.endswith(".from-gadi")
        assert len(os.fsencode(copy[2:])) <= NAME_MAX
        if name.isprintable():
            copy.encode()  # a UTF-8 name is cut at a character's start


def test_progress_shows_totals_rate_and_time_left() -> None:
    from qxub.mirroring.progress import progress_line
    from qxub.sync.engine import Transfer

    transfer = Transfer(sent=[("a", 1_000_000), ("b", 1_000_000)], deleted=["c"], elapsed=2.0)
    line = progress_line(transfer, 4, 4_000_000, "pushing")
    assert line.startswith("qxub: pushing 2/4 files, 1.9MB/3.8MB")
    assert "/s" in line and "2.0s left" in line and "deleted 1" in line


def test_the_records_name_keeps_its_hash(tmp_path: Path) -> None:
    """The record is found again by the SHA-256 of the project's path (computed without
    hashlib, which loads OpenSSL): the same name as every earlier qxub gave it."""
    import hashlib

    root = tmp_path / "caf\udce9 project"
    key = hashlib.sha256(os.fsencode(str(root))).hexdigest()[:16]
    assert manifest_path("R", root).name == f"caf\udce9 project-{key}.json"


_STATES = [BASE, CHANGED_HERE, Entry(10, 5_000_000_000, "link"), None]
_THERE = [SAME_THERE, CHANGED_THERE, There(10, 5, "link"), There(0, 0, "dir"), None]


@given(
    st.lists(
        st.tuples(
            st.sampled_from(range(len(_STATES))),  # here
            st.sampled_from([*range(len(_STATES)), "same"]),  # the record: "same": here's own
            st.sampled_from(range(len(_THERE))),  # there
            st.booleans(),  # touched
            st.booleans(),  # pulled
        ),
        max_size=12,
    ),
    st.booleans(),
)
def test_push_decisions_found_at_c_speed_are_the_loops(
    paths: list[tuple[int, int | str, int, bool, bool]], force: bool
) -> None:
    """decide_push takes the paths as synced at both ends (the record's own Entry here, the
    same there) without its loop: the decision is the loop's, path for path and in order."""
    here: dict[str, Entry | None] = {}
    base: dict[str, Entry] = {}
    there: dict[str, There | None] = {}
    touched, pulled = set(), set()
    for i, (h, b, t, touch, pull) in enumerate(paths):
        rel = f"p{i:02d}"
        here[rel] = _STATES[h] if h != 3 else None
        record = here[rel] if b == "same" else _STATES[b]  # type: ignore[index]
        if record is not None:
            base[rel] = record
        there[rel] = _THERE[t]
        if touch:
            touched.add(rel)
        if pull:
            pulled.add(rel)
    options = {"from_remote": pulled, "touched": touched, "force": force}
    fast = decide_push(here, base, there, **options)  # type: ignore[arg-type]
    with mock.patch.object(threeway, "_as_synced_at_both_ends", lambda *_: set()):
        loop = decide_push(here, base, there, **options)  # type: ignore[arg-type]
    assert fast == loop
