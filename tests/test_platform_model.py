"""Platforms as data: the built-in Gadi definition, user platform files (loading, overriding,
validation of malformed ones) and detecting the platform from the host name."""

from __future__ import annotations

import pytest

from qxub.errors import ConfigError, QxubError
from qxub.job.resources import parse_size
from qxub.platforms import (
    Platform,
    detect_platform,
    list_platforms,
    load_platform,
    user_platform_dir,
)

from platform_samples import GADI_QUEUES, SMALL, write_user_platform


@pytest.fixture
def gadi() -> Platform:
    return load_platform("nci_gadi")


# --- the built-in platform ------------------------------------------------------------------


def test_builtin_gadi_has_the_published_queues(gadi: Platform) -> None:
    assert gadi.scheduler == "pbs"
    assert set(GADI_QUEUES) <= set(gadi.queue_names)
    assert gadi.source.startswith("built-in")


@pytest.mark.parametrize(
    ("queue", "rate", "cores", "memory"),
    [
        ("normal", 2.0, 48, "190GB"),
        ("express", 6.0, 48, "190GB"),
        ("gpuvolta", 3.0, 48, "382GB"),
        ("dgxa100", 4.5, 128, "2000GB"),
        ("copyq", 2.0, 1, "190GB"),
        ("hugemem", 3.0, 48, "1470GB"),
        ("megamem", 5.0, 48, "2990GB"),
        ("normalbw", 1.25, 28, "256GB"),
        ("normalsr", 2.0, 104, "500GB"),
        ("normalsl", 1.5, 32, "192GB"),
    ],
)
def test_gadi_anchor_figures(
    gadi: Platform, queue: str, rate: float, cores: int, memory: str
) -> None:
    q = gadi.queue(queue)
    assert q is not None
    assert (q.charge_rate, q.node_cpus) == (rate, cores)
    assert (q.max_memory or q.node_memory) == parse_size(memory)


def test_gadi_gpu_and_internet_queues(gadi: Platform) -> None:
    volta, dgx, copyq = gadi.queue("gpuvolta"), gadi.queue("dgxa100"), gadi.queue("copyq")
    assert volta and dgx and copyq
    assert (volta.node_gpus, volta.cpus_per_gpu, volta.gpu_type) == (4, 12, "v100")
    assert (dgx.node_gpus, dgx.cpus_per_gpu, dgx.gpu_type) == (8, 16, "a100")
    assert copyq.max_walltime(1) == 10 * 3600
    assert [q.name for q in gadi.queues if q.internet] == ["copyq"]


def test_gadi_normal_walltime_steps(gadi: Platform) -> None:
    normal = gadi.queue("normal")
    assert normal is not None
    hours = {cpus: (normal.max_walltime(cpus) or 0) // 3600 for cpus in (1, 672, 720, 1440, 1488)}
    assert hours == {1: 48, 672: 48, 720: 24, 1440: 24, 1488: 10}
    assert normal.max_walltime(2976) == 10 * 3600
    assert normal.max_walltime(20736) == 5 * 3600
    assert normal.max_walltime(20784) is None


# --- user platform files --------------------------------------------------------------------


def test_user_file_adds_a_platform() -> None:
    write_user_platform("small", SMALL)
    names = [p.name for p in list_platforms()]
    assert names == sorted(names)
    assert {"nci_gadi", "small"} <= set(names)
    small = load_platform("small")
    assert small.scheduler == "slurm"
    assert small.source == str(user_platform_dir() / "small.yaml")


def test_user_file_overrides_a_builtin() -> None:
    write_user_platform(
        "my-gadi",
        """\
        name: nci_gadi
        description: our own Gadi
        scheduler: pbs
        hosts: ["gadi-*"]
        queues:
          normal:
            charge_rate: 2.0
            node_cpus: 48
            node_memory: 192GB
            max_memory: 190GB
            walltime: [{up_to_cpus: 48, max: 48h}]
        """,
    )
    gadi = load_platform("nci_gadi")
    assert gadi.description == "our own Gadi"
    assert gadi.queue_names == ["normal"]
    assert [p.name for p in list_platforms()].count("nci_gadi") == 1


def test_the_name_defaults_to_the_file_stem() -> None:
    write_user_platform("stem", SMALL.replace("    name: small\n", ""))
    assert load_platform("stem").name == "stem"


def test_two_user_files_for_one_platform_is_an_error() -> None:
    write_user_platform("a", SMALL)
    write_user_platform("b", SMALL)
    with pytest.raises(ConfigError, match="two files define platform 'small'"):
        list_platforms()


def test_unknown_platform_suggests_close_names() -> None:
    with pytest.raises(ConfigError) as caught:
        load_platform("gadi")
    assert caught.value.message == "unknown platform 'gadi'"
    assert caught.value.hint and caught.value.hint.startswith("did you mean nci_gadi?")


# --- malformed platform files ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("edit", "where", "what"),
    [
        (("max_memory: 190GB", "max_mem: 190GB"), "queues.normal.max_mem", "unknown key"),
        (("node_cpus: 48", "node_cpus: lots"), "queues.normal.node_cpus", "whole number"),
        (("node_cpus: 48", "node_cpus: true"), "queues.normal.node_cpus", "whole number"),
        (("charge_rate: 2.0", "charge_rate: [2]"), "queues.normal.charge_rate", "a number"),
        (("max: 48h", "max: 48:00:00"), "queues.normal.walltime[0].max", "quoted duration"),
        (("max: 48h", "max: soon"), "queues.normal.walltime[0].max", "cannot read"),
        (("max_memory: 190GB", "max_memory: 190"), "queues.normal.max_memory", "a size such"),
        (("max_memory: 190GB", "max_memory: 190XB"), "queues.normal.max_memory", "cannot read"),
        (("max_memory: 190GB", "max_memory: '190'"), "queues.normal.max_memory", "has no unit"),
        (("scheduler: pbs", "scheduler: lsf"), "scheduler", "unknown scheduler 'lsf'"),
        (("scheduler: pbs", "schedular: pbs"), "schedular", "unknown key"),
        (("internet: false", "internet: no-way"), "queues.normal.internet", "true or false"),
    ],
)
def test_malformed_file_names_file_and_key(edit: tuple[str, str], where: str, what: str) -> None:
    text = """\
        name: broken
        scheduler: pbs
        queues:
          normal:
            charge_rate: 2.0
            node_cpus: 48
            node_memory: 192GB
            max_memory: 190GB
            internet: false
            walltime: [{up_to_cpus: 48, max: 48h}]
        """
    assert edit[0] in text
    path = write_user_platform("broken", text.replace(edit[0], edit[1]))
    with pytest.raises(ConfigError) as caught:
        load_platform("nci_gadi")  # any load reads every file, so a broken one is found early
    message = caught.value.message
    assert message.startswith(f"{path}: {where}: ")
    assert what in message


