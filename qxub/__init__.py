"""qxub: run HPC batch jobs from a laptop as if they were local."""

__version__ = "0.1.0"
