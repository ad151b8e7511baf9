"""Local fracture on the needle's cut plane: the cohesive law of each layer and the cohesive
crack assembled on a symmetry plane of the model.

Modules: :mod:`fem.needle.fracture.law` (bilinear traction-separation law with secant
unloading, cohesive length; pure NumPy), :mod:`fem.needle.fracture.interface`
(:class:`CohesivePlane`: the crack on a symmetry plane, its history, energies and
crack extent, added to a :class:`fem.solid.hyperelastic.HyperelasticProblem`).
"""

from fem._lazy import lazy_exports

_EXPORTS = {
    **dict.fromkeys(("J_PER_M2", "CohesiveLaw", "cohesive_traction", "cohesive_energy_parts"),
                    "law"),
    **dict.fromkeys(("CohesivePlane", "CohesiveSettings", "ResolutionError"), "interface"),
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