def test_unknown_key_lists_the_valid_keys() -> None:
    write_user_platform("broken", SMALL.replace("node_memory: 512GB", "node_mem: 512GB"))
    with pytest.raises(ConfigError) as caught:
        load_platform("broken")
    assert "queues.big.node_mem: unknown key" in caught.value.message
    hint = caught.value.hint or ""
    assert hint.startswith("did you mean 'node_memory'? valid keys: description, charge_rate")
    assert "cpus_per_gpu" in hint


@pytest.mark.parametrize(
    ("text", "what"),
    [
        ("", "expected a mapping of keys, got nothing"),
        ("name: x\nscheduler: pbs\n", "missing"),
        ("name: x\nscheduler: pbs\nqueues: [a]\n", "queues: expected a mapping of queue names"),
        ("queues: {a: 1\n", "not valid YAML (line 2, column"),
        (
            SMALL.replace("walltime: [{up_to_cpus: 8, max: 2h}]\n      fast", "\n      fast"),
            "queues.cheap.walltime: missing",
        ),
        (
            SMALL.replace(
                "[{up_to_cpus: 8, max: 2h}]",
                "[{up_to_cpus: 8, max: 2h}, {up_to_cpus: 4, max: 1h}]",
                1,
            ),
            "queues.cheap.walltime[1].up_to_cpus: steps must go up in cpus",
        ),
    ],
)
def test_malformed_file_shapes(text: str, what: str) -> None:
    path = write_user_platform("broken", text)
    with pytest.raises(ConfigError) as caught:
        list_platforms()
    assert caught.value.message.startswith(str(path))
    assert what in caught.value.message


# --- detection ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "host",
    [
        "gadi-login-01.gadi.nci.org.au",
        "gadi-login-05",
        "GADI-DM-02.gadi.nci.org.au",
        "gadi-cpu-clx-1234.gadi.nci.org.au",
    ],
)
def test_detect_gadi_by_host_name(host: str) -> None:
    found = detect_platform(host)
    assert found is not None and found.name == "nci_gadi"


def test_detect_nothing_on_an_unknown_host() -> None:
    assert detect_platform("my-laptop.local") is None


def test_detect_a_user_platform_by_its_patterns() -> None:
    write_user_platform("small", SMALL)
    found = detect_platform("login2.small.example.org")
    assert found is not None and found.name == "small"


def test_qxub_platform_overrides_detection(monkeypatch: pytest.MonkeyPatch) -> None:
    write_user_platform("small", SMALL)
    monkeypatch.setenv("QXUB_PLATFORM", "small")
    found = detect_platform("gadi-login-01.gadi.nci.org.au")
    assert found is not None and found.name == "small"
    assert detect_platform("x", env={"QXUB_PLATFORM": "nci_gadi"}) is not None


def test_qxub_platform_naming_an_unknown_platform(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QXUB_PLATFORM", "nci-gadi")
    with pytest.raises(QxubError) as caught:
        detect_platform("anything")
    assert "$QXUB_PLATFORM names unknown platform 'nci-gadi'" in caught.value.message
    assert caught.value.hint and "did you mean nci_gadi" in caught.value.hint
