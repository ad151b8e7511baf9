"""The balloon pressure problem: the pressurised subintimal balloon loading the calcified wall.

For a calcification grade and a balloon pressure (typically 2-14 atm), the inflator holds the
balloon at constant pressure. A PTA balloon film is three orders of magnitude stiffer than the
wall (compliance 1-2 %/atm): it carries the pressure itself and passes to the wall only what the
wall needs to be held open at the balloon's diameter. Loading the wall with the full balloon
pressure is wrong (a neo-Hookean wall passes its limit point below 1 atm). So the wall is loaded
by the balloon's *contact* pressure ``p_c``, a follower pressure on ``channel_surface``, and the
balloon and the wall are in equilibrium at every balloon pressure ``P``: the film held at the
channel's radius ``r`` presses ``p_c`` (:class:`fem.balloon.confined.ConfinedFilm`: a closed-end
cylindrical membrane fitted to the catheter's rating by
:func:`fem.balloon.film.fit_film_to_compliance`; ``p_c = P`` where it wrinkles, 0 where the
channel is wider than the free balloon). The channel's
stress-free diameter (``balloon.channel_diameter_mm``, the wire's dissection) is smaller than
the balloon's. The balloon's contact is taken as uniform over the channel, which sees the film
through its equivalent radius ``sqrt(A / pi)``.

The equilibrium is one continuation in ``P`` (``BalloonCase.equilibrium = "continuation"``,
:class:`fem.balloon.equilibrium.BorderedContinuation`): the wall's fields and ``p_c`` are
unknowns together, the film's law their extra equation (a bordered Newton system), and every
recorded pressure is a point on the one ramp. ``"nested"`` is the former method (regula falsi
on ``p_c``, a wall ramp per trial: :func:`fem.balloon.equilibrium.nested_equilibrium`), kept
as a check.

Reference states: regions listed in ``BalloonCase.stress_free_in_situ`` (default calcium,
formed in the vessel in situ) are stress-free in the axially pre-stretched state, not in the
mesh's (:class:`fem.solid.materials.StressFreeState`, ``F0 = diag(1, 1, lambda_z)``).

Two geometries, one code path:

* ``"section"`` (default): the 2-D cross-section through the needle's flap crossing
  (:func:`meshes.load_artery_section_mesh`) in generalised plane strain, with the in-situ axial
  pre-stretch as ``F33``. A study of hundreds of cases can afford it on a workstation; it is
  exact for a segment whose calcium and channel are long compared with its diameter.
* ``"3d"``: the whole segment (:func:`meshes.load_artery_mesh`), ends on axial rollers that
  impose the pre-stretch; for calcium shorter than the segment and for the needle submodel.

Outputs per pressure reached: channel equivalent diameter (the needle's target), true-lumen
area and its change; at the case's pressure the per-region stresses and, per layer, a damage
and a rupture indicator: the largest *non-local* maximum principal stress over the layer divided
by its damage-onset or rupture strength (:mod:`fem.balloon.wall_failure`). With
``wall_failure_search`` (default) the indicators are followed along the continuation from the
in-situ state, and past the case's pressure up to the film's burst (its limit point) or
``failure_search_max_atm``, for the balloon pressure at which each layer reaches each level.
"""

from __future__ import annotations

import json
import math
import os
import pathlib
import time
from dataclasses import asdict, dataclass, field

import dolfinx
import dolfinx.fem.petsc
import ufl
from mpi4py import MPI

from fem.balloon.confined import ConfinedFilm
from fem.balloon.equilibrium import BorderedContinuation, nested_equilibrium
from fem.balloon.film import fit_film_to_compliance
from fem.balloon.inputs import (  # noqa: F401  (re-exported: the balloon inputs live there)
    EQUILIBRIA,
    GEOMETRIES,
    OUTER_WALL,
    REGIONS,
    BalloonCase,
    LayerHGO,
    WallMaterials,
    WallStrengths,
)
from fem.balloon.wall_failure import (
    LAYERS,
    LEVELS,
    NonlocalStress,
    calcium_scale_warning,
    crossing_pressures,
)
from fem.solid.hyperelastic import HyperelasticProblem, RampResult
from fem.solid.materials import ATM_MPa
from fem.solid.output import region_stress_summary, write_fields
from meshes import CrossSection


