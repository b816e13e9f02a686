"""`qxub platform list|show|estimate`."""

from __future__ import annotations

import click

from qxub.cli.completion import platform_names, queue_names
from qxub.cli.exec_options import options_named
from qxub.job.build import build_resources
from qxub.platforms import (
    check_queue,
    choose_queue,
    describe_estimate,
    estimate,
    explain,
    list_platforms,
    load_platform,
    queue_problems,
)

# The resource options of `qxub exec`, shared so that they read and check the same way.
_ESTIMATE_OPTIONS = frozenset({"mem", "cpus", "runtime", "disk", "gpus", "gpu_type", "internet"})


@click.group("platform")
def platform_group() -> None:
    """Cluster definitions: queues, limits and what jobs cost."""


@platform_group.command("list")
def platform_list() -> None:
    """The platforms qxub knows, built-in and your own."""
    for platform in list_platforms():
        hosts = ", ".join(platform.hosts) or "-"
        click.echo(
            f"{platform.name:<12} {platform.scheduler:<6} hosts: {hosts:<32} {platform.source}"
        )


@platform_group.command("show")
@click.argument("name")
def platform_show(name: str) -> None:
    """The queues of one platform with their limits and charge rates."""
    platform = load_platform(name)
    click.echo(f"{platform.name}: {platform.description}".rstrip(": "))
    click.echo(f"scheduler: {platform.scheduler}   from: {platform.source}")
    if platform.hosts:
        click.echo(f"hosts: {', '.join(platform.hosts)}")
    if platform.default_queue:
        click.echo(f"default queue: {platform.default_queue}")
    width = max(len(q.name) for q in platform.queues)
    for queue in platform.queues:
        click.echo(f"  {queue.name:<{width}}  {queue.summary()}")


@platform_group.command("estimate")
@click.option(
    "--platform",
    "platform_name",
    required=True,
    metavar="NAME",
    help="Platform.",
    shell_complete=platform_names,
)
@click.option(
    "-q",
    "--queue",
    default="auto",
    show_default=True,
    help="Queue, or 'auto'.",
    shell_complete=queue_names,
)
@click.option("-v", "--verbose", count=True, help="Explain the choice of queue.")
@options_named(_ESTIMATE_OPTIONS)
def platform_estimate(
    platform_name: str,
    queue: str,
    verbose: int,
    *,
    mem: str | None,
    cpus: int | None,
    runtime: str | None,
    disk: str | None,
    gpus: int | None,
    gpu_type: str | None,
    internet: bool,
) -> None:
    """What a job with these resources costs, and on which queue."""
    platform = load_platform(platform_name)
    resources = build_resources(
        mem=mem,
        cpus=cpus,
        runtime=runtime,
        disk=disk,
        gpus=gpus,
        gpu_type=gpu_type,
        resources=(),
        volumes=None,
    )
    if queue == "auto":
        choice = choose_queue(platform, resources, internet=internet)
        click.echo(f"{choice.queue.name}: {describe_estimate(choice.chosen)}")
        if verbose:
            for line in explain(choice)[1:]:
                click.echo(line)
        return
    if verbose:
        check_queue(platform, queue, resources, internet=internet)
    est = estimate(platform, queue, resources)
    click.echo(f"{queue}: {describe_estimate(est)}")
    for problem in queue_problems(est.queue, resources, internet=internet):
        click.echo(f"warning: {problem}", err=True)
