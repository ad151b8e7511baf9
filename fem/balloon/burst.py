"""The balloon's own failure: burst of the FE membrane, free or confined by the channel.

Criterion
---------
The film fails where its largest in-plane principal Cauchy stress (cell midpoints of the FE
membrane, :meth:`fem.balloon.membrane.MembraneProblem.max_principal`) reaches the film's tensile
strength. The pressure is ramped (:meth:`~fem.balloon.membrane.MembraneProblem.advance`) in
steps of :attr:`BurstSearch.step_atm`; when a step carries the stress past the strength, the
pressure is bisected from the last state below it to :attr:`BurstSearch.tolerance_atm`. A ramp
that stops before the strength is reached (Newton fails at the smallest step, or the stretch
runs away) ends at the pressure's limit point, which is a burst too (the film runs away):
mode ``"ramp_stopped"``, with the solver's record, because a solver failure and a limit point
are not told apart here; the closed forms say which to expect
(:func:`fem.balloon.film.closed_end_burst`). A ramp that stops while the film's largest
stress is still below half its strength is recorded as ``"failed"`` (no burst pressure): seen
with a soft channel much narrower than the film (oversizing 1.5), where the pre-loaded wall
pushes the shoulders of the stress-free film inwards.

Where the wall supports the film and where it does not
------------------------------------------------------
The channel is the membrane's :class:`~fem.balloon.membrane.ChannelContact`: a cylinder of rest
radius ``R_w = D_nom / (2 oversizing)`` about the balloon axis that pushes back on the film
where the film reaches it: rigid (penalty) or elastic (Winkler, ``k`` the wall's radial
stiffness; an oversized balloon pre-loads it, see :mod:`fem.balloon.membrane`). The cones stay
free (they never reach the wall, or leave it at the shoulder) and so do axial ``gaps``. Confining
the body moves the largest stress: the wall takes hoop load but no axial load, so a stiff
channel shifts the failure to the free cones or to the body's axial stress; a soft channel
leaves it in the body and raises the burst a little.

Statistics (what the label means)
---------------------------------
The rated burst pressure (RBP) on the label is the pressure that at least 99.9 % of balloons
survive, shown with 95 % confidence (:data:`fem.balloon.film.RBP_SURVIVAL`); it is not a mean.
A model run with the film's *mean* strength gives the mean burst pressure; the pressure that
99.9 % of balloons survive is the burst pressure at the strength's 0.1 % quantile
(:func:`fem.balloon.film.strength_quantile`, normal strength with coefficient of variation
``strength_cov``), which is what is compared with the RBP (``burst_p999_atm >= RBP``).

Units: mm, N, MPa; pressures in atm where a person reads them.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field

import hpc.stack  # noqa: F401  (orders MPI before DOLFINx; keep first)

from mpi4py import MPI

from fem._json import json_ready
from fem.balloon.film import (
    ATM_MPA,
    RBP_SURVIVAL,
    BalloonFilm,
    BalloonRating,
    _check,
    closed_end_burst,
    fit_film_to_compliance,
    strength_quantile,
)
from fem.balloon.membrane import (
    ChannelContact,
    MembraneFailure,
    MembraneOptions,
    MembraneProblem,
    MembraneState,
)

__all__ = ["BalloonBurstCase", "BurstResult", "BurstSearch", "find_burst", "solve_balloon_burst"]

#: A ramp that stops with the film's largest stress below this fraction of the strength is a
#: solver failure (mode ``"failed"``), not the limit point of a film near its burst.
_LIMIT_POINT_STRESS = 0.5


@dataclass(frozen=True, slots=True)
class BurstSearch:
    """How the burst pressure is searched.

    Attributes:
        step_atm: ramp increment between strength checks.
        tolerance_atm: bisection stops when the bracket is this narrow.
        max_pressure_atm: give up (mode ``"not_reached"``) above this pressure.
    """

    step_atm: float = 1.0
    tolerance_atm: float = 0.01
    max_pressure_atm: float = 60.0

    def __post_init__(self) -> None:
        _check("BurstSearch", "step_atm", self.step_atm, 1e-3, 20.0, "atm")
        _check("BurstSearch", "tolerance_atm", self.tolerance_atm, 1e-6, self.step_atm,
               "atm (at most step_atm)")
        _check("BurstSearch", "max_pressure_atm", self.max_pressure_atm, 0.1, 1000.0, "atm")


@dataclass(slots=True)
class BurstResult:
    """One burst search (:func:`find_burst`).

    Attributes:
        mode: ``"strength"``, ``"ramp_stopped"`` (limit point or solver failure: ``failure``),
            ``"failed"`` (the ramp stopped far below the strength: ``failure``),
            ``"not_reached"`` (``max_pressure_atm`` reached below the strength).
        burst_pressure_atm: where the strength was reached (bracket ends interpolated
            linearly), or the last converged pressure of a stopped ramp; NaN when not reached.
        thresholds_atm: strength -> pressure, for every strength searched (the first is the
            burst); NaN where not reached.
        strength_MPa: the strength that defines the burst.
        state: the membrane state at the end of the bracket at or above the strength (or the last
            converged one).
        curve: ``(pressure_atm, max_principal_stress_MPa, diameter_mm)`` at every check.
    """

    mode: str
    burst_pressure_atm: float
    strength_MPa: float
    thresholds_atm: dict[float, float] = field(default_factory=dict)
    state: MembraneState | None = None
    curve: list[tuple[float, float, float]] = field(default_factory=list)
    failure: MembraneFailure | None = None
    start_pressure_atm: float = 0.0
    newton_steps: int = 0
    wall_time_s: float = 0.0

    @property
    def region(self) -> str:
        return self.state.max_principal_region if self.state else ""

    def to_dict(self) -> dict:
        out = asdict(self)
        out["thresholds_atm"] = {str(k): v for k, v in self.thresholds_atm.items()}
        return json_ready(out)


def find_burst(problem: MembraneProblem, strength_MPa: float,
               search: BurstSearch | None = None,
               extra_strengths_MPa: tuple[float, ...] = ()) -> BurstResult:
    """Ramp ``problem`` from its start until the film's largest principal stress reaches
    ``strength_MPa`` (module docstring); also the pressures of ``extra_strengths_MPa``
    (e.g. a strength quantile) on the way.

    Returns:
        :class:`BurstResult`; a failed ramp is data (mode ``"ramp_stopped"``).
    """
    search = search or BurstSearch()
    _check("find_burst", "strength_MPa", strength_MPa, 1e-6, 1e5, "MPa")
    t0 = time.perf_counter()
    levels = sorted({float(strength_MPa), *map(float, extra_strengths_MPa)})
    found: dict[float, float] = {}
    record = problem.start()
    p = problem.pressure_atm
    out_start = p
    sigma_prev = 0.0
    out = BurstResult("not_reached", math.nan, float(strength_MPa))
    while True:
        target = (math.floor(p / search.step_atm + 1e-9) + 1) * search.step_atm
        if target > search.max_pressure_atm + 1e-9:
            break
        lo_snapshot = problem.snapshot()
        if not problem.advance(target, record):
            out.failure, out.state = record.failure, problem.measure()
            if out.state.max_principal_stress_MPa >= _LIMIT_POINT_STRESS * strength_MPa:
                out.mode, out.burst_pressure_atm = "ramp_stopped", problem.pressure_atm
            else:  # far below the strength: a solver failure, not a burst
                out.mode = "failed"
            break
        state = problem.measure()
        sigma = state.max_principal_stress_MPa
        out.curve.append((target, sigma, state.diameter_mm))
        crossed = [s for s in levels if s not in found and sigma_prev < s <= sigma]
        if crossed:
            hi_snapshot = problem.snapshot()
            for level in crossed:
                found[level], st = _bisect(problem, record, lo_snapshot, p, sigma_prev, target,
                                           sigma, level, search.tolerance_atm)
                if level == float(strength_MPa):
                    out.state = st
            problem.restore(hi_snapshot)
        if float(strength_MPa) in found:
            out.mode, out.burst_pressure_atm = "strength", found[float(strength_MPa)]
            break
        p, sigma_prev = target, sigma
    out.thresholds_atm = {s: found.get(s, math.nan) for s in levels}
    if out.state is None and out.mode == "not_reached":
        out.state = problem.measure()
    out.start_pressure_atm = out_start
    out.newton_steps = len(record.steps)
    out.wall_time_s = time.perf_counter() - t0
    return out


def _bisect(problem, record, lo_snapshot, p_lo, s_lo, p_hi, s_hi, level, tol):
    """Pressure where the largest principal stress reaches ``level`` in ``[p_lo, p_hi]``."""
    state_hi = None
    while p_hi - p_lo > tol:
        mid = 0.5 * (p_lo + p_hi)
        problem.restore(lo_snapshot)
        if not problem.advance(mid, record):  # cannot happen below a converged p_hi; be safe
            p_hi = mid
            continue
        st = problem.measure()
        if st.max_principal_stress_MPa >= level:
            p_hi, s_hi, state_hi = mid, st.max_principal_stress_MPa, st
        else:
            lo_snapshot, p_lo, s_lo = problem.snapshot(), mid, st.max_principal_stress_MPa
    p = p_lo + (level - s_lo) / (s_hi - s_lo) * (p_hi - p_lo) if s_hi > s_lo else p_hi
    if state_hi is None:
        problem.restore(lo_snapshot)
        problem.advance(p_hi, record)
        state_hi = problem.measure()
    return float(p), state_hi


# --------------------------------------------------------------------------------------------
# A catheter's balloon in a channel
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BalloonBurstCase:
    """A rated balloon, free and in its channel, taken to burst.

    Attributes:
        rating: labelled diameter, nominal and rated burst pressures, compliance.
        film_thickness_mm: reference film thickness (15-60 um, 25 typical [est]).
        film_strength_MPa: mean tensile strength of the film (largest principal Cauchy stress
            at failure), in [20, 1000] MPa; 240 [est] (see README: blow-moulded nylon-12/Pebax,
            consistent with a mean burst above the RBP for the default rating).
        film_strength_cov: coefficient of variation of the strength, in [0, 0.3]; 0.05 [est].
        oversizing: balloon nominal diameter / channel rest diameter, in [0.5, 2].
        wall_stiffness_MPa_per_mm: radial stiffness ``k`` of the channel wall (pressure per
            radial displacement), in (0, 1e5]; 0.3 [est: thin elastic tube ``E t / R^2`` with
            the wall's physiological circumferential stiffness E 0.72 MPa, t 1.55 mm, R 2 mm].
            ``inf`` = rigid (needs ``oversizing <= D_nom / D_rest``).
        gaps_z_mm: axial intervals of the body without wall support.
        body_length_mm, cone_length_mm, neck_diameter_mm: balloon geometry.
        mesh_size_mm: film element size (P2 on curved order-2 triangles).
        law: film law fitted to the rating (``"neo-hookean"`` or ``"demiray"``).
    """

    rating: BalloonRating = field(default_factory=BalloonRating)
    film_thickness_mm: float = 0.025
    film_strength_MPa: float = 240.0
    film_strength_cov: float = 0.05
    oversizing: float = 1.25
    wall_stiffness_MPa_per_mm: float = 0.3
    gaps_z_mm: tuple[tuple[float, float], ...] = ()
    body_length_mm: float = 10.0
    cone_length_mm: float = 3.0
    neck_diameter_mm: float = 1.0
    mesh_size_mm: float = 1.0
    law: str = "neo-hookean"

    def __post_init__(self) -> None:
        o = "BalloonBurstCase"
        _check(o, "film_thickness_mm", self.film_thickness_mm, 0.005, 0.2, "mm")
        _check(o, "film_strength_MPa", self.film_strength_MPa, 20.0, 1000.0, "MPa")
        _check(o, "film_strength_cov", self.film_strength_cov, 0.0, 0.3)
        _check(o, "oversizing", self.oversizing, 0.5, 2.0)
        k = self.wall_stiffness_MPa_per_mm
        if not (k == math.inf or (isinstance(k, int | float) and 0.0 < k <= 1e5)):
            raise ValueError(f"{o}.wall_stiffness_MPa_per_mm = {k!r} is outside the allowed "
                             "range (0, 1e5] MPa/mm (or inf: rigid)")
        _check(o, "body_length_mm", self.body_length_mm, 2.0, 300.0, "mm")
        _check(o, "cone_length_mm", self.cone_length_mm, 0.5, 20.0, "mm")
        _check(o, "neck_diameter_mm", self.neck_diameter_mm, 0.2,
               0.9 * self.rating.nominal_diameter_mm, "mm")
        _check(o, "mesh_size_mm", self.mesh_size_mm, 0.05, 5.0, "mm")
        if self.law not in ("neo-hookean", "demiray"):
            raise ValueError(f"{o}.law = {self.law!r} must be 'neo-hookean' or 'demiray'")

    @property
    def channel_radius_mm(self) -> float:
        return 0.5 * self.rating.nominal_diameter_mm / self.oversizing


def solve_balloon_burst(case: BalloonBurstCase, comm: MPI.Comm = MPI.COMM_WORLD, *,
                        search: BurstSearch | None = None) -> dict:
    """Burst of ``case``'s balloon free and in its channel, beside the closed forms.

    Returns:
        JSON-ready dict: ``free`` and ``confined`` (:meth:`BurstResult.to_dict`),
        ``free_burst_atm``, ``confined_burst_atm``, ``confined_burst_region``,
        ``free_burst_p999_atm`` / ``confined_burst_p999_atm`` (at the strength's 0.1 %
        quantile: what 99.9 % of balloons survive), ``rated_burst_pressure_atm``,
        ``rbp_consistent`` (free p999 >= RBP), ``closed_form_free_atm`` and
        ``closed_form_supported_atm`` (the body as a closed-end cylinder) and the inputs.
    """
    from meshes.film_patch import load_balloon_surface

    material, d_ref = fit_film_to_compliance(case.rating, case.film_thickness_mm, law=case.law,
                                             hoop_strength_MPa=case.film_strength_MPa)
    film = BalloonFilm(material, case.film_thickness_mm)
    tagged = load_balloon_surface(comm, d_ref, case.body_length_mm, case.cone_length_mm,
                                  case.neck_diameter_mm, case.mesh_size_mm, order=2)
    rigid = case.wall_stiffness_MPa_per_mm == math.inf
    wall = ChannelContact(case.channel_radius_mm,
                          1.0e3 if rigid else case.wall_stiffness_MPa_per_mm,
                          kind="rigid" if rigid else "elastic", gaps_z_mm=case.gaps_z_mm)
    opts = MembraneOptions(midplane_halfwidth_mm=min(0.5, 0.25 * case.body_length_mm))
    p999 = strength_quantile(case.film_strength_MPa, case.film_strength_cov, 1.0 - RBP_SURVIVAL)
    results = {}
    for name, contact in (("free", None), ("confined", wall)):
        problem = MembraneProblem.from_tagged(tagged, film, contact=contact, options=opts,
                                              name=f"burst_{name}")
        results[name] = find_burst(problem, case.film_strength_MPa, search,
                                   extra_strengths_MPa=(p999,))
    cf_free = closed_end_burst(material, case.film_thickness_mm, 0.5 * d_ref)
    try:
        cf_sup = closed_end_burst(material, case.film_thickness_mm, 0.5 * d_ref,
                                  wall_radius_mm=case.channel_radius_mm,
                                  wall_stiffness_MPa_per_mm=case.wall_stiffness_MPa_per_mm)
    except ValueError:  # no supported state of the body below the search limit
        cf_sup = None
    free, conf = results["free"], results["confined"]
    rbp = case.rating.rated_burst_pressure_atm
    free_p999 = free.thresholds_atm.get(p999, math.nan)
    return json_ready({
        "free": free.to_dict(),
        "confined": conf.to_dict(),
        "free_burst_atm": free.burst_pressure_atm,
        "free_burst_mode": free.mode,
        "free_burst_region": free.region,
        "confined_burst_atm": conf.burst_pressure_atm,
        "confined_burst_mode": conf.mode,
        "confined_burst_region": conf.region,
        "free_burst_p999_atm": free_p999,
        "confined_burst_p999_atm": conf.thresholds_atm.get(p999, math.nan),
        "strength_p999_MPa": p999,
        "rated_burst_pressure_atm": rbp,
        "rbp_consistent": bool(free_p999 >= rbp) if math.isfinite(free_p999) else None,
        "closed_form_free_atm": cf_free.pressure_atm,
        "closed_form_free_mode": cf_free.mode,
        "closed_form_supported_atm": cf_sup.pressure_atm if cf_sup else math.nan,
        "closed_form_supported_mode": cf_sup.mode if cf_sup else "",
        "channel_radius_mm": case.channel_radius_mm,
        "start_pressure_atm": conf.start_pressure_atm,
        "film_reference_diameter_mm": d_ref,
        "film_shear_modulus_MPa": material.shear_modulus_MPa,
        "case": {**asdict(case), "wall_stiffness_MPa_per_mm": (
            None if rigid else case.wall_stiffness_MPa_per_mm)},
        "atm_MPa": ATM_MPA,
    })

