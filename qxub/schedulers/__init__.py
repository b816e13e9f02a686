"""Scheduler engines: PBS Pro, Slurm and the local runner, behind one small protocol."""

# Their names, here so that the CLI's option parsing needs none of them.
NAMES = ("pbs", "slurm", "local")
