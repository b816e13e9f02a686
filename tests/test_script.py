"""Job script rendering: record tests against saved scripts, and `bash -n` on each.

Conda and Singularity cannot run on the test machines: their contexts are checked here as
recorded scripts only. Environment modules run for real in test_modules.py.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from qxub.job.resources import parse_duration, parse_size
from qxub.job.script import render_script
from qxub.job.spec import Context, JobSpec, Resources
from qxub.schedulers.local import LocalScheduler

import children

DATA = Path(__file__).parent / "data" / "scripts"
REGENERATE = os.environ.get("QXUB_REGENERATE_RECORDS") == "1"

ARGV = ("python3", "train.py", "--lr", "0.1", "a b", "it's", "$HOME", "new\nline")
CONTEXTS = {
    "default": Context(),
    "conda": Context(env="pytorch"),
    "modules": Context(modules=("gcc/12", "python3/3.11")),
    "conda+modules": Context(env="my env", modules=("miniconda3",)),
    "singularity": Context(sif="/images/tools.sif", binds=("/scratch", "/g/data:/data")),
}


def spec_for(context: Context, **changes: object) -> JobSpec:
    base = JobSpec(
        argv=ARGV,
        execdir="/home/me/my project",
        context=context,
        resources=Resources(mem=parse_size("16GB"), cpus=4, runtime=parse_duration("2h")),
        variables=(("OMP_NUM_THREADS", "4"), ("TAG", "x y")),
        pre="echo starting",
        post="echo done",
        options=("--mem", "16GB", "--cpus", "4", "--runtime", "2h"),
    )
    return JobSpec(**{**base.__dict__, **changes})  # type: ignore[arg-type]


def render(spec: JobSpec) -> str:
    return render_script(
        spec,
        [],
        "/state/qxub/jobs/J",
        version="0.0-test",
        host="laptop",
        python="python3",
    )


@pytest.mark.parametrize("kind", sorted(CONTEXTS))
def test_script_matches_record(kind: str) -> None:
    spec = spec_for(CONTEXTS[kind])
    assert spec.context.kind == kind
    text = render(spec)
    record = DATA / f"local-{kind.replace('+', '-')}.sh"
    if REGENERATE:
        record.write_text(text)
    assert text == record.read_text(), f"differs from {record}; QXUB_REGENERATE_RECORDS=1 rewrites"


@pytest.mark.parametrize("kind", sorted(CONTEXTS))
def test_script_is_valid_bash(kind: str, tmp_path: Path) -> None:
    script = tmp_path / "job.sh"
    script.write_text(render(spec_for(CONTEXTS[kind])))
    children.run(["bash", "-n", str(script)], check=True)


def test_header_names_options_version_and_host() -> None:
    text = render(spec_for(Context()))
    assert "# qxub 0.0-test job script, submitted from laptop" in text
    assert "# options: --mem 16GB --cpus 4 --runtime 2h" in text


def test_hostile_arguments_stay_words_when_the_script_runs(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    argv = ("printf", "%s|", f"x\ntouch {marker}", f"$(touch {marker})", f"';touch {marker}'")
    spec = JobSpec(argv=argv, execdir=str(tmp_path), options=("--name", f"a\ntouch {marker}"))
    script = tmp_path / "job.sh"
    script.write_text(render_script(spec, [], str(tmp_path), version="t", host="h"))
    children.run(["bash", str(script)], check=True)
    assert not marker.exists()
    assert (tmp_path / "stdout").read_text() == "".join(f"{word}|" for word in argv[2:])
    assert (tmp_path / "exit_code").read_text() == "0\n"


def test_a_node_without_python3_runs_the_job_with_its_output_in_its_files(tmp_path: Path) -> None:
    """No python3 for the output writer: the job neither hangs nor loses its output (it goes
    to its files, unstreamed) and says why in the log folder."""
    tools = tmp_path / "bin"
    tools.mkdir()
    for name in ("sh", "mktemp", "mkfifo", "rm", "mv", "hostname", "mkdir", "date", "cat", "env"):
        found = shutil.which(name)
        if found:
            (tools / name).symlink_to(found)
    spec = JobSpec(argv=("sh", "-c", "echo out; echo err >&2; exit 4"), execdir=str(tmp_path))
    script = tmp_path / "job.sh"
    script.write_text(
        render_script(spec, [], str(tmp_path), version="t", host="h", python="/nowhere/python3")
    )
    env = {"PATH": str(tools), "HOME": str(tmp_path)}
    shell = shutil.which("bash")
    assert shell is not None
    children.run([shell, str(script)], env=env, timeout=30)
    assert (tmp_path / "stdout").read_text() == "out\n"
    assert (tmp_path / "stderr").read_text() == "err\n"
    assert (tmp_path / "exit_code").read_text() == "4\n"
    assert "no output writer" in (tmp_path / "capture.err").read_text()


def test_modules_load_before_conda() -> None:
    text = render(spec_for(CONTEXTS["conda+modules"]))
    assert text.index("module load miniconda3") < text.index("conda activate 'my env'")


def test_local_runner_writes_no_directives() -> None:
    spec = spec_for(Context())
    assert LocalScheduler().directives(spec, Path("/x")) == []
