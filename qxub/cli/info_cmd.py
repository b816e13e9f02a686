"""`qxub info`: what qxub sees on this machine (also how `qxub remote test` asks a remote)."""

from __future__ import annotations

import json
import shutil
import socket

import click

from qxub import __version__, protocol
from qxub.errors import QxubError
from qxub.platforms import detect_platform, host_names
from qxub.schedulers.registry import detect_scheduler_name
from qxub.state import state_home


def machine_info() -> dict[str, object]:
    host = socket.getfqdn()
    try:
        platform = detect_platform(host_names())
        platform_name: str | None = platform.name if platform else None
        platform_error = None
    except QxubError as exc:
        platform_name, platform_error = None, exc.message
    scheduler = detect_scheduler_name(
        None, platform.scheduler if platform_name and platform else None
    )
    return {
        "version": __version__,
        "protocol": protocol.PROTOCOL,
        "host": host,
        "platform": platform_name,
        "platform_error": platform_error,
        "scheduler": scheduler,
        "state_dir": str(state_home()),
        "rsync": shutil.which("rsync"),
    }


@click.command("info")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
def info_command(as_json: bool) -> None:
    """What qxub finds on this machine: version, platform, scheduler."""
    info = machine_info()
    if as_json:
        click.echo(json.dumps(info))
        return
    for key, value in info.items():
        if value is not None:
            click.echo(f"{key:<15} {value}")
