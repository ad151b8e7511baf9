"""Our solvers, measured the way a study uses them (records as in :mod:`hpc.benchmarks.baselines`).

* :func:`artery_linear`: **the artery's linearised solve**. The 3-D artery segment of a study
  (:func:`meshes.load_artery_mesh`, filled true lumen, grade ``pacss-1``), its wall materials
  (:class:`fem.balloon.problem.WallMaterials`: neo-Hookean intima, HGO media and adventitia with
  their
  fibre directions, calcium, soft lumen fill), the follower pressure on the channel, plane
  axial ends and the pin constraints, i.e. :class:`fem.solid.hyperelastic.HyperelasticProblem` as
  :class:`fem.balloon.problem.BalloonProblem` builds it for ``geometry="3d"``, but in the
  displacement
  formulation with P1 and our GAMG option (GMRES + AMG with the rigid-body near-nullspace;
  the mixed u-p form needs MUMPS), ``ksp_rtol`` 1e-8 as the baseline. One Newton step from
  the stress-free state (SNES ``ksponly``) under 0.01 atm: the tangent there is the linear
  elastic operator, so this is exactly one linear solve through our code path (assembly of
  residual and tangent, AMG set-up, Krylov).
* :func:`balloon_newton`: Newton solves of the balloon problem on the plane-strain section
  (:class:`fem.balloon.problem.BalloonProblem`, mixed Taylor-Hood u-p with one pressure field per
  region, MUMPS): the axial pre-stretch ramp, then the wall under 0.5 atm of balloon contact
  pressure, as :meth:`~fem.balloon.problem.BalloonProblem.equilibrate` does it per trial (the
  default
  study's 2 atm case settles at about 0.3 atm of contact; 1 atm passed the wall's limit point
  at 0.75 atm on the 11k-DOF section, measured).
* :func:`puncture_step`: the outer-wall puncture event of the default study
  (:func:`fem.needle.puncture.solve_event`; hemispherical 18 G tip, 2 atm balloon backing, crack
  width
  OD/4), reported per needle step.
* :func:`contact3d`: the README's 3-D contact check (:mod:`hpc.benchmarks.axisymmetric_vs_3d`,
  the 3-D side): a needle pushed into the 3-D quarter disc of the PACSS-0 outer wall
  (:func:`fem.needle.indentation.solve_indentation`), with the 3-D model's solver options
  (LU factors kept across Newton iterations, critical-point line search) or, ``direct=True``,
  the options it had before (an LU factorisation at every Newton iteration, backtracking).
* :func:`hertz_contact`: our contact solver (:class:`fem.needle.contact.AxisymmetricNeedleProblem`:
  penalty + augmented Lagrangian, MUMPS) on the Hertz problem of
  :func:`hpc.benchmarks.baselines.hertz_penalty`, same mesh, same load steps.
"""

from __future__ import annotations

import contextlib
import gc
import math
import time

import hpc.stack  # noqa: F401  (orders MPI before DOLFINx; keep first)

from mpi4py import MPI

from hpc.benchmarks.probe import EventClock, Stopwatch, peak_rss_mb

ATM_MPa = 0.101325


def artery_spec(scale: float, *, grade: str = "pacss-1", lumen: str = "filled"):
    """The default artery segment with every element size multiplied by ``scale``."""
    from meshes import ArteryModelSpec, ArterySpec, MeshSpec, calcification_for_grade

    mesh = MeshSpec(size_mm=0.8 * scale, needle_size_mm=0.3 * scale, flap_size_mm=0.25 * scale,
                    circle_points=max(8, min(400, round(36 / scale))))
    return ArteryModelSpec(artery=ArterySpec(lumen_content=lumen),
                           calcification=calcification_for_grade(grade), mesh=mesh)


