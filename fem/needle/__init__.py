"""The needle problem: the rigid needle, its contact with the tissue, and puncture.

Modules: :mod:`fem.needle.geometry` (:class:`Needle`: gauges, tips, exact signed distance),
:mod:`fem.needle.inputs` (contact settings, puncture criterion and case; no DOLFINx),
:mod:`fem.needle.contact` (3-D and axisymmetric contact problems, insertion),
:mod:`fem.needle.puncture` (the puncture events of a case and their criterion),
:mod:`fem.needle.indentation` (one indentation, axisymmetric or 3-D, for checks).
"""

from fem._lazy import lazy_exports

_EXPORTS = {
    **dict.fromkeys(("Needle", "TIPS", "NUMPY_OPS", "ufl_ops"), "geometry"),
    **dict.fromkeys(("ContactSettings", "EVENTS", "EDGES", "J_PER_M2", "FractureEnergies",
                     "PunctureCriterion", "PunctureCase"), "inputs"),
    **dict.fromkeys(("InsertionStep", "InsertionResult", "NeedleContactProblem",
                     "AxisymmetricNeedleProblem"), "contact"),
    **dict.fromkeys(("solve_event", "solve_puncture"), "puncture"),
    **dict.fromkeys(("IndentationSpec", "solve_indentation"), "indentation"),
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
