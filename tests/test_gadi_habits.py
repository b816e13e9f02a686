"""PBS as Gadi users write it, through the real CLI with --dry (nothing is submitted): `-l`
words that name a resource qxub knows are read as that resource (queue choice, limits, cost and
--dry see them), given once, the rest pass on verbatim; `-l storage` gains the file systems of
the job's own paths; platforms are found by the short and the full host name."""

from __future__ import annotations

from pathlib import Path

from qxub.platforms import detect_platform, load_platform

from helpers import assert_one_line_error, qxub
from platform_samples import write_user_platform

GADI_HABIT = "ncpus=48,mem=190GB,walltime=10:00:00,jobfs=100GB,storage=scratch/a56+gdata/a56"


def directives(script: str, prefix: str) -> list[str]:
    return [line for line in script.splitlines() if line.startswith(prefix)]


def test_a_gadi_users_l_words_choose_the_queue_and_the_cost(tmp_path: Path) -> None:
    result = qxub(
        "exec", "--dry", "--platform", "nci_gadi", "--queue", "auto", "-l", GADI_HABIT,
        "--", "python3", "train.py", cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    lines = directives(result.stdout, "#PBS -")
    assert [line for line in lines if line.startswith(("#PBS -q", "#PBS -l"))] == [
        "#PBS -q normal",
        "#PBS -l ncpus=48",
        "#PBS -l mem=190GB",
        "#PBS -l walltime=10:00:00",
        "#PBS -l jobfs=100GB",
        "#PBS -l storage=scratch/a56+gdata/a56",
    ]
    assert (
        "# estimate on normal: 2 SU/h x max(48 cpus, 190GB / 4GB per cpu = 47.5) x 10h = 960 SU"
        in result.stdout
    )


def test_the_same_resource_twice_is_an_error_naming_both(tmp_path: Path) -> None:
    both = qxub("exec", "--dry", "--cpus", "4", "-l", "ncpus=8", "--", "true", cwd=tmp_path)
    assert_one_line_error(both)
    assert "--cpus 4 and -l ncpus=8" in both.stderr
    twice = qxub("exec", "--dry", "-l", "mem=1GB", "-l", "mem=2GB", "--", "true", cwd=tmp_path)
    assert_one_line_error(twice)
    assert "-l mem=1GB and -l mem=2GB" in twice.stderr
    slurm = qxub("exec", "--dry", "--runtime", "1h", "-l", "time=2:00:00", "--", "true")
    assert_one_line_error(slurm)
    assert "--runtime 1h and -l time=2:00:00" in slurm.stderr


def test_select_is_refused_where_the_platform_refuses_it(tmp_path: Path) -> None:
    result = qxub(
        "exec", "--dry", "--platform", "nci_gadi", "-l", "select=2:ncpus=48:mem=190GB",
        "--", "true", cwd=tmp_path,
    )  # fmt: skip
    assert_one_line_error(result)
    assert "nci_gadi does not support -l select=2:ncpus=48:mem=190GB" in result.stderr
    assert "--cpus 96 --mem 380GB" in result.stderr


def test_select_passes_on_where_no_platform_refuses_it(tmp_path: Path) -> None:
    result = qxub(
        "exec", "--dry", "--scheduler", "pbs", "-l", "select=1:ncpus=2", "--", "true", cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert "#PBS -l select=1:ncpus=2" in result.stdout


def test_wd_is_what_qxub_does_and_other_words_pass_on(tmp_path: Path) -> None:
    result = qxub(
        "exec", "--dry", "--scheduler", "pbs", "-l", "wd,ncpus=2,place=excl", "--", "true",
        cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert [line for line in directives(result.stdout, "#PBS -l")] == [
        "#PBS -l ncpus=2",
        "#PBS -l place=excl",
    ]
    assert f"cd -- {tmp_path}" in result.stdout  # the job starts in its directory


def test_slurm_habits_through_l(tmp_path: Path) -> None:
    result = qxub(
        "exec", "--dry", "--scheduler", "slurm",
        "-l", "cpus-per-task=4,mem=8GB,time=1:00:00,gres=gpu:a100:2,ntasks=2",
        "--", "true", cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    lines = directives(result.stdout, "#SBATCH")
    for wanted in (
        "#SBATCH --cpus-per-task=4",
        "#SBATCH --mem=8G",
        "#SBATCH --time=01:00:00",
        "#SBATCH --gres=gpu:a100:2",
        "#SBATCH --ntasks=2",
    ):
        assert lines.count(wanted) == 1, (wanted, lines)
    assert len([line for line in lines if "cpus-per-task" in line]) == 1


def test_bad_l_values_say_which_word(tmp_path: Path) -> None:
    result = qxub("exec", "--dry", "-l", "ncpus=many", "--", "true", cwd=tmp_path)
    assert_one_line_error(result)
    assert "-l ncpus=many" in result.stderr


def test_platform_detection_tries_the_short_and_the_full_host_name() -> None:
    found = detect_platform(("localhost", "gadi-login-03"))
    assert found is not None and found.name == "nci_gadi"
    assert detect_platform(("localhost", "laptop")) is None


def test_gadi_names_its_storage_prefixes() -> None:
    assert load_platform("nci_gadi").storage_paths == (
        ("/scratch", "scratch"),
        ("/g/data", "gdata"),
    )


def test_storage_gains_the_file_systems_of_the_jobs_own_paths(tmp_path: Path) -> None:
    """Gadi's rule on a platform whose prefixes are under tmp_path (this machine has no
    /scratch): the job's directory and --out add theirs after what the user named."""
    scratch, gdata = tmp_path / "scratch", tmp_path / "gdata"
    work = scratch / "a56" / "me" / "proj"
    work.mkdir(parents=True)
    (gdata / "xy").mkdir(parents=True)
    write_user_platform(
        "likegadi",
        f"""\
        scheduler: pbs
        storage_paths: {{{scratch}: scratch, {gdata}: gdata}}
        queues:
          normal: {{charge_rate: 2, node_cpus: 48, node_memory: 192GB,
                    walltime: [{{up_to_cpus: 48, max: 48h}}]}}
        """,
    )
    result = qxub(
        "exec", "--dry", "--platform", "likegadi", "--storage", "gdata/zz+scratch/a56",
        "--out", str(gdata / "xy" / "out.txt"), "--", "true", cwd=work,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "#PBS -l storage=gdata/zz+scratch/a56+gdata/xy\n" in result.stdout
    plain = qxub("exec", "--dry", "--platform", "likegadi", "--", "true", cwd=tmp_path)
    assert "storage" not in "".join(directives(plain.stdout, "#PBS"))


def test_an_explicit_queue_suggests_the_nearest_request(tmp_path: Path) -> None:
    result = qxub(
        "exec", "--dry", "--platform", "nci_gadi", "-q", "gpuvolta", "--gpus", "1", "--cpus", "4",
        "--", "true", cwd=tmp_path,
    )  # fmt: skip
    assert_one_line_error(result)
    assert "on gpuvolta, use --cpus 12" in result.stderr
