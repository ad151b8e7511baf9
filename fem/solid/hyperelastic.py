"""Finite-strain quasi-static hyperelasticity of a tagged artery wall under a follower pressure.

Formulation (why it does not lock)
----------------------------------
Soft arterial tissue is nearly incompressible (bulk/shear moduli ratio 1e2 .. 1e4 or more).
A pure displacement formulation with low-order elements then "locks": the discrete space
cannot represent enough divergence-free (isochoric) motions, so the wall comes out far too
stiff. The default here is the two-field **mixed u-p (perturbed Lagrangian)** formulation

    Pi(u, p) = int [ W(F) + p g(J) - p^2 / (2 K_v) ] dX  -  (work of the pressure load),

(see :mod:`fem.solid.materials` for ``W``, ``g``, ``K_v``) discretised with **Taylor-Hood P2-P1**
(continuous quadratic displacement, continuous linear pressure). Taylor-Hood satisfies the
discrete inf-sup (LBB) condition uniformly in ``K_v``, so the error bound does not depend on
the bulk modulus: it works for ``K_v = inf`` (exactly incompressible, the ``p^2`` term
vanishes) and for compressible regions alike, and stress-like ``p`` is smooth. Eliminating
``p`` gives back the displacement energy exactly, so mixed and displacement formulations
solve the same material model. References: Simo, Taylor, Pister (1985) CMAME 51:177; Brezzi &
Fortin (1991) Mixed and Hybrid FE Methods; Auricchio et al. (2005) CMAME 194:1075.

Each region has its **own** P1 pressure field (continuous inside the region, independent
across region interfaces): the mean stress jumps where calcium meets tissue, and a pressure
continuous across that interface gave a 1.2 % error in the 20 GPa compound-cylinder check
(``tests/test_solid_lame.py``), with it ~1e-7. The dofs of region r's field outside region r
carry no equation and are held at zero by Dirichlet conditions. Each region's pressure
unknown is scaled, ``p = s_r * p_hat`` with ``s_r`` that region's shear-like modulus, so its
u and p equation rows are balanced (matters with 20 GPa calcium next to 0.3 kPa adventitia).

A plain displacement formulation (``formulation="displacement"``) is kept for compressible
problems (Lame check, calcium alone) and for the iterative AMG solver.

Linear solvers
--------------
* ``"mumps"`` (any formulation): LU with pivoting; robust for the indefinite saddle-point
  system of the mixed form and for large modulus contrast.
* ``"gamg"`` (displacement formulation only): GMRES + smoothed-aggregation AMG with the
  rigid-body modes set as near-nullspace of the matrix (GMRES because the follower-pressure
  tangent is non-symmetric).
* ``"fieldsplit"`` (mixed formulation only): a Schur-complement fieldsplit, AMG with the
  rigid-body near-nullspace on the displacement block, the region-weighted pressure mass
  matrix for the Schur complement.
* ``"auto"`` (default): MUMPS below ``iterative_min_dofs`` unknowns, the iterative solver
  above; by default 50 000 in 3-D (where the two cost the same on the 3-D contact disc, P2-P1,
  measured) and never in 2-D (MUMPS factorises a 2-D system of study size in a fraction of a
  Krylov solve).

The assembly callbacks, the preconditioner reuse across Newton iterations
(``preconditioner_reuse``) and the solvers' PETSc options are in :mod:`fem.solid.solver`.

Load and steps
--------------
The pressure acts on the deformed surface (follower load): the nominal traction is
``-p J F^-T N`` on the reference facets. :meth:`HyperelasticProblem.ramp` moves the load
(pressure and/or axial stretch) from the current state to a target in adaptive steps; a failed
Newton solve restores the last converged state and retries with a smaller step; an easy solve
grows the next step; the ramp ends with a recorded failure when the step falls below
``min_step`` or after too many consecutive or total steps. Every solve's SNES converged
reason is checked and recorded.

Plane strain: a 2-D mesh is a cross-section in plane strain (generalised: ``F33`` is the
prescribed axial stretch).
"""

from __future__ import annotations

import math
import time
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from itertools import count

import basix.ufl
import dolfinx
import dolfinx.fem.petsc
import numpy as np
import ufl
from mpi4py import MPI
from petsc4py import PETSc

from fem.solid import solver
from fem.solid.materials import Material, check_range
from fem.solid.options import (  # noqa: F401  (re-exported; moved there)
    FORMULATIONS,
    ITERATIVE_MIN_DOFS,
    ITERATIVE_SOLVER,
    LINEAR_SOLVERS,
    SolverOptions,
)

_PROBLEM_IDS = count()

RIGID_MOTION = ("none", "pin")


