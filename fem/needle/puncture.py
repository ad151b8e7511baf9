"""Needle puncture of the artery wall and of the calcified flap: reduced axisymmetric model.

The reduced model (why it is affordable)
----------------------------------------
A study has hundreds of cases, so each puncture event is solved on an axisymmetric layered disc
(:mod:`meshes.disc`, :mod:`fem.needle.contact`): the needle meets a locally flat layered wall
head-on,
the disc radius is ``disc_radius_factor`` needle diameters, the outer edge is clamped or on
rollers. Layers and thicknesses come from :class:`meshes.ArterySpec` and the calcification
(:func:`meshes.calcification_for_grade`); calcium is on the needle path when the sheet faces it.
A lancet tip is modelled as a cone of its bevel angle
(:meth:`fem.needle.geometry.Needle.axisymmetric`).
Not modelled: the wall's curvature, the oblique entry angle, the 3-D bevel (compared with a
3-D model below, "Known limits").

Events (the needle path, DOMAIN.md section 1)
---------------------------------------------
* ``"outer_wall"``: adventitia over media (over a medial calcium sheet if the calcification
  layer is ``"media"``), needle from the adventitia side. The pressurised balloon is behind the
  media: a pressure-limited support on the far face (:mod:`fem.needle.contact`) that holds the wall
  where it is until the balloon pressure ``p`` is reached, then gives way at ``p``.
* ``"flap"``: the intimal flap, intima over its calcium sheet (intimal calcification), needle
  from the channel side after passing the balloon. The balloon pressure acts on the flap's
  channel face and the true-lumen contents push back with the same pressure; on a nearly
  incompressible flap the two cancel (a hydrostatic shift), so the disc's far face is free and
  the balloon acts through the pre-stretch it leaves in the flap.

A thin soft cover on calcium (``thin_cover_mm``, default 0.15 mm: the 0.1 mm intima over the
calcium of the PACSS 2-4 flaps) is cut by the needle tip before the calcium takes the load: it
is soft (its own puncture force is a small fraction of the calcium's) and thinner than the
tip's rounding scale. The disc leaves it out; its fracture energy stays in the threshold. Kept
in the disc, it is squeezed between the tip and the calcium until its elements collapse and
Newton stops (measured: every tip and mesh level tried failed at 0.08-0.12 mm of travel).

Pre-stressed start (the balloon problem's state)
------------------------------------------------
``prestretch_outer_wall`` / ``prestretch_flap`` are the in-plane stretches of the layers where
the needle crosses them, measured on the balloon problem's solution by
:func:`fem.balloon.prestress.path_state` (the study kind hands them over when a case solves
``["balloon", "puncture"]``). Before the needle moves, the disc's rim is ramped to
``u_r = (lambda - 1) R`` (a submodel driven on its boundary by the global solution, reduced to
what an axisymmetric disc can carry: an equi-biaxial stretch); the needle then starts where it
meets the pre-stressed surface.

Puncture criterion (energetic, mesh-objective)
----------------------------------------------
Puncture is crack initiation by an energy balance (Azar & Hayward 2008; Mahvash & Dupont 2010,
IEEE TBME 57:934; DOMAIN.md section 8): the crack runs through the layer when the energy the
needle has put into the tissue, and which is released when it does, pays for the new crack
surface,

    W(d*) = int_0^d* F dd = sum_layers G_c,i * w * t_i ,      w = crack_width_factor * OD,

with ``G_c,i`` the fracture energy of layer ``i`` (J/m^2 = 1e-3 N/mm), ``t_i`` its thickness and
``w`` the crack width (a sharp needle opens a slit about one needle diameter wide: Shergold &
Fleck 2004, Proc R Soc A 460:3037). Without friction the model is hyperelastic, so the needle
work equals the change of the total potential (strain energy + balloon-pressure potential) and
is all released when the layer parts; with friction (``contact.friction_coefficient``) the
energy it dissipates is subtracted, ``W - D`` pays for the crack. This is also how the
toughness is measured in needle tests (Azar & Hayward: work to puncture minus work of
re-insertion in the cut path, per crack area). ``W`` is a global integral of the force curve,
so it converges with the mesh (no singular tip stress is evaluated); F* and d* are interpolated
in the step where ``W`` crosses the threshold. An averaged-stress criterion is not implemented.

What the model predicts for monotone trends
------------------------------------------
* Thicker calcium: more crack area to pay for and a stiffer layer: F* rises.
* Stiffer calcium: for the same threshold the force curve is steeper; with ``F ~ k d^n``,
  ``F* = k^(1/(n+1)) ((n+1) G A)^(n/(n+1))`` rises with ``k``.
* Larger gauge (larger OD): more crack width and a larger contact: F* rises.
* Balloon pressure on the outer wall: the balloon backing carries up to ``p`` under the wall,
  so a higher pressure supports the wall better, the force curve is steeper and the outer-wall
  F* rises (and d* falls); ``p -> 0`` is a free inner face, ``p -> inf`` a rigid backing.
* Sharper tip (lancet cone 30 deg vs a hemisphere of the needle radius): the same work to
  puncture with the load concentrated: F* falls.
* Pre-stretch from the balloon: membrane tension stiffens the layer, thinning softens it; on the
  free-backed flap tension wins (a flap that the needle only bends becomes punctured).

Asserted in ``tests/test_puncture.py``: the pressure and gauge trends with hemispherical and
lancet tips, lancet below hemisphere, calcium thickness and modulus trends on the flap, mesh
objectivity of the default case (F* 0.507 / 0.509 / 0.51 N on levels 0 / 1 / 2), the pre-stretch
imposed and solved.

Contact enforcement
-------------------
The default is penalty continuation (:class:`fem.needle.contact.ContactSettings`,
``penalty_growth``):
the Uzawa updates of the augmented Lagrangian stalled Newton under sharp tips and next to
calcium (measured); growing the penalty from the converged state until the penetration at the
contact Gauss points is within 2 um (or 1 % of the advance) converged there.

Known limits (state of this module)
-----------------------------------
* A 15 deg cone failed at one of three mesh levels (a nearly singular tangent under the tip).
* A flap with a free back face tents a long way before it is punctured (measured: 2.0-2.3 mm
  for the 0.6 mm PACSS-0 flap at pre-stretch 1.1-1.4, against a true lumen 5 mm across); the
  travel limit is ``max_depth_factor`` (default 5) wall thicknesses, beyond which a case ends as
  ``no_puncture``. The disc does not model the lumen's far wall.
* The reduced model checked against the 3-D one (:class:`fem.needle.contact.NeedleContactProblem`,
  ``tests/test_contact_3d.py``): hemisphere within 0.4 %, 30 deg cone within 2 %; but the 3-D
  lancet bevel needs 44-56 % more force than the equivalent cone at 0.1-0.2 mm (measured,
  ``python -m hpc.benchmarks.axisymmetric_vs_3d``): lancet F* here is an underestimate.
* The force is the puncture force, not the insertion force past it (no shaft in a cut path).

Units: mm, N, MPa; pressures typed by people in atm.
"""