def artery_linear(comm: MPI.Comm, scale: float, *, calcium_modulus_MPa: float | None = 1000.0,
                  repeats: int = 2, cache_dir=None) -> dict:
    """One linearised solve of the 3-D artery (module docstring); ``calcium_modulus_MPa=None``
    gives the calcium region the intima's material (the same mesh without calcium contrast).

    Each repeat builds the problem afresh (its AMG hierarchy is set up again, as in the
    baseline); the fastest repeat is reported.
    """
    from fem.balloon.problem import WallMaterials, layer_hoop_direction
    from meshes import CrossSection
    from meshes.io import load_artery_mesh

    spec = artery_spec(scale)
    with Stopwatch(comm) as t_mesh:
        tm = load_artery_mesh(spec, comm, cache_dir=cache_dir)
    materials = WallMaterials(calcium_modulus_MPa=calcium_modulus_MPa or 1000.0)
    mats = materials.build(tm.regions, layer_hoop_direction(CrossSection(spec)))
    if calcium_modulus_MPa is None and "calcium" in mats:
        mats["calcium"] = mats["intima"]
    dofs, best = _linearised_solve(
        comm, repeats, tm.mesh, tm.cell_tags, tm.facet_tags, regions=tm.regions,
        boundaries=tm.boundaries, materials=mats, pressure_boundaries=("channel_surface",),
        axial_ends=("end_proximal", "end_distal"), rigid_motion="pin")
    tdim = tm.mesh.topology.dim
    return {"dofs": dofs, "cells": tm.mesh.topology.index_map(tdim).size_global,
            "degree": 1, "scale": scale, "mesh_load_s": t_mesh.s,
            "calcium_modulus_MPa": calcium_modulus_MPa, "contact_s": 0.0,
            "newton_iterations": 1, "peak_rss_mb": peak_rss_mb(comm), **best}


def _linearised_solve(comm: MPI.Comm, repeats: int, *args, quadrature_degree: int = 2,
                      **kwargs) -> tuple[int, dict]:
    """``repeats`` fresh problems, one ``ksponly`` step each; ``(DOFs, fastest record)``.

    Each problem is freed before the next is built (its SNES holds a bound method of it, a
    reference cycle that only the cycle collector breaks), so the peak memory is one problem's.

    P1 displacement, our GAMG option, ``ksp_rtol`` 1e-8; quadrature degree 2 by default (the
    strain of P1 is constant per cell, 2 follows the fibre directions' variation over it; an
    isotropic material is integrated exactly at degree 1).
    """
    from fem.solid.hyperelastic import HyperelasticProblem, SolverOptions

    options = SolverOptions(formulation="displacement", displacement_degree=1,
                            linear_solver="gamg", ksp_rtol=1e-8,
                            quadrature_degree=quadrature_degree,
                            initial_step=1.0, max_step=1.0,
                            petsc_options=(("snes_type", "ksponly"),))
    best = None
    for _ in range(repeats):
        problem = HyperelasticProblem(*args, options=options, name="bench_linear", **kwargs)
        clock = EventClock(comm)
        ramp = problem.ramp(pressure_MPa=0.01 * ATM_MPa)
        split = clock.split()
        ksp_ok = problem.snes.getKSP().getConvergedReason() > 0
        rec = {"time_s": split.snes_s, "assembly_s": split.assembly_s,
               "pc_setup_s": split.pc_setup_s, "krylov_s": split.krylov_s,
               "krylov_iterations": int(ramp.steps[-1].linear_iterations),
               "converged": bool(ramp.converged and ksp_ok)}
        if best is None or rec["time_s"] < best["time_s"]:
            best = rec
        dofs = _dofs(problem)
        _free(problem)
        del problem, ramp
        gc.collect()
    return dofs, best


def _free(problem) -> None:
    """Destroy the SNES of one of our problems: it holds the problem's convergence test (a
    bound method) from the C side, which keeps the whole problem (matrices included) alive
    until the SNES is destroyed; without this every problem built in a process stays in
    memory (measured: +155 MiB per 81k-DOF box problem)."""
    problem.snes.destroy()


def _dofs(problem) -> int:
    return int(problem.W.dofmap.index_map.size_global * problem.W.dofmap.index_map_bs)