def layer_hoop_direction(cs: CrossSection):
    """Unit circumferential direction of the media/adventitia layers, in UFL, at reference X.

    The layers follow the hull of the intima circle (centre c1) and the channel circle (centre
    c2) at constant thickness: beyond the channel arc their normal points away from c2, beyond
    the lumen-side arc away from c1, and along the two tangent segments it is the segments'
    normal. The circumferential (fibre) direction is ``e_z x n``. A single axis for the whole
    wall would tilt the fibres by up to ~60 deg over the channel of this two-lobed section.
    """
    th = cs.theta

    def hoop(X):
        dx1, dx2, y = X[0] - cs.x_a, X[0] - cs.x_b, X[1]
        ang1 = ufl.atan2(abs(y), dx1)  # angle about c1 from +x, in [0, pi]
        ang2 = ufl.atan2(abs(y), dx2)
        n1 = ufl.as_vector([dx1, y]) / ufl.sqrt(dx1**2 + y**2)
        n2 = ufl.as_vector([dx2, y]) / ufl.sqrt(dx2**2 + y**2)
        sgn = ufl.conditional(ufl.ge(y, 0.0), 1.0, -1.0)
        nt = ufl.as_vector([math.cos(th), math.sin(th) * sgn])
        n = ufl.conditional(ufl.le(ang2, th), n2, ufl.conditional(ufl.ge(ang1, th), n1, nt))
        return ufl.as_vector([-n[1], n[0], 0.0])

    return hoop


