"""Choosing and checking queues on a platform: job costs (to the cent of NCI's published
examples), --queue auto, and an explicit queue's limits (check_queue, queue_problems)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qxub.job.resources import parse_duration, parse_size
from qxub.job.spec import Resources
from qxub.platforms import (
    DEFAULT_RUNTIME,
    Platform,
    QueueError,
    check_queue,
    choose_queue,
    describe_estimate,
    estimate,
    explain,
    format_su,
    load_platform,
    queue_problems,
)

from platform_samples import GADI_QUEUES, SMALL, write_user_platform

JOB_COSTS = "https://opus.nci.org.au/spaces/Help/pages/236880942/Job+Costs"


def job(
    cpus: int | None = None,
    mem: str | None = None,
    runtime: str | None = None,
    jobfs: str | None = None,
    gpus: int | None = None,
    gpu_type: str | None = None,
) -> Resources:
    return Resources(
        cpus=cpus,
        mem=parse_size(mem) if mem else None,
        runtime=parse_duration(runtime) if runtime else None,
        disk=parse_size(jobfs) if jobfs else None,
        gpus=gpus,
        gpu_type=gpu_type,
    )


@pytest.fixture
def gadi() -> Platform:
    return load_platform("nci_gadi")


# --- cost: every example of NCI's Job Costs page, to the cent ---------------------------------


@pytest.mark.parametrize(
    ("queue", "resources", "su"),
    [
        ("normal", job(4, "16GB", "5h"), 40),  # "Charged on CPU request"
        ("normal", job(8, "16GB", "5h"), 80),
        ("normal", job(8, "128GB", "5h"), 320),  # "Charged on memory request": 32 x 5 x 2
        ("normal", job(8, "192GB", "5h"), 480),  # a whole node's memory: 48 x 5 x 2
        ("express", job(8, "16GB", "5h"), 240),  # "Express charge rate is 6.0"
        ("gpuvolta", job(12, "90GB", "5h", gpus=1), 180),
        ("gpuvolta", job(12, "380GB", "5h", gpus=1), 716.23),  # 12 x 3.97905... x 5 x 3
    ],
)
def test_published_job_cost_examples(
    gadi: Platform, queue: str, resources: Resources, su: float
) -> None:
    """The table on NCI's Job Costs page (JOB_COSTS)."""
    assert round(estimate(gadi, queue, resources).su, 2) == su


def test_acceptance_estimate_prints_40_su(gadi: Platform) -> None:
    est = estimate(gadi, "normal", job(4, "16GB", "5h"))
    assert format_su(est.su) == "40 SU"
    assert describe_estimate(est) == "2 SU/h x max(4 cpus, 16GB / 4GB per cpu = 4) x 5h = 40 SU"
    assert est.charged_on == "cpus"


def test_memory_heavy_job_is_charged_on_memory(gadi: Platform) -> None:
    """The Job Costs page: 'Memory is charged in 4 GiB blocks, so 16 GiB = 4, 40GiB = 10'."""
    est = estimate(gadi, "normal", job(1, "40GB", "1h"))
    assert (est.memory_cpus, est.su, est.charged_on) == (10, 20, "memory")


def test_missing_runtime_is_costed_for_one_hour(gadi: Platform) -> None:
    est = estimate(gadi, "normal", job(4))
    assert est.hours == DEFAULT_RUNTIME / 3600 == 1
    assert est.su == 8
    assert any("runtime: none given; costed for 1h" in note for note in est.filled)


def test_format_su() -> None:
    assert [format_su(x) for x in (40.0, 716.2303, 0.5, 13.7259)] == [
        "40 SU",
        "716.23 SU",
        "0.5 SU",
        "13.73 SU",
    ]


# --- --queue auto ---------------------------------------------------------------------------


def test_auto_one_gpu_chooses_gpuvolta_with_12_cpus(gadi: Platform) -> None:
    choice = choose_queue(gadi, job(gpus=1))
    assert choice.queue.name == "gpuvolta"
    assert (choice.resources.cpus, choice.resources.gpus) == (12, 1)
    assert choice.su == 36
    assert [e.queue.name for e in choice.runners_up] == ["dgxa100"]


def test_auto_four_a100s_chooses_dgxa100_with_64_cpus(gadi: Platform) -> None:
    choice = choose_queue(gadi, job(gpus=4, gpu_type="a100"))
    assert choice.queue.name == "dgxa100"
    assert choice.resources.cpus == 64
    volta = next(r for r in choice.rejected if r.queue.name == "gpuvolta")
    assert volta.reasons == ("gpuvolta has v100 GPUs, not a100",)