from __future__ import annotations

import dataclasses
import math
import pathlib
from dataclasses import asdict

from fem.needle.inputs import (  # noqa: F401  (re-exported: the puncture inputs live there)
    EDGES,
    EVENTS,
    J_PER_M2,
    FractureEnergies,
    PunctureCase,
    PunctureCriterion,
)
from fem.solid.materials import ATM_MPa

#: Backtracking line search: a Newton update that inverts an element near the tip (NaN energy)
#: is shortened instead of failing the step.
_LINESEARCH = (("snes_linesearch_type", "bt"),)
#: Fewer converged needle steps than this before the puncture: insert again in finer steps.
_MIN_STEPS_TO_PUNCTURE = 5


def _materials(case: PunctureCase, tissues) -> dict:
    from fem.solid.materials import calcium, material_by_name

    names = {"adventitia": case.adventitia_material, "media": case.media_material,
             "intima": case.intima_material}
    out = {}
    for t in tissues:
        out[t] = (calcium(case.calcium_modulus_MPa, case.calcium_poisson_ratio)
                  if t == "calcium" else material_by_name(names[t]))
    return out


def _crossing(curve: list[tuple[float, float]], threshold: float,
              dissipation: list[float] | None = None) -> tuple[float, float] | None:
    """``(d*, F*)`` where the trapezoidal work of ``curve``, less the energy dissipated by
    friction (cumulative, at the curve's points; linear in a step), first reaches
    ``threshold``."""
    work = 0.0
    diss = dissipation if dissipation is not None else [0.0] * len(curve)
    for i, ((d0, f0), (d1, f1)) in enumerate(zip(curve[:-1], curve[1:], strict=True)):
        dd = d1 - d0
        dD = diss[i + 1] - diss[i]
        w_step = 0.5 * (f0 + f1) * dd - dD
        if work + w_step >= threshold and dd > 0:
            # F linear in the step: work(x) = work + f0 x + (f1 - f0) x^2 / (2 dd) - dD x / dd
            need = threshold - work
            a, b = (f1 - f0) / (2.0 * dd), f0 - dD / dd
            if abs(a) < 1e-300:
                x = need / b
            else:
                x = (-b + math.sqrt(max(b * b + 4.0 * a * need, 0.0))) / (2.0 * a)
            x = min(max(x, 0.0), dd)
            return d0 + x, f0 + (f1 - f0) * x / dd
        work += w_step
    return None


