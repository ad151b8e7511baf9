"""Finite-element solvers: materials, the balloon pressure problem, the needle puncture problem."""

import hpc.stack  # noqa: F401  (orders MPI before DOLFINx; keep first)