def box_linear(comm: MPI.Comm, target_dofs: int, *, repeats: int = 2) -> dict:
    """Diagnostic: our linearised solve on the baseline's box and material.

    The unit cube of :func:`hpc.benchmarks.baselines.elasticity_box` (same mesh), compressible
    neo-Hookean with E = 1, nu = 0.3 (its tangent at the reference state is the baseline's
    linear elasticity), clamped at x = 0, a follower pressure on x = 1, solved by
    :func:`_linearised_solve` at quadrature degree 1 (exact for P1 and an isotropic material,
    as the baseline's form). It separates the cost of our code path from the cost of the
    artery problem itself.
    """
    import dolfinx

    from fem.solid.hyperelastic import DisplacementBC
    from fem.solid.materials import CompressibleNeoHookean
    from hpc.benchmarks.baselines import cube_cells_for

    n = cube_cells_for(target_dofs, 1, 3)
    msh = dolfinx.mesh.create_box(comm, [[0.0, 0.0, 0.0], [1.0, 1.0, 1.0]], [n, n, n],
                                  dolfinx.mesh.CellType.tetrahedron)
    tdim = msh.topology.dim
    cell_tags, facet_tags = _box_tags(msh)
    dofs, best = _linearised_solve(
        comm, repeats, msh, cell_tags, facet_tags, regions={"box": 1},
        boundaries={"clamp": 1, "load": 2},
        materials={"box": CompressibleNeoHookean.from_young(1.0, 0.3)},
        pressure_boundaries=("load",),
        displacement_bcs=[DisplacementBC("clamp", c) for c in range(3)], quadrature_degree=1)
    return {"dofs": dofs, "cells": msh.topology.index_map(tdim).size_global,
            "degree": 1, "contact_s": 0.0, "newton_iterations": 1,
            "peak_rss_mb": peak_rss_mb(comm), **best}


def balloon_newton(comm: MPI.Comm, scale: float, *, contact_pressure_atm: float = 0.5,
                   cache_dir=None) -> dict:
    """Newton solves of the balloon problem's wall on the section (module docstring)."""
    from fem.balloon.problem import BalloonCase, BalloonProblem

    spec = artery_spec(scale, grade="pacss-0")
    with Stopwatch(comm) as t_setup:
        bp = BalloonProblem(BalloonCase(model=spec, pressure_atm=2.0), comm, cache_dir=cache_dir)
    p = bp.problem
    clock = EventClock(comm)
    with Stopwatch(comm) as wall:
        ramps = [p.ramp(axial_stretch=spec.artery.axial_prestretch),
                 p.ramp(pressure_MPa=contact_pressure_atm * ATM_MPa)]
    split = clock.split()
    steps = [s for r in ramps for s in r.steps]
    newton = sum(s.newton_iterations for s in steps)
    dofs, cells, peak = _dofs(p), p.mesh.topology.index_map(2).size_global, peak_rss_mb(comm)
    _free(p)
    return {"dofs": dofs, "cells": cells,
            "degree": p.options.displacement_degree, "scale": scale, "setup_s": t_setup.s,
            "time_s": split.snes_s, "wall_s": wall.s, "assembly_s": split.assembly_s,
            "pc_setup_s": split.pc_setup_s, "krylov_s": split.krylov_s, "contact_s": 0.0,
            "newton_iterations": int(newton),
            "krylov_iterations": int(sum(s.linear_iterations for s in steps)),
            "load_steps": len(steps), "time_per_newton_step_s": split.snes_s / max(newton, 1),
            "converged": all(r.converged for r in ramps),
            "failure": next((str(r.failure) for r in ramps if r.failure), None),
            "peak_rss_mb": peak}


def puncture_step(comm: MPI.Comm, level: int) -> dict:
    """The default study's outer-wall puncture event at mesh ``level``, per needle step.

    ``time_s`` is the needle insertion (all steps to puncture), ``setup_s`` the rest of the
    event (disc mesh, problem construction, records); ``contact_s`` the insertion time outside
    Newton (gap, Uzawa updates, force).
    """
    from fem.needle.puncture import PunctureCase, PunctureCriterion, solve_event

    case = PunctureCase(tip="spherical", grade="pacss-0", mesh_level=level,
                        events=("outer_wall",), balloon_pressure_atm=2.0,
                        criterion=PunctureCriterion(crack_width_factor=0.25))
    clock = EventClock(comm)
    inserts: list[float] = []
    problems: list = []
    with Stopwatch(comm) as wall, _timed_insert(inserts, problems):
        rec = solve_event(case, "outer_wall", comm)
    split = clock.split()
    peak = peak_rss_mb(comm)
    for problem in problems:
        _free(problem)
    insert_s = comm.allreduce(sum(inserts), op=MPI.MAX)
    steps = max(int(rec.get("steps", 0)), 1)
    return _contact_record(split, insert_s, steps) | {
        "dofs": _puncture_dofs(case, comm), "cells": int(rec["cells"]), "degree": 2,
        "level": level, "event_s": wall.s, "setup_s": wall.s - insert_s,
        "status": rec["status"], "steps": steps,
        "al_iterations": int(rec.get("al_iterations", 0)),
        "newton_iterations": int(rec.get("newton_iterations", 0)),
        "puncture_force_N": rec["puncture_force_N"], "converged": rec["status"] == "punctured",
        "peak_rss_mb": peak}