def test_auto_picks_the_cheapest_and_records_the_rest(gadi: Platform) -> None:
    choice = choose_queue(gadi, job(mem="400GB", runtime="10h"))
    costs = [choice.su] + [e.su for e in choice.runners_up]
    assert costs == sorted(costs)
    normal = next(r for r in choice.rejected if r.queue.name == "normal")
    assert normal.reasons == ("memory 400GB exceeds normal's limit of 190GB",)
    names = {choice.queue.name} | {e.queue.name for e in choice.runners_up}
    assert {"hugemem", "hugemembw", "megamem"} <= names


def test_auto_leaves_copyq_to_internet_jobs(gadi: Platform) -> None:
    plain = choose_queue(gadi, job(1, "150GB", "1h"))
    assert plain.queue.name != "copyq"
    online = choose_queue(gadi, job(1, "4GB", "2h"), internet=True)
    assert online.queue.name == "copyq"
    assert online.runners_up == ()


def test_auto_explains_itself(gadi: Platform) -> None:
    lines = explain(choose_queue(gadi, job(gpus=1)))
    assert lines[0].startswith("queue auto on nci_gadi: gpuvolta")
    text = "\n".join(lines)
    assert "12 (1 GPU x 12 cpus per GPU on gpuvolta)" in text
    assert "runtime: none given; costed for 1h" in text
    assert "also fits: dgxa100 72 SU" in text
    assert "ruled out normal: normal has no GPUs" in text


def test_auto_ties_go_to_non_express_then_first_listed() -> None:
    write_user_platform("small", SMALL)
    small = load_platform("small")
    choice = choose_queue(small, job(1, "1GB", "1h"))
    assert choice.queue.name == "cheap"  # 'fast' costs the same but is express
    assert [e.queue.name for e in choice.runners_up] == ["fast"]
    big = next(r for r in choice.rejected if r.queue.name == "big")
    assert big.reasons == ("big needs at least 64GB memory, not 1GB",)


def test_auto_honours_a_queue_minimum_memory() -> None:
    write_user_platform("small", SMALL)
    small = load_platform("small")
    assert choose_queue(small, job(1, "100GB", "1h")).queue.name == "big"
    assert queue_problems(small.queues[2], job(1, "64GB")) == []
    assert queue_problems(small.queues[2], job(1)) == ["big needs at least 64GB memory, not none"]


def test_auto_when_nothing_fits_lists_every_queue(gadi: Platform) -> None:
    with pytest.raises(QueueError) as caught:
        choose_queue(gadi, job(1, "4TB", "1h"))
    message = caught.value.message
    assert message.startswith("no queue on nci_gadi fits this job:")
    for name in GADI_QUEUES:
        assert f"\n  {name}: " in message
    assert "memory 4TB exceeds megamembw's limit of 3000GB" in message


# --- an explicit queue ----------------------------------------------------------------------


def test_explicit_queue_over_its_memory_limit(gadi: Platform) -> None:
    with pytest.raises(QueueError) as caught:
        check_queue(gadi, "normal", job(mem="400GB"))
    assert caught.value.message == "memory 400GB exceeds normal's limit of 190GB"
    assert caught.value.hint is not None
    assert "hugemem" in caught.value.hint
    assert "normal " not in caught.value.hint


def test_explicit_queue_suggests_the_nearest_fitting_cpus(gadi: Platform) -> None:
    with pytest.raises(QueueError) as caught:
        check_queue(gadi, "gpuvolta", job(cpus=4, gpus=1))
    assert "gpuvolta takes exactly 12 cpus per GPU" in caught.value.message
    assert caught.value.hint is not None
    assert caught.value.hint.startswith("on gpuvolta, use --cpus 12;")
    with pytest.raises(QueueError) as whole:
        check_queue(gadi, "normal", job(cpus=50))
    assert whole.value.hint is not None and whole.value.hint.startswith("on normal, use --cpus 96;")
    with pytest.raises(QueueError) as memory:  # more cpus would not help: no suggestion
        check_queue(gadi, "normal", job(mem="400GB"))
    assert memory.value.hint is not None and "--cpus" not in memory.value.hint


def test_explicit_queue_that_fits_returns_its_cost(gadi: Platform) -> None:
    assert check_queue(gadi, "normal", job(4, "16GB", "5h")).su == 40