@dataclass(frozen=True, slots=True)
class DisplacementBC:
    """A prescribed displacement component on a tagged boundary.

    Attributes:
        boundary: boundary name (key of the boundary map).
        component: displacement component 0 (x), 1 (y) or 2 (z, 3-D only).
        value_mm: prescribed displacement in mm (constant).
    """

    boundary: str
    component: int
    value_mm: float = 0.0

    def __post_init__(self) -> None:
        check_range("component", self.component, 0, 2)
        check_range("value_mm", self.value_mm, -1e3, 1e3, unit="mm")


@dataclass(slots=True)
class StepRecord:
    """One Newton solve of a ramp (converged or not)."""

    step: int
    load_fraction: float
    pressure_MPa: float
    axial_stretch: float
    converged: bool
    snes_reason: int
    snes_reason_name: str
    newton_iterations: int
    linear_iterations: int
    residual_norm: float
    wall_time_s: float


@dataclass(slots=True)
class FailureRecord:
    """Why a ramp stopped before its target."""

    reason: str
    snes_reason: int
    snes_reason_name: str
    step: int
    load_fraction: float
    last_converged_fraction: float
    pressure_MPa: float
    residual_norm: float


@dataclass(slots=True)
class RampResult:
    """Result record of :meth:`HyperelasticProblem.ramp` (``to_dict`` goes to JSON)."""

    converged: bool
    target_pressure_MPa: float
    target_axial_stretch: float
    reached_pressure_MPa: float
    reached_axial_stretch: float
    reached_fraction: float
    steps: list[StepRecord] = field(default_factory=list)
    failure: FailureRecord | None = None

    def to_dict(self) -> dict:
        return asdict(self)


def _snes_reason_names() -> dict[int, str]:
    reasons = PETSc.SNES.ConvergedReason
    return {int(getattr(reasons, n)): n for n in dir(reasons) if n.isupper()}


def rigid_body_near_nullspace(V: dolfinx.fem.FunctionSpace) -> PETSc.NullSpace:
    """Rigid-body modes of a blocked vector space, orthonormalised, as a PETSc null space.

    Used as the near-nullspace of the elasticity matrix for smoothed-aggregation AMG.
    """
    gdim = V.mesh.geometry.dim
    index_map, bs = V.dofmap.index_map, V.dofmap.index_map_bs
    n_modes = 3 if gdim == 2 else 6
    basis = [dolfinx.la.vector(index_map, bs=bs, dtype=PETSc.ScalarType) for _ in range(n_modes)]
    n = index_map.size_local
    x = V.tabulate_dof_coordinates()[:n]
    b = [v.array for v in basis]
    for i in range(gdim):
        b[i][i : n * bs : bs] = 1.0
    if gdim == 2:
        b[2][0 : n * bs : bs] = -x[:, 1]
        b[2][1 : n * bs : bs] = x[:, 0]
    else:
        b[3][0 : n * bs : bs] = -x[:, 1]
        b[3][1 : n * bs : bs] = x[:, 0]
        b[4][0 : n * bs : bs] = x[:, 2]
        b[4][2 : n * bs : bs] = -x[:, 0]
        b[5][2 : n * bs : bs] = x[:, 1]
        b[5][1 : n * bs : bs] = -x[:, 2]
    dolfinx.la.orthonormalize(basis)
    vecs = [dolfinx.la.petsc.create_vector_wrap(v) for v in basis]
    return PETSc.NullSpace().create(vectors=vecs, comm=V.mesh.comm)


