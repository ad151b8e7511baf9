"""The balloon pressure problem: the pressurised subintimal balloon loading the calcified wall.

For a calcification grade and a balloon pressure (typically 2-14 atm), the inflator holds the
balloon at constant pressure. A PTA balloon film is three orders of magnitude stiffer than the
wall (compliance 1-2 %/atm): it carries the pressure itself and passes to the wall only what the
wall needs to be held open at the balloon's diameter. Loading the wall with the full balloon
pressure is wrong (a neo-Hookean wall passes its limit point below 1 atm). So the wall is loaded
by the balloon's *contact* pressure ``p_c``, a follower pressure on ``channel_surface``, and the
balloon and the wall are brought to equilibrium at every balloon pressure ``p``:

    p_c = p - T_film(r) / r,      r = channel radius the wall reaches under p_c,

with the film's hoop tension ``T_film`` of a closed-end cylindrical membrane fitted to the
catheter's rating (nominal diameter at nominal pressure, compliance; :mod:`fem.balloon.membrane`).
The
channel's stress-free diameter (``balloon.channel_diameter_mm``, the wire's dissection) is
smaller than the balloon's, so below some pressure the balloon does not touch (``p_c = 0``).
``p_c(r)`` falls as ``r`` grows and ``r`` grows with ``p_c``: the equilibrium is the root of a
monotone function of ``p_c``, bracketed by ``[0, p_c(r_now)]`` and found by safeguarded regula
falsi, each evaluation a wall solve ramped in adaptive load steps by
:class:`fem.solid.hyperelastic.HyperelasticProblem` (a failed wall solve counts as "too high").
The balloon's contact is taken as uniform over the channel, which sees the film through its
equivalent radius ``sqrt(A / pi)``.

Two geometries, one code path:

* ``"section"`` (default): the 2-D cross-section through the needle's flap crossing
  (:func:`meshes.load_artery_section_mesh`) in generalised plane strain, with the in-situ axial
  pre-stretch as ``F33``. A study of hundreds of cases can afford it on a workstation; it is
  exact for a segment whose calcium and channel are long compared with its diameter.
* ``"3d"``: the whole segment (:func:`meshes.load_artery_mesh`), ends on axial rollers that
  impose the pre-stretch; for calcium shorter than the segment and for the needle submodel.

Outputs per pressure reached: channel equivalent diameter (the needle's target), true-lumen
area and its change, and at the final pressure the per-region stresses and a rupture indicator
per region: the largest *non-local* maximum principal stress over the region divided by the
region's strength. The non-local stress is the implicit-gradient average over the material
length ``l`` (Peerlings et al. 1996): ``s - l^2 lap(s) = sigma_1`` in the region, natural
boundary conditions. It converges with the mesh where the pointwise peak under a sharp corner
does not (DOMAIN.md section 8).
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
import numpy as np
import ufl
from mpi4py import MPI

from fem.balloon.inputs import (  # noqa: F401  (re-exported: the balloon inputs live there)
    GEOMETRIES,
    BalloonCase,
    LayerHGO,
    WallMaterials,
    WallStrengths,
)
from fem.balloon.membrane import (
    closed_end_confined_contact_pressure,
    closed_end_cylinder_stretches,
    fit_film_to_compliance,
)
from fem.solid.hyperelastic import HyperelasticProblem, RampResult
from fem.solid.materials import (
    ATM_MPa,
)
from fem.solid.output import region_stress_summary, stress_fields, write_fields
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
    """What a balloon case gives: JSON-ready via :meth:`to_dict`."""

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
    failure: dict | None = None
    newton_iterations: int = 0
    linear_iterations: int = 0
    solves: int = 0
    wall_time_s: float = 0.0
    fields_path: str | None = None
    path_state: dict | None = None

    def to_dict(self) -> dict:
        return asdict(self)

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
        for region, v in self.rupture_indicator.items():
            out[f"{region}_rupture_indicator"] = v
        if self.path_state:
            for event in ("outer_wall", "flap"):
                out[f"{event}_in_plane_stretch"] = self.path_state[f"{event}_in_plane_stretch"]
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
            materials=case.materials.build(tm.regions, layer_hoop_direction(self.cs)),
            pressure_boundaries=("channel_surface",),
            axial_ends=("end_proximal", "end_distal") if three_d else (),
            rigid_motion="pin", options=case.solver, name="balloon",
        )
        self.comm = tm.mesh.comm
        b = case.model.balloon
        self.film, d_ref = fit_film_to_compliance(case.rating(), b.film_thickness_mm)
        self.film_reference_radius_mm = 0.5 * d_ref
        self.contact_pressure_MPa = 0.0
        self.wall_solves: list[RampResult] = []
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
        """Deformed cross-section area enclosed by a boundary, times the deformed length.

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
        return dolfinx.fem.form(-0.5 * ufl.dot(x, n2) * p.ds(p.boundaries[boundary]))

    def enclosed_area_mm2(self, boundary: str) -> float:
        val = self.comm.allreduce(dolfinx.fem.assemble_scalar(self._area_forms[boundary]),
                                  op=MPI.SUM)
        if self.problem.gdim == 3:
            val /= self.problem.axial_stretch * self.case.model.artery.length_mm
        return float(val)

    def channel_radius_mm(self) -> float:
        return math.sqrt(max(self.enclosed_area_mm2("channel_surface"), 0.0) / math.pi)

    def free_balloon_diameter_mm(self, pressure_MPa: float) -> float:
        b = self.case.model.balloon
        lt, _ = closed_end_cylinder_stretches(self.film, b.film_thickness_mm,
                                              self.film_reference_radius_mm, pressure_MPa)
        return 2.0 * lt * self.film_reference_radius_mm

    def film_contact_pressure_MPa(self, pressure_MPa: float, wall_radius_mm: float) -> float:
        """What the balloon at ``pressure_MPa`` presses on a wall of radius ``wall_radius_mm``."""
        b = self.case.model.balloon
        if wall_radius_mm <= self.film_reference_radius_mm:  # film slack: all goes to the wall
            return pressure_MPa
        return max(0.0, closed_end_confined_contact_pressure(
            self.film, b.film_thickness_mm, self.film_reference_radius_mm, wall_radius_mm,
            pressure_MPa))

    def _wall_at(self, contact_MPa: float) -> float | None:
        """Solve the wall under a contact pressure; its channel radius, or None if it failed."""
        r = self.problem.ramp(pressure_MPa=contact_MPa)
        self.wall_solves.append(r)
        if not r.converged:
            return None
        self.contact_pressure_MPa = contact_MPa
        return self.channel_radius_mm()

    def equilibrate(self, pressure_MPa: float, *, rtol: float = 3e-3, max_iter: int = 40) -> bool:
        """Bring balloon and wall to equilibrium at balloon pressure ``pressure_MPa``.

        Returns False if no wall state could carry the required contact pressure (a wall
        failure, recorded in ``self.wall_solves``).
        """
        def g(pc: float, r: float) -> float:
            return pc - self.film_contact_pressure_MPa(pressure_MPa, r)

        r_now = self.channel_radius_mm()
        pc_now = self.contact_pressure_MPa
        g_now = g(pc_now, r_now)
        if abs(g_now) <= rtol * max(pressure_MPa, 1e-12):
            return True
        # bracket [a, b] with g(a) <= 0 <= g(b)
        if g_now < 0.0:
            a, ga = pc_now, g_now
            b, gb = self.film_contact_pressure_MPa(pressure_MPa, r_now), math.nan
        else:
            a, ga = 0.0, math.nan
            b, gb = pc_now, g_now
        # Every trial is loaded upwards from the last state known to lie below the root (a):
        # unloading from a failed or overshot state is a different, harder path.
        saved_a = (self.problem.w.x.array.copy(), self.contact_pressure_MPa)

        def restore_a() -> None:
            w, pc = saved_a
            self.problem.w.x.array[:] = w
            self.problem.w.x.scatter_forward()
            self.problem.pressure_MPa = pc
            self.contact_pressure_MPa = pc

        side = 0
        tried_b = False
        for _ in range(max_iter):
            if math.isfinite(ga) and math.isfinite(gb) and gb > ga:
                x = b - gb * (b - a) / (gb - ga)
                x = min(max(x, a + 0.02 * (b - a)), b - 0.02 * (b - a))
            elif not tried_b:
                x = b
            else:
                x = 0.5 * (a + b)
            tried_b = True
            restore_a()
            r = self._wall_at(x)
            gx = math.inf if r is None else g(x, r)
            if r is not None and abs(gx) <= rtol * pressure_MPa:
                return True
            if gx > 0.0:  # too much contact pressure (or more than the wall can carry)
                b, gb = x, (gx if math.isfinite(gx) else math.nan)
                if side == 1 and math.isfinite(ga):
                    ga *= 0.5  # Illinois: keep the stale end from stalling the secant
                side = 1
            else:
                a, ga = x, gx
                saved_a = (self.problem.w.x.array.copy(), x)
                if side == -1 and math.isfinite(gb):
                    gb *= 0.5
                side = -1
            if b - a <= 1e-6 * pressure_MPa:
                break
        # out of iterations, or a bracket closed on a wall failure: end on the carried side,
        # and succeed only if balloon and wall agree there
        restore_a()
        r = self.channel_radius_mm()
        return abs(g(a, r)) <= 10 * rtol * pressure_MPa

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

    def rupture_indicators(self, max_principal: dolfinx.fem.Function) -> dict[str, float]:
        """Largest non-local max principal stress / strength, per region (module docstring)."""
        p = self.problem
        ell = self.case.strengths.material_length_mm
        V = dolfinx.fem.functionspace(p.mesh, ("Lagrange", 1))
        s, v = ufl.TrialFunction(V), ufl.TestFunction(V)
        dx = ufl.Measure("dx", domain=p.mesh, subdomain_data=p.cell_tags)
        out = {}
        for region, tag in p.regions.items():
            if region not in p.materials or self.case.strengths.of(region) is None:
                continue
            # Outside the region the field is held at zero (a tiny mass keeps it regular).
            a = (s * v + ell**2 * ufl.dot(ufl.grad(s), ufl.grad(v))) * dx(tag) + 1e-12 * s * v * dx
            L = max_principal * v * dx(tag)
            prob = dolfinx.fem.petsc.LinearProblem(
                a, L, petsc_options_prefix=f"{p.prefix}nonlocal_{region}_",
                petsc_options={"ksp_type": "preonly", "pc_type": "lu",
                               "pc_factor_mat_solver_type": "mumps"})
            sbar = prob.solve()
            dofs = np.unique(V.dofmap.list[p.cell_tags.find(tag)])
            n_owned = V.dofmap.index_map.size_local
            dofs = dofs[dofs < n_owned]
            local = float(sbar.x.array[dofs].max()) if len(dofs) else -np.inf
            peak = self.comm.allreduce(local, op=MPI.MAX)
            out[region] = peak / self.case.strengths.of(region)
        return out

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
        ok = True
        if case.apply_axial_prestretch and case.model.artery.axial_prestretch != 1.0:
            r = p.ramp(axial_stretch=case.model.artery.axial_prestretch)
            self.wall_solves.append(r)
            ok = r.converged
        res.curve.append(self.state_record(0.0))
        in_situ = None
        if ok:
            from fem.balloon.prestress import path_state

            in_situ = path_state(self, 0.0)  # the reference of the state handed to puncture
        for p_atm in case.pressures_atm() if ok else []:
            if not math.isfinite(self.free_balloon_diameter_mm(p_atm * ATM_MPa)):
                ok = False
                res.failure = {"reason": "balloon film past its limit point: it bursts below "
                               "this pressure", "pressure_atm": p_atm}
                break
            try:
                carried = self.equilibrate(p_atm * ATM_MPa)
            except ValueError as err:  # the film closed forms have no root for this state
                carried = False
                self.wall_solves.append(RampResult(False, 0.0, 1.0, 0.0, 1.0, 0.0))
                res.failure = {"reason": f"balloon-wall equilibrium: {err}", "pressure_atm": p_atm}
            if not carried:
                ok = False
                fail = next((w.failure for w in reversed(self.wall_solves) if w.failure), None)
                res.failure = res.failure or {
                    "reason": "wall cannot carry the balloon's contact pressure",
                    "pressure_atm": p_atm}
                if fail is not None:
                    res.failure |= {"wall_" + k: v for k, v in asdict(fail).items()}
                break
            res.reached_pressure_atm = p_atm
            res.curve.append(self.state_record(p_atm))
        res.converged = ok
        for r in self.wall_solves:
            for st in r.steps:
                res.solves += 1
                res.newton_iterations += st.newton_iterations
                res.linear_iterations += st.linear_iterations
        if res.reached_pressure_atm > 0.0:
            res.region_stress = {k: v.to_dict() for k, v in region_stress_summary(
                p, axis_origin_mm=(0.0, 0.0)).items()}
            fields = stress_fields(p)
            res.rupture_indicator = self.rupture_indicators(fields["max_principal"])
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
