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

Supported or free film (which bulging factor applies)
-----------------------------------------------------
Folias' factor is the bulging of a *free* shell: the crack's lips bow out under the pressure.
Where the needle meets the film after crossing the outer wall, the film lies on that wall,
pressed on it with the contact pressure ``p_c``: its lips cannot bow outwards, so the flat-plate
value ``M = 1`` applies [est: a rigid support; a soft wall lets the lips bulge a little, ``M``
between 1 and the free value], with the film's own hoop stress on the wall,
``sigma = (p - p_c) r / h``. Both are reported (:class:`FilmSite` carries the film's state
free and on the wall); ``support`` says which applies: ``"wall"`` where the film presses on
the wall (``p_c > 0``), ``"free"`` where it does not (a gap of the channel, a cone, a free
balloon).

What the hole leaves (:func:`post_rupture_state`)
-------------------------------------------------
A pinhole leaks through a hole about the needle's size: the inflation device holds the pressure
[est: the leak through a needle-sized hole in a saline-filled balloon is slow against the
indeflator's volume], so the balloon keeps its pressure and keeps pre-stressing the flap. A tear
opens the balloon along its length: it deflates, the pressure is 0 and the flap is unloaded to
its residual state. The puncture kind uses this record for the flap event.

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
* Range of validity: the small-deflection law holds while ``film_stretch_ratio`` (the
  slope-stretching tension over the pre-tension) is small; the FE film
  (:mod:`fem.balloon.film_puncture`) agrees with it within 5 % up to
  :data:`FILM_SMALL_DEFLECTION_MAX`, and ``film_closed_form_valid`` says whether a case is in
  that range. Outside it the FE value is the answer (a 2 atm case has a ratio near 30).

Film on the wall (:func:`supported_film_puncture`)
-------------------------------------------------
Where the film lies on the wall (contact pressure ``p_c``, tension ``T``) and a flat needle of
radius ``a`` pushes it off the wall by ``d``, the film leaves the wall smoothly at a radius
``R_d`` (free boundary: ``w = w' = 0`` there) and ``T lap(w) = p_c`` in between:

    d = (p_c / 4T) (a^2 - R_d^2 + 2 R_d^2 ln(R_d / a)),     F = pi p_c R_d^2,
    W = (pi p_c^2 / T) (R_d^4 ln(R_d / a) / 4 - (R_d^4 - a^4) / 16),

(``F`` is the pressure on the area lifted off the wall), and the same crack-energy balance
``W(d*) = G t w`` gives ``R_d*``, ``d*`` and ``F*``. Small deflection, flat film; checked against
the FE film in ``tests/test_film_puncture.py``.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from meshes.spec import BalloonSpec
from meshes.validate import check_range

__all__ = [
    "ATM_MPA",
    "FILM_SMALL_DEFLECTION_MAX",
    "FOLIAS_LAMBDA_MAX",
    "SQRT_MM_PER_SQRT_M",
    "FilmRupture",
    "FilmSite",
    "PostRuptureState",
    "balloon_rupture",
    "film_puncture",
    "film_site_in_channel",
    "folias_factor",
    "membrane_indentation_force_N",
    "post_rupture_state",
    "supported_film_indentation",
    "supported_film_puncture",
]

#: One standard atmosphere in MPa (the same value as :data:`fem.solid.materials.ATM_MPa`;
#: that module imports UFL, this one stays pure Python).
ATM_MPA = 0.101325
#: ``1 MPa*sqrt(m)`` in ``MPa*sqrt(mm)``.
SQRT_MM_PER_SQRT_M = math.sqrt(1000.0)
#: Largest lambda of Kiefner's polynomial fit of the Folias factor (``z = 2 lambda^2 <= 50``).
FOLIAS_LAMBDA_MAX = 5.0
#: Largest ``film_stretch_ratio`` where the small-deflection film force is used: the FE film
#: exceeds it by 2.8 % at 0.23 and 13 % at 0.91 (``python -m hpc.benchmarks.film_puncture``,
#: table A), so within 5 % up to about 0.4.
FILM_SMALL_DEFLECTION_MAX = 0.3


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


@dataclass(frozen=True, slots=True)
class FilmSite:
    """The balloon film where the needle meets it, free and on the wall.

    Attributes:
        pressure_atm: balloon pressure.
        support: ``"wall"`` (the film presses on the channel wall there) or ``"free"``.
        contact_pressure_MPa: what the wall takes (0 when free).
        radius_mm, thickness_mm, hoop_stress_MPa, hoop_tension_N_per_mm,
            axial_tension_N_per_mm: the film where the needle meets it (deformed).
        free_radius_mm, free_thickness_mm, free_hoop_stress_MPa: the same film free (no wall)
            at the same pressure: the Folias check of a free film uses these.
        source: how the state was found.
    """

    pressure_atm: float
    support: str
    contact_pressure_MPa: float
    radius_mm: float
    thickness_mm: float
    hoop_stress_MPa: float
    hoop_tension_N_per_mm: float
    axial_tension_N_per_mm: float
    free_radius_mm: float
    free_thickness_mm: float
    free_hoop_stress_MPa: float
    source: str = ""

    def __post_init__(self) -> None:
        if self.support not in ("wall", "free"):
            raise ValueError(f"FilmSite.support = {self.support!r} must be 'wall' or 'free'")


def film_site_in_channel(pressure_atm: float, balloon: BalloonSpec | None = None,
                         oversizing: float | None = None, wall_stiffness_MPa_per_mm: float = 0.3,
                         support: str = "auto",
                         channel_diameter_mm: float | None = None) -> FilmSite:
    """The film's state in the body of a rated balloon at ``pressure_atm``, free and in its
    channel (closed-end cylinder closed forms of :mod:`fem.balloon.film`, the film fitted to
    the balloon's rating; the channel a Winkler wall of rest radius ``D_nom / (2 oversizing)``,
    or, when ``channel_diameter_mm`` is given (the diameter the balloon problem reached), a
    rigid wall there).

    Args:
        pressure_atm: in (0, 60] atm.
        balloon: nominal diameter, film thickness, rating (:class:`meshes.BalloonSpec`).
        oversizing: balloon nominal / channel rest diameter; None = ``diameter_mm /
            channel_diameter_mm`` of ``balloon``.
        wall_stiffness_MPa_per_mm: the channel wall's radial stiffness (inf: rigid).
        support: ``"auto"`` (``"wall"`` where the film presses on the wall), ``"wall"`` or
            ``"free"`` (the needle meets the film where the wall does not support it).
        channel_diameter_mm: the channel's diameter at this pressure from the wall's own
            solution; overrides ``oversizing`` and the stiffness.

    Raises:
        ValueError: naming the input when the film has no state there (past its limit point,
            or a pre-loaded channel the pressure cannot open).
    """
    from fem.balloon.film import (
        BalloonRating,
        closed_end_cylinder_state_at_pressure,
        cylinder_tensions,
        fit_film_to_compliance,
    )

    balloon = balloon if balloon is not None else BalloonSpec()
    check_range("film_site_in_channel", "pressure_atm", pressure_atm, 0.0, 60.0, lo_open=True,
                unit="atm")
    if support not in ("auto", "wall", "free"):
        raise ValueError(f"film_site_in_channel: support = {support!r} must be 'auto', 'wall' "
                         "or 'free'")
    ratio = balloon.diameter_mm / balloon.channel_diameter_mm if oversizing is None else oversizing
    check_range("film_site_in_channel", "oversizing", ratio, 0.5, 2.0)
    rating = BalloonRating(balloon.diameter_mm, balloon.nominal_pressure_atm,
                           balloon.rated_burst_pressure_atm, balloon.compliance_pct_per_atm)
    t = balloon.film_thickness_mm
    material, d_ref = fit_film_to_compliance(rating, t)
    p = pressure_atm * ATM_MPA
    free = closed_end_cylinder_state_at_pressure(material, t, 0.5 * d_ref, p)
    if channel_diameter_mm is not None:
        check_range("film_site_in_channel", "channel_diameter_mm", channel_diameter_mm,
                    d_ref, 20.0, unit=f"mm (at least the film's rest diameter {d_ref:.4g} mm)")
        wall_radius, stiffness = 0.5 * channel_diameter_mm, math.inf
    else:
        wall_radius, stiffness = 0.5 * balloon.diameter_mm / ratio, wall_stiffness_MPa_per_mm
    wall = closed_end_cylinder_state_at_pressure(material, t, 0.5 * d_ref, p, wall_radius,
                                                 stiffness)
    if free is None or wall is None:
        raise ValueError(f"film_site_in_channel: pressure_atm = {pressure_atm} has no state of "
                         f"the fitted film (free: {free is not None}, in the channel: "
                         f"{wall is not None}; past its limit point, or below the pre-load)")
    chosen = support if support != "auto" else ("wall" if wall.contact_pressure_MPa > 0.0
                                                else "free")
    st = wall if chosen == "wall" else free
    t_hoop, t_ax = cylinder_tensions(material, t, st.hoop_stretch, st.axial_stretch)
    return FilmSite(
        pressure_atm=float(pressure_atm), support=chosen,
        contact_pressure_MPa=st.contact_pressure_MPa if chosen == "wall" else 0.0,
        radius_mm=0.5 * d_ref * st.hoop_stretch,
        thickness_mm=t / (st.hoop_stretch * st.axial_stretch),
        hoop_stress_MPa=st.hoop_stress_MPa, hoop_tension_N_per_mm=t_hoop,
        axial_tension_N_per_mm=t_ax,
        free_radius_mm=0.5 * d_ref * free.hoop_stretch,
        free_thickness_mm=t / (free.hoop_stretch * free.axial_stretch),
        free_hoop_stress_MPa=free.hoop_stress_MPa,
        source=(f"closed-end cylinder, film fitted to the rating (mu "
                f"{material.shear_modulus_MPa:.4g} MPa, rest diameter {d_ref:.4g} mm), "
                + (f"rigid channel at the balloon problem's {channel_diameter_mm:.4g} mm"
                   if channel_diameter_mm is not None else
                   f"channel oversizing {ratio:.4g}, wall {wall_stiffness_MPa_per_mm} MPa/mm")))


@dataclass(frozen=True, slots=True)
class PostRuptureState:
    """What the balloon leaves after the needle has ruptured it (module docstring).

    Attributes:
        mode: ``"pinhole"`` or ``"tear"``.
        pressure_atm: the balloon pressure after the rupture (the same, or 0).
        deflated: True after a tear.
        flap_prestress: ``"balloon"`` (the flap keeps the balloon's pre-stretch) or
            ``"residual"`` (unloaded to its residual state).
        wire_snare: whether the holes can grip a wire (the balloon snare of the technique
            works with a pinhole, DOMAIN.md section 1).
    """

    mode: str
    pressure_atm: float
    deflated: bool
    flap_prestress: str
    wire_snare: bool

    def to_dict(self) -> dict:
        return asdict(self)


def post_rupture_state(mode: str, pressure_atm: float) -> PostRuptureState:
    """The state after the film ruptures: a pinhole holds the pressure, a tear deflates the
    balloon (pressure 0, flap back to its residual state)."""
    check_range("post_rupture_state", "pressure_atm", pressure_atm, 0.0, 60.0, unit="atm")
    if mode == "pinhole":
        return PostRuptureState("pinhole", float(pressure_atm), False, "balloon", True)
    if mode == "tear":
        return PostRuptureState("tear", 0.0, True, "residual", False)
    raise ValueError(f"post_rupture_state: mode = {mode!r} must be 'pinhole' or 'tear'")


def supported_film_indentation(contact_pressure_MPa: float, tension_N_per_mm: float,
                               radius_mm: float, liftoff_radius_mm: float
                               ) -> tuple[float, float, float]:
    """``(d, F, W)`` of a flat needle of radius ``a`` that has lifted the film off the wall to
    ``R_d`` (module docstring, "Film on the wall")."""
    pc, T, a, R = contact_pressure_MPa, tension_N_per_mm, radius_mm, liftoff_radius_mm
    log = math.log(R / a)
    d = pc / (4.0 * T) * (a * a - R * R + 2.0 * R * R * log)
    w = math.pi * pc * pc / T * (R**4 * log / 4.0 - (R**4 - a**4) / 16.0)
    return d, math.pi * pc * R * R, w


def supported_film_puncture(contact_pressure_MPa: float, tension_N_per_mm: float,
                            fracture_energy_N_per_mm: float, thickness_mm: float,
                            crack_width_mm: float, radius_mm: float) -> dict:
    """Puncture of a film lying on the wall by a flat needle of radius ``a``: the lift-off
    radius where ``W = G t w`` and ``F*``, ``d*`` there (module docstring)."""
    check_range("supported_film_puncture", "contact_pressure_MPa", contact_pressure_MPa, 0.0,
                math.inf, lo_open=True, unit="MPa")
    check_range("supported_film_puncture", "tension_N_per_mm", tension_N_per_mm, 0.0,
                math.inf, lo_open=True, unit="N/mm")
    work = fracture_energy_N_per_mm * thickness_mm * crack_width_mm
    a = radius_mm
    lo, hi = a, 2.0 * a
    while supported_film_indentation(contact_pressure_MPa, tension_N_per_mm, a, hi)[2] < work:
        lo, hi = hi, 2.0 * hi
    for _ in range(200):  # W rises monotonically with R_d
        mid = 0.5 * (lo + hi)
        if supported_film_indentation(contact_pressure_MPa, tension_N_per_mm, a, mid)[2] < work:
            lo = mid
        else:
            hi = mid
    d, f, w = supported_film_indentation(contact_pressure_MPa, tension_N_per_mm, a, hi)
    return {"force_N": f, "depth_mm": d, "work_Nmm": w, "liftoff_radius_mm": hi,
            "initial_force_N": math.pi * contact_pressure_MPa * a * a}


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
                    film: FilmRupture | None = None, site: FilmSite | None = None) -> dict:
    """Pinhole-or-tear check and film puncture force of one case (module docstring).

    Args:
        pressure_atm: balloon pressure, in [0, 30] atm.
        needle_radius_mm: needle outer radius ``a`` (the hole's half-width and the indenter
            radius), in (0, 5] mm.
        balloon: the balloon (:class:`meshes.BalloonSpec`: ``diameter_mm`` gives ``r``,
            ``film_thickness_mm`` gives ``t``); default the 5.0 mm, 25 um balloon. Used when
            ``site`` is None.
        film: fracture data and model choices; default :class:`FilmRupture`.
        site: the film's state where the needle meets it, free and on the wall
            (:func:`film_site_in_channel`). None: the film free at ``r = D / 2``, ``t`` and
            Laplace's ``sigma = p r / t`` (the wall variant then has the same stress).

    Returns:
        JSON-ready dict: ``mode`` (``"pinhole"`` or ``"tear"``, of the variant that applies),
        ``support`` (which applies: ``"wall"`` or ``"free"``), ``mode_free``, ``mode_wall``,
        ``K_MPa_sqrt_m`` (of the variant that applies), ``K_free_MPa_sqrt_m``,
        ``K_wall_MPa_sqrt_m``, ``K_c_MPa_sqrt_m``, ``M`` (free), ``M_wall`` (1), ``lambda``,
        ``folias_valid``, ``folias_branch``, ``sigma_MPa`` (free), ``sigma_wall_MPa``,
        ``contact_pressure_MPa``, ``pinhole_limit_pressure_MPa`` / ``_atm`` (free, small
        strain), ``film_tension_N_per_mm``, ``film_fracture_energy_N_per_mm``,
        ``film_puncture_energy_Nmm``, ``film_puncture_force_N`` /
        ``film_puncture_displacement_mm`` (small-deflection closed form; None at ``p = 0``),
        ``film_stretch_ratio``, ``film_closed_form_valid`` (ratio at most
        :data:`FILM_SMALL_DEFLECTION_MAX`) and the inputs used (``pressure_atm``,
        ``hole_half_width_mm``, ``balloon_radius_mm``, ``film_thickness_mm``,
        ``support_radius_mm``).

    Raises:
        ValueError: naming the field, its value and the allowed range.
    """
    balloon = balloon if balloon is not None else BalloonSpec()
    film = film if film is not None else FilmRupture()
    check_range("balloon_rupture", "pressure_atm", pressure_atm, 0.0, 30.0, unit="atm")
    check_range("balloon_rupture", "needle_radius_mm", needle_radius_mm, 0.0, 5.0,
                lo_open=True, unit="mm")
    a = float(needle_radius_mm)
    p = pressure_atm * ATM_MPA
    if site is None:
        r, t = 0.5 * balloon.diameter_mm, balloon.film_thickness_mm
        sigma = sigma_wall = p * r / t
        tension = p * r / math.sqrt(2.0)  # sqrt(T_theta T_z), module docstring
        support, pc = "free", 0.0
    else:
        r, t = site.free_radius_mm, site.free_thickness_mm
        sigma, sigma_wall = site.free_hoop_stress_MPa, site.hoop_stress_MPa
        tension = math.sqrt(site.hoop_tension_N_per_mm * site.axial_tension_N_per_mm)
        support, pc = site.support, site.contact_pressure_MPa
    support_radius = film.support_radius_mm if film.support_radius_mm is not None else r
    check_range("FilmRupture", "support_radius_mm", support_radius, a, 50.0, lo_open=True,
                unit=f"mm (above the needle radius {a:g} mm; None = the balloon's radius)")
    lam = a / math.sqrt(r * t)
    m, valid = folias_factor(lam)
    root_pi_a = math.sqrt(math.pi * a)
    k_free = m * sigma * root_pi_a
    k_wall = sigma_wall * root_pi_a  # M = 1: the wall keeps the lips from bulging
    kc_mm = film.toughness_MPa_sqrt_mm
    p_pin = kc_mm * t / (r * m * root_pi_a)
    mode_free = "tear" if k_free > kc_mm else "pinhole"
    mode_wall = "tear" if k_wall > kc_mm else "pinhole"
    g = film.fracture_energy_N_per_mm
    crack_width = film.crack_width_factor * 2.0 * a
    force = depth = ratio = None
    work = g * t * crack_width
    if p > 0.0:
        force, depth, work = film_puncture(tension, g, t, crack_width, a, support_radius)
        slope = depth / (a * math.log(support_radius / a))
        ratio = film.modulus_MPa * t * slope**2 / (2.0 * tension)
    return {
        "mode": mode_wall if support == "wall" else mode_free,
        "support": support,
        "mode_free": mode_free,
        "mode_wall": mode_wall,
        "K_MPa_sqrt_m": (k_wall if support == "wall" else k_free) / SQRT_MM_PER_SQRT_M,
        "K_free_MPa_sqrt_m": k_free / SQRT_MM_PER_SQRT_M,
        "K_wall_MPa_sqrt_m": k_wall / SQRT_MM_PER_SQRT_M,
        "K_c_MPa_sqrt_m": film.toughness_MPa_sqrt_m,
        "M": m,
        "M_wall": 1.0,
        "lambda": lam,
        "folias_valid": valid,
        "folias_branch": "polynomial" if valid else "linear_extension",
        "sigma_MPa": sigma,
        "sigma_wall_MPa": sigma_wall,
        "contact_pressure_MPa": pc,
        "pinhole_limit_pressure_MPa": p_pin,
        "pinhole_limit_pressure_atm": p_pin / ATM_MPA,
        "film_tension_N_per_mm": tension,
        "film_fracture_energy_N_per_mm": g,
        "film_puncture_energy_Nmm": work,
        "film_puncture_force_N": force,
        "film_puncture_displacement_mm": depth,
        "film_stretch_ratio": ratio,
        "film_closed_form_valid": None if ratio is None else ratio <= FILM_SMALL_DEFLECTION_MAX,
        "pressure_atm": float(pressure_atm),
        "hole_half_width_mm": a,
        "balloon_radius_mm": r,
        "film_thickness_mm": t,
        "support_radius_mm": support_radius,
        "film": asdict(film),
        "site": asdict(site) if site is not None else None,
    }
