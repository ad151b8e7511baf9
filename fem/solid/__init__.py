"""Finite-strain solids: material laws, the hyperelastic problem (displacement or mixed u-p),
and stress output.

Modules: :mod:`fem.solid.materials` (laws, named parameter sets, ``check_range``),
:mod:`fem.solid.options` (:class:`SolverOptions`; no DOLFINx),
:mod:`fem.solid.hyperelastic` (:class:`HyperelasticProblem`: Newton/SNES, load ramps, failures
as data), :mod:`fem.solid.output` (Cauchy stress, region summaries, field files).
"""

from fem._lazy import lazy_exports

_EXPORTS = {
    **dict.fromkeys(("Material", "CompressibleNeoHookean", "NearlyIncompressibleNeoHookean",
                     "HolzapfelGasserOgden", "StiffLinearSolid", "MATERIAL_NAMES",
                     "material_by_name", "calcium", "check_range", "ATM_MPa", "KPA_MPa"),
                    "materials"),
    "SolverOptions": "options",
    **dict.fromkeys(("HyperelasticProblem", "DisplacementBC", "StepRecord",
                     "FailureRecord", "RampResult", "rigid_body_near_nullspace"), "hyperelastic"),
    **dict.fromkeys(("RegionStress", "cauchy_stress", "hoop_direction", "region_stress_summary",
                     "stress_fields", "write_fields", "boundary_mean"), "output"),
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