@contextlib.contextmanager
def _timed_insert(sink: list[float], problems: list):
    """Record the wall time of every ``AxisymmetricNeedleProblem.insert`` call in ``sink`` and
    the problem in ``problems`` (to free it afterwards).

    :func:`fem.needle.puncture.solve_event` builds its problem inside; timing the insertion there
    needs this probe (the method is restored on exit).
    """
    from fem.needle.contact import AxisymmetricNeedleProblem

    original = AxisymmetricNeedleProblem.insert

    def timed(self, *args, **kwargs):
        problems.append(self)
        tic = time.perf_counter()
        try:
            return original(self, *args, **kwargs)
        finally:
            sink.append(time.perf_counter() - tic)

    AxisymmetricNeedleProblem.insert = timed
    try:
        yield
    finally:
        AxisymmetricNeedleProblem.insert = original


def _puncture_dofs(case, comm) -> int:
    """DOFs of the puncture problem's state: P2-P1 mixed fields on the event's disc."""
    from meshes.disc import load_layered_disc

    dm = load_layered_disc(case.disc_spec("outer_wall"), comm)
    nv = dm.mesh.geometry.index_map().size_global
    dm.mesh.topology.create_entities(1)
    ne = dm.mesh.topology.index_map(1).size_global
    return int(2 * (nv + ne) + len(case.layers("outer_wall")) * nv)


def _contact_record(split, wall_s: float, steps: int) -> dict:
    return {"time_s": wall_s, "assembly_s": split.assembly_s, "pc_setup_s": split.pc_setup_s,
            "krylov_s": split.krylov_s, "contact_s": max(0.0, wall_s - split.snes_s),
            "krylov_iterations": 0, "time_per_step_s": wall_s / steps}


def hertz_contact(comm: MPI.Comm, fine_mm: float, *, depth_mm: float, sphere_radius_mm: float,
                  young_MPa: float = 1.0, poisson: float = 0.3, load_steps: int = 2,
                  block_mm: float = 15.0, linear_solver: str = "mumps") -> dict:
    """Our contact solver on the Hertz problem of
    :func:`~hpc.benchmarks.baselines.hertz_penalty` (``linear_solver="gamg"``: the same with
    our GMRES + AMG option instead of MUMPS, a diagnostic)."""
    from fem.needle.contact import AxisymmetricNeedleProblem, ContactSettings
    from fem.needle.geometry import Needle
    from fem.solid.hyperelastic import DisplacementBC, SolverOptions
    from fem.solid.materials import CompressibleNeoHookean
    from hpc.benchmarks.baselines import disc_spec, hertz_force
    from meshes.disc import load_layered_disc

    dm = load_layered_disc(disc_spec(fine_mm, sphere_radius_mm, block_mm), comm)
    step = depth_mm / load_steps
    problem = AxisymmetricNeedleProblem(
        dm.mesh, dm.cell_tags, dm.facet_tags, regions=dm.regions, boundaries=dm.boundaries,
        materials={"block": CompressibleNeoHookean.from_young(young_MPa, poisson)},
        needle=Needle(2.0 * 0.4 * sphere_radius_mm, tip="spherical",
                      sphere_radius_mm=sphere_radius_mm),
        contact_boundary="contact_surface",
        displacement_bcs=[DisplacementBC("axis", 0), DisplacementBC("far_surface", 1)],
        options=SolverOptions(formulation="displacement", displacement_degree=2,
                              linear_solver=linear_solver, ksp_rtol=1e-8),
        contact=ContactSettings(initial_step_mm=step, max_step_mm=step, min_step_mm=step / 64),
        name="bench_hertz")
    clock = EventClock(comm)
    with Stopwatch(comm) as wall:
        result = problem.insert(depth_mm)
    split = clock.split()
    steps = [s for s in result.steps if s.converged]
    krylov_its = int(problem.snes.getLinearSolveIterations())
    dofs, peak, penalty = _dofs(problem), peak_rss_mb(comm), problem.penalty_MPa_per_mm
    _free(problem)
    return _contact_record(split, wall.s, max(len(steps), 1)) | {
        "dofs": dofs, "cells": dm.mesh.topology.index_map(2).size_global, "degree": 2,
        "fine_mm": fine_mm, "newton_iterations": int(sum(s.newton_iterations
                                                         for s in result.steps)),
        "al_iterations": int(sum(s.al_iterations for s in result.steps)),
        "load_steps": len(result.steps), "force_N": float(result.curve[-1][1]),
        "krylov_iterations": krylov_its if linear_solver == "gamg" else 0,
        "linear_solver": linear_solver,
        "hertz_force_N": hertz_force(young_MPa, poisson, sphere_radius_mm, depth_mm),
        "penalty_MPa_per_mm": penalty,
        "converged": bool(result.converged and math.isclose(result.curve[-1][0], depth_mm)),
        "peak_rss_mb": peak}


