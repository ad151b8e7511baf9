"""Balloon film rupture by the needle: pinhole or tear, and the force to puncture the film.

Pure Python (no DOLFINx): closed forms evaluated per case after the puncture solve.
Units: mm, N, MPa inside; pressures typed by people in atm; film toughness in MPa*sqrt(m)
(the unit of the literature), converted with ``1 MPa*sqrt(m) = sqrt(1000) MPa*sqrt(mm)``.

Pinhole or tear (DOMAIN.md section 6)
-------------------------------------
The needle leaves a through-thickness hole of half-width ``a`` (the needle's outer radius) in
the film of a cylinder of radius ``r`` and thickness ``t`` under the hoop stress of Laplace's law
``sigma = p r / t``. Treated as an axial through-crack of half-length ``a`` in a pressurised
cylinder, its stress intensity is

    K = M sigma sqrt(pi a),    M = sqrt(1 + 1.255 lambda^2 - 0.0135 lambda^4),
    lambda = a / sqrt(r t),

with ``M`` Folias' bulging factor (the crack's lips bulge out under the pressure and raise K
over the flat-plate value ``M = 1``). The hole runs as a longitudinal tear when ``K > K_c``, the
film's toughness (unknown for PTA balloon films: DOMAIN.md says sweep 2-6 MPa*sqrt(m)); at
``K <= K_c`` it stays a pinhole. ``M`` does not depend on ``p``, so the pressure below which the
hole stays a pinhole is closed form:

    p_pinhole = K_c t / (r M sqrt(pi a)).

Validity of ``M``: the two-term polynomial is Kiefner's fit to Folias' solution (Kiefner et al.
1973; the modified-B31G form ``M = sqrt(1 + 0.6275 z - 0.003375 z^2)`` with ``z = (2a)^2/(2r t)
= 2 lambda^2``), stated for ``z <= 50``, i.e. ``lambda <= 5`` (:data:`FOLIAS_LAMBDA_MAX`).
Beyond it the polynomial peaks (lambda 6.8) and turns imaginary (lambda 9.7), so it is not used:
``M = 0.032 z + 3.3`` (Kiefner & Vieth 1989, modified B31G; continuous with the polynomial at
``z = 50`` to 0.2 %) is used instead and the result says ``folias_valid = False`` and
``folias_branch = "linear_extension"``. For the 5 mm balloon (r 2.5 mm) and a 25 um film,
lambda is 2.5 (18 G), 1.8 (20 G), 1.4 (22 G): inside the fit; only films under 6.5 um with an
18 G needle leave it.

Force to puncture the film (a stated, derived model)
----------------------------------------------------
The same energetic criterion as :mod:`fem.needle.puncture` (DOMAIN.md section 8): the needle pushes
a
dimple into the film until the work it has done pays for the new crack surface,

    W(d*) = G_film * t * w,      w = crack_width_factor * 2 a,

with ``G_film = K_c^2 / E_film`` (plane stress; so one toughness, swept once, drives both the
tear check and the puncture force) and ``E_film`` the film's Young's modulus.

The film near the needle is a membrane pre-tensioned by the pressure (its bending length
``sqrt(E t^3 / (12 T))`` is ~0.04 mm for the defaults, far below the needle radius, so bending
is neglected). The hoop and axial tensions of the closed-end balloon are ``T_theta = p r`` and
``T_z = p r / 2``. Small deflection ``w(x, z)`` under the needle obeys
``T_theta w_xx + T_z w_zz = -f``; scaling ``x = sqrt(T_theta) X``, ``z = sqrt(T_z) Z`` makes it
Laplace's equation with the tension ``T = sqrt(T_theta T_z) = p r / sqrt(2)`` (to leading order
in ``1 / ln(R/a)``: both circles map to ellipses of the same shape), which is the tension used.
A rigid needle of radius ``a`` (its shaft, once the tip is through the film's plane; a flat
contact disc) pressed in by ``d`` inside a supported radius ``R`` (``w(R) = 0``):

    (1/rho) d/drho (rho dw/drho) = 0  ->  w = d ln(R/rho) / ln(R/a),
    F = -2 pi a T w'(a) = 2 pi T d / ln(R/a),      W = int F dd = pi T d^2 / ln(R/a),

so the crack-energy balance gives

    d* = sqrt(G t w ln(R/a) / (pi T)),      F* = 2 pi T d* / ln(R/a)
       = 2 sqrt(pi T G t w / ln(R/a)).

Higher pressure means more tension, a stiffer film under the needle and a higher puncture force
(``F* ~ sqrt(p)``, ``d* ~ 1/sqrt(p)``). ``R`` defaults to the balloon radius ``r`` [est]: the
dimple cannot spread beyond the film's own curvature, where hoop stretching of the curved film
holds it.

Known limits of this force model (stated, not hidden):

* Stretching: the extra membrane tension from the dimple's slope, ``E t s^2 / 2`` with
  ``s = d* / (a ln(R/a))`` at the needle's edge, is reported relative to ``T`` as
  ``film_stretch_ratio``. Where it is not small, stretching stiffens the film and F* here is an
  underestimate: for the defaults (18 G, 25 um, 6 atm, E 1.5 GPa, K_c 4 MPa*sqrt(m)) the ratio
  is 3.2 and the nonlinear (Foeppl-Hencky) pre-tensioned membrane solved numerically in
  ``tests/test_rupture_feasibility.py`` needs F* 2.5 N where this closed form gives 1.8 N.
* The curvature of the balloon also stiffens a dimple (a foundation of order ``E t / r^2``, for
  a cylinder only for modes varying along the axis); not modelled beyond the choice of ``R``.
* ``p -> 0`` gives ``T -> 0`` and ``F* -> 0``: there stretching alone carries the needle, so the
  force is reported as ``None`` for ``p = 0``.
* The hoop stress is the free-balloon value ``p r / t``; where the channel wall carries part of
  the pressure (contact pressure, :mod:`fem.balloon.problem`) the film's stress is lower.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from meshes.spec import BalloonSpec
from meshes.validate import check_range

__all__ = [
    "ATM_MPA",
    "FOLIAS_LAMBDA_MAX",
    "SQRT_MM_PER_SQRT_M",
    "FilmRupture",
    "balloon_rupture",
    "film_puncture",
    "folias_factor",
    "membrane_indentation_force_N",
]

#: One standard atmosphere in MPa (the same value as :data:`fem.solid.materials.ATM_MPa`;
#: that module imports UFL, this one stays pure Python).
ATM_MPA = 0.101325
#: ``1 MPa*sqrt(m)`` in ``MPa*sqrt(mm)``.
SQRT_MM_PER_SQRT_M = math.sqrt(1000.0)
#: Largest lambda of Kiefner's polynomial fit of the Folias factor (``z = 2 lambda^2 <= 50``).
FOLIAS_LAMBDA_MAX = 5.0


@dataclass(frozen=True, slots=True)
class FilmRupture:
    """Fracture data of the balloon film and the puncture model's choices.

    Attributes:
        toughness_MPa_sqrt_m: film toughness ``K_c``, in (0, 50] MPa*sqrt(m). 4.0 [est], the
            middle of DOMAIN.md's sweep range 2-6 (no measurement for Pebax/nylon-12 balloon
            film exists in our sources).
        modulus_MPa: film Young's modulus, in [10, 1e5] MPa; 1500 [est]: nylon-12 ~1.2-1.6 GPa,
            Pebax 72D ~0.5 GPa, oriented (blow-moulded) balloon film stiffer. Used for
            ``G_film = K_c^2 / E`` and the stretch check.
        crack_width_factor: width of the slit the needle cuts, in needle outer diameters,
            (0, 10]; the same meaning as :class:`fem.needle.puncture.PunctureCriterion`.
        support_radius_mm: radius ``R`` where the dimple ends (``w = 0``), in (0, 50] mm;
            None = the balloon radius. Must exceed the needle radius (checked per case).
    """

    toughness_MPa_sqrt_m: float = 4.0
    modulus_MPa: float = 1500.0
    crack_width_factor: float = 1.0
    support_radius_mm: float | None = None

    def __post_init__(self) -> None:
        o = "FilmRupture"
        check_range(o, "toughness_MPa_sqrt_m", self.toughness_MPa_sqrt_m, 0.0, 50.0,
                    lo_open=True, unit="MPa*sqrt(m)")
        check_range(o, "modulus_MPa", self.modulus_MPa, 10.0, 1.0e5, unit="MPa")
        check_range(o, "crack_width_factor", self.crack_width_factor, 0.0, 10.0, lo_open=True)
        if self.support_radius_mm is not None:
            check_range(o, "support_radius_mm", self.support_radius_mm, 0.0, 50.0,
                        lo_open=True, unit="mm")

    @property
    def toughness_MPa_sqrt_mm(self) -> float:
        """``K_c`` in the internal unit MPa*sqrt(mm)."""
        return self.toughness_MPa_sqrt_m * SQRT_MM_PER_SQRT_M

    @property
    def fracture_energy_N_per_mm(self) -> float:
        """``G_film = K_c^2 / E`` (plane stress), N/mm (= kJ/m^2)."""
        return self.toughness_MPa_sqrt_mm**2 / self.modulus_MPa


def folias_factor(lam: float) -> tuple[float, bool]:
    """Folias' bulging factor ``M(lambda)`` and whether ``lambda`` is inside the fit.

    Args:
        lam: ``lambda = a / sqrt(r t)``, >= 0.

    Returns:
        ``(M, valid)``: the polynomial ``sqrt(1 + 1.255 l^2 - 0.0135 l^4)`` and ``True`` for
        ``lambda <= FOLIAS_LAMBDA_MAX``; beyond, the linear extension ``0.032 z + 3.3``
        (``z = 2 lambda^2``) and ``False``.
    """
    check_range("folias_factor", "lambda", lam, 0.0, math.inf)
    if lam <= FOLIAS_LAMBDA_MAX:
        return math.sqrt(1.0 + 1.255 * lam**2 - 0.0135 * lam**4), True
    return 0.032 * 2.0 * lam**2 + 3.3, False


def membrane_indentation_force_N(tension_N_per_mm: float, depth_mm: float, radius_mm: float,
                                 support_radius_mm: float) -> float:
    """Force of a rigid disc of radius ``a`` pressed ``d`` into a pre-tensioned membrane.

    ``F = 2 pi T d / ln(R/a)`` (small deflection, module docstring).
    """
    return 2.0 * math.pi * tension_N_per_mm * depth_mm / math.log(support_radius_mm / radius_mm)


def film_puncture(tension_N_per_mm: float, fracture_energy_N_per_mm: float,
                  thickness_mm: float, crack_width_mm: float, radius_mm: float,
                  support_radius_mm: float) -> tuple[float, float, float]:
    """Puncture of a pre-tensioned film by a needle of radius ``a``: ``(F*, d*, W*)``.

    ``W* = G t w``, ``d* = sqrt(W* ln(R/a) / (pi T))``, ``F* = 2 pi T d* / ln(R/a)``.

    Raises:
        ValueError: for ``T <= 0`` or ``R <= a`` (naming the value).
    """
    check_range("film_puncture", "tension_N_per_mm", tension_N_per_mm, 0.0, math.inf,
                lo_open=True, unit="N/mm")
    check_range("film_puncture", "support_radius_mm", support_radius_mm, radius_mm, math.inf,
                lo_open=True, unit=f"mm (above the needle radius {radius_mm:g} mm)")
    log = math.log(support_radius_mm / radius_mm)
    work = fracture_energy_N_per_mm * thickness_mm * crack_width_mm
    depth = math.sqrt(work * log / (math.pi * tension_N_per_mm))
    return (membrane_indentation_force_N(tension_N_per_mm, depth, radius_mm, support_radius_mm),
            depth, work)


def balloon_rupture(pressure_atm: float, needle_radius_mm: float,
                    balloon: BalloonSpec | None = None,
                    film: FilmRupture | None = None) -> dict:
    """Pinhole-or-tear check and film puncture force of one case (module docstring).

    Args:
        pressure_atm: balloon pressure, in [0, 30] atm.
        needle_radius_mm: needle outer radius ``a`` (the hole's half-width and the indenter
            radius), in (0, 5] mm.
        balloon: the balloon (:class:`meshes.BalloonSpec`: ``diameter_mm`` gives ``r``,
            ``film_thickness_mm`` gives ``t``); default the 5.0 mm, 25 um balloon.
        film: fracture data and model choices; default :class:`FilmRupture`.

    Returns:
        JSON-ready dict: ``mode`` (``"pinhole"`` or ``"tear"``), ``K_MPa_sqrt_m``,
        ``K_c_MPa_sqrt_m``, ``M``, ``lambda``, ``folias_valid``, ``folias_branch``,
        ``sigma_MPa``, ``pinhole_limit_pressure_MPa`` / ``_atm``, ``film_tension_N_per_mm``,
        ``film_fracture_energy_N_per_mm``, ``film_puncture_energy_Nmm``,
        ``film_puncture_force_N`` / ``film_puncture_displacement_mm`` (None at ``p = 0``),
        ``film_stretch_ratio`` and the inputs used (``pressure_atm``, ``hole_half_width_mm``,
        ``balloon_radius_mm``, ``film_thickness_mm``, ``support_radius_mm``).

    Raises:
        ValueError: naming the field, its value and the allowed range.
    """
    balloon = balloon if balloon is not None else BalloonSpec()
    film = film if film is not None else FilmRupture()
    check_range("balloon_rupture", "pressure_atm", pressure_atm, 0.0, 30.0, unit="atm")
    check_range("balloon_rupture", "needle_radius_mm", needle_radius_mm, 0.0, 5.0,
                lo_open=True, unit="mm")
    a = float(needle_radius_mm)
    r = 0.5 * balloon.diameter_mm
    t = balloon.film_thickness_mm
    support = film.support_radius_mm if film.support_radius_mm is not None else r
    check_range("FilmRupture", "support_radius_mm", support, a, 50.0, lo_open=True,
                unit=f"mm (above the needle radius {a:g} mm; None = balloon radius {r:g} mm)")
    p = pressure_atm * ATM_MPA
    sigma = p * r / t
    lam = a / math.sqrt(r * t)
    m, valid = folias_factor(lam)
    root_pi_a = math.sqrt(math.pi * a)
    k_mm = m * sigma * root_pi_a
    kc_mm = film.toughness_MPa_sqrt_mm
    p_pin = kc_mm * t / (r * m * root_pi_a)
    tension = p * r / math.sqrt(2.0)  # sqrt(T_theta T_z), module docstring
    g = film.fracture_energy_N_per_mm
    crack_width = film.crack_width_factor * 2.0 * a
    force = depth = ratio = None
    work = g * t * crack_width
    if p > 0.0:
        force, depth, work = film_puncture(tension, g, t, crack_width, a, support)
        slope = depth / (a * math.log(support / a))
        ratio = film.modulus_MPa * t * slope**2 / (2.0 * tension)
    return {
        "mode": "tear" if k_mm > kc_mm else "pinhole",
        "K_MPa_sqrt_m": k_mm / SQRT_MM_PER_SQRT_M,
        "K_c_MPa_sqrt_m": film.toughness_MPa_sqrt_m,
        "M": m,
        "lambda": lam,
        "folias_valid": valid,
        "folias_branch": "polynomial" if valid else "linear_extension",
        "sigma_MPa": sigma,
        "pinhole_limit_pressure_MPa": p_pin,
        "pinhole_limit_pressure_atm": p_pin / ATM_MPA,
        "film_tension_N_per_mm": tension,
        "film_fracture_energy_N_per_mm": g,
        "film_puncture_energy_Nmm": work,
        "film_puncture_force_N": force,
        "film_puncture_displacement_mm": depth,
        "film_stretch_ratio": ratio,
        "pressure_atm": float(pressure_atm),
        "hole_half_width_mm": a,
        "balloon_radius_mm": r,
        "film_thickness_mm": t,
        "support_radius_mm": support,
        "film": asdict(film),
    }
