"""The balloon film held by the channel: its contact pressure at a radius, and the inverse.

A closed-end cylindrical film (reference radius ``R``, law and thickness of
:class:`fem.balloon.film.BalloonFilm`) at balloon pressure ``P`` inside a channel of radius
``r`` has hoop stretch ``l = r / R``; the axial tension ``T_z = P r / 2`` sets its axial stretch
``l_z`` and the wall takes what the hoop tension does not,

    p_c = P - T_theta(l, l_z) / r   (fem.balloon.film.closed_end_confined_contact_pressure),

clamped to ``[0, P]``: ``p_c = 0`` once the channel is wider than the free balloon (they do not
touch), and ``p_c = P`` where the film's hoop tension would be compressive, ``l^2 < (l l_z)^-2``:
the film wrinkles and carries no hoop load (tension-field theory). The hoop tension of an
incompressible film stretched axially is positive at ``l = 1`` already (it thins), so the film is
taut from ``l = l_z^-1/2 < 1``; the law is continuous there.

Seen from the wall, ``p_c(r)`` is nearly vertical (a film is tens of times stiffer than the
wall): for the balloon-wall equilibrium (:mod:`fem.balloon.equilibrium`) the well-conditioned
form is the inverse, :meth:`ConfinedFilm.radius`: the channel radius at which the film at ``P``
presses ``p_c``, smooth and decreasing from the wrinkling radius at ``p_c = P`` to the free
balloon's radius at ``p_c = 0``.

Pure Python (SciPy root finding); units mm, MPa.
"""

from __future__ import annotations

import math
from functools import lru_cache

from scipy.optimize import brentq

from fem.balloon.film import (
    FilmLaw,
    closed_end_cylinder_stretches,
    cylinder_tensions,
)

__all__ = ["ConfinedFilm"]


class ConfinedFilm:
    """The closed-end film of reference radius ``reference_radius_mm`` held at a channel radius.

    Args:
        material: the film law (fitted to the catheter's rating).
        thickness_mm: reference film thickness.
        reference_radius_mm: the film's stress-free radius ``R``.
    """

    def __init__(self, material: FilmLaw, thickness_mm: float, reference_radius_mm: float):
        self.material = material
        self.thickness_mm = float(thickness_mm)
        self.R = float(reference_radius_mm)
        self._free = lru_cache(maxsize=256)(self._free_hoop_stretch)

    def _free_hoop_stretch(self, pressure_MPa: float) -> float:
        lt, _ = closed_end_cylinder_stretches(self.material, self.thickness_mm, self.R,
                                              pressure_MPa)
        return lt

    def free_radius_mm(self, pressure_MPa: float) -> float:
        """Radius of the free balloon at ``pressure_MPa`` (NaN past the film's limit point)."""
        return self._free(float(pressure_MPa)) * self.R

    def _axial_stretch(self, pressure_MPa: float, lt: float) -> float:
        target = 0.5 * pressure_MPa * lt * self.R
        return brentq(lambda z: cylinder_tensions(self.material, self.thickness_mm, lt, z)[1]
                      - target, lt**-0.5 * (1 + 1e-12), 10.0, xtol=1e-15)

    def unclamped_contact_pressure(self, pressure_MPa: float, radius_mm: float) -> float:
        """``P - T_theta / r`` at hoop stretch ``r / R``, without the clamps (decreasing in r)."""
        lt = radius_mm / self.R
        lz = self._axial_stretch(pressure_MPa, lt)
        t_hoop, _ = cylinder_tensions(self.material, self.thickness_mm, lt, lz)
        return pressure_MPa - t_hoop / radius_mm

    def contact_pressure(self, pressure_MPa: float, radius_mm: float) -> float:
        """What the film at ``pressure_MPa`` presses on a channel of radius ``radius_mm``."""
        if pressure_MPa <= 0.0:
            return 0.0
        r_free = self.free_radius_mm(pressure_MPa)
        if math.isfinite(r_free) and radius_mm >= r_free:
            return 0.0
        return min(pressure_MPa, max(0.0, self.unclamped_contact_pressure(pressure_MPa,
                                                                          radius_mm)))

    def wrinkling_radius_mm(self, pressure_MPa: float) -> float:
        """Largest radius at which the film at ``pressure_MPa`` carries no hoop tension."""
        return self.radius(pressure_MPa, pressure_MPa)

    def radius(self, pressure_MPa: float, contact_MPa: float) -> float:
        """Channel radius at which the film at ``P`` presses ``p_c``, for ``0 <= p_c <= P``.

        Raises:
            ValueError: for ``p_c`` outside ``[0, P]`` or ``P`` past the film's limit point.
        """
        P, pc = float(pressure_MPa), float(contact_MPa)
        if not (0.0 <= pc <= P) or P <= 0.0:
            raise ValueError(f"contact pressure {pc!r} MPa is outside [0, P = {P!r}] MPa")
        r_hi = self.free_radius_mm(P)
        if not math.isfinite(r_hi):
            raise ValueError(f"balloon pressure {P!r} MPa is past the film's limit point")
        if pc == 0.0:
            return r_hi
        r_lo = 0.5 * self.R
        while self.unclamped_contact_pressure(P, r_lo) < pc:  # pragma: no cover (safety)
            r_lo *= 0.5
            if r_lo < 1e-3 * self.R:
                raise ValueError(f"no radius reaches contact pressure {pc!r} MPa at P = {P!r}")
        return brentq(lambda r: self.unclamped_contact_pressure(P, r) - pc, r_lo, r_hi,
                      xtol=1e-15 * self.R, rtol=1e-15)

    def radius_slope(self, pressure_MPa: float, contact_MPa: float) -> float:
        """``d radius / d p_c`` (mm/MPa, negative) at ``p_c`` clamped into ``[0, P]``."""
        P = float(pressure_MPa)
        pc = min(max(float(contact_MPa), 0.0), P)
        h = 1e-6 * P
        lo, hi = max(pc - h, 0.0), min(pc + h, P)
        return (self.radius(P, hi) - self.radius(P, lo)) / (hi - lo)

    def radius_extended(self, pressure_MPa: float, contact_MPa: float) -> tuple[float, float]:
        """``(radius, slope)`` with the radius continued linearly outside ``[0, P]``.

        Newton iterates may leave ``[0, P]``; the complementarity function of
        :mod:`fem.balloon.equilibrium` only needs a continuous, decreasing extension there.
        """
        P = float(pressure_MPa)
        pc = float(contact_MPa)
        clamped = min(max(pc, 0.0), P)
        slope = self.radius_slope(P, clamped)
        return self.radius(P, clamped) + slope * (pc - clamped), slope