class HyperelasticProblem:
    """Quasi-static finite-strain wall under a follower pressure, on a tagged DOLFINx mesh.

    Example::

        problem = HyperelasticProblem(
            mesh, cell_tags, facet_tags,
            regions={"media": 3, "adventitia": 4}, boundaries={"lumen_surface": 11, ...},
            materials={"media": material_by_name("hgo-2000-media"), ...},
            pressure_boundaries=("lumen_surface",),
            axial_ends=("end_proximal", "end_distal"), rigid_motion="pin")
        result = problem.ramp(pressure_MPa=6 * ATM_MPa)
        if not result.converged:
            print(result.failure)

    Args:
        mesh: reference (stress-free) mesh, 2-D (plane strain) or 3-D, units mm.
        cell_tags: region tags of the cells.
        facet_tags: boundary tags of the facets.
        regions: region name -> cell tag.
        boundaries: boundary name -> facet tag.
        materials: region name -> material; every cell must belong to one of these regions.
        pressure_boundaries: boundary names loaded by the follower pressure.
        displacement_bcs: prescribed displacement components.
        axial_ends: 3-D: boundaries with ``u_z = (lambda_z - 1)(z - axial_reference_z_mm)``
            (plane ends; ``lambda_z`` = current axial stretch). Ignored in 2-D, where the
            axial stretch enters as ``F33``.
        axial_reference_z_mm: z that does not move axially.
        rigid_motion: ``"pin"`` removes the in-plane rigid motions (x, y translation,
            rotation about z) by three scalar point constraints (u_y at a node near the +x
            axis, u_x near the +y axis, u_y near the -x axis): statically determinate, so they
            carry no reaction under a self-equilibrated load such as a lumen pressure; the
            answer is fixed up to the rigid motion they select (a small translation when the
            nodes are off the axes), which does not change stresses or circumferential means.
            Axial rigid motion is left to ``axial_ends`` / ``displacement_bcs``.
            ``"none"`` leaves all of that to ``displacement_bcs``.
        options: discretisation, Newton and stepping options.
        name: label used in the PETSc options prefix (made unique per problem).
    """

    def __init__(
        self,
        mesh: dolfinx.mesh.Mesh,
        cell_tags: dolfinx.mesh.MeshTags,
        facet_tags: dolfinx.mesh.MeshTags,
        *,
        regions: Mapping[str, int],
        boundaries: Mapping[str, int],
        materials: Mapping[str, Material],
        pressure_boundaries: Sequence[str] = (),
        displacement_bcs: Sequence[DisplacementBC] = (),
        axial_ends: Sequence[str] = (),
        axial_reference_z_mm: float = 0.0,
        rigid_motion: str = "none",
        options: SolverOptions | None = None,
        name: str = "solid",
    ) -> None:
        self.options = options if options is not None else SolverOptions()
        self.mesh = mesh
        self.cell_tags = cell_tags
        self.facet_tags = facet_tags
        self.regions = dict(regions)
        self.boundaries = dict(boundaries)
        self.materials = dict(materials)
        self.comm = mesh.comm
        self.gdim = mesh.geometry.dim
        if self.gdim not in (2, 3):
            raise ValueError(f"mesh geometric dimension = {self.gdim} must be 2 or 3")
        if rigid_motion not in RIGID_MOTION:
            raise ValueError(f"rigid_motion = {rigid_motion!r} must be one of {RIGID_MOTION}")
        for r in self.materials:
            if r not in self.regions:
                raise ValueError(f"materials region = {r!r} is not in regions {sorted(regions)}")
        for b in (*pressure_boundaries, *axial_ends, *(bc.boundary for bc in displacement_bcs)):
            if b not in self.boundaries:
                raise ValueError(f"boundary = {b!r} is not in boundaries {sorted(boundaries)}")
        for bc in displacement_bcs:
            if bc.component >= self.gdim:
                raise ValueError(f"component = {bc.component} must be < {self.gdim} in {bc}")
        self._check_cells_covered()

        self.axial_ends = tuple(axial_ends)
        self.axial_reference_z_mm = float(axial_reference_z_mm)
        self.pressure_boundaries = tuple(pressure_boundaries)
        self.prefix = f"nre_{name}_{next(_PROBLEM_IDS)}_"
        self.history: list[StepRecord] = []
        self._reason_names = _snes_reason_names()

        # Load parameters: pressure (MPa) and axial stretch, current converged values.
        self.pressure_MPa = 0.0
        self.axial_stretch = 1.0
        self._p_load = dolfinx.fem.Constant(mesh, PETSc.ScalarType(0.0))
        self._lambda_z = dolfinx.fem.Constant(mesh, PETSc.ScalarType(1.0))

        self._build_spaces()
        self._build_forms()
        self._build_bcs(displacement_bcs, rigid_motion)
        self._build_solver()

    # ------------------------------------------------------------------ setup
    def _check_cells_covered(self) -> None:
        tdim = self.mesh.topology.dim
        n_owned = self.mesh.topology.index_map(tdim).size_local
        tagged = np.zeros(n_owned, dtype=bool)
        for r in self.materials:
            cells = self.cell_tags.find(self.regions[r])
            tagged[cells[cells < n_owned]] = True
        missing = self.comm.allreduce(int(n_owned - tagged.sum()), op=MPI.SUM)
        if missing:
            raise ValueError(
                f"{missing} cells carry no material: materials cover regions "
                f"{sorted(self.materials)} but the cell tags hold others"
            )

    def _build_spaces(self) -> None:
        opts = self.options
        cell = self.mesh.basix_cell()
        el_u = basix.ufl.element("Lagrange", cell, opts.displacement_degree, shape=(self.gdim,))
        self._region_order = list(self.materials)
        if opts.formulation == "mixed":
            # One pressure field per region: continuous inside the region, independent across
            # region interfaces, where the mean stress jumps (calcium next to tissue).
            el_p = basix.ufl.element("Lagrange", cell, opts.displacement_degree - 1)
            self.W = dolfinx.fem.functionspace(
                self.mesh, basix.ufl.mixed_element([el_u] + [el_p] * len(self._region_order))
            )
            self._Vu_sub = self.W.sub(0)
            self.V, self._u_to_w = self._Vu_sub.collapse()
        else:
            self.W = dolfinx.fem.functionspace(self.mesh, el_u)
            self._Vu_sub = self.W
            self.V = self.W
            im = self.W.dofmap.index_map
            self._u_to_w = np.arange((im.size_local + im.num_ghosts) * self.W.dofmap.index_map_bs,
                                     dtype=np.int32)
        self.w = dolfinx.fem.Function(self.W, name="state")
        # Scale of each region's pressure unknown (MPa): its own shear-like modulus, so the
        # u and p equation rows of the region carry the same units (module docstring).
        self.pressure_scales_MPa = {r: m.reference_modulus_MPa for r, m in self.materials.items()}
        self.pressure_scale_MPa = min(self.pressure_scales_MPa.values())
        coords = self.mesh.geometry.x
        lo = coords.min(axis=0) if len(coords) else np.full(3, np.inf)
        hi = coords.max(axis=0) if len(coords) else np.full(3, -np.inf)
        self.comm.Allreduce(MPI.IN_PLACE, lo, op=MPI.MIN)
        self.comm.Allreduce(MPI.IN_PLACE, hi, op=MPI.MAX)
        self.length_scale_mm = float(np.max(hi - lo))

    def kinematics(self):
        """Return ``(u, F)``: the displacement (mm) and the 3x3 deformation gradient (UFL)."""
        u = ufl.split(self.w)[0] if self.options.formulation == "mixed" else self.w
        return u, self._deformation_gradient(u)

    def pressure_field(self, region: str):
        """The mixed pressure ``p`` (MPa, UFL) of ``region``, or None (displacement form).

        At the solution ``p = K_v g(J)``: about the mean Cauchy stress, positive in tension.
        """
        if self.options.formulation != "mixed":
            return None
        k = self._region_order.index(region)
        return self.pressure_scales_MPa[region] * ufl.split(self.w)[1 + k]

    def _deformation_gradient(self, u):
        if self.gdim == 3:
            return ufl.Identity(3) + ufl.grad(u)
        g = ufl.grad(u)
        return ufl.as_matrix(
            [[1.0 + g[0, 0], g[0, 1], 0.0], [g[1, 0], 1.0 + g[1, 1], 0.0],
             [0.0, 0.0, self._lambda_z]]
        )

    def strain_energy_density(self, region: str, F):
        """Strain energy density (UFL, MPa) of ``region`` at deformation gradient ``F``.

        Mixed formulation: the perturbed-Lagrangian energy with the region's pressure field.
        """
        mat = self.materials[region]
        X = ufl.SpatialCoordinate(self.mesh)
        if self.options.formulation == "mixed":
            return mat.mixed_strain_energy(F, self.pressure_field(region), X)
        return mat.strain_energy(F, X)

    def _build_forms(self) -> None:
        q = self.options.quadrature_degree
        self.dx = ufl.Measure("dx", domain=self.mesh, subdomain_data=self.cell_tags,
                              metadata={"quadrature_degree": q})
        self.ds = ufl.Measure("ds", domain=self.mesh, subdomain_data=self.facet_tags,
                              metadata={"quadrature_degree": q})
        u, F = self.kinematics()
        energy = sum(
            self.strain_energy_density(r, F) * self.dx(self.regions[r]) for r in self.materials
        )
        w_test = ufl.TestFunction(self.W)
        residual = ufl.derivative(energy, self.w, w_test)
        v = ufl.split(w_test)[0] if self.options.formulation == "mixed" else w_test
        if self.pressure_boundaries:
            N = ufl.FacetNormal(self.mesh)
            if self.gdim == 2:
                N3 = ufl.as_vector([N[0], N[1], 0.0])
                v3 = ufl.as_vector([v[0], v[1], 0.0])
            else:
                N3, v3 = N, v
            J = ufl.det(F)
            # Follower load: nominal traction -p J F^-T N on the reference surface.
            traction_work = self._p_load * J * ufl.dot(ufl.inv(F).T * N3, v3)
            residual = residual + sum(
                traction_work * self.ds(self.boundaries[b]) for b in self.pressure_boundaries
            )
        self._residual = residual
        self._jacobian = ufl.derivative(residual, self.w, ufl.TrialFunction(self.W))

    def _facets(self, boundary: str) -> np.ndarray:
        return self.facet_tags.find(self.boundaries[boundary])

    def _component_space(self, i: int):
        sub = self._Vu_sub.sub(i)
        return sub, sub.collapse()[0]

    def _build_bcs(self, displacement_bcs: Sequence[DisplacementBC], rigid_motion: str) -> None:
        fdim = self.mesh.topology.dim - 1
        self.mesh.topology.create_connectivity(fdim, self.mesh.topology.dim)
        self.bcs: list[dolfinx.fem.DirichletBC] = []
        for bc in displacement_bcs:
            sub, Vc = self._component_space(bc.component)
            g = dolfinx.fem.Function(Vc)
            g.x.array[:] = bc.value_mm
            dofs = dolfinx.fem.locate_dofs_topological((sub, Vc), fdim, self._facets(bc.boundary))
            self.bcs.append(dolfinx.fem.dirichletbc(g, dofs, sub))
        self._axial_g = None
        if self.gdim == 3 and self.axial_ends:
            sub, Vc = self._component_space(2)
            self._axial_g = dolfinx.fem.Function(Vc)
            facets = np.unique(np.concatenate([self._facets(b) for b in self.axial_ends]))
            dofs = dolfinx.fem.locate_dofs_topological((sub, Vc), fdim, facets)
            self.bcs.append(dolfinx.fem.dirichletbc(self._axial_g, dofs, sub))
        if self.options.formulation == "mixed":
            self._add_inactive_pressure_bcs()
        self.pin_bcs: list[dolfinx.fem.DirichletBC] = []
        if rigid_motion == "pin":
            for point, comp in self._pin_points():
                sub, Vc = self._component_space(comp)
                tol = 1e-8 * self.length_scale_mm

                def marker(x, point=point, tol=tol):
                    return np.all(np.abs(x[: self.gdim].T - point) < tol, axis=1)

                dofs = dolfinx.fem.locate_dofs_geometrical((sub, Vc), marker)
                n_found = self.comm.allreduce(len(dofs[0]), op=MPI.SUM)
                if n_found == 0:
                    raise RuntimeError(f"pin point {point} was not found among the dofs")
                self.pin_bcs.append(dolfinx.fem.dirichletbc(dolfinx.fem.Function(Vc), dofs, sub))
            self.bcs.extend(self.pin_bcs)

    def _add_inactive_pressure_bcs(self) -> None:
        """Hold p_r = 0 at the dofs that touch no cell of region r (they carry no equation).

        Activity is summed over ranks, so a dof on a partition boundary is active when any
        rank sees a region cell around it.
        """
        tdim = self.mesh.topology.dim
        for k, region in enumerate(self._region_order):
            sub = self.W.sub(1 + k)
            Vp, _ = sub.collapse()
            cells = self.cell_tags.find(self.regions[region])
            active = dolfinx.la.vector(Vp.dofmap.index_map, bs=1)
            active.array[:] = 0.0
            if len(cells):
                active.array[np.unique(Vp.dofmap.list[cells].ravel())] = 1.0
            active.scatter_reverse(dolfinx.la.InsertMode.add)
            active.scatter_forward()
            inactive = np.flatnonzero(active.array == 0.0).astype(np.int32)
            all_cells = np.arange(self.mesh.topology.index_map(tdim).size_local
                                  + self.mesh.topology.index_map(tdim).num_ghosts, dtype=np.int32)
            # Map collapsed-space dofs to the mixed space through the cell dofmaps.
            w_dofs = sub.dofmap.list[all_cells].ravel()
            c_dofs = Vp.dofmap.list[all_cells].ravel()
            c_to_w = np.empty(len(active.array), dtype=np.int32)
            c_to_w[c_dofs] = w_dofs
            dofs = [inactive, c_to_w[inactive]]
            zero = dolfinx.fem.Function(Vp)
            self.bcs.append(dolfinx.fem.dirichletbc(zero, [dofs[1], dofs[0]], sub))

    def _pin_points(self) -> list[tuple[np.ndarray, int]]:
        """Three mesh nodes and the tangential component to hold at each (see class doc)."""
        x = self.mesh.geometry.x[:, : self.gdim]
        n_owned = self.mesh.geometry.index_map().size_local
        x = x[:n_owned]
        pins = []
        for axis, sign, comp in ((0, 1.0, 1), (1, 1.0, 0), (0, -1.0, 1)):
            # Prefer nodes on the axis line (other in-plane coordinate ~ 0): there the held
            # component is the tangential one, so an axisymmetric state needs no translation.
            # Ties (e.g. a line of nodes along z) break toward the smallest |z|, then rank.
            if len(x):
                key = (sign * x[:, axis] - 4.0 * np.abs(x[:, 1 - axis])
                       - 1e-9 * np.abs(x[:, -1] if self.gdim == 3 else 0.0))
                i = int(np.argmax(key))
                local = (float(key[i]), self.comm.rank)
            else:
                i, local = -1, (-np.inf, self.comm.rank)
            _, owner = self.comm.allreduce(local, op=MPI.MAXLOC)
            point = self.comm.bcast(x[i].copy() if self.comm.rank == owner else None, root=owner)
            pins.append((point, comp))
        return pins

    @property
    def linear_solver(self) -> str:
        """The linear solver in use (``SolverOptions.linear_solver`` with ``"auto"`` resolved
        by the global number of unknowns)."""
        opts = self.options
        if opts.linear_solver != "auto":
            return opts.linear_solver
        im = self.W.dofmap.index_map
        dofs = im.size_global * self.W.dofmap.index_map_bs
        limit = opts.iterative_min_dofs
        if limit is None:
            limit = ITERATIVE_MIN_DOFS[self.gdim]
        return ITERATIVE_SOLVER[opts.formulation] if dofs >= limit else "mumps"

    def _reuse_iterations(self) -> int:
        """``preconditioner_reuse`` with -1 resolved from the problem size."""
        n = self.options.preconditioner_reuse
        if n >= 0:
            return n
        dofs = self.W.dofmap.index_map.size_global * self.W.dofmap.index_map_bs
        return solver.auto_reuse_iterations(dofs, self.gdim)

    def _petsc_options(self) -> dict:
        opts = self.options
        atol = opts.snes_atol * self.pressure_scale_MPa * self.length_scale_mm**2
        petsc_opts: dict = {
            "snes_type": "newtonls",
            "snes_linesearch_type": "basic",
            "snes_rtol": opts.snes_rtol,
            "snes_atol": atol,
            "snes_stol": opts.snes_stol,
            "snes_max_it": opts.snes_max_it,
            "snes_divergence_tolerance": 1e8,
        }
        if opts.preconditioner_reuse:
            # A linear solve that stops short of ksp_rtol (the kept preconditioner has aged)
            # still gives a descent direction; the next tangent rebuilds the preconditioner.
            petsc_opts["snes_max_linear_solve_fail"] = 10**6
        petsc_opts |= solver.linear_solver_options(
            self.linear_solver, opts.ksp_rtol,
            self._reuse_iterations() if opts.preconditioner_reuse else 0)
        petsc_opts |= dict(opts.petsc_options)
        return petsc_opts

    def _build_solver(self) -> None:
        self._solver_options = self._petsc_options()
        self._problem = dolfinx.fem.petsc.NonlinearProblem(
            self._residual,
            self.w,
            bcs=self.bcs,
            J=self._jacobian,
            petsc_options_prefix=self.prefix,
            petsc_options=self._solver_options,
        )
        # Terms added by hand after assembly (add_to_jacobian) may fall outside the forms'
        # sparsity.
        self._problem.A.setOption(PETSc.Mat.Option.NEW_NONZERO_ALLOCATION_ERR, False)
        A = P = self._problem.A
        self.pc_reuse = None
        if self.options.preconditioner_reuse:
            self.pc_reuse = solver.PreconditionerReuse(self._reuse_iterations())
            self._P = P = A.duplicate()
        if self.linear_solver == "gamg":
            self._nullspace = rigid_body_near_nullspace(self.W)
            A.setNearNullSpace(self._nullspace)
            P.setNearNullSpace(self._nullspace)
        elif self.linear_solver == "fieldsplit":
            self._fieldsplit = solver.setup_fieldsplit(self)
        self.assembly = solver.NewtonAssembly(self, self._problem.F, self._problem.J, self.bcs,
                                              self.pc_reuse)
        snes = self._problem.solver
        snes.setFunction(self.assembly.residual, self._problem.b)
        snes.setJacobian(self.assembly.jacobian, A, P)
        self.snes = self._problem.solver
        # A weak reference: PETSc keeps the callback alive from C, and a bound method would
        # keep the whole problem (meshes, matrices) alive with it after its last Python use.
        ref = weakref.WeakMethod(self._convergence_test)

        def convergence_test(snes, it, norms):
            method = ref()
            if method is None:
                return PETSc.SNES.ConvergedReason.DIVERGED_FUNCTION_DOMAIN
            return method(snes, it, norms)

        self.snes.setConvergenceTest(convergence_test)
        self._f0 = self._fprev = math.inf
        self._stagnated = False
        self._extra_terms: list = []

    def add_term(self, term) -> None:
        """Add a term assembled outside UFL (e.g. a cohesive interface,
        :class:`fem.needle.fracture.interface.CohesivePlane`).

        At every residual and tangent evaluation, at the current state ``self.w``,
        ``term.add_residual(b)`` adds its owned entries to ``b`` and ``term.add_jacobian(A)``
        adds to ``A`` (``ADD_VALUES``), both leaving the rows and columns of constrained dofs
        alone; they are called from :meth:`add_to_residual` and :meth:`add_to_jacobian`.
        """
        self._extra_terms.append(term)

    def add_to_residual(self, b: PETSc.Vec) -> None:
        """Hook for residual terms that are not UFL forms: add them to ``b`` (the local form,
        ghosts included: ghost entries are summed into their owners) at the state ``self.w``.
        Called after DOLFINx's assembly, before the Dirichlet rows are set. Default: the terms
        of :meth:`add_term`."""
        if self._extra_terms:
            self.w.x.scatter_forward()
            for term in self._extra_terms:
                term.add_residual(b)

    def add_to_jacobian(self, A: PETSc.Mat) -> None:
        """Hook for tangent terms that are not UFL forms: add them to ``A`` (``ADD_VALUES``;
        new nonzeros are allowed) at the state ``self.w``. Called after DOLFINx's assembly,
        which has set the rows and columns of Dirichlet dofs to the identity: leave those out
        (:attr:`dirichlet_dofs`). Default: the terms of :meth:`add_term`."""
        if self._extra_terms:
            self.w.x.scatter_forward()
            for term in self._extra_terms:
                term.add_jacobian(A)

    @property
    def dirichlet_dofs(self) -> np.ndarray:
        """Local indices (owned and ghost) of the dofs held by a Dirichlet condition."""
        return np.unique(np.concatenate([bc.dof_indices()[0] for bc in self.bcs]
                                        or [np.zeros(0, np.int32)]))

    def refresh_preconditioner(self) -> None:
        """Have the next tangent rebuild a kept preconditioner (``preconditioner_reuse``):
        after a change the kept one does not know of (a penalty change, a restored state)."""
        if getattr(self, "pc_reuse", None) is not None:
            self.pc_reuse.invalidate()

    def _convergence_test(self, snes, it: int, norms: tuple[float, float, float]) -> int:
        """PETSc's default residual tests plus the rounding-floor test (``stagnation_rtol``)."""
        R = PETSc.SNES.ConvergedReason
        xnorm, ynorm, fnorm = norms
        rtol, atol, stol, max_it = snes.getTolerances()
        if not math.isfinite(fnorm):
            return R.DIVERGED_FUNCTION_NANORINF
        if it == 0:
            self._f0 = self._fprev = fnorm
            self._stagnated = False
            return R.CONVERGED_FNORM_ABS if fnorm <= atol else R.ITERATING
        prev, self._fprev = self._fprev, fnorm
        if fnorm <= atol:
            return R.CONVERGED_FNORM_ABS
        if fnorm <= rtol * self._f0:
            return R.CONVERGED_FNORM_RELATIVE
        if stol > 0.0 and ynorm <= stol * xnorm:
            return R.CONVERGED_SNORM_RELATIVE
        floor = self.options.stagnation_rtol
        if floor > 0.0 and it >= 2 and fnorm <= floor * self._f0 and fnorm > 0.5 * prev:
            self._stagnated = True
            return R.CONVERGED_SNORM_RELATIVE
        if it >= max_it:
            return R.DIVERGED_MAX_IT
        if fnorm > snes.getDivergenceTolerance() * self._f0:
            return R.DIVERGED_DTOL
        return R.ITERATING

    # ------------------------------------------------------------------ state
    @property
    def displacement(self) -> dolfinx.fem.Function:
        """The displacement (mm) as a Function on its own (collapsed) space; a copy."""
        u = dolfinx.fem.Function(self.V, name="displacement_mm")
        u.x.array[:] = self.w.x.array[self._u_to_w]
        return u

    def _set_load(self, pressure_MPa: float, axial_stretch: float) -> None:
        self._p_load.value = pressure_MPa
        self._lambda_z.value = axial_stretch
        if self._axial_g is not None:
            z0 = self.axial_reference_z_mm
            self._axial_g.interpolate(lambda x: (axial_stretch - 1.0) * (x[2] - z0))
            # owners' values on the ghosts: then a state that holds them holds them on every
            # rank, and the residual skips their lifting (fem.solid.solver)
            self._axial_g.x.scatter_forward()

    def ramp(
        self, *, pressure_MPa: float | None = None, axial_stretch: float | None = None
    ) -> RampResult:
        """Move the load from the current state to the target in adaptive steps.

        Pressure and axial stretch move together, linearly in the load fraction. A failed
        Newton solve is not fatal: the last converged state is restored and the step shrunk.

        Args:
            pressure_MPa: target lumen pressure in MPa (None: keep the current one).
            axial_stretch: target axial stretch (None: keep the current one), in (0.5, 3].

        Returns:
            The ramp record; on failure the state stays at the last converged step, and
            ``pressure_MPa`` / ``axial_stretch`` of the problem say which load that is.
        """
        p0, l0 = self.pressure_MPa, self.axial_stretch
        p1 = p0 if pressure_MPa is None else float(pressure_MPa)
        l1 = l0 if axial_stretch is None else float(axial_stretch)
        check_range("pressure_MPa", p1, -1e4, 1e4, unit="MPa")
        check_range("axial_stretch", l1, 0.5, 3.0)
        opts = self.options
        result = RampResult(converged=False, target_pressure_MPa=p1, target_axial_stretch=l1,
                            reached_pressure_MPa=p0, reached_axial_stretch=l0,
                            reached_fraction=0.0)
        t, dt = 0.0, opts.initial_step
        failures_in_row = 0
        backup = self.w.x.array.copy()
        # Secant predictor: the last converged increment per unit load fraction, so the Newton
        # start of the next step is extrapolated along the load path (fewer iterations).
        rate: np.ndarray | None = None
        while t < 1.0 - 1e-12:
            if len(result.steps) >= opts.max_steps:
                result.failure = self._failure("max_steps", result, t)
                break
            dt = min(dt, opts.max_step, 1.0 - t)
            t_try = t + dt
            p, lam = p0 + t_try * (p1 - p0), l0 + t_try * (l1 - l0)
            if opts.predictor and rate is not None:
                self.w.x.array[:] = backup + dt * rate
                self.w.x.scatter_forward()
            record = self._solve_once(len(result.steps), t_try, p, lam)
            result.steps.append(record)
            self.history.append(record)
            if record.converged:
                rate = (self.w.x.array - backup) / dt
                t, failures_in_row = t_try, 0
                backup[:] = self.w.x.array
                self.pressure_MPa, self.axial_stretch = p, lam
                if record.newton_iterations <= opts.easy_iterations:
                    dt *= opts.grow_factor
                continue
            # Failed solve: back to the last converged state, smaller step.
            self.w.x.array[:] = backup
            self.w.x.scatter_forward()
            failures_in_row += 1
            dt *= opts.shrink_factor
            too_small = dt < opts.min_step * (1.0 - 1e-12)
            if too_small or failures_in_row > opts.max_consecutive_failures:
                why = "min_step" if too_small else "max_consecutive_failures"
                result.failure = self._failure(why, result, t)
                break
        self._set_load(self.pressure_MPa, self.axial_stretch)
        result.reached_fraction = t
        result.reached_pressure_MPa = self.pressure_MPa
        result.reached_axial_stretch = self.axial_stretch
        result.converged = result.failure is None
        return result

    def _failure(self, why: str, result: RampResult, t: float) -> FailureRecord:
        last = result.steps[-1]
        return FailureRecord(
            reason=why, snes_reason=last.snes_reason, snes_reason_name=last.snes_reason_name,
            step=last.step, load_fraction=last.load_fraction, last_converged_fraction=t,
            pressure_MPa=last.pressure_MPa, residual_norm=last.residual_norm,
        )

    def _solve_once(self, step: int, t: float, pressure: float, stretch: float) -> StepRecord:
        self._set_load(pressure, stretch)
        tic = time.perf_counter()
        try:
            with solver.options_scope(self.prefix, self._solver_options):
                self._problem.solve()
            reason = int(self.snes.getConvergedReason())
        except PETSc.Error:  # e.g. a factorisation error inside the solve: a failure, as data
            reason = int(PETSc.SNES.ConvergedReason.DIVERGED_LINEAR_SOLVE)
        wall = self.comm.allreduce(time.perf_counter() - tic, op=MPI.MAX)
        fnorm = float(self.snes.getFunctionNorm())
        finite = self.comm.allreduce(bool(np.all(np.isfinite(self.w.x.array))), op=MPI.LAND)
        converged = reason > 0 and finite and math.isfinite(fnorm)
        return StepRecord(
            step=step, load_fraction=t, pressure_MPa=pressure, axial_stretch=stretch,
            converged=converged, snes_reason=reason,
            snes_reason_name=("CONVERGED_ROUNDING_FLOOR" if reason > 0 and self._stagnated
                              else self._reason_names.get(reason, str(reason))),
            newton_iterations=int(self.snes.getIterationNumber()),
            linear_iterations=int(self.snes.getLinearSolveIterations()),
            residual_norm=fnorm, wall_time_s=wall,
        )

    # ------------------------------------------------------------------ observables
    def mean_radial_displacement(self, boundary: str, axis_origin_mm=(0.0, 0.0)) -> float:
        """Mean of ``u . e_R`` (mm) over a reference boundary, about the z axis.

        ``R + mean_radial_displacement`` is the deformed radius of a circular boundary under
        axisymmetric deformation (e.g. the lumen or channel radius).
        """
        u, _ = self.kinematics()
        X = ufl.SpatialCoordinate(self.mesh)
        dX = ufl.as_vector([X[0] - axis_origin_mm[0], X[1] - axis_origin_mm[1]])
        e_r = dX / ufl.sqrt(ufl.dot(dX, dX))
        ds = self.ds(self.boundaries[boundary])
        num = dolfinx.fem.form(ufl.dot(ufl.as_vector([u[0], u[1]]), e_r) * ds)
        den = dolfinx.fem.form(1.0 * ds)
        a = self.comm.allreduce(dolfinx.fem.assemble_scalar(num), op=MPI.SUM)
        b = self.comm.allreduce(dolfinx.fem.assemble_scalar(den), op=MPI.SUM)
        return float(a / b)
