"""Finite-element solvers, one sub-package per problem, each with its public face:

* :mod:`fem.solid`: material laws, the finite-strain (mixed u-p) hyperelastic problem, stress
  output;
* :mod:`fem.balloon`: the balloon film, the wall in equilibrium with it, the state it hands to
  the needle;
* :mod:`fem.needle`: the rigid needle, contact, puncture;
* :mod:`fem.closed_form`: rupture mode and feasibility closed forms.

``fem`` does not import the study runner (:mod:`studies`): the adapters from a study's
parameters to these problems live in :mod:`studies.kinds`.
"""

import hpc.stack  # noqa: F401  (orders MPI before DOLFINx; keep first)
