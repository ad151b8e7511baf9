"""A layered wall indented head-on by a needle: the same problem in the axisymmetric and the 3-D
model, to check the reduced model of the puncture studies against the 3-D one.

The wall, needle, materials, edge condition, balloon backing and contact settings are those of
one puncture event (:class:`fem.needle.puncture.PunctureCase`,
:func:`fem.needle.puncture.solve_event`); the
needle is pushed to the listed depths and the force recorded there (no puncture criterion).
The two models differ only in their geometry:

* ``model = "axisymmetric"``: :class:`fem.needle.contact.AxisymmetricNeedleProblem` on the (r,
                                                                                            z) disc
  (:func:`meshes.disc.load_layered_disc`); a lancet is its equivalent cone.
* ``model = "3d"``: :class:`fem.needle.contact.NeedleContactProblem` on a 3-D sector of the same
disc
  (:func:`meshes.disc.load_layered_disc_3d`), needle axis ``-z`` through the top face centre,
  symmetry conditions on the cut planes (``u_x = 0`` on x = 0, ``u_y = 0`` on y = 0), the
  force of the whole body. A revolved tip (sphere, cone) may use any sector; the lancet bevel
  (its point at the origin, the bevel facing +x) is symmetric about y = 0 only: a half or full
  disc.

Units: mm, N, MPa.
"""

from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass, field

from mpi4py import MPI

from fem.needle.puncture import EVENTS, PunctureCase
from fem.solid.hyperelastic import SolverOptions
from fem.solid.materials import ATM_MPa, check_range

MODELS = ("axisymmetric", "3d")
SECTORS = ("quarter", "half", "full")
_SECTOR_COPIES = {"quarter": 4, "half": 2, "full": 1}


@dataclass(frozen=True, slots=True)
class IndentationSpec:
    """One indentation run.

    Attributes:
        case: the puncture case the wall, needle, materials, edge, balloon pressure and contact
            settings come from (its disc radius is ``disc_radius_factor`` needle diameters).
        event: ``"outer_wall"`` (far face on the balloon's pressure-limited support) or
            ``"flap"`` (free far face), as in :func:`fem.needle.puncture.solve_event`.
        model: ``"axisymmetric"`` or ``"3d"``.
        sector: 3-D only: ``"quarter"``, ``"half"`` or ``"full"`` disc.
        depths_mm: needle advances (mm) at which the force is recorded, increasing, each in
            (0, 5].
        fine_size_mm: element size near the needle (None: the case's ``disc_spec``).
        coarse_size_mm: largest element size (None: the case's).
        fine_radius_mm: radius of the fine zone (None: the case's).
        solver: Newton and linear-solver options (None: :func:`default_solver` of the model).
    """

    case: PunctureCase = field(default_factory=lambda: PunctureCase(
        grade="pacss-0", tip="spherical", disc_radius_factor=2.0, mesh_level=0))
    event: str = "outer_wall"
    model: str = "axisymmetric"
    sector: str = "quarter"
    depths_mm: tuple[float, ...] = (0.05, 0.1, 0.2)
    fine_size_mm: float | None = None
    coarse_size_mm: float | None = None
    fine_radius_mm: float | None = None
    solver: SolverOptions | None = None

    def __post_init__(self) -> None:
        if self.event not in EVENTS:
            raise ValueError(f"event = {self.event!r} must be one of {EVENTS}")
        if self.model not in MODELS:
            raise ValueError(f"model = {self.model!r} must be one of {MODELS}")
        if self.sector not in SECTORS:
            raise ValueError(f"sector = {self.sector!r} must be one of {SECTORS}")
        if self.model == "3d" and self.case.tip == "lancet" and self.sector == "quarter":
            raise ValueError("sector = 'quarter' cuts the lancet bevel (symmetric about y = 0 "
                             "only): use 'half' or 'full'")
        object.__setattr__(self, "depths_mm", tuple(float(d) for d in self.depths_mm))
        if not self.depths_mm:
            raise ValueError("depths_mm = () must hold at least one depth")
        for i, d in enumerate(self.depths_mm):
            check_range(f"depths_mm[{i}]", d, 0.0, 5.0, low_open=True, unit="mm")
            if i and d <= self.depths_mm[i - 1]:
                raise ValueError(f"depths_mm = {self.depths_mm!r} must increase")
        for name in ("fine_size_mm", "coarse_size_mm", "fine_radius_mm"):
            value = getattr(self, name)
            if value is not None:
                check_range(name, value, 1e-4, 1e2, unit="mm")

    def disc_spec(self):
        """The disc (:class:`meshes.disc.LayeredDiscSpec`): the case's, with the overrides."""
        spec = self.case.disc_spec(self.event)
        over = {k: getattr(self, k) for k in ("fine_size_mm", "coarse_size_mm",
                                               "fine_radius_mm") if getattr(self, k) is not None}
        if "coarse_size_mm" in over or "fine_size_mm" in over:
            fine = over.get("fine_size_mm", spec.fine_size_mm)
            over["coarse_size_mm"] = max(over.get("coarse_size_mm", spec.coarse_size_mm), fine)
        return dataclasses.replace(spec, **over)


