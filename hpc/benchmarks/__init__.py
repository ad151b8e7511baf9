"""Benchmarks: our solvers beside plain-DOLFINx baselines, with the project's targets.

Run ``python -m hpc.benchmarks [--size tiny|small|full] [--ranks 1,2] [--only ...]
[--json out.json]`` (or ``nre bench``); see :mod:`hpc.benchmarks.suite` for what it measures
and the README's "Benchmarks" section for the table and the targets.

Public face::

    from hpc.benchmarks import SuiteOptions, run_suite, report, fit_exponent, parallel_efficiency

Modules: :mod:`~hpc.benchmarks.suite` (plan, launch, report), :mod:`~hpc.benchmarks.measure`
(one MPI measurement process), :mod:`~hpc.benchmarks.baselines` (plain DOLFINx),
:mod:`~hpc.benchmarks.ours` (our solvers), :mod:`~hpc.benchmarks.probe` (PETSc event times,
memory), :mod:`~hpc.benchmarks.analysis` (exponents, efficiency, targets, tables);
:mod:`~hpc.benchmarks.puncture_mesh_levels` checks the mesh objectivity of F*.
"""

import hpc.stack  # noqa: F401  (orders MPI before DOLFINx; keep first)

from hpc.benchmarks.analysis import fit_exponent, parallel_efficiency  # noqa: E402
from hpc.benchmarks.suite import SuiteOptions, report, run_suite  # noqa: E402

__all__ = ["SuiteOptions", "fit_exponent", "parallel_efficiency", "report", "run_suite"]