def solve_event(case: PunctureCase, event: str, comm, outdir: pathlib.Path | None = None
                ) -> dict:
    """Solve one puncture event; returns its record (JSON-ready).

    Keys: ``event``, ``status`` (``"punctured"``, ``"no_puncture"`` or ``"failed"``),
    ``puncture_force_N``, ``puncture_displacement_mm``, ``threshold_Nmm``, ``layers``,
    ``curve`` (list of ``[d_mm, F_N]``), ``work_curve``, ``prestretch`` and ``prestretch_ramp``,
    ``steps``,
    ``newton_iterations``, ``al_iterations``, ``failure``, mesh data, and
    ``contact_pressure_file`` when ``outdir`` is given.
    """
    from fem.needle.contact import AxisymmetricNeedleProblem
    from fem.solid.hyperelastic import DisplacementBC, SolverOptions
    from meshes.disc import load_layered_disc

    spec = case.disc_spec(event)
    layers = case.layers(event)
    solid = case.mechanical_layers(event)
    dm = load_layered_disc(spec, comm)
    needle = case.needle()
    p_MPa = case.balloon_pressure_atm * ATM_MPa
    bcs = [DisplacementBC("axis", 0), DisplacementBC("outer_edge", 1)]
    stretch = case.prestretch(event)
    if case.edge == "clamped" and stretch == 1.0:
        bcs.append(DisplacementBC("outer_edge", 0))
    # Outer wall: the balloon behind the media. Flap: the balloon pressure acts on the channel
    # face and the true-lumen contents push back with the same pressure; on a nearly
    # incompressible flap the two cancel (a hydrostatic shift), so the flap's far face is free
    # and the balloon acts through the pre-stretch it leaves in the flap.
    kwargs = (dict(support_boundaries=("far_surface",), support_pressure_MPa=p_MPa)
              if event == "outer_wall" else {})
    problem = AxisymmetricNeedleProblem(
        dm.mesh, dm.cell_tags, dm.facet_tags, regions=dm.regions, boundaries=dm.boundaries,
        materials=_materials(case, [t for t, _ in solid]), needle=needle,
        contact_boundary="contact_surface", contact=case.contact, displacement_bcs=bcs,
        options=SolverOptions(quadrature_degree=4, snes_atol=1e-9, petsc_options=_LINESEARCH),
        name=f"puncture_{event}",
        prestretch_boundary="outer_edge" if stretch != 1.0 else None, **kwargs,
    )
    threshold = case.criterion.threshold_Nmm(layers, case.od_mm)
    thickness = sum(t for _, t in layers)
    record: dict = {
        "event": event, "layers": [list(x) for x in layers], "threshold_Nmm": threshold,
        "cut_cover": [list(x) for x in layers[:len(layers) - len(solid)]],
        "disc_radius_mm": spec.radius_mm, "fine_size_mm": spec.fine_size_mm,
        "cells": dm.mesh.topology.index_map(2).size_global,
        "penalty_MPa_per_mm": problem.penalty_MPa_per_mm,
        "balloon_pressure_MPa": p_MPa, "prestretch": stretch, "puncture_force_N": math.nan,
        "puncture_displacement_mm": math.nan, "failure": None,
    }
    start_d = 0.0
    if stretch != 1.0:
        ramp = problem.prestretch(stretch)
        record["prestretch_ramp"] = {
            "converged": ramp.converged, "steps": len(ramp.steps),
            "newton_iterations": sum(s.newton_iterations for s in ramp.steps),
            "failure": asdict(ramp.failure) if ramp.failure else None}
        if not ramp.converged:
            record.update(status="failed", failure={"reason": "prestretch",
                                                    **record["prestretch_ramp"]["failure"]})
            return record
        # Start the needle where it meets the pre-stressed surface (no work before contact).
        start_d = max(0.0, -_axis_top_displacement(problem, comm))
        problem.set_needle_displacement(start_d)

    def reached(curve):
        return _crossing(curve, threshold, problem.dissipation_curve) is not None

    target = start_d + case.max_depth_factor * thickness
    start = problem.snapshot()
    result = problem.insert(target, stop=reached)
    # The crossing is interpolated within a step: when the first steps already cross it (a
    # stiff calcified layer), insert again from the start in steps of a tenth of d*, so that
    # F* does not depend on the step length.
    for _ in range(2):
        hit = _crossing(result.curve, threshold, result.dissipation)
        converged_steps = sum(1 for st in result.steps if st.converged)
        if hit is None or converged_steps >= _MIN_STEPS_TO_PUNCTURE:
            break
        step = max((hit[0] - start_d) / (2 * _MIN_STEPS_TO_PUNCTURE),
                   case.contact.min_step_mm * 10)
        problem.restore(start)
        problem.contact = dataclasses.replace(case.contact, initial_step_mm=step,
                                              max_step_mm=step,
                                              min_step_mm=min(case.contact.min_step_mm, step))
        result = problem.insert(target, stop=reached)
        record["refined_step_mm"] = step
    curve = [[float(d), float(f)] for d, f in result.curve]
    record["curve"] = curve
    record["work_curve"] = [[s.displacement_mm, s.work_Nmm] for s in result.steps if s.converged]
    record["friction_dissipation_curve"] = [float(x) for x in result.dissipation]
    record["steps"] = len(result.steps)
    record["newton_iterations"] = int(sum(s.newton_iterations for s in result.steps))
    record["al_iterations"] = int(sum(s.al_iterations for s in result.steps))
    record["max_penetration_mm"] = float(max((s.penetration_mm for s in result.steps
                                              if s.converged), default=0.0))
    record["start_displacement_mm"] = start_d
    hit = _crossing(result.curve, threshold, result.dissipation)
    if hit is not None:
        record.update(status="punctured", puncture_displacement_mm=hit[0] - start_d,
                      puncture_force_N=hit[1])
    elif result.converged:
        record.update(status="no_puncture", failure={
            "reason": "max_depth", "reached_displacement_mm": result.reached_displacement_mm})
    else:
        record.update(status="failed", failure=result.failure)
    if outdir is not None:
        path = pathlib.Path(outdir) / f"contact_pressure_{event}.xdmf"
        _write_contact_state(problem, path)
        record["contact_pressure_file"] = str(path)
    return record


