"""Scheduler engines: PBS Pro, Slurm and the local runner, behind one small protocol."""