def test_unknown_queue_suggests_close_names(gadi: Platform) -> None:
    with pytest.raises(QueueError) as caught:
        check_queue(gadi, "norml", job())
    assert "no queue 'norml'" in caught.value.message
    assert caught.value.hint and "did you mean normal" in caught.value.hint
    with pytest.raises(QueueError):
        estimate(gadi, "gpuvolt", job())


@pytest.mark.parametrize(
    ("queue", "resources", "problem"),
    [
        ("normal", job(1, "190GB"), None),
        ("normal", job(1, "194560MB"), None),  # 190GB exactly
        ("normal", job(1, "194561MB"), "memory 194561MB exceeds normal's limit of 190GB"),
        ("normal", job(96, "380GB"), None),  # two nodes, two nodes' memory
        ("normal", job(96, "381GB"), "(190GB per node x 2 nodes for 96 cpus)"),
        ("normal", job(1, runtime="48h"), None),
        ("normal", job(1, runtime="48h1s"), "runtime 48h1s exceeds normal's limit of 48h"),
        ("normal", job(672, runtime="48h"), None),
        ("normal", job(720, runtime="48h"), "limit of 24h for 720 cpus"),
        ("normal", job(20736, runtime="5h"), None),
        ("normal", job(20784), "20784 cpus exceed normal's limit of 20736"),
        ("normal", job(48), None),
        ("normal", job(50), "ask for a multiple of 48 cpus, not 50"),
        ("normal", job(1, jobfs="400GB"), None),
        ("normal", job(1, jobfs="401GB"), "jobfs 401GB exceeds normal's limit of 400GB"),
        ("normal", job(gpus=1), "normal has no GPUs"),
        ("hugemembw", job(7), None),
        ("hugemembw", job(6), "hugemembw needs at least 7 cpus, not 6"),
        ("hugemembw", job(8), "hugemembw takes cpus in multiples of 7, not 8"),
        ("megamembw", job(64, runtime="12h"), None),
        ("megamembw", job(48), "megamembw takes cpus in multiples of 32, not 48"),
        ("gpuvolta", job(24, gpus=2), None),
        ("gpuvolta", job(12, gpus=2), "takes exactly 12 cpus per GPU: 24 cpus for 2 GPUs, not 12"),
        ("gpuvolta", job(12), "gpuvolta is for GPU jobs"),
        ("gpuvolta", job(gpus=80, runtime="5h"), None),
        ("gpuvolta", job(gpus=81), "81 GPUs exceed gpuvolta's limit of 80"),
        ("copyq", job(1, runtime="10h"), None),
        ("copyq", job(2), "2 cpus exceed copyq's limit of 1"),
    ],
)
def test_limits_at_their_edges(
    gadi: Platform, queue: str, resources: Resources, problem: str | None
) -> None:
    q = gadi.queue(queue)
    assert q is not None
    found = "; ".join(queue_problems(q, resources))
    if problem is None:
        assert found == ""
    else:
        assert problem in found


def test_internet_only_on_copyq(gadi: Platform) -> None:
    normal, copyq = gadi.queue("normal"), gadi.queue("copyq")
    assert normal and copyq
    assert queue_problems(normal, job(1), internet=True) == ["normal has no internet access"]
    assert queue_problems(copyq, job(1), internet=True) == []


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    cpus=st.one_of(st.none(), st.integers(1, 400)),
    mem_gb=st.one_of(st.none(), st.integers(1, 3200)),
    hours=st.one_of(st.none(), st.integers(1, 60)),
    gpus=st.one_of(st.none(), st.integers(0, 20)),
)
def test_auto_choice_is_a_cheapest_fitting_queue(
    gadi: Platform, cpus: int | None, mem_gb: int | None, hours: int | None, gpus: int | None
) -> None:
    resources = Resources(
        cpus=cpus,
        mem=mem_gb * 1024**3 if mem_gb else None,
        runtime=hours * 3600 if hours else None,
        gpus=gpus or None,
    )
    try:
        choice = choose_queue(gadi, resources)
    except QueueError as err:
        assert err.message.count("\n  ") == len(gadi.queues)
        return
    assert queue_problems(choice.queue, resources) == []
    assert check_queue(gadi, choice.queue.name, resources).su == choice.su
    assert all(choice.su <= e.su for e in choice.runners_up)
    assert len(choice.runners_up) + len(choice.rejected) + 1 == len(gadi.queues)
