"""The double cantilever beam (DCB): verification model of the cohesive crack.

One arm of a DCB in plane strain (the specimen's other arm is its mirror image), on the
rectangle ``0 <= x <= a0 + ligament``, ``0 <= y <= h``: the crack plane ``y = 0`` is free for
``x < a0`` (the initial crack) and carries the cohesive law ahead of it
(:class:`fem.needle.fracture.interface.CohesivePlane`, boundary ``crack_plane``); the load
edge ``x = 0`` is pulled open by ``u_y = Delta / 2`` (free to rotate), the far end holds
``u_x = 0``. The load ``P`` (N per mm of width) is the reaction on the load edge. The answer
is compared with LEFM (:mod:`fem.closed_form.dcb`) once the process zone is resolved.

Units: mm, N, MPa.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from fem.needle.fracture.law import CohesiveLaw
from fem.solid.materials import check_range

__all__ = ["DCBResult", "DCBSpec", "build_dcb", "solve_dcb"]

DCB_REGIONS = {"arm": 1}
DCB_BOUNDARIES = {"crack_plane": 11, "initial_crack": 12, "load_edge": 13, "far_end": 14,
                  "top": 15}


@dataclass(frozen=True, slots=True)
class DCBSpec:
    """A DCB arm and its discretisation.

    Attributes:
        arm_height_mm, initial_crack_mm, ligament_mm: geometry (mm).
        modulus_MPa, poisson_ratio: the arms' (compressible neo-Hookean, small strains).
        law: the cohesive law on the crack plane.
        fine_size_mm: element size along the crack path (within ``fine_band_mm`` of it).
        coarse_size_mm: element size elsewhere.
        fine_band_mm: height of the refined band above the crack plane.
        degree: displacement degree (1 or 2).
    """

    arm_height_mm: float = 1.0
    initial_crack_mm: float = 10.0
    ligament_mm: float = 10.0
    modulus_MPa: float = 1.0e4
    poisson_ratio: float = 0.3
    law: CohesiveLaw = field(default_factory=lambda: CohesiveLaw(40.0, 0.1, "DCB check"))
    fine_size_mm: float = 0.05
    coarse_size_mm: float = 0.25
    fine_band_mm: float = 0.2
    degree: int = 2

    def __post_init__(self) -> None:
        check_range("arm_height_mm", self.arm_height_mm, 1e-3, 1e3, unit="mm")
        check_range("initial_crack_mm", self.initial_crack_mm, self.arm_height_mm, 1e4,
                    unit="mm (at least arm_height_mm)")
        check_range("ligament_mm", self.ligament_mm, self.arm_height_mm, 1e4,
                    unit="mm (at least arm_height_mm)")
        check_range("modulus_MPa", self.modulus_MPa, 1e-3, 1e6, unit="MPa")
        check_range("poisson_ratio", self.poisson_ratio, 0.0, 0.45)
        check_range("fine_size_mm", self.fine_size_mm, 1e-4, self.coarse_size_mm,
                    unit="mm (at most coarse_size_mm)")
        check_range("coarse_size_mm", self.coarse_size_mm, 1e-4, self.arm_height_mm,
                    unit="mm (at most arm_height_mm)")
        check_range("fine_band_mm", self.fine_band_mm, 0.0, self.arm_height_mm, unit="mm")
        check_range("degree", self.degree, 1, 2)

    @property
    def length_mm(self) -> float:
        return self.initial_crack_mm + self.ligament_mm


@dataclass(slots=True)
class DCBResult:
    """The DCB's load-opening curve and energies (per mm of width, both arms).

    ``curve``: ``(Delta_mm, P_N)``; ``energy``: per converged point, ``(work, strain,
    cohesive stored, cohesive dissipated)`` (N mm); ``crack_tip_mm``: the crack
    length (load line to the farthest separated point) per point.
    """

    curve: list[tuple[float, float]]
    energy: list[tuple[float, float, float, float]]
    crack_tip_mm: list[float]
    converged: bool
    failure: str = ""
    cells: int = 0

    @property
    def peak_N(self) -> float:
        return max(p for _, p in self.curve)


def build_dcb(spec: DCBSpec) -> None:
    """Fill the current Gmsh model with the meshed DCB arm (call on one rank)."""
    import gmsh

    gmsh.model.add("dcb")
    geo = gmsh.model.geo
    a0, L, h = spec.initial_crack_mm, spec.length_mm, spec.arm_height_mm
    p = [geo.addPoint(0, 0, 0), geo.addPoint(a0, 0, 0), geo.addPoint(L, 0, 0),
         geo.addPoint(L, h, 0), geo.addPoint(0, h, 0)]
    lines = {"initial_crack": geo.addLine(p[0], p[1]), "crack_plane": geo.addLine(p[1], p[2]),
             "far_end": geo.addLine(p[2], p[3]), "top": geo.addLine(p[3], p[4]),
             "load_edge": geo.addLine(p[4], p[0])}
    loop = geo.addCurveLoop([lines[k] for k in ("initial_crack", "crack_plane", "far_end",
                                                "top", "load_edge")])
    surface = geo.addPlaneSurface([loop])
    geo.synchronize()
    gmsh.model.addPhysicalGroup(2, [surface], DCB_REGIONS["arm"], name="arm")
    for name, line in lines.items():
        gmsh.model.addPhysicalGroup(1, [line], DCB_BOUNDARIES[name], name=name)
    field_ = gmsh.model.mesh.field
    box = field_.add("Box")
    field_.setNumber(box, "VIn", spec.fine_size_mm)
    field_.setNumber(box, "VOut", spec.coarse_size_mm)
    field_.setNumber(box, "XMin", max(0.0, a0 - 2.0 * h))
    field_.setNumber(box, "XMax", L)
    field_.setNumber(box, "YMin", -1.0)
    field_.setNumber(box, "YMax", spec.fine_band_mm)
    field_.setNumber(box, "Thickness", max(spec.fine_band_mm, 0.5 * h))
    field_.setAsBackgroundMesh(box)
    gmsh.option.setNumber("Mesh.MeshSizeExtendFromBoundary", 0)
    gmsh.option.setNumber("Mesh.MeshSizeFromPoints", 0)
    gmsh.option.setNumber("Mesh.MeshSizeFromCurvature", 0)
    gmsh.option.setNumber("Mesh.Algorithm", 6)
    gmsh.model.mesh.generate(2)


def solve_dcb(spec: DCBSpec, comm, *, max_opening_mm: float, steps: int = 40,
              settings=None, min_step_mm: float = 1e-6, max_history_step: float = 0.25,
              linesearch: str = "basic") -> DCBResult:
    """Open the DCB to ``max_opening_mm`` (load-line opening of both arms) in ``steps``
    increments, halved when Newton fails or the history of a quadrature point would grow by
    more than ``max_history_step`` of its failure opening in one step, regrown after."""
    import hpc.stack  # noqa: F401  (orders MPI before DOLFINx)

    import dolfinx
    import dolfinx.fem.petsc
    import numpy as np
    from mpi4py import MPI
    from petsc4py import PETSc

    from fem.needle.fracture.interface import CohesivePlane, CohesiveSettings
    from fem.solid.hyperelastic import DisplacementBC, HyperelasticProblem, SolverOptions
    from fem.solid.materials import CompressibleNeoHookean
    from meshes.gmsh_build import build_on_rank0

    data = build_on_rank0(lambda: build_dcb(spec), comm, gdim=2)
    mesh = data.mesh
    E, nu = spec.modulus_MPa, spec.poisson_ratio
    material = CompressibleNeoHookean(mu_MPa=E / (2 * (1 + nu)),
                                      lambda_MPa=E * nu / ((1 + nu) * (1 - 2 * nu)))
    options = SolverOptions(formulation="displacement", displacement_degree=spec.degree,
                            quadrature_degree=2 * spec.degree, snes_rtol=1e-9,
                            snes_max_it=30, petsc_options=(("snes_linesearch_type", linesearch),))
    problem = HyperelasticProblem(
        mesh, data.cell_tags, data.facet_tags, regions=DCB_REGIONS,
        boundaries=DCB_BOUNDARIES, materials={"arm": material},
        displacement_bcs=(DisplacementBC("load_edge", 1, 0.0), DisplacementBC("far_end", 0, 0.0)),
        options=options, name="dcb")
    load_bc = problem.bcs[0]
    cohesive = CohesivePlane(problem, "crack_plane", {"arm": spec.law}, normal_axis=1,
                             settings=settings if settings is not None else CohesiveSettings(),
                             layer_thickness_mm={"arm": spec.arm_height_mm})
    cohesive.check_resolution()
    # Reaction on the load edge: the bulk residual (no Dirichlet rows) at its u_y dofs.
    load_dofs = load_bc.dof_indices()
    owned_load = load_dofs[0][: load_dofs[1]]
    residual_form = problem._problem.F
    energy_form = dolfinx.fem.form(sum(problem.strain_energy_density(r, problem.kinematics()[1])
                                       * problem.dx(problem.regions[r])
                                       for r in problem.materials))

    def reaction() -> float:
        b = dolfinx.fem.petsc.assemble_vector(residual_form)
        b.ghostUpdate(addv=PETSc.InsertMode.ADD, mode=PETSc.ScatterMode.REVERSE)
        with b.localForm() as loc:
            local = float(np.sum(loc.array[owned_load]))
        b.destroy()
        return comm.allreduce(local, op=MPI.SUM)

    def strain_energy() -> float:
        return comm.allreduce(dolfinx.fem.assemble_scalar(energy_form), op=MPI.SUM)

    curve = [(0.0, 0.0)]
    energy = [(0.0, 0.0, 0.0, 0.0)]
    tips = [spec.initial_crack_mm]
    work = 0.0
    opening = 0.0
    step = max_opening_mm / steps
    dd = step
    w_prev = problem.w.x.array.copy()
    converged, failure = True, ""
    while opening < max_opening_mm - 1e-12 * max_opening_mm:
        dd = min(dd, max_opening_mm - opening)
        target = opening + dd
        load_bc.g.x.array[:] = 0.5 * target
        cohesive.set_increment(dd)
        rec = problem._solve_once(len(curve), 0.0, 0.0, 1.0)
        too_fast = rec.converged and cohesive.history_increment() > max_history_step
        if not rec.converged or too_fast:
            problem.w.x.array[:] = w_prev
            problem.w.x.scatter_forward()
            dd *= 0.5
            if dd < min_step_mm:
                converged, failure = False, f"{rec.snes_reason_name} at Delta {target:.4g} mm"
                break
            continue
        cohesive.commit()
        w_prev[:] = problem.w.x.array
        P = reaction()  # the force on each arm
        work += 0.5 * (curve[-1][1] + P) * dd
        opening = target
        stored, dissipated = cohesive.energies()
        # Both arms: twice the model's strain and cohesive energies.
        energy.append((work, 2.0 * strain_energy(), 2.0 * stored, 2.0 * dissipated))
        curve.append((opening, P))
        lo, hi = cohesive.crack_extent(0)
        tips.append(hi if math.isfinite(hi) else spec.initial_crack_mm)
        if dd < step:
            dd = min(step, 2.0 * dd)
    cells = comm.allreduce(mesh.topology.index_map(2).size_local, op=MPI.SUM)
    return DCBResult(curve=curve, energy=energy, crack_tip_mm=tips, converged=converged,
                     failure=failure, cells=cells)
