"""Balloon film laws and the closed forms of a cylindrical membrane (no DOLFINx).

Film laws (plane-stress incompressible membranes, ``psi(I1)`` with ``I1 = l1^2 + l2^2 +
(l1 l2)^-2``): :class:`NeoHookeanFilm` and :class:`DemirayFilm`; a catheter's labelled
rating (:class:`BalloonRating`) and the film fitted to it (:func:`fit_film_to_compliance`).
The film's tensile strength (``hoop_strength_MPa`` of each law) is compared with the largest
in-plane principal Cauchy stress: in a free cylinder that is the hoop stress.

Closed forms used by the tests and the calibration
--------------------------------------------------
Cylindrical membrane, reference radius ``R``, hoop stretch ``l``, axial stretch ``lz``:
``sigma_i = 2 psi'(I1) (l_i^2 - (l lz)^-2)``, ``T_i = sigma_i H / (l lz)``, hoop equilibrium
``p = T_theta / (l R)``. With ``lz = 1`` and neo-Hookean: ``p = mu (H/R) (1 - l^-4)`` (DOMAIN.md
section 7), which tends to ``mu H / R``: a larger pressure has no equilibrium. The closed-end
vessel (a balloon's body far from its cones) adds ``T_z = p r / 2``.

Burst of the body (thin-wall closed forms, :func:`closed_end_burst`)
--------------------------------------------------------------------
The body bursts when its largest principal stress ``max(sigma_theta, sigma_z)``, with
``sigma_i = T_i / h`` and ``h = H / (l lz)``, reaches the film's strength, or at the pressure's
limit point if that comes first (mode ``"limit_point"``). Free: ``sigma_theta = p r / h =
2 sigma_z`` (Barlow's formula at the deformed radius and thickness). Supported by a channel
wall of rest radius ``R_w`` pushing back with ``f = k <r - R_w>`` per reference area (a
Winkler foundation; ``k = inf`` is a rigid wall): radial equilibrium
``T_theta / r + f / (l lz) = p`` and the closed-end ``T_z = p r / 2``. The wall takes part of
the hoop load but none of the axial load, so a rigid wall moves the burst to the axial stress
``p r / (2 h)``: at most twice the free burst pressure.

What the rated burst pressure means (:data:`RBP_SURVIVAL`, :data:`RBP_CONFIDENCE`): the labelled
RBP is a statistical lower bound from a burst test of a lot of balloons: the pressure that at
least 99.9 % of balloons survive, shown with 95 % confidence (FDA guidance for PTCA catheters,
2010; ISO 10555-4). It is not the mean burst pressure: with a test of ``n`` balloons of mean
``m`` and standard deviation ``s`` it is ``m - k s``, ``k`` the one-sided normal tolerance
factor (:func:`tolerance_factor`, 3.1 for ``n -> inf``, about 4.1 for ``n = 30``). A model
with the film's *mean* strength must therefore burst above the RBP; the pressure 99.9 % of
balloons survive follows from the strength's 0.1 % quantile (:func:`strength_quantile`).

The finite-element membrane that uses these laws is :mod:`fem.balloon.membrane`.

Units: mm, N, MPa. Pressures given by people are in atm (``ATM_MPA``).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

#: One standard atmosphere in MPa.
ATM_MPA = 0.101325


def _check(owner: str, name: str, value: float, lo: float, hi: float, unit: str = "") -> None:
    """Raise ValueError naming the field, the value and the allowed (closed) range."""
    if not (isinstance(value, int | float) and math.isfinite(value) and lo <= value <= hi):
        raise ValueError(
            f"{owner}.{name} = {value!r} is outside the allowed range [{lo}, {hi}]"
            + (f" {unit}" if unit else "")
        )


# --------------------------------------------------------------------------------------------
# Film materials
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NeoHookeanFilm:
    """Incompressible neo-Hookean film, ``psi = mu/2 (I1 - 3)`` (MPa).

    Attributes:
        shear_modulus_MPa: small-strain shear modulus ``mu`` (Young's modulus ``3 mu``).
        hoop_strength_MPa: film tensile strength used for the burst check (Cauchy stress).
        name: label for reports.
        source: where the numbers come from.
    """

    shear_modulus_MPa: float
    hoop_strength_MPa: float = 240.0
    name: str = "neo-Hookean film"
    source: str = "[est]"

    def __post_init__(self) -> None:
        _check("NeoHookeanFilm", "shear_modulus_MPa", self.shear_modulus_MPa, 1e-4, 1e5, "MPa")
        _check("NeoHookeanFilm", "hoop_strength_MPa", self.hoop_strength_MPa, 1e-3, 1e4, "MPa")

    def dpsi_dI1(self, I1):  # noqa: N803  (I1 is the invariant's name)
        """``d psi / d I1`` as UFL or float (works for both)."""
        return 0.5 * self.shear_modulus_MPa + 0.0 * I1

    def psi(self, I1):  # noqa: N803
        """Strain energy per unit reference volume (MPa) as UFL or float."""
        return 0.5 * self.shear_modulus_MPa * (I1 - 3.0)


@dataclass(frozen=True, slots=True)
class DemirayFilm:
    """Isotropic exponentially stiffening film, ``psi = mu/(2b) (exp(b (I1 - 3)) - 1)`` (MPa).

    Demiray's law (J Biomech 1972), the isotropic member of the Fung family: small-strain shear
    modulus ``mu``; ``b -> 0`` recovers neo-Hookean. Used for a semi-compliant PTA film whose
    diameter grows almost linearly up to its rated burst pressure.

    Attributes:
        shear_modulus_MPa: small-strain shear modulus ``mu``.
        stiffening: dimensionless exponent ``b`` (> 0).
        hoop_strength_MPa: film tensile strength used for the burst check (Cauchy stress).
        name: label for reports.
        source: where the numbers come from.
    """

    shear_modulus_MPa: float
    stiffening: float = 1.0
    hoop_strength_MPa: float = 240.0
    name: str = "Demiray film"
    source: str = "[est]"

    def __post_init__(self) -> None:
        _check("DemirayFilm", "shear_modulus_MPa", self.shear_modulus_MPa, 1e-4, 1e5, "MPa")
        _check("DemirayFilm", "stiffening", self.stiffening, 1e-6, 100.0)
        _check("DemirayFilm", "hoop_strength_MPa", self.hoop_strength_MPa, 1e-3, 1e4, "MPa")

    def dpsi_dI1(self, I1):  # noqa: N803
        """``d psi / d I1`` as UFL or float."""
        b = self.stiffening
        arg = b * (I1 - 3.0)
        e = np.exp(arg) if isinstance(arg, int | float | np.floating) else _ufl_exp(arg)
        return 0.5 * self.shear_modulus_MPa * e

    def psi(self, I1):  # noqa: N803
        """Strain energy per unit reference volume (MPa) as UFL or float."""
        b = self.stiffening
        arg = b * (I1 - 3.0)
        e = np.exp(arg) if isinstance(arg, int | float | np.floating) else _ufl_exp(arg)
        return self.shear_modulus_MPa / (2.0 * b) * (e - 1.0)


FilmLaw = NeoHookeanFilm | DemirayFilm


@dataclass(frozen=True, slots=True)
class BalloonFilm:
    """A film law with its reference (stress-free) thickness.

    Attributes:
        material: the film's constitutive law.
        thickness_mm: reference wall thickness ``H``; PTA films 15-60 um, 25 um typical [est]
            (DOMAIN.md section 6).
    """

    material: FilmLaw
    thickness_mm: float = 0.025

    def __post_init__(self) -> None:
        if not isinstance(self.material, NeoHookeanFilm | DemirayFilm):
            raise ValueError(
                f"BalloonFilm.material = {self.material!r} must be NeoHookeanFilm or DemirayFilm"
            )
        _check("BalloonFilm", "thickness_mm", self.thickness_mm, 1e-4, 5.0, "mm")


@dataclass(frozen=True, slots=True)
class BalloonRating:
    """A catheter's labelled sizes (DOMAIN.md section 6: 5.0 mm PTA balloon).

    Attributes:
        nominal_diameter_mm: diameter at nominal pressure.
        nominal_pressure_atm: 6-8 atm.
        rated_burst_pressure_atm: 12-24 atm.
        compliance_pct_per_atm: diameter growth from nominal to rated burst, % of nominal per
            atm (secant); ~1-2 %/atm.
    """

    nominal_diameter_mm: float = 5.0
    nominal_pressure_atm: float = 6.0
    rated_burst_pressure_atm: float = 14.0
    compliance_pct_per_atm: float = 1.5

    def __post_init__(self) -> None:
        o = "BalloonRating"
        _check(o, "nominal_diameter_mm", self.nominal_diameter_mm, 0.5, 40.0, "mm")
        _check(o, "nominal_pressure_atm", self.nominal_pressure_atm, 0.5, 30.0, "atm")
        _check(o, "rated_burst_pressure_atm", self.rated_burst_pressure_atm,
               self.nominal_pressure_atm + 0.5, 60.0, "atm (above nominal_pressure_atm)")
        _check(o, "compliance_pct_per_atm", self.compliance_pct_per_atm, 0.05, 10.0, "%/atm")


# --------------------------------------------------------------------------------------------
# Closed forms: cylindrical membrane
# --------------------------------------------------------------------------------------------


def cylinder_tensions(
    material: FilmLaw, thickness_mm: float, hoop_stretch: float, axial_stretch: float
) -> tuple[float, float]:
    """Hoop and axial membrane tensions (N/mm) of a uniformly stretched cylindrical membrane."""
    lt, lz = hoop_stretch, axial_stretch
    js = lt * lz
    i1 = lt**2 + lz**2 + js**-2
    d = 2.0 * float(material.dpsi_dI1(i1))
    h = thickness_mm / js
    return h * d * (lt**2 - js**-2), h * d * (lz**2 - js**-2)


def cylinder_pressure_axially_fixed(
    material: FilmLaw, thickness_mm: float, radius_mm: float, hoop_stretch: float
) -> float:
    """Pressure (MPa) holding a cylindrical membrane at ``hoop_stretch`` with ``lambda_z = 1``.

    For neo-Hookean this is ``mu (H/R) (1 - l^-4)`` (DOMAIN.md section 7).
    """
    t_hoop, _ = cylinder_tensions(material, thickness_mm, hoop_stretch, 1.0)
    return t_hoop / (hoop_stretch * radius_mm)


def closed_end_axial_stretch(hoop_stretch: float) -> float:
    """Axial stretch of a closed-end cylindrical membrane of an isotropic incompressible film.

    ``T_theta = 2 T_z`` with the same thickness and the same ``2 psi'`` in both directions gives
    ``l^2 = 2 lz^2 - (l lz)^-2`` whatever the law: a quadratic in ``lz^2`` whose positive root
    is ``lz^2 = (l^2 + sqrt(l^4 + 8 l^-2)) / 4`` (1 at ``l = 1``).
    """
    lt = hoop_stretch
    return math.sqrt(0.25 * (lt * lt + math.sqrt(lt**4 + 8.0 / (lt * lt))))


def closed_end_cylinder_pressure(
    material: FilmLaw, thickness_mm: float, radius_mm: float, hoop_stretch: float
) -> float:
    """Pressure (MPa) of a closed-end cylindrical membrane at ``hoop_stretch``."""
    lz = closed_end_axial_stretch(hoop_stretch)
    t_hoop, _ = cylinder_tensions(material, thickness_mm, hoop_stretch, lz)
    return t_hoop / (hoop_stretch * radius_mm)


def closed_end_cylinder_stretches(
    material: FilmLaw, thickness_mm: float, radius_mm: float, pressure_MPa: float,
    max_stretch: float = 10.0,
) -> tuple[float, float]:
    """Hoop and axial stretch of a closed-end cylindrical membrane (``T_z = p r / 2``).

    Follows the loading branch from the unloaded state; returns ``(nan, nan)`` when the
    pressure exceeds the branch's limit point (or is not reached below ``max_stretch``).
    """
    from scipy.optimize import brentq

    if pressure_MPa <= 0.0:
        return 1.0, 1.0

    def p_of(lt: float) -> float:
        return closed_end_cylinder_pressure(material, thickness_mm, radius_mm, lt)

    grid = 1.0 + np.expm1(np.linspace(0.0, math.log(max_stretch), 400))
    p_prev, l_prev = 0.0, 1.0
    for lt in grid[1:]:
        p_now = p_of(float(lt))
        if p_now < p_prev:  # past the limit point without reaching the pressure
            return math.nan, math.nan
        if p_now >= pressure_MPa:
            root = brentq(lambda x: p_of(x) - pressure_MPa, l_prev, float(lt), xtol=1e-14)
            return float(root), closed_end_axial_stretch(root)
        p_prev, l_prev = p_now, float(lt)
    return math.nan, math.nan


def closed_end_confined_contact_pressure(
    material: FilmLaw, thickness_mm: float, radius_mm: float, wall_radius_mm: float,
    pressure_MPa: float,
) -> float:
    """Contact pressure (MPa, per deformed area) of a closed-end cylindrical membrane held at
    ``r = R_w`` by a frictionless rigid channel.

    The hoop stretch is fixed at ``R_w / R``; the axial tension ``T_z = p R_w / 2`` sets the
    axial stretch, and the wall takes what the hoop tension does not: ``p_c = p - T_theta / R_w``.
    An incompressible film stretched axially at a fixed hoop stretch carries *more* hoop
    tension, so ``d p_c / d p < 1``. Returns 0 before the membrane reaches the wall.
    """
    from scipy.optimize import brentq

    lt = wall_radius_mm / radius_mm
    lt_free, _ = closed_end_cylinder_stretches(material, thickness_mm, radius_mm, pressure_MPa)
    if math.isfinite(lt_free) and lt_free <= lt:
        return 0.0
    target = 0.5 * pressure_MPa * wall_radius_mm
    lz = brentq(lambda z: cylinder_tensions(material, thickness_mm, lt, z)[1] - target,
                lt**-0.5 * (1 + 1e-12), 10.0, xtol=1e-14)
    t_hoop, _ = cylinder_tensions(material, thickness_mm, lt, lz)
    return pressure_MPa - t_hoop / wall_radius_mm


def fit_film_to_compliance(
    rating: BalloonRating,
    thickness_mm: float,
    law: str = "neo-hookean",
    stiffening: float = 1.0,
    hoop_strength_MPa: float = 240.0,
    source: str = "",
) -> tuple[FilmLaw, float]:
    """Fit a film's shear modulus and the balloon's reference diameter to its rating.

    The balloon body is taken as a closed-end cylindrical membrane (hoop ``T = p r``, axial
    ``T = p r / 2``). Two conditions fix the two unknowns: ``D(p_nom) = D_nom`` and the secant
    compliance ``(D(p_rbp) - D(p_nom)) / D_nom / (p_rbp - p_nom)`` equal to the stated one.
    The fit is cached (the same rating is fitted once per process).

    Args:
        rating: labelled diameter, pressures and compliance.
        thickness_mm: reference film thickness ``H``.
        law: ``"neo-hookean"`` or ``"demiray"``.
        stiffening: Demiray exponent ``b`` (ignored for neo-Hookean).
        hoop_strength_MPa: film strength stored with the material.
        source: provenance text stored with the material.

    Returns:
        ``(material, reference_diameter_mm)``.

    Raises:
        ValueError: when the rating cannot be met by the law (e.g. a neo-Hookean film whose
            limit pressure falls below the rated burst pressure at that compliance).
    """
    return _fit_film_cached(rating, float(thickness_mm), law, float(stiffening),
                            float(hoop_strength_MPa), source)


@functools.lru_cache(maxsize=64)
def _fit_film_cached(
    rating: BalloonRating,
    thickness_mm: float,
    law: str = "neo-hookean",
    stiffening: float = 1.0,
    hoop_strength_MPa: float = 240.0,
    source: str = "",
) -> tuple[FilmLaw, float]:
    from scipy.optimize import brentq

    if law not in ("neo-hookean", "demiray"):
        raise ValueError(f"law = {law!r} must be 'neo-hookean' or 'demiray'")
    p_nom = rating.nominal_pressure_atm * ATM_MPA
    p_rbp = rating.rated_burst_pressure_atm * ATM_MPA
    d_nom = rating.nominal_diameter_mm
    src = source or (
        f"fitted to D_nom {d_nom} mm at {rating.nominal_pressure_atm} atm, "
        f"{rating.compliance_pct_per_atm} %/atm to {rating.rated_burst_pressure_atm} atm "
        "(closed-end cylinder membrane)"
    )

    def make(mu: float) -> FilmLaw:
        if law == "neo-hookean":
            return NeoHookeanFilm(mu, hoop_strength_MPa, name="fitted neo-Hookean film", source=src)
        return DemirayFilm(mu, stiffening, hoop_strength_MPa, name="fitted Demiray film",
                           source=src)

    def reference_radius(mat: FilmLaw) -> float:
        # D(p_nom) = 2 l R = D_nom; the hoop stretch grows with R, so 2 l R is monotone in R
        def f(radius: float) -> float:
            lt, _ = closed_end_cylinder_stretches(mat, thickness_mm, radius, p_nom)
            return 2.0 * lt * radius - d_nom if math.isfinite(lt) else 1e3

        return brentq(f, 0.02 * d_nom, 0.5 * d_nom, xtol=1e-13)

    def compliance_error(log_mu: float) -> float:
        try:
            mat = make(math.exp(log_mu))
            radius = reference_radius(mat)
        except ValueError:  # no reference radius reaches D_nom: far too soft
            return 1e3
        lt, _ = closed_end_cylinder_stretches(mat, thickness_mm, radius, p_rbp)
        if not math.isfinite(lt):
            return 1e3  # too soft: burst pressure above the limit point
        c = (2.0 * lt * radius - d_nom) / d_nom / (p_rbp / ATM_MPA - p_nom / ATM_MPA) * 100.0
        return c - rating.compliance_pct_per_atm

    # the compliance falls as mu grows: bracket the first sign change on a log grid
    grid = np.linspace(math.log(1e-1), math.log(1e5), 61)
    errs = [compliance_error(float(g)) for g in grid]
    bracket = next(((grid[i], grid[i + 1]) for i in range(len(grid) - 1)
                    if errs[i] > 0.0 >= errs[i + 1]), None)
    if bracket is None:
        raise ValueError(
            f"rating {rating} cannot be met by a {law} film of thickness {thickness_mm} mm "
            f"(compliance range over mu in [0.1, 1e5] MPa does not include it)"
        )
    log_mu = brentq(compliance_error, float(bracket[0]), float(bracket[1]), xtol=1e-12)
    mat = make(math.exp(log_mu))
    return mat, 2.0 * reference_radius(mat)


# --------------------------------------------------------------------------------------------
# Closed forms: burst of the body, free or against a channel wall
# --------------------------------------------------------------------------------------------

#: Fraction of balloons that survive the rated burst pressure (FDA PTCA guidance, ISO 10555-4).
RBP_SURVIVAL = 0.999
#: Confidence with which a burst test shows that fraction.
RBP_CONFIDENCE = 0.95


@dataclass(frozen=True, slots=True)
class CylinderState:
    """Homogeneous state of a closed-end cylindrical membrane at one pressure.

    Attributes:
        pressure_MPa: inflation pressure.
        hoop_stretch, axial_stretch: ``l = r / R`` and ``lz``.
        contact_pressure_MPa: what the channel wall takes, per deformed area (0 when free).
        hoop_stress_MPa, axial_stress_MPa: Cauchy stresses ``T_i / h``.
    """

    pressure_MPa: float
    hoop_stretch: float
    axial_stretch: float
    contact_pressure_MPa: float
    hoop_stress_MPa: float
    axial_stress_MPa: float

    @property
    def max_principal_stress_MPa(self) -> float:
        return max(self.hoop_stress_MPa, self.axial_stress_MPa)


@dataclass(frozen=True, slots=True)
class CylinderBurst:
    """Burst of a closed-end cylindrical membrane (:func:`closed_end_burst`).

    Attributes:
        pressure_MPa: burst pressure; the limit pressure when ``mode == "limit_point"``.
        mode: ``"strength"`` (the largest principal stress reached the strength) or
            ``"limit_point"`` (the pressure peaked first: the film runs away, a burst too).
        state: the body's state at the burst pressure.
        limit_pressure_MPa: the loading branch's limit pressure (inf when none below the
            stretch scanned).
    """

    pressure_MPa: float
    mode: str
    state: CylinderState
    limit_pressure_MPa: float

    @property
    def pressure_atm(self) -> float:
        return self.pressure_MPa / ATM_MPA


def closed_end_cylinder_state(
    material: FilmLaw, thickness_mm: float, radius_mm: float, hoop_stretch: float,
    wall_radius_mm: float | None = None, wall_stiffness_MPa_per_mm: float = math.inf,
) -> CylinderState | None:
    """The pressure and state holding a closed-end cylinder at ``hoop_stretch``.

    Free (``wall_radius_mm`` None), or supported by a wall of rest radius ``R_w`` with
    ``f = k <r - R_w>`` per reference area (``k`` finite) or rigid (``k = inf``: then only
    ``l <= R_w / R`` exists as a free state, and ``l = R_w / R`` is handled by
    :func:`closed_end_cylinder_state_at_pressure`). The axial stretch follows from
    ``T_z = p r / 2`` with the pressure of radial equilibrium, so both are solved together.
    Returns None when no axial stretch balances the state.
    """
    from scipy.optimize import brentq

    lt, r = hoop_stretch, hoop_stretch * radius_mm
    k = wall_stiffness_MPa_per_mm
    overlap = 0.0 if wall_radius_mm is None else max(r - wall_radius_mm, 0.0)
    if overlap > 0.0 and not math.isfinite(k):
        return None
    if overlap == 0.0 and abs(lt - 1.0) < 1e-12:
        return CylinderState(0.0, 1.0, 1.0, 0.0, 0.0, 0.0)

    def pressure(lz: float) -> float:
        t_hoop, _ = cylinder_tensions(material, thickness_mm, lt, lz)
        return t_hoop / r + (k * overlap / (lt * lz) if overlap > 0.0 else 0.0)

    if overlap == 0.0:  # free: T_theta = 2 T_z fixes lz whatever the law
        lz = closed_end_axial_stretch(lt)
        t_hoop, t_ax = cylinder_tensions(material, thickness_mm, lt, lz)
        h = thickness_mm / (lt * lz)
        return CylinderState(t_hoop / r, lt, lz, 0.0, t_hoop / h, t_ax / h)

    def axial_residual(lz: float) -> float:
        _, t_ax = cylinder_tensions(material, thickness_mm, lt, lz)
        return t_ax - 0.5 * pressure(lz) * r

    lo = lt**-0.5 * (1.0 + 1e-12)  # T_z = 0 at lz^2 = (l lz)^-2
    hi = max(2.0, 2.0 * lt)
    if axial_residual(lo) > 0.0 or axial_residual(hi) < 0.0:
        return None
    lz = brentq(axial_residual, lo, hi, xtol=1e-14)
    p = pressure(lz)
    t_hoop, t_ax = cylinder_tensions(material, thickness_mm, lt, lz)
    h = thickness_mm / (lt * lz)
    pc = k * overlap / (lt * lz) if overlap > 0.0 else 0.0
    return CylinderState(p, lt, lz, pc, t_hoop / h, t_ax / h)


def closed_end_cylinder_state_at_pressure(
    material: FilmLaw, thickness_mm: float, radius_mm: float, pressure_MPa: float,
    wall_radius_mm: float | None = None, wall_stiffness_MPa_per_mm: float = math.inf,
    max_stretch: float = 10.0,
) -> CylinderState | None:
    """The state of a closed-end cylinder at ``pressure_MPa`` on its loading branch.

    Free, against a Winkler wall or against a rigid wall (see
    :func:`closed_end_cylinder_state`). Returns None past the limit point, or when the
    pressure cannot open a pre-loaded wall (``R_w < R``) to the film's rest radius (the film
    is slack there).
    """
    from scipy.optimize import brentq

    rigid = wall_radius_mm is not None and not math.isfinite(wall_stiffness_MPa_per_mm)
    l_wall = wall_radius_mm / radius_mm if wall_radius_mm is not None else math.inf
    if rigid and l_wall < 1.0:
        raise ValueError(f"wall_radius_mm = {wall_radius_mm} is below the film's rest radius "
                         f"{radius_mm} mm: a rigid wall cannot be pre-loaded")

    def state(lt: float) -> CylinderState | None:  # below a rigid wall the film is free
        return closed_end_cylinder_state(material, thickness_mm, radius_mm, lt,
                                         None if rigid else wall_radius_mm,
                                         wall_stiffness_MPa_per_mm)

    top = min(max_stretch, l_wall) if rigid else max_stretch
    grid = 1.0 + np.expm1(np.linspace(0.0, math.log(top), 400))
    first = state(1.0)
    p_prev, l_prev = (first.pressure_MPa if first else 0.0), 1.0
    if pressure_MPa < p_prev:
        return None  # below the wall's pre-load: the film is slack
    for lt in grid[1:]:
        st = state(float(lt))
        if st is None or st.pressure_MPa < p_prev:
            return None
        if st.pressure_MPa >= pressure_MPa:
            root = brentq(lambda x: state(x).pressure_MPa - pressure_MPa, l_prev, float(lt),
                          xtol=1e-14)
            return state(root)
        p_prev, l_prev = st.pressure_MPa, float(lt)
    if not rigid:
        return None
    return _on_rigid_wall(material, thickness_mm, radius_mm, l_wall, pressure_MPa)


def _on_rigid_wall(material: FilmLaw, thickness_mm: float, radius_mm: float, hoop_stretch: float,
                   pressure_MPa: float) -> CylinderState:
    """The film held by a rigid wall at ``hoop_stretch``: ``T_z = p r / 2`` sets the axial
    stretch, the wall takes what the hoop tension does not."""
    from scipy.optimize import brentq

    lt = hoop_stretch
    r = lt * radius_mm
    target = 0.5 * pressure_MPa * r
    lz = brentq(lambda z: cylinder_tensions(material, thickness_mm, lt, z)[1] - target,
                lt**-0.5 * (1 + 1e-12), 50.0, xtol=1e-14)
    t_hoop, t_ax = cylinder_tensions(material, thickness_mm, lt, lz)
    h = thickness_mm / (lt * lz)
    return CylinderState(pressure_MPa, lt, lz, pressure_MPa - t_hoop / r, t_hoop / h, t_ax / h)


def closed_end_burst(
    material: FilmLaw, thickness_mm: float, radius_mm: float,
    strength_MPa: float | None = None, wall_radius_mm: float | None = None,
    wall_stiffness_MPa_per_mm: float = math.inf, max_pressure_MPa: float = 20.0,
    max_stretch: float = 10.0,
) -> CylinderBurst:
    """Burst of a closed-end cylindrical membrane, free or supported (module docstring).

    The loading branch is followed in the hoop stretch (the pressure is explicit there), and
    against a rigid wall, once the film touches it, in the pressure.

    Args:
        material: film law; its ``hoop_strength_MPa`` unless ``strength_MPa`` is given.
        thickness_mm, radius_mm: reference thickness ``H`` and radius ``R``.
        strength_MPa: film tensile strength (largest principal Cauchy stress at failure).
        wall_radius_mm, wall_stiffness_MPa_per_mm: the channel wall (None: free).
        max_pressure_MPa, max_stretch: search limits.

    Returns:
        :class:`CylinderBurst`; raises ValueError when neither the strength nor a limit point
        is reached within the limits, or a rigid wall is narrower than the film at rest.
    """
    from scipy.optimize import brentq, minimize_scalar

    strength = material.hoop_strength_MPa if strength_MPa is None else strength_MPa
    _check("closed_end_burst", "strength_MPa", strength, 1e-6, 1e5, "MPa")
    rigid = wall_radius_mm is not None and not math.isfinite(wall_stiffness_MPa_per_mm)
    l_wall = wall_radius_mm / radius_mm if wall_radius_mm is not None else math.inf
    if rigid and l_wall < 1.0:
        raise ValueError(f"wall_radius_mm = {wall_radius_mm} is below the film's rest radius "
                         f"{radius_mm} mm: a rigid wall cannot be pre-loaded")

    def state(lt: float) -> CylinderState | None:  # below a rigid wall the film is free
        return closed_end_cylinder_state(material, thickness_mm, radius_mm, lt,
                                         None if rigid else wall_radius_mm,
                                         wall_stiffness_MPa_per_mm)

    def excess(lt: float) -> float:
        return state(lt).max_principal_stress_MPa - strength

    top = min(max_stretch, l_wall) if rigid else max_stretch
    grid = 1.0 + np.expm1(np.linspace(0.0, math.log(top), 300))
    p_prev, l_prev = -math.inf, 1.0
    for lt in grid:
        st = state(float(lt))
        if st is None or st.pressure_MPa < p_prev:  # the pressure peaked: limit point
            lo = float(grid[max(int(np.searchsorted(grid, l_prev)) - 1, 0)])
            hi = float(lt) if st is not None else l_prev
            res = minimize_scalar(lambda x: -state(x).pressure_MPa, bounds=(lo, hi),
                                  method="bounded", options={"xatol": 1e-12})
            st_lim = state(float(res.x))
            if st_lim.max_principal_stress_MPa >= strength:  # strength first, past l_prev
                root = brentq(excess, l_prev, float(res.x), xtol=1e-14)
                return CylinderBurst(state(root).pressure_MPa, "strength", state(root),
                                     st_lim.pressure_MPa)
            return CylinderBurst(st_lim.pressure_MPa, "limit_point", st_lim,
                                 st_lim.pressure_MPa)
        if st.pressure_MPa > max_pressure_MPa:
            raise ValueError(f"neither the strength {strength} MPa nor a limit point is "
                             f"reached below {max_pressure_MPa} MPa")
        if st.max_principal_stress_MPa >= strength:
            root = brentq(excess, l_prev, float(lt), xtol=1e-14) if lt > 1.0 else 1.0
            return CylinderBurst(state(root).pressure_MPa, "strength", state(root), math.inf)
        p_prev, l_prev = st.pressure_MPa, float(lt)
    if not rigid:
        raise ValueError(f"neither the strength {strength} MPa nor a limit point is reached "
                         f"below the hoop stretch {max_stretch}")

    # on the rigid wall: hoop stretch fixed, the pressure is the parameter
    def on_wall(p: float) -> CylinderState:
        return _on_rigid_wall(material, thickness_mm, radius_mm, l_wall, p)

    p_touch = p_prev
    grid_p = p_touch + np.geomspace(1e-6, 1.0, 200) * (max_pressure_MPa - p_touch)
    p_lo = p_touch
    for p in grid_p:
        if on_wall(float(p)).max_principal_stress_MPa >= strength:
            root = brentq(lambda x: on_wall(x).max_principal_stress_MPa - strength, p_lo,
                          float(p), xtol=1e-13)
            return CylinderBurst(root, "strength", on_wall(root), math.inf)
        p_lo = float(p)
    raise ValueError(f"the strength {strength} MPa is not reached below {max_pressure_MPa} MPa "
                     "on the rigid wall")


def strength_quantile(mean_MPa: float, cov: float, probability: float) -> float:
    """The ``probability`` quantile of a normally distributed strength (mean, coefficient of
    variation): the strength that a fraction ``1 - probability`` of films exceed."""
    from statistics import NormalDist

    _check("strength_quantile", "cov", cov, 0.0, 0.3)
    _check("strength_quantile", "probability", probability, 1e-9, 1.0 - 1e-9)
    return mean_MPa * (1.0 + NormalDist().inv_cdf(probability) * cov)


def tolerance_factor(n: int, coverage: float = RBP_SURVIVAL,
                     confidence: float = RBP_CONFIDENCE) -> float:
    """One-sided normal tolerance factor ``k``: ``m - k s`` of ``n`` samples is below the
    ``coverage`` fraction of the population with the given confidence (noncentral t)."""
    from statistics import NormalDist

    from scipy.stats import nct

    _check("tolerance_factor", "n", n, 2, 1e7)
    z = NormalDist().inv_cdf(coverage)
    return float(nct.ppf(confidence, df=n - 1, nc=z * math.sqrt(n)) / math.sqrt(n))


def _ufl_exp(arg):
    import ufl

    return ufl.exp(arg)
