"""The balloon pressure problem: the film, the wall in equilibrium with it, and the state it
hands to the needle.

Modules: :mod:`fem.balloon.film` (film laws, catheter rating, closed forms of a cylindrical
membrane and its burst; no DOLFINx), :mod:`fem.balloon.membrane` (the finite-strain FE membrane),
:mod:`fem.balloon.inputs` (the balloon case, wall materials and strengths; no DOLFINx),
:mod:`fem.balloon.confined` (the film held by the channel: contact pressure and its inverse;
no DOLFINx), :mod:`fem.balloon.equilibrium` (balloon pressure continuation of wall and film),
:mod:`fem.balloon.wall_failure` (damage and rupture levels per layer, non-local stress),
:mod:`fem.balloon.burst` (the balloon's burst, free and in its channel),
:mod:`fem.balloon.film_puncture` (the needle against the film),
:mod:`fem.balloon.problem` (wall + film equilibrium on the section or the 3-D segment),
:mod:`fem.balloon.prestress` (the wall's state on the needle path).
"""

from fem._lazy import lazy_exports

_EXPORTS = {
    **dict.fromkeys(("ATM_MPA", "NeoHookeanFilm", "DemirayFilm", "BalloonFilm", "BalloonRating",
                     "FilmLaw", "cylinder_tensions", "cylinder_pressure_axially_fixed",
                     "closed_end_axial_stretch", "closed_end_cylinder_pressure",
                     "closed_end_cylinder_stretches", "closed_end_confined_contact_pressure",
                     "fit_film_to_compliance", "CylinderState", "CylinderBurst",
                     "closed_end_cylinder_state", "closed_end_cylinder_state_at_pressure",
                     "closed_end_burst", "strength_quantile", "tolerance_factor",
                     "RBP_SURVIVAL", "RBP_CONFIDENCE"), "film"),
    **dict.fromkeys(("BalloonBurstCase", "BurstResult", "BurstSearch", "find_burst",
                     "solve_balloon_burst"), "burst"),
    **dict.fromkeys(("FilmPunctureCase", "FilmPunctureResult", "FilmState",
                     "solve_film_puncture"), "film_puncture"),
    **dict.fromkeys(("ChannelContact", "LoadStepping", "MembraneOptions", "MembraneResult",
                     "MembraneProblem", "RatingCheck", "check_rating", "surface_kinematics",
                     "calibrate_reference_diameter", "balloon_film_report"), "membrane"),
    **dict.fromkeys(("BalloonCase", "WallMaterials", "GEOMETRIES"), "inputs"),
    **dict.fromkeys(("BalloonProblem", "BalloonResult", "layer_hoop_direction",
                     "solve_balloon"), "problem"),
    "ConfinedFilm": "confined",
    **dict.fromkeys(("BorderedContinuation", "ContinuationResult", "ContinuationStep",
                     "nested_equilibrium"), "equilibrium"),
    **dict.fromkeys(("WallStrengths", "NonlocalStress", "calcium_scale_warning",
                     "crossing_pressures"), "wall_failure"),
    **dict.fromkeys(("PATH_STATE_FILE", "PathState", "path_state", "read_path_state",
                     "write_path_state"), "prestress"),
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