@dataclass
class BalloonResult:
    """What a balloon case gives: JSON-ready via :meth:`to_dict`.

    ``newton_iterations`` / ``solves`` count the work up to the case's pressure (the axial
    pre-stretch ramp included); the failure search past it is counted apart
    (``failure_search_newton_iterations``). ``damage_indicator`` / ``rupture_indicator``:
    per layer at the case's pressure. ``failure_path``: the balloon pressure, contact pressure
    and per-region peak non-local stress at every continuation point from the in-situ state
    (0 atm) on. ``failure_pressures``: ``"<layer>_<level>"`` -> the balloon pressure (atm) the
    layer reaches the level at (NaN: not up to ``failure_search["end_atm"]``). In
    :meth:`scalars`, ``wall_<level>_*`` is the first of all layers (calcium included: it cracks
    as the channel opens), ``outer_wall_<level>_pressure_atm`` the first of media and adventitia
    (their rupture perforates the vessel).
    """

    converged: bool
    target_pressure_atm: float
    reached_pressure_atm: float
    geometry: str
    mesh_key: str
    cells: int
    dofs: int
    ranks: int
    curve: list[dict] = field(default_factory=list)
    region_stress: dict = field(default_factory=dict)
    rupture_indicator: dict = field(default_factory=dict)
    damage_indicator: dict = field(default_factory=dict)
    failure: dict | None = None
    newton_iterations: int = 0
    linear_iterations: int = 0
    solves: int = 0
    failure_search_newton_iterations: int = 0
    failure_search_solves: int = 0
    failure_path: list[dict] = field(default_factory=list)
    failure_pressures: dict = field(default_factory=dict)
    failure_search: dict | None = None
    warnings: list[str] = field(default_factory=list)
    wall_time_s: float = 0.0
    fields_path: str | None = None
    path_state: dict | None = None

    def to_dict(self) -> dict:
        return asdict(self)

    def first_to_reach(self, level: str, layers=LAYERS) -> tuple[float, str]:
        """``(pressure atm, layer)`` of the first of ``layers`` to reach ``level`` (NaN,
        "none" if none does)."""
        hits = [(v, k.rsplit("_", 1)[0]) for k, v in self.failure_pressures.items()
                if k.endswith("_" + level) and k.rsplit("_", 1)[0] in layers
                and math.isfinite(v)]
        return min(hits) if hits else (math.nan, "none")

    def scalars(self) -> dict:
        """Flat scalar results for a study record."""
        out = {
            "converged": self.converged,
            "reached_pressure_atm": self.reached_pressure_atm,
            "newton_iterations": self.newton_iterations,
            "solves": self.solves,
            "wall_time_s": self.wall_time_s,
            "cells": self.cells,
            "dofs": self.dofs,
        }
        if self.curve:
            last = self.curve[-1]
            out |= {k: last[k] for k in ("channel_diameter_mm", "contact_pressure_atm",
                                         "free_balloon_diameter_mm", "lumen_area_mm2",
                                         "lumen_area_change_pct")}
        for region, s in self.region_stress.items():
            out[f"{region}_mean_hoop_MPa"] = s["mean_hoop_MPa"]
            out[f"{region}_peak_max_principal_MPa"] = s["peak_max_principal_MPa"]
        for region, v in self.damage_indicator.items():
            out[f"{region}_damage_indicator"] = v
        for region, v in self.rupture_indicator.items():
            out[f"{region}_rupture_indicator"] = v
        if self.failure_search is not None:
            for level in LEVELS:  # None where not reached
                p_atm, layer = self.first_to_reach(level)
                out[f"wall_{level}_pressure_atm"] = p_atm if math.isfinite(p_atm) else None
                out[f"wall_{level}_layer"] = layer
                # the layers whose rupture opens the vessel (perforation)
                p_atm, _ = self.first_to_reach(level, OUTER_WALL)
                out[f"outer_wall_{level}_pressure_atm"] = p_atm if math.isfinite(p_atm) else None
            for key, v in self.failure_pressures.items():
                out[f"{key}_pressure_atm"] = v if math.isfinite(v) else None
            out["wall_failure_search_end_atm"] = self.failure_search["end_atm"]
            out["wall_failure_search_end"] = self.failure_search["end"]
            out["failure_search_newton_iterations"] = self.failure_search_newton_iterations
        if self.path_state:
            for event in ("outer_wall", "flap"):
                out[f"{event}_in_plane_stretch"] = self.path_state[f"{event}_in_plane_stretch"]
        if self.warnings:
            out["warnings"] = "; ".join(self.warnings)
        if self.failure:
            out["failure_reason"] = self.failure.get("reason", "")
        return out