def _write_contact_state(problem, path: pathlib.Path) -> None:
    """Contact pressure (MPa) and displacement (mm) at the last converged needle position, on
    the deformed mesh, as XDMF with both interpolated to P1 (readable by ParaView and by
    :mod:`postprocess.render`, whose VTK has no ADIOS2 reader)."""
    import dolfinx.fem
    import dolfinx.fem.petsc
    import dolfinx.io
    import numpy as np
    import ufl
    from petsc4py import PETSc

    mesh = problem.mesh
    V1 = dolfinx.fem.functionspace(mesh, ("Lagrange", 1))
    p1 = dolfinx.fem.Function(V1, name="contact_pressure_MPa")
    # The penalty acts at the contact Gauss points, where the nodes may sit just outside the
    # needle (zero nodal pressure): lumped L2 projection of the Gauss-point pressure onto the
    # surface nodes instead, p_i = int P phi_i ds / int phi_i ds.
    v = ufl.TestFunction(V1)
    dsc = problem._dsc
    num = dolfinx.fem.petsc.assemble_vector(dolfinx.fem.form(problem.contact_pressure * v * dsc))
    den = dolfinx.fem.petsc.assemble_vector(dolfinx.fem.form(v * dsc))
    for vec in (num, den):
        vec.ghostUpdate(addv=PETSc.InsertMode.ADD, mode=PETSc.ScatterMode.REVERSE)
    n = V1.dofmap.index_map.size_local
    d = den.array_r[:n]
    p1.x.array[:n] = np.where(d > 0.0, num.array_r[:n] / np.where(d > 0.0, d, 1.0), 0.0)
    p1.x.scatter_forward()
    num.destroy()
    den.destroy()
    u1 = dolfinx.fem.Function(dolfinx.fem.functionspace(mesh, ("Lagrange", 1, (2,))),
                              name="displacement_mm")
    u1.interpolate(problem.displacement)
    t = float(problem.needle_displacement_mm)
    # Written on the deformed geometry (the dimple under the tip at F*): move the P1 geometry
    # nodes by u (cell by cell, geometry and P1 dofs correspond), write, move them back.
    x = mesh.geometry.x
    x0 = x.copy()
    gdofs = mesh.geometry.dofmap
    udofs = u1.function_space.dofmap.list
    x[gdofs.ravel(), :2] = x0[gdofs.ravel(), :2] + u1.x.array.reshape(-1, 2)[udofs.ravel()]
    try:
        with dolfinx.io.XDMFFile(mesh.comm, str(path), "w") as xdmf:
            xdmf.write_mesh(mesh)
            xdmf.write_function(p1, t)
            xdmf.write_function(u1, t)
    finally:
        x[:] = x0