def default_solver(model: str) -> SolverOptions:
    """The Newton options of each model.

    Axisymmetric: the puncture event's. 3-D: the LU factors are kept across Newton iterations
    and needle steps (``preconditioner_reuse``: GMRES on the current tangent, refactorised
    after a solve that needed more iterations than the problem size makes worth it), and the
    critical-point line search
    (the residual is the gradient of the total potential): a step that inverts elements
    fails at once (NaN) and is retried shorter, where the backtracking search spent its 25
    Newton iterations first. Measured on the README's 3-D check (30 deg cone, 3.7 k
    tetrahedra, the LU kept up to 20 GMRES iterations): 219 Newton iterations and 53
    factorisations instead of 388 and 388, forces within 2e-8.
    """
    from fem.needle.puncture import _LINESEARCH

    if model == "3d":
        return SolverOptions(quadrature_degree=4, snes_atol=1e-9, preconditioner_reuse=-1,
                             petsc_options=(("snes_linesearch_type", "cp"),))
    return SolverOptions(quadrature_degree=4, snes_atol=1e-9, petsc_options=_LINESEARCH)


def solve_indentation(spec: IndentationSpec, comm) -> dict:
    """Push the needle to ``spec.depths_mm``; returns the record (JSON-ready).

    Keys: ``model``, ``sector``, ``cells``, ``dofs``, ``fine_size_mm``, ``coarse_size_mm``,
    ``radius_mm``, ``h_contact_mm``, ``depths_mm``, ``forces_N`` (NaN past a failure),
    ``converged``, ``failure``, ``curve`` (every converged ``[d, F]``), ``newton_iterations``,
    ``steps``, ``setup_time_s``, ``solve_time_s``.
    """
    from fem.needle.contact import AxisymmetricNeedleProblem, NeedleContactProblem
    from fem.needle.puncture import _materials
    from fem.solid.hyperelastic import DisplacementBC
    from meshes.disc import load_layered_disc, load_layered_disc_3d

    tic = time.perf_counter()
    case, event = spec.case, spec.event
    disc = spec.disc_spec()
    layers = case.layers(event)
    needle = case.needle()
    kwargs = dict(
        materials=_materials(case, [t for t, _ in layers]), contact_boundary="contact_surface",
        contact=case.contact,
        options=spec.solver or default_solver(spec.model), name=f"indentation_{spec.model}")
    if event == "outer_wall":  # the balloon behind the media, as in solve_event
        kwargs |= dict(support_boundaries=("far_surface",),
                       support_pressure_MPa=case.balloon_pressure_atm * ATM_MPa)
    if spec.model == "axisymmetric":
        dm = load_layered_disc(disc, comm)
        bcs = [DisplacementBC("axis", 0), DisplacementBC("outer_edge", 1)]
        if case.edge == "clamped":
            bcs.append(DisplacementBC("outer_edge", 0))
        problem = AxisymmetricNeedleProblem(
            dm.mesh, dm.cell_tags, dm.facet_tags, regions=dm.regions, boundaries=dm.boundaries,
            needle=needle, displacement_bcs=bcs, **kwargs)
    else:
        dm = load_layered_disc_3d(disc, comm, spec.sector)
        bcs = [DisplacementBC(b, c) for b, c in (("symmetry_x", 0), ("symmetry_y", 1))
               if b in dm.boundaries]
        bcs.append(DisplacementBC("outer_edge", 2))
        if case.edge == "clamped":
            bcs += [DisplacementBC("outer_edge", 0), DisplacementBC("outer_edge", 1)]
        # The 3-D needle: axis -z, apex at the top face centre (the origin).
        needle = dataclasses.replace(needle, axis=(0.0, 0.0, -1.0),
                                     entry_point_mm=(0.0, 0.0, 0.0))
        problem = NeedleContactProblem(
            dm.mesh, dm.cell_tags, dm.facet_tags, regions=dm.regions, boundaries=dm.boundaries,
            needle=needle, displacement_bcs=bcs, symmetry_copies=_SECTOR_COPIES[spec.sector],
            **kwargs)
    tdim = dm.mesh.topology.dim
    setup = comm.allreduce(time.perf_counter() - tic, op=MPI.MAX)
    record: dict = {
        "model": spec.model, "sector": spec.sector if spec.model == "3d" else "",
        "event": event, "tip": case.tip,
        "cells": dm.mesh.topology.index_map(tdim).size_global,
        "dofs": problem.W.dofmap.index_map.size_global * problem.W.dofmap.index_map_bs,
        "radius_mm": disc.radius_mm, "fine_size_mm": disc.fine_size_mm,
        "coarse_size_mm": disc.coarse_size_mm, "fine_radius_mm": disc.fine_radius_mm,
        "h_contact_mm": problem.h_contact_mm, "depths_mm": list(spec.depths_mm),
        "forces_N": [], "converged": True, "failure": None, "curve": [],
        "newton_iterations": 0, "steps": 0, "setup_time_s": setup,
    }
    tic = time.perf_counter()
    for d in spec.depths_mm:
        if not record["converged"]:
            record["forces_N"].append(math.nan)
            continue
        result = problem.insert(d)
        record["curve"] += [[float(a), float(b)] for a, b in result.curve[1:]]
        record["newton_iterations"] += int(sum(s.newton_iterations for s in result.steps))
        record["steps"] += len(result.steps)
        if result.converged:
            record["forces_N"].append(float(result.curve[-1][1]))
        else:
            record.update(converged=False, failure=result.failure)
            record["forces_N"].append(math.nan)
    record["solve_time_s"] = comm.allreduce(time.perf_counter() - tic, op=MPI.MAX)
    return record

