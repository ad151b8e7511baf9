"""Closed forms evaluated beside the FE solves (pure Python): the balloon film's rupture mode
(free and on the wall), puncture force, state in its channel and after the rupture
(:mod:`fem.closed_form.rupture`), the needle's buckling load and the re-entry device's limit
(:mod:`fem.closed_form.feasibility`).
"""

from fem._lazy import lazy_exports

_EXPORTS = {
    **dict.fromkeys(("FilmRupture", "balloon_rupture", "film_puncture", "folias_factor",
                     "membrane_indentation_force_N", "FilmSite", "film_site_in_channel",
                     "PostRuptureState", "post_rupture_state", "supported_film_puncture",
                     "supported_film_indentation", "FILM_SMALL_DEFLECTION_MAX"), "rupture"),
    **dict.fromkeys(("NeedleColumn", "ReentryDevice", "assess_feasibility", "END_CONDITIONS",
                     "NEEDLE_EVENTS", "STAINLESS_304_MODULUS_MPA"), "feasibility"),
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
