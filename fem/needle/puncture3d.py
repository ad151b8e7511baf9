"""Puncture as local fracture: the 3-D half model with a cohesive crack on the needle's cut plane.

What is modelled
----------------
A rigid needle (:class:`fem.needle.geometry.Needle`, the true lancet bevel included) is pushed
head-on into a locally flat, layered patch of wall (:mod:`meshes.patch`). The tissue is cut by
a **cohesive crack** (:mod:`fem.needle.fracture`): each layer carries a traction-separation law
with its strength ``sigma_c`` and fracture energy ``G_c``, so the crack grows where the tissue
ahead of the needle is loaded to its strength and stops growing where the energy it releases
no longer pays for new surface. Energy stored away from the tip (a flap bent by the needle)
is not charged to the crack: the puncture force is a property of the tissue's strength and
toughness and of the needle, not of the model's extent (shown by tests).

The cut plane
-------------
A sharp tip starts a mode-I slit at its point; the shaft that follows wedges it open. A crack
whose plane holds the needle's axis is opened symmetrically by the shaft (a crack tangent to
the shaft, at the bevel's edge, would leave the shaft to push the tissue aside by a whole
diameter); the point of a bevel (lancet) lies in the bevel's plane of symmetry, which holds
the axis. The slit is therefore taken in the needle's plane of symmetry, the plane through
its axis and its point: a planar mode-I crack wedged open by the needle, as in the puncture
analyses of Shergold & Fleck (2004, Proc R Soc A 460:3037: sharp punches open a planar crack)
and Montanari et al. (2023, Soft Matter 19:3629: a mode-I crack in a plane holding the
needle's axis). That plane is a symmetry plane of the model: the half model ``y >= 0`` keeps
``u_y = 0`` on it outside the region the crack may reach and carries the cohesive law inside
(:class:`fem.needle.fracture.CohesivePlane`). Not modelled: the crescent (U-shaped flap) that
the curved cutting edge of a bevel can cut, and a crack leaving its plane.

Events and supports
-------------------
* ``"outer_wall"``: adventitia over media (over a medial calcium sheet of the grade's arc and
  length when the calcification is medial), needle from the adventitia. The balloon is behind
  the media: a pressure-limited support on the far face (as in :mod:`fem.needle.contact`).
  The patch is ``extent_factor`` needle diameters across, its rim clamped (or pre-stretched
  by the balloon's state).
* ``"flap"``: the intimal flap, intima over its calcium sheet (intimal calcification), needle
  from the channel side. The flap's span between its attachments to the rest of the wall
  comes from the cross-section (:class:`meshes.geometry.CrossSection`: the arc of the intima
  that faces the channel, ``2 theta`` wide), where it is clamped; along the vessel the patch
  reaches ``extent_factor`` needle diameters from the path. Behind the flap the true lumen is
  filled (the occluded segment): a soft compressible layer of the lumen's radius, held on its
  far face (``lumen_fill_modulus_MPa``, as the balloon problem's fill). The calcium sheet
  covers the flap over its arc and length and the rest of the flap is intima. The flap is
  flat here (the wall's curvature and the oblique entry are the 3-D submodel's).

The insertion curve
-------------------
The needle advances in adaptive steps (:meth:`fem.needle.contact.NeedleContactProblem.insert`):
loading, the first peak (the puncture force ``F*``, where the crack has run through the layer
and the force drops by ``puncture_drop``), then ``post_travel_factor`` layer thicknesses more,
through the next layer or into the space behind, so that the force after puncture is recorded
too. The work of the needle is split as Okamura (2004) and Barnett (2015) split the insertion
force: elastic deformation (``Delta Pi``, recovered on withdrawal), cutting (the energy the
cohesive crack dissipated) and friction; ``W = Delta Pi + D_crack + D_friction`` is checked.

Units: mm, N, MPa; pressures typed by people in atm.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass

from fem.needle.fracture.law import J_PER_M2, CohesiveLaw
from fem.solid.materials import ATM_MPa, check_range

__all__ = ["CohesiveModel", "CohesiveStrengths", "flap_span_mm", "solve_cohesive_event"]


@dataclass(frozen=True, slots=True)
class CohesiveStrengths:
    """Cohesive strength ``sigma_c`` of each tissue: its tensile (rupture) strength.

    Sources (DOMAIN.md section 5): Holzapfel et al. 2005 (AJP Heart 289:H2048), human coronary
    layers, circumferential ultimate tensile stress: adventitia 1430 +- 604 kPa, media 446 +-
    194 kPa, intima 394 +- 223 kPa (one study, one scale for the three layers; sweep within the
    spread). Calcium: the strength is the tissue's failure strain times its modulus, so that
    strength and modulus come from the same scale: calcified plaque fails at a stretch of about
    1.02 (Holzapfel 2004, J Biomech Eng 126:657; 0.18 MPa at the tissue scale, i.e. a 9 MPa
    tissue modulus), and a stiffer (mineral-scale) calcium modulus gives a proportionally higher
    strength [est: the same failure strain at every scale].

    Attributes:
        adventitia_MPa, media_MPa, intima_MPa: in (0, 100] MPa.
        calcium_failure_strain: in (0, 0.5].
    """

    adventitia_MPa: float = 1.43
    media_MPa: float = 0.446
    intima_MPa: float = 0.394
    calcium_failure_strain: float = 0.02

    def __post_init__(self) -> None:
        for name in ("adventitia_MPa", "media_MPa", "intima_MPa"):
            check_range(name, getattr(self, name), 0.0, 100.0, low_open=True, unit="MPa")
        check_range("calcium_failure_strain", self.calcium_failure_strain, 0.0, 0.5,
                    low_open=True)

    def of(self, tissue: str, calcium_modulus_MPa: float) -> float:
        if tissue == "calcium":
            return self.calcium_failure_strain * calcium_modulus_MPa
        return float(getattr(self, f"{tissue}_MPa"))


@dataclass(frozen=True, slots=True)
class CohesiveModel:
    """Numerics and extent of the 3-D cohesive model.

    Attributes:
        elements_per_cohesive_length: the crack plane's element size is at most the smallest
            cohesive length of the cut layers divided by this, in [1, 50]; the check of
            :meth:`fem.needle.fracture.CohesivePlane.check_resolution` wants >= 3.
        max_fine_size_mm: upper bound of the crack-plane element size (mm), also where the
            cohesive length is long (the tip must be resolved), in (0, 1].
        coarse_size_mm: largest element size away from the crack (mm).
        extent_factor: outer wall: the patch is ``2 extent_factor`` needle diameters across
            (square); flap: it reaches ``extent_factor`` diameters from the path along the
            vessel (its span across is the flap's own). In [2, 20].
        slit_half_width_factor: the crack region extends this many needle radii beyond the
            shaft on either side, in [0.5, 5].
        lumen_fill_modulus_MPa: Young's modulus of the filled true lumen behind the flap [est,
            the balloon problem's default], in [1e-4, 1].
        penalty_factor: cohesive penalty factor (:class:`fem.needle.fracture.CohesiveSettings`).
        viscosity_mm: relaxation length of the damage regularisation (needle travel, mm).
        puncture_drop: the puncture is the first peak after which the force falls by this
            fraction, in (0, 1).
        post_travel_factor: travel after the puncture, in layer thicknesses, in [0, 5].
        max_depth_factor: give up (``no_puncture``) after this many thicknesses of travel.
    """

    elements_per_cohesive_length: float = 3.0
    max_fine_size_mm: float = 0.1
    coarse_size_mm: float = 0.8
    extent_factor: float = 4.0
    slit_half_width_factor: float = 1.0
    lumen_fill_modulus_MPa: float = 0.005
    penalty_factor: float = 200.0
    viscosity_mm: float = 1.0e-4
    puncture_drop: float = 0.1
    post_travel_factor: float = 0.5
    max_depth_factor: float = 3.0

    def __post_init__(self) -> None:
        check_range("elements_per_cohesive_length", self.elements_per_cohesive_length, 1.0, 50.0)
        check_range("max_fine_size_mm", self.max_fine_size_mm, 0.0, 1.0, low_open=True,
                    unit="mm")
        check_range("coarse_size_mm", self.coarse_size_mm, self.max_fine_size_mm, 5.0,
                    unit="mm (at least max_fine_size_mm)")
        check_range("extent_factor", self.extent_factor, 2.0, 20.0)
        check_range("slit_half_width_factor", self.slit_half_width_factor, 0.5, 5.0)
        check_range("lumen_fill_modulus_MPa", self.lumen_fill_modulus_MPa, 1e-4, 1.0,
                    unit="MPa")
        check_range("penalty_factor", self.penalty_factor, 1.0, 1e6)
        check_range("viscosity_mm", self.viscosity_mm, 0.0, 1.0, unit="mm")
        check_range("puncture_drop", self.puncture_drop, 0.0, 1.0, low_open=True,
                    high_open=True)
        check_range("post_travel_factor", self.post_travel_factor, 0.0, 5.0)
        check_range("max_depth_factor", self.max_depth_factor, 0.5, 20.0)


def flap_span_mm(case) -> float:
    """Width of the flap between its attachments (mm): the arc of the intima that faces the
    channel, ``2 theta`` about the true lumen, at the flap's mid-thickness."""
    from meshes.geometry import CrossSection
    from meshes.spec import ArteryModelSpec

    cs = CrossSection(ArteryModelSpec(artery=case.artery(), calcification=case.calcification()))
    return 2.0 * cs.theta * (cs.r_a - 0.5 * cs.spec.artery.flap_thickness_mm)


def _calcium_core(case, event: str, half_width: float, length: float):
    """``(half width, length)`` (mm) of the calcium sheet in the patch (capped by the patch)."""
    calc = case.calcification()
    art = case.artery()
    if event == "flap":
        radius = art.true_lumen_radius_mm + 0.5 * calc.thickness_mm
    else:
        radius = (art.true_lumen_radius_mm + art.flap_thickness_mm + art.media_thickness_mm)
    hw = min(0.5 * math.radians(calc.arc_deg) * radius, half_width)
    ly = min(0.5 * calc.length_mm, length)
    return hw, ly


def event_geometry(case, event: str, model: CohesiveModel, laws: dict, moduli: dict):
    """The :class:`meshes.patch.LayeredPatchSpec` of an event, and the cut layers."""
    from meshes.patch import LayeredPatchSpec

    layers = list(case.layers(event))
    od, R = case.od_mm, 0.5 * case.od_mm
    lcz = min(laws[t].cohesive_length_mm(moduli[t]) for t, _ in layers)
    # Gmsh's edges come out up to ~1.4x the size asked for: ask for 0.7 of the bound.
    fine = 0.7 * min(model.max_fine_size_mm, lcz / model.elements_per_cohesive_length,
                     min(t for _, t in layers) / 2.0)
    length_y = model.extent_factor * od
    if event == "flap":
        half_x = 0.5 * flap_span_mm(case)
    else:
        half_x = model.extent_factor * od
    c = model.slit_half_width_factor * R
    slit = (-2.0 * R - c, c) if case.tip == "lancet" else (-R - c, R + c)
    slit = (max(slit[0], -half_x + fine), min(slit[1], half_x - fine))
    depth = sum(t for _, t in layers)
    patch_layers: list[tuple[str, float]] = []
    cores = []
    for i, (tissue, t) in enumerate(layers):
        if tissue == "calcium":
            hw, ly = _calcium_core(case, event, half_x, length_y)
            host = "intima" if event == "flap" else "media"
            if hw >= half_x - 1e-9 and ly >= length_y - 1e-9:
                patch_layers.append(("calcium", t))
            else:
                patch_layers.append((host, t))
                cores.append((i, "calcium", hw, ly))
        else:
            patch_layers.append((tissue, t))
    if event == "flap":
        patch_layers.append(("lumen_fill", case.artery().true_lumen_radius_mm))
    spec = LayeredPatchSpec(
        layers=tuple(patch_layers), half_width_x_mm=half_x, length_y_mm=length_y,
        slit_x_mm=slit, slit_depth_mm=depth, fine_size_mm=fine,
        fine_margin_mm=max(3.0 * fine, 0.25 * R), coarse_size_mm=max(model.coarse_size_mm, fine),
        transition_mm=max(R, 0.5 * depth), cores=tuple(cores))
    return spec, tuple(layers)


def _first_peak(curve, drop: float):
    """Index of the first local maximum after which the force falls below ``(1 - drop)``
    of it, or None."""
    best = 0
    for i in range(1, len(curve)):
        if curve[i][1] > curve[best][1]:
            best = i
        elif curve[i][1] < (1.0 - drop) * curve[best][1] and curve[best][1] > 0.0:
            return best
    return None


def solve_cohesive_event(case, event: str, comm, *, model: CohesiveModel | None = None,
                         strengths: CohesiveStrengths | None = None) -> dict:
    """Solve one puncture event with the 3-D cohesive model; returns its record (JSON-ready).

    Keys as :func:`fem.needle.puncture.solve_event` (``status``, ``puncture_force_N``,
    ``puncture_displacement_mm``, ``curve``, ``failure``, ...) plus ``model = "3d"``,
    ``force_after_puncture_N``, ``energy`` (work, elastic, cutting and friction shares and the
    balance), ``crack_area_mm2`` (whole body), ``cohesive`` (the law of each layer with its
    cohesive length and the crack-plane element size), ``cells``, ``dofs`` and ``wall_time_s``.
    """
    from fem.needle.contact import NeedleContactProblem
    from fem.needle.fracture.interface import CohesivePlane, CohesiveSettings, _young_modulus
    from fem.needle.puncture import _LINESEARCH, _materials
    from fem.solid.hyperelastic import DisplacementBC, SolverOptions
    from fem.solid.materials import CompressibleNeoHookean
    from meshes.patch import load_layered_patch

    model = model if model is not None else CohesiveModel()
    strengths = strengths if strengths is not None else CohesiveStrengths()
    tic = time.perf_counter()
    tissues = {t for t, _ in case.layers(event)}
    mats = _materials(case, sorted(tissues | ({"intima"} if event == "flap" else set())
                                   | ({"media"} if event == "outer_wall" else set())))
    moduli = {t: _young_modulus(m) for t, m in mats.items()}
    laws = {t: CohesiveLaw(strengths.of(t, case.calcium_modulus_MPa),
                           case.criterion.fracture.of(t), f"{t}: sigma_c, G_c of the case")
            for t in mats}
    spec, layers = event_geometry(case, event, model, laws, moduli)
    if event == "flap":
        mats["lumen_fill"] = CompressibleNeoHookean.from_young(model.lumen_fill_modulus_MPa, 0.3)
    pm = load_layered_patch(spec, comm)
    stretch = case.prestretch(event)
    rim = ("edge_x_min", "edge_x_max", "edge_y_max")
    bcs = [DisplacementBC("symmetry_y", 1, 0.0)]
    bcs += [DisplacementBC(b, 2, 0.0) for b in rim]
    if stretch == 1.0:
        bcs += [DisplacementBC(b, k, 0.0) for b in rim for k in (0, 1)]
    kwargs: dict = {}
    p_MPa = case.balloon_pressure_atm * ATM_MPa
    if event == "outer_wall":
        kwargs = dict(support_boundaries=("bottom",), support_pressure_MPa=p_MPa)
    else:
        bcs += [DisplacementBC("bottom", k, 0.0) for k in range(3)]
    needle = case.needle()
    from fem.needle.geometry import Needle

    needle = Needle(**{**asdict(needle), "axis": (0.0, 0.0, -1.0),
                       "entry_point_mm": (0.0, 0.0, 0.0)})
    import dataclasses

    contact = dataclasses.replace(case.contact, max_steps=max(case.contact.max_steps, 800))
    problem = NeedleContactProblem(
        pm.mesh, pm.cell_tags, pm.facet_tags, regions=pm.regions, boundaries=pm.boundaries,
        materials=mats, needle=needle, contact_boundary=("top", "crack_plane"), contact=contact,
        displacement_bcs=bcs,
        options=SolverOptions(quadrature_degree=4, snes_atol=1e-9, petsc_options=_LINESEARCH),
        symmetry_copies=2, name=f"cohesive_{event}",
        prestretch_boundary=rim if stretch != 1.0 else None, **kwargs)
    cut = {t for t, _ in layers}
    crack = CohesivePlane(problem, "crack_plane", {t: laws[t] for t in pm.regions if t in cut},
                          normal_axis=1,
                          settings=CohesiveSettings(penalty_factor=model.penalty_factor,
                                                    viscosity_mm=model.viscosity_mm,
                                                    min_elements=model.elements_per_cohesive_length),
                          layer_thickness_mm={t: th for t, th in layers})
    crack.check_resolution()
    thickness = sum(t for _, t in layers)
    record: dict = {
        "event": event, "model": "3d", "layers": [list(x) for x in layers],
        "status": "failed", "puncture_force_N": math.nan, "puncture_displacement_mm": math.nan,
        "force_after_puncture_N": math.nan, "failure": None, "prestretch": stretch,
        "balloon_pressure_MPa": p_MPa, "patch": asdict(spec),
        "cells": pm.mesh.topology.index_map(3).size_global,
        "dofs": problem.W.dofmap.index_map.size_global * problem.W.dofmap.index_map_bs,
        "cohesive": {t: {"strength_MPa": laws[t].strength_MPa,
                         "fracture_energy_J_per_m2": laws[t].fracture_energy_N_per_mm / J_PER_M2,
                         "modulus_MPa": moduli[t],
                         "cohesive_length_mm": laws[t].cohesive_length_mm(moduli[t])}
                     for t in cut},
        "crack_plane_size_mm": spec.fine_size_mm,
    }
    start_d = 0.0
    if stretch != 1.0:
        ramp = problem.prestretch(stretch)
        if not ramp.converged:
            record["failure"] = {"reason": "prestretch", **asdict(ramp.failure)}
            return record
        start_d = max(0.0, -_top_displacement(problem, comm))
        problem.set_needle_displacement(start_d)
    e0 = problem.energy()
    state = {"peak": None, "stop_at": None}

    def stop(curve) -> bool:
        if state["peak"] is None:
            state["peak"] = _first_peak(curve, model.puncture_drop)
            if state["peak"] is not None:
                state["stop_at"] = curve[state["peak"]][0] + model.post_travel_factor * thickness
        return state["stop_at"] is not None and curve[-1][0] >= state["stop_at"]

    result = problem.insert(start_d + model.max_depth_factor * thickness, stop=stop)
    curve = [(float(d), float(f)) for d, f in result.curve]
    work = sum(0.5 * (f0 + f1) * (d1 - d0) for (d0, f0), (d1, f1) in zip(curve[:-1], curve[1:],
                                                                          strict=True))
    elastic = problem.energy() - e0
    cutting = problem.crack_dissipation()
    friction = float(result.dissipation[-1]) if result.dissipation else 0.0
    record.update(
        curve=[list(c) for c in curve], steps=len(result.steps),
        newton_iterations=int(sum(s.newton_iterations for s in result.steps)),
        start_displacement_mm=start_d, crack_area_mm2=2.0 * crack.separated_area_mm2(),
        energy={"work_Nmm": work, "elastic_Nmm": elastic, "cutting_Nmm": cutting,
                "friction_Nmm": friction,
                "balance": (elastic + cutting + friction) / work - 1.0 if work > 0 else 0.0})
    peak = state["peak"] if state["peak"] is not None else _first_peak(curve,
                                                                       model.puncture_drop)
    if peak is not None:
        after = [f for d, f in curve[peak:]]
        record.update(status="punctured", puncture_force_N=curve[peak][1],
                      puncture_displacement_mm=curve[peak][0] - start_d,
                      force_after_puncture_N=curve[-1][1], force_after_minimum_N=min(after))
    elif result.converged:
        record.update(status="no_puncture", failure={
            "reason": "max_depth", "reached_displacement_mm": result.reached_displacement_mm})
    else:
        record["failure"] = result.failure
    record["wall_time_s"] = comm.allreduce(time.perf_counter() - tic, op=__import__(
        "mpi4py").MPI.MAX)
    return record


def _top_displacement(problem, comm) -> float:
    """Displacement (mm, along z) of the top face at the needle's point after a pre-stretch."""
    import numpy as np
    from mpi4py import MPI

    x = problem.mesh.geometry.x
    d2 = np.sum(x[:, :2] ** 2, axis=1) + x[:, 2] ** 2
    i = int(np.argmin(d2)) if len(d2) else -1
    local = (float(d2[i]) if i >= 0 else math.inf, 0.0)
    if i >= 0:
        u = problem.displacement
        # nearest displacement dof of the point (P2: the vertices are dofs)
        V = u.function_space
        xd = V.tabulate_dof_coordinates()
        j = int(np.argmin(np.sum((xd - x[i]) ** 2, axis=1)))
        local = (float(d2[i]), float(u.x.array[3 * j + 2]))
    best = comm.allreduce(local, op=MPI.MIN)
    return best[1]