def _axis_top_displacement(problem, comm) -> float:
    """u_z (mm) of the contact surface on the axis (r = 0, z = 0)."""
    import numpy as np
    from mpi4py import MPI

    V = problem.V
    x = V.tabulate_dof_coordinates()
    n = V.dofmap.index_map.size_local
    hit = np.flatnonzero((np.abs(x[:n, 0]) < 1e-10) & (np.abs(x[:n, 1]) < 1e-10))
    u = problem.displacement.x.array
    bs = V.dofmap.index_map_bs
    local = float(u[hit[0] * bs + 1]) if len(hit) else -np.inf
    return float(comm.allreduce(local, op=MPI.MAX))


def solve_puncture(case: PunctureCase, comm=None, outdir: pathlib.Path | None = None) -> dict:
    """Solve the case's events in needle order; returns ``{"case": ..., "events": {...}}``.

    Per event see :func:`solve_event`; top-level keys ``<event>_puncture_force_N`` and
    ``<event>_puncture_displacement_mm`` repeat the answers for tables.
    """
    if comm is None:
        from mpi4py import MPI

        comm = MPI.COMM_WORLD
    out: dict = {"case": case.to_dict(), "events": {}}
    for event in case.events:
        rec = solve_event(case, event, comm, outdir)
        out["events"][event] = rec
        out[f"{event}_puncture_force_N"] = rec["puncture_force_N"]
        out[f"{event}_puncture_displacement_mm"] = rec["puncture_displacement_mm"]
        out[f"{event}_status"] = rec["status"]
    return out