class BalloonProblem:
    """Build the wall problem of a :class:`BalloonCase`; :meth:`solve` ramps the pressure."""

    def __init__(self, case: BalloonCase, comm: MPI.Comm = MPI.COMM_WORLD, *,
                 cache_dir: str | os.PathLike | None = None) -> None:
        from meshes.io import load_artery_mesh, load_artery_section_mesh

        self.case = case
        self.model = case.mesh_model()
        self.cs = CrossSection(self.model)
        spec = case.mesh_spec()
        if case.geometry == "section":
            self.tagged = load_artery_section_mesh(spec, comm, cache_dir=cache_dir)
        else:
            self.tagged = load_artery_mesh(spec, comm, cache_dir=cache_dir)
        tm = self.tagged
        three_d = tm.mesh.geometry.dim == 3
        self.problem = HyperelasticProblem(
            tm.mesh, tm.cell_tags, tm.facet_tags,
            regions=tm.regions, boundaries=tm.boundaries,
            materials=case.materials.build(
                tm.regions, layer_hoop_direction(self.cs),
                in_situ_stretch=(case.model.artery.axial_prestretch
                                 if case.apply_axial_prestretch else 1.0),
                stress_free_in_situ=case.stress_free_in_situ),
            pressure_boundaries=("channel_surface",),
            axial_ends=("end_proximal", "end_distal") if three_d else (),
            rigid_motion="pin", options=case.solver, name="balloon",
        )
        self.comm = tm.mesh.comm
        b = case.model.balloon
        self.film, d_ref = fit_film_to_compliance(case.rating(), b.film_thickness_mm)
        self.film_reference_radius_mm = 0.5 * d_ref
        self.confined_film = ConfinedFilm(self.film, b.film_thickness_mm, 0.5 * d_ref)
        self.contact_pressure_MPa = 0.0
        self.wall_solves: list[RampResult] = []
        self.path: BorderedContinuation | None = None
        self._nonlocal: NonlocalStress | None = None
        self._area_forms = {"channel_surface": self._area_form("channel_surface")}
        self._fill_form = None
        if "lumen_fill" in tm.regions:
            _, F = self.problem.kinematics()
            # in-plane area change: J / F33 (F33 = axial stretch in plane strain, 1 + du_z/dz in
            # 3-D is folded into the division by the deformed length there)
            jac = ufl.det(F) if self.problem.gdim == 3 else F[0, 0] * F[1, 1] - F[0, 1] * F[1, 0]
            self._fill_form = dolfinx.fem.form(jac * self.problem.dx(tm.regions["lumen_fill"]))
        else:
            self._area_forms["lumen_surface"] = self._area_form("lumen_surface")

    # ------------------------------------------------------------------ observables
    def _area_form(self, boundary: str):
        return dolfinx.fem.form(self._area_integrand(boundary))

    def _area_integrand(self, boundary: str):
        """Deformed cross-section area enclosed by a boundary, times the deformed length (UFL).

        ``A = -1/2 oint x . n dl`` for a curve whose normal ``n`` points out of the solid (into
        the enclosed void); on the reference surface ``n da = cof(F) N dA`` (Nanson), with the
        in-plane cofactor, so the same form serves plane strain and 3-D (where it integrates
        over the lateral surface: ``int 2 A dz``).
        """
        p = self.problem
        u, F = p.kinematics()
        X = ufl.SpatialCoordinate(p.mesh)
        x = ufl.as_vector([X[0] + u[0], X[1] + u[1]])
        N = ufl.FacetNormal(p.mesh)
        if p.gdim == 3:
            nda = ufl.det(F) * ufl.inv(F).T * N
            n2 = ufl.as_vector([nda[0], nda[1]])
        else:
            F2 = ufl.as_matrix([[F[0, 0], F[0, 1]], [F[1, 0], F[1, 1]]])
            n2 = ufl.det(F2) * ufl.inv(F2).T * ufl.as_vector([N[0], N[1]])
        return -0.5 * ufl.dot(x, n2) * p.ds(p.boundaries[boundary])

    def enclosed_area_mm2(self, boundary: str) -> float:
        val = self.comm.allreduce(dolfinx.fem.assemble_scalar(self._area_forms[boundary]),
                                  op=MPI.SUM)
        if self.problem.gdim == 3:
            val /= self.problem.axial_stretch * self.case.model.artery.length_mm
        return float(val)

    def channel_radius_mm(self) -> float:
        return math.sqrt(max(self.enclosed_area_mm2("channel_surface"), 0.0) / math.pi)

    def free_balloon_diameter_mm(self, pressure_MPa: float) -> float:
        """Diameter of the free balloon (NaN past the film's limit point: it bursts)."""
        return 2.0 * self.confined_film.free_radius_mm(pressure_MPa)

    def burst_pressure_atm(self) -> float:
        """The film's limit point (atm): the free balloon bursts at this pressure (bisection
        to 1e-4 atm; at most 1000 atm)."""
        if getattr(self, "_burst_atm", None) is None:
            lo, hi = 0.0, 1000.0
            if math.isfinite(self.free_balloon_diameter_mm(hi * ATM_MPa)):
                lo = hi
            while hi - lo > 1e-4:
                mid = 0.5 * (lo + hi)
                if math.isfinite(self.free_balloon_diameter_mm(mid * ATM_MPa)):
                    lo = mid
                else:
                    hi = mid
            self._burst_atm = lo
        return self._burst_atm

    def film_contact_pressure_MPa(self, pressure_MPa: float, wall_radius_mm: float) -> float:
        """What the balloon at ``pressure_MPa`` presses on a wall of radius ``wall_radius_mm``
        (:meth:`fem.balloon.confined.ConfinedFilm.contact_pressure`: all of it where the film
        wrinkles, nothing where the channel is wider than the free balloon)."""
        return self.confined_film.contact_pressure(pressure_MPa, wall_radius_mm)

    def lumen_area_mm2(self) -> float:
        """Deformed true-lumen area: of the fill region when filled, else enclosed by its wall."""
        if self._fill_form is None:
            return self.enclosed_area_mm2("lumen_surface")
        val = self.comm.allreduce(dolfinx.fem.assemble_scalar(self._fill_form), op=MPI.SUM)
        if self.problem.gdim == 3:
            val /= self.problem.axial_stretch * self.case.model.artery.length_mm
        return float(val)

    def state_record(self, pressure_atm: float) -> dict:
        lumen = self.lumen_area_mm2()
        channel = self.enclosed_area_mm2("channel_surface")
        lumen0 = math.pi * self.cs.r_lumen**2
        return {
            "pressure_atm": pressure_atm,
            "contact_pressure_atm": self.contact_pressure_MPa / ATM_MPa,
            "channel_area_mm2": channel,
            "channel_diameter_mm": 2.0 * math.sqrt(max(channel, 0.0) / math.pi),
            "free_balloon_diameter_mm": self.free_balloon_diameter_mm(pressure_atm * ATM_MPa),
            "lumen_area_mm2": lumen,
            "lumen_area_change_pct": 100.0 * (lumen / lumen0 - 1.0),
            "axial_stretch": self.problem.axial_stretch,
        }

    def nonlocal_stress(self) -> NonlocalStress:
        """The per-layer non-local stress evaluator (built once, on first use)."""
        if self._nonlocal is None:
            self._nonlocal = NonlocalStress(
                self.problem, [r for r in LAYERS if r in self.problem.regions],
                self.case.strengths.material_length_mm)
        return self._nonlocal

    def rupture_indicators(self, max_principal: dolfinx.fem.Function | None = None,
                           level: str = "rupture") -> dict[str, float]:
        """Largest non-local max principal stress / strength at ``level``, per layer."""
        peaks = self.nonlocal_stress().peaks(max_principal)
        return {r: v / self.case.strengths.of(r, level) for r, v in peaks.items()}

    def _path(self) -> BorderedContinuation:
        if self.path is None:
            self.path = BorderedContinuation(
                self.problem, channel="channel_surface",
                area_integrand=self._area_integrand("channel_surface"),
                area_scale=self._area_scale, film=self.confined_film)
        return self.path

    def _continue_to(self, p_atm: float, res: BalloonResult, *, max_step_atm=None,
                     on_step=None) -> bool:
        """Continue balloon and wall together to ``p_atm`` (:mod:`fem.balloon.equilibrium`)."""
        path = self._path()
        seg = path.advance(p_atm * ATM_MPa, on_step=on_step, max_step_MPa=(
            None if max_step_atm is None else max_step_atm * ATM_MPa))
        self.contact_pressure_MPa = path.contact_pressure_MPa
        if not seg.converged:
            res.failure = {"reason": "wall cannot carry the balloon's contact pressure",
                           "pressure_atm": p_atm,
                           **{"wall_" + k: v for k, v in (seg.failure or {}).items()}}
        return seg.converged

    def _nested_to(self, p_atm: float, res: BalloonResult) -> bool:
        """Regula falsi on the contact pressure, a wall ramp per trial (``"nested"``)."""
        try:
            carried = nested_equilibrium(
                self, p_atm * ATM_MPa, rtol=self.case.nested_rtol,
                max_iter=40 if self.case.nested_rtol >= 1e-3 else 200)
        except ValueError as err:  # the film closed forms have no root for this state
            carried = False
            self.wall_solves.append(RampResult(False, 0.0, 1.0, 0.0, 1.0, 0.0))
            res.failure = {"reason": f"balloon-wall equilibrium: {err}", "pressure_atm": p_atm}
        if not carried:
            fail = next((w.failure for w in reversed(self.wall_solves) if w.failure), None)
            res.failure = res.failure or {
                "reason": "wall cannot carry the balloon's contact pressure",
                "pressure_atm": p_atm}
            if fail is not None:
                res.failure |= {"wall_" + k: v for k, v in asdict(fail).items()}
        return carried

    def _area_scale(self) -> float:
        """What divides an assembled enclosed area: the deformed length in 3-D, else 1."""
        if self.problem.gdim == 3:
            return self.problem.axial_stretch * self.case.model.artery.length_mm
        return 1.0

    def _record_failure_point(self, res: BalloonResult, pressure_MPa: float) -> bool:
        """Append the per-layer peak non-local stress now to ``res.failure_path``; True once
        every layer has reached its rupture level (nothing left to search for)."""
        peaks = self.nonlocal_stress().peaks()
        res.failure_path.append({"pressure_atm": pressure_MPa / ATM_MPa,
                                 "contact_pressure_atm": self.path.contact_pressure_MPa / ATM_MPa
                                 if self.path is not None else 0.0,
                                 "peak_nonlocal_MPa": peaks})
        return self._all_ruptured(res)

    def _failure_search(self, res: BalloonResult) -> None:
        """Continue past the case's pressure to the film's burst or the cap, then come back."""
        case = self.case
        limit = min(case.failure_search_max_atm, self.burst_pressure_atm() * (1.0 - 1e-3))
        end = ("cap" if case.failure_search_max_atm <= limit else "balloon_burst")
        n0 = len(self.path.steps)
        back = self.path.snapshot()
        if limit > res.reached_pressure_atm and not self._all_ruptured(res):
            seg = self.path.advance(
                limit * ATM_MPa, max_step_MPa=case.failure_search_step_atm * ATM_MPa,
                on_step=lambda P: self._record_failure_point(res, P))
            reached = self.path.balloon_pressure_MPa / ATM_MPa
            if not seg.converged:
                end = "wall_not_solved"
            elif reached < limit * (1 - 1e-9):
                end = "all_layers_ruptured"
        else:
            reached = res.reached_pressure_atm
            end = "all_layers_ruptured" if self._all_ruptured(res) else end
        self.path.restore(back)
        self.contact_pressure_MPa = self.path.contact_pressure_MPa
        extra = self.path.steps[n0:]
        res.failure_search_newton_iterations = sum(st.newton_iterations for st in extra)
        res.failure_search_solves = len(extra)
        res.failure_search = {"end_atm": reached, "end": end, "limit_atm": limit,
                              "burst_atm": self.burst_pressure_atm()}
        layers = [r for r in LAYERS if r in self.problem.regions]
        res.failure_pressures = {f"{r}_{lv}": v for (r, lv), v in crossing_pressures(
            [(pt["pressure_atm"], pt["peak_nonlocal_MPa"]) for pt in res.failure_path],
            case.strengths, layers).items()}

    def _all_ruptured(self, res: BalloonResult) -> bool:
        """Whether every layer has reached its rupture level somewhere on the path so far."""
        peaks = [pt["peak_nonlocal_MPa"] for pt in res.failure_path]
        return bool(peaks) and all(any(pk[r] >= self.case.strengths.of(r, "rupture")
                                       for pk in peaks) for r in peaks[0])

    # ------------------------------------------------------------------ solve
    def solve(self, outdir: str | os.PathLike | None = None) -> BalloonResult:
        case, p = self.case, self.problem
        tic = time.perf_counter()
        tm = self.tagged
        tdim = tm.mesh.topology.dim
        res = BalloonResult(
            converged=False, target_pressure_atm=case.pressure_atm, reached_pressure_atm=0.0,
            geometry=case.geometry, mesh_key=tm.key,
            cells=tm.mesh.topology.index_map(tdim).size_global,
            dofs=p.W.dofmap.index_map.size_global * p.W.dofmap.index_map_bs,
            ranks=self.comm.size,
        )
        if "calcium" in tm.regions:
            warn = calcium_scale_warning(case.materials.calcium_modulus_MPa,
                                         case.strengths.calcium_rupture_MPa)
            if warn:
                res.warnings.append(warn)
        ok = True
        if case.apply_axial_prestretch and case.model.artery.axial_prestretch != 1.0:
            r = p.ramp(axial_stretch=case.model.artery.axial_prestretch)
            self.wall_solves.append(r)
            ok = r.converged
        res.curve.append(self.state_record(0.0))
        in_situ = None
        search = case.wall_failure_search and case.equilibrium == "continuation"
        if ok:
            from fem.balloon.prestress import path_state

            in_situ = path_state(self, 0.0)  # the reference of the state handed to puncture
            if search:
                self._record_failure_point(res, 0.0)
        step_atm = case.failure_search_step_atm if search else None
        for p_atm in case.pressures_atm() if ok else []:
            if not math.isfinite(self.free_balloon_diameter_mm(p_atm * ATM_MPa)):
                ok = False
                res.failure = {"reason": "balloon film past its limit point: it bursts below "
                               "this pressure", "pressure_atm": p_atm}
                break
            if case.equilibrium == "continuation":
                carried = self._continue_to(p_atm, res, max_step_atm=step_atm, on_step=(
                    (lambda P: self._record_failure_point(res, P) and False) if search
                    else None))
            else:
                carried = self._nested_to(p_atm, res)
            if not carried:
                ok = False
                break
            res.reached_pressure_atm = p_atm
            res.curve.append(self.state_record(p_atm))
        res.converged = ok
        for st in [st for r in self.wall_solves for st in r.steps] + (
                self.path.steps if self.path is not None else []):
            res.solves += 1
            res.newton_iterations += st.newton_iterations
            res.linear_iterations += st.linear_iterations
        if res.reached_pressure_atm > 0.0:
            res.region_stress = {k: v.to_dict() for k, v in region_stress_summary(
                p, axis_origin_mm=(0.0, 0.0)).items()}
            peaks = self.nonlocal_stress().peaks()
            for level, out in (("damage", res.damage_indicator),
                               ("rupture", res.rupture_indicator)):
                out.update({r: v / case.strengths.of(r, level) for r, v in peaks.items()})
            # The state the needle meets, for the puncture's local models (fem.balloon.prestress).
            from fem.balloon.prestress import path_state

            res.path_state = path_state(self, res.reached_pressure_atm, in_situ).to_dict()
        if outdir is not None:
            outdir = pathlib.Path(outdir)
            if self.comm.rank == 0:
                outdir.mkdir(parents=True, exist_ok=True)
            self.comm.barrier()
            write_fields(p, outdir / "balloon_fields.xdmf")
            res.fields_path = str(outdir / "balloon_fields.xdmf")
        if search and ok:
            self._failure_search(res)
        res.wall_time_s = self.comm.allreduce(time.perf_counter() - tic, op=MPI.MAX)
        if outdir is not None and self.comm.rank == 0:
            (outdir / "balloon.json").write_text(json.dumps(res.to_dict(), indent=2))
        return res


def solve_balloon(case: BalloonCase, comm: MPI.Comm = MPI.COMM_WORLD, *,
                  outdir: str | os.PathLike | None = None,
                  cache_dir: str | os.PathLike | None = None) -> BalloonResult:
    """Build and solve one balloon case (see :class:`BalloonProblem`)."""
    return BalloonProblem(case, comm, cache_dir=cache_dir).solve(outdir)


__all__ = ["BalloonCase", "BalloonProblem", "BalloonResult", "WallMaterials", "WallStrengths",
           "solve_balloon"]
