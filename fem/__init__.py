"""Finite-element solvers: materials, the balloon pressure problem, the needle puncture problem.

Solid part of the balloon pressure problem:

* :mod:`fem.materials` - validated hyperelastic materials and named parameter sets;
* :mod:`fem.hyperelastic` - :class:`~fem.hyperelastic.HyperelasticProblem`, finite-strain
  quasi-static wall under a follower lumen pressure, mixed u-p, adaptive load ramp;
* :mod:`fem.solid_output` - per-region Cauchy stress summaries and XDMF fields.
"""

import hpc.stack  # noqa: F401  (orders MPI before DOLFINx; keep first)