def contact3d(comm: MPI.Comm, level: dict, *, direct: bool = False) -> dict:
    """The 3-D side of the axisymmetric-vs-3-D check at one mesh (module docstring).

    ``level``: ``tip`` (spherical or conical), ``fine_mm``, ``coarse_mm``, ``fine_radius_mm``
    (None: the case's), ``depths_mm``. ``time_s`` is the insertion to the last depth.
    """
    from fem.needle.indentation import IndentationSpec, default_solver, solve_indentation
    from fem.needle.puncture import PunctureCase

    case = PunctureCase(grade="pacss-0", tip=level["tip"], disc_radius_factor=2.0,
                        mesh_level=0)
    # direct: the puncture event's options, which the 3-D model used before it had its own
    solver = default_solver("axisymmetric" if direct else "3d")
    spec = IndentationSpec(case=case, model="3d", sector="quarter",
                           depths_mm=tuple(level["depths_mm"]), fine_size_mm=level["fine_mm"],
                           coarse_size_mm=level["coarse_mm"],
                           fine_radius_mm=level.get("fine_radius_mm"), solver=solver)
    clock = EventClock(comm)
    rec = solve_indentation(spec, comm)
    split = clock.split()
    return {"dofs": int(rec["dofs"]), "cells": int(rec["cells"]), "degree": 2,
            "tip": level["tip"], "fine_mm": level["fine_mm"], "time_s": rec["solve_time_s"],
            "setup_s": rec["setup_time_s"], "assembly_s": split.assembly_s,
            "pc_setup_s": split.pc_setup_s, "krylov_s": split.krylov_s,
            "contact_s": max(0.0, rec["solve_time_s"] - split.snes_s),
            "factorisations": int(split.pc_setups),
            "krylov_iterations": int(split.krylov_iterations),
            "newton_iterations": int(rec["newton_iterations"]), "steps": int(rec["steps"]),
            "depths_mm": list(rec["depths_mm"]), "forces_N": list(rec["forces_N"]),
            "direct": direct, "converged": bool(rec["converged"]),
            "failure": None if rec["failure"] is None else str(rec["failure"]),
            "peak_rss_mb": peak_rss_mb(comm)}


def artery_variants(comm: MPI.Comm, scale: float, *, cache_dir=None) -> list[dict]:
    """Diagnostic: what makes the artery's linear solve need more Krylov iterations.

    The linearised solve of :func:`artery_linear` on the same mesh with, in turn, one
    isotropic compressible material everywhere (nu 0.3, then nu 0.49: the tissue's bulk/shear
    ratio of 50), the wall materials without calcium contrast, and the wall with 1 GPa calcium.
    """
    from fem.balloon.problem import WallMaterials, layer_hoop_direction
    from fem.solid.materials import CompressibleNeoHookean
    from meshes import CrossSection
    from meshes.io import load_artery_mesh

    spec = artery_spec(scale)
    tm = load_artery_mesh(spec, comm, cache_dir=cache_dir)
    wall = WallMaterials().build(tm.regions, layer_hoop_direction(CrossSection(spec)))
    variants = {
        "isotropic nu 0.3": {r: CompressibleNeoHookean.from_young(1.0, 0.3) for r in wall},
        "isotropic nu 0.49": {r: CompressibleNeoHookean.from_young(1.0, 0.49) for r in wall},
        "wall, no calcium": wall | ({"calcium": wall["intima"]} if "calcium" in wall else {}),
        "wall, calcium 1 GPa": wall,
    }
    out = []
    for name, mats in variants.items():
        dofs, best = _linearised_solve(
            comm, 1, tm.mesh, tm.cell_tags, tm.facet_tags, regions=tm.regions,
            boundaries=tm.boundaries, materials=mats, pressure_boundaries=("channel_surface",),
            axial_ends=("end_proximal", "end_distal"), rigid_motion="pin")
        out.append({"variant": name, "dofs": dofs, "contact_s": 0.0,
                    "newton_iterations": 1, "peak_rss_mb": peak_rss_mb(comm), **best})
    return out


