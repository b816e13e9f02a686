"""Interactive jobs: a program on a terminal of its own (a pty) bridged to the user's terminal,
through the scheduler's interactive client (`qsub -I`, `srun --pty`) or on this machine."""
