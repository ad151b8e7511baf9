"""Talking to MPI and Slurm: the stack import order, rank-aware helpers, Slurm job arrays."""

import hpc.stack  # noqa: F401  (orders MPI before DOLFINx; keep first)