def box_newton(comm: MPI.Comm, target_dofs: int, *, formulation: str = "displacement",
               load_MPa: float = -0.1) -> dict:
    """Diagnostic: our Newton (HyperelasticProblem, P2, MUMPS) on the baseline's square.

    The unit square of :func:`hpc.benchmarks.baselines.neohookean_box` (same mesh, same
    compressible neo-Hookean, plane strain), clamped at x = 0 and pulled by a follower
    traction ``-load_MPa`` on x = 1, ramped by our adaptive stepping. ``formulation="mixed"``
    adds our P1 pressure field (Taylor-Hood, as the balloon problem). Separates the cost of
    our code path and of the mixed formulation from the cost of the balloon problem.
    """
    import dolfinx

    from fem.solid.hyperelastic import DisplacementBC, HyperelasticProblem, SolverOptions
    from fem.solid.materials import CompressibleNeoHookean
    from hpc.benchmarks.baselines import cube_cells_for

    n = cube_cells_for(target_dofs, 2, 2)
    msh = dolfinx.mesh.create_unit_square(comm, n, n, dolfinx.mesh.CellType.triangle)
    cell_tags, facet_tags = _box_tags(msh)
    problem = HyperelasticProblem(
        msh, cell_tags, facet_tags, regions={"box": 1}, boundaries={"clamp": 1, "load": 2},
        materials={"box": CompressibleNeoHookean.from_young(1.0, 0.3)},
        pressure_boundaries=("load",),
        displacement_bcs=[DisplacementBC("clamp", c) for c in range(2)],
        options=SolverOptions(formulation=formulation, displacement_degree=2), name="bench_box")
    clock = EventClock(comm)
    ramp = problem.ramp(pressure_MPa=load_MPa)
    split = clock.split()
    newton = sum(st.newton_iterations for st in ramp.steps)
    dofs, peak = _dofs(problem), peak_rss_mb(comm)
    _free(problem)
    return {"dofs": dofs, "cells": msh.topology.index_map(2).size_global,
            "degree": 2, "formulation": formulation, "time_s": split.snes_s,
            "assembly_s": split.assembly_s, "pc_setup_s": split.pc_setup_s,
            "krylov_s": split.krylov_s, "contact_s": 0.0, "newton_iterations": int(newton),
            "krylov_iterations": int(sum(st.linear_iterations for st in ramp.steps)),
            "load_steps": len(ramp.steps),
            "time_per_newton_step_s": split.snes_s / max(newton, 1),
            "converged": bool(ramp.converged), "peak_rss_mb": peak}


def _box_tags(msh):
    """Cell tag 1 everywhere; facet tags 1 on x = 0 and 2 on x = 1 (unit box or square)."""
    import dolfinx
    import numpy as np

    tdim = msh.topology.dim
    imap = msh.topology.index_map(tdim)
    cells = np.arange(imap.size_local + imap.num_ghosts, dtype=np.int32)
    cell_tags = dolfinx.mesh.meshtags(msh, tdim, cells, np.ones_like(cells))
    msh.topology.create_connectivity(tdim - 1, tdim)
    left = dolfinx.mesh.locate_entities_boundary(msh, tdim - 1, lambda x: np.isclose(x[0], 0.0))
    right = dolfinx.mesh.locate_entities_boundary(msh, tdim - 1, lambda x: np.isclose(x[0], 1.0))
    facets = np.concatenate([left, right])
    values = np.concatenate([np.full(len(left), 1), np.full(len(right), 2)]).astype(np.int32)
    order = np.argsort(facets)
    return cell_tags, dolfinx.mesh.meshtags(msh, tdim - 1, facets[order], values[order])
