"""The plain-DOLFINx baselines: what the library does with no toolkit code in the way.

Written from DOLFINx's own demos and API only (nothing from ``fem/`` or ``meshes/`` except
the disc mesh builder, so that the Hertz baseline runs on exactly our mesh). Each function
solves one problem at one size and returns a flat record (see :mod:`hpc.benchmarks.measure`).

* :func:`elasticity_box`: linear elasticity on the unit cube (tetrahedra, clamped at x = 0,
  body force), CG + GAMG with the rigid-body near-nullspace, ``ksp_rtol`` 1e-8: the solver
  options of DOLFINx's elasticity demo (``demo_elasticity.py``).
* :func:`neohookean_box`: compressible neo-Hookean unit square (plane strain) or cube,
  stretched 20 % by its end in load steps, Newton with PETSc SNES; the linear solver is
  chosen to match the problem it is compared with (MUMPS LU for the balloon section).
* :func:`hertz_penalty`: a rigid sphere pressed into an axisymmetric block with a plain
  penalty term, Newton with SNES and CG + GAMG, the force compared with Hertz.
"""

from __future__ import annotations

import contextlib
import math
from itertools import count

import hpc.stack  # noqa: F401  (orders MPI before DOLFINx; keep first)

import basix.ufl
import dolfinx
import dolfinx.fem.petsc
import numpy as np
import ufl
from dolfinx import fem, mesh
from mpi4py import MPI
from petsc4py import PETSc

from hpc.benchmarks.probe import EventClock, Stopwatch, peak_rss_mb

_IDS = count()

#: DOLFINx elasticity demo: CG + smoothed aggregation, Chebyshev/Jacobi smoothing.
GAMG_OPTIONS = {
    "ksp_type": "cg",
    "ksp_rtol": 1.0e-8,
    "pc_type": "gamg",
    "pc_gamg_type": "agg",
    "pc_gamg_coarse_eq_limit": 1000,
    "mg_levels_ksp_type": "chebyshev",
    "mg_levels_pc_type": "jacobi",
}
MUMPS_OPTIONS = {"ksp_type": "preonly", "pc_type": "lu", "pc_factor_mat_solver_type": "mumps"}


def _prefix(name: str) -> str:
    return f"bench_{name}_{next(_IDS)}_"


@contextlib.contextmanager
def _options(ksp: PETSc.KSP, prefix: str, options: dict):
    """``options`` under ``prefix`` for ``ksp`` while the block runs (the multigrid levels
    read theirs at set-up), then removed from the global database."""
    opts = PETSc.Options()
    for k, v in options.items():
        opts[f"{prefix}{k}"] = v
    ksp.setOptionsPrefix(prefix)
    ksp.setFromOptions()
    try:
        yield
    finally:
        for k in options:
            del opts[f"{prefix}{k}"]


def rigid_body_modes(V: fem.FunctionSpace) -> PETSc.NullSpace:
    """Translations and rotations of a blocked vector space (2-D: 3, 3-D: 6), orthonormal."""
    gdim = V.mesh.geometry.dim
    imap, bs = V.dofmap.index_map, V.dofmap.index_map_bs
    n_modes = 3 if gdim == 2 else 6
    basis = [dolfinx.la.vector(imap, bs=bs, dtype=PETSc.ScalarType) for _ in range(n_modes)]
    n = imap.size_local
    x = V.tabulate_dof_coordinates()[:n]
    b = [v.array for v in basis]
    for i in range(gdim):
        b[i][i : n * bs : bs] = 1.0
    if gdim == 2:
        b[2][0 : n * bs : bs], b[2][1 : n * bs : bs] = -x[:, 1], x[:, 0]
    else:
        b[3][0 : n * bs : bs], b[3][1 : n * bs : bs] = -x[:, 1], x[:, 0]
        b[4][0 : n * bs : bs], b[4][2 : n * bs : bs] = x[:, 2], -x[:, 0]
        b[5][2 : n * bs : bs], b[5][1 : n * bs : bs] = x[:, 1], -x[:, 2]
    dolfinx.la.orthonormalize(basis)
    return PETSc.NullSpace().create(
        vectors=[dolfinx.la.petsc.create_vector_wrap(v) for v in basis], comm=V.mesh.comm)


def cube_cells_for(target_dofs: int, degree: int, gdim: int) -> int:
    """Cells per side of the unit box whose vector Lagrange space has about ``target_dofs``."""
    nodes_per_side = (target_dofs / gdim) ** (1.0 / gdim)
    return max(1, round((nodes_per_side - 1.0) / degree))


def elasticity_box(comm: MPI.Comm, target_dofs: int, *, degree: int = 1,
                   repeats: int = 2) -> dict:
    """One linear-elastic solve on the unit cube at about ``target_dofs`` DOFs.

    Assembly (matrix and right-hand side, into a matrix created beforehand, as a Newton
    Jacobian would be), GAMG set-up and CG are timed separately; each repeat builds a fresh
    KSP so the hierarchy is set up again; the fastest repeat is reported.
    """
    n = cube_cells_for(target_dofs, degree, 3)
    msh = mesh.create_box(comm, [[0.0, 0.0, 0.0], [1.0, 1.0, 1.0]], [n, n, n],
                          mesh.CellType.tetrahedron)
    V = fem.functionspace(msh, ("Lagrange", degree, (3,)))
    E, nu = 1.0, 0.3
    mu, lmbda = E / (2 * (1 + nu)), E * nu / ((1 + nu) * (1 - 2 * nu))
    u, v = ufl.TrialFunction(V), ufl.TestFunction(V)

    def sigma(w):
        eps = ufl.sym(ufl.grad(w))
        return 2.0 * mu * eps + lmbda * ufl.tr(eps) * ufl.Identity(3)

    a = fem.form(ufl.inner(sigma(u), ufl.sym(ufl.grad(v))) * ufl.dx)
    L = fem.form(ufl.dot(fem.Constant(msh, np.array([0.0, 0.0, -1.0])), v) * ufl.dx)
    facets = mesh.locate_entities_boundary(msh, 2, lambda x: np.isclose(x[0], 0.0))
    bc = fem.dirichletbc(np.zeros(3), fem.locate_dofs_topological(V, 2, facets), V)
    A = dolfinx.fem.petsc.create_matrix(a)
    b = dolfinx.fem.petsc.create_vector(V)
    ns = rigid_body_modes(V)
    uh = fem.Function(V)
    best = None
    for _ in range(repeats):
        with Stopwatch(comm) as t_asm:
            A.zeroEntries()
            dolfinx.fem.petsc.assemble_matrix(A, a, bcs=[bc])
            A.assemble()
            with b.localForm() as loc:
                loc.set(0.0)
            dolfinx.fem.petsc.assemble_vector(b, L)
            dolfinx.fem.petsc.apply_lifting(b, [a], bcs=[[bc]])
            b.ghostUpdate(addv=PETSc.InsertMode.ADD, mode=PETSc.ScatterMode.REVERSE)
            dolfinx.fem.petsc.set_bc(b, [bc])
        A.setNearNullSpace(ns)
        ksp = PETSc.KSP().create(comm)
        ksp.setOperators(A)
        with _options(ksp, _prefix("elasticity"), GAMG_OPTIONS), Stopwatch(comm) as t_pc:
            ksp.setUp()
        uh.x.array[:] = 0.0
        with Stopwatch(comm) as t_kr:
            ksp.solve(b, uh.x.petsc_vec)
        reason, its = ksp.getConvergedReason(), ksp.getIterationNumber()
        ksp.destroy()
        total = t_asm.s + t_pc.s + t_kr.s
        if best is None or total < best["time_s"]:
            best = {"time_s": total, "assembly_s": t_asm.s, "pc_setup_s": t_pc.s,
                    "krylov_s": t_kr.s, "krylov_iterations": int(its),
                    "converged": bool(reason > 0)}
    dofs = V.dofmap.index_map.size_global * V.dofmap.index_map_bs
    return {"dofs": int(dofs), "cells": msh.topology.index_map(3).size_global, "degree": degree,
            "contact_s": 0.0, "newton_iterations": 0, "peak_rss_mb": peak_rss_mb(comm), **best}


def neohookean_box(comm: MPI.Comm, target_dofs: int, *, gdim: int = 2, degree: int = 2,
                   solver: str = "mumps", load_steps: int = 3, stretch: float = 1.2) -> dict:
    """Compressible neo-Hookean box (plane strain in 2-D) pulled to ``stretch``, with SNES.

    ``Psi = mu/2 (I1 - 3 - 2 ln J) + lambda/2 (ln J)^2`` (E = 1, nu = 0.3); the face x = 0 is
    clamped, the face x = 1 moved to x = ``stretch`` in ``load_steps`` equal steps, each one
    Newton solve (``newtonls``, basic line search, rtol 1e-9).
    """
    n = cube_cells_for(target_dofs, degree, gdim)
    if gdim == 2:
        msh = mesh.create_unit_square(comm, n, n, mesh.CellType.triangle)
    else:
        msh = mesh.create_unit_cube(comm, n, n, n, mesh.CellType.tetrahedron)
    el = basix.ufl.element("Lagrange", msh.basix_cell(), degree, shape=(gdim,))
    V = fem.functionspace(msh, el)
    u, v = fem.Function(V), ufl.TestFunction(V)
    E, nu = 1.0, 0.3
    mu, lmbda = E / (2 * (1 + nu)), E * nu / ((1 + nu) * (1 - 2 * nu))
    F = ufl.Identity(gdim) + ufl.grad(u)
    J = ufl.det(F)
    I1 = ufl.tr(F.T * F) + (1.0 if gdim == 2 else 0.0)  # plane strain: F33 = 1
    psi = 0.5 * mu * (I1 - 3.0 - 2.0 * ufl.ln(J)) + 0.5 * lmbda * ufl.ln(J) ** 2
    residual = ufl.derivative(psi * ufl.dx, u, v)
    fdim = gdim - 1
    left = mesh.locate_entities_boundary(msh, fdim, lambda x: np.isclose(x[0], 0.0))
    right = mesh.locate_entities_boundary(msh, fdim, lambda x: np.isclose(x[0], 1.0))
    pull = fem.Function(V)
    bcs = [fem.dirichletbc(np.zeros(gdim), fem.locate_dofs_topological(V, fdim, left), V),
           fem.dirichletbc(pull, fem.locate_dofs_topological(V, fdim, right))]
    options = {"snes_type": "newtonls", "snes_linesearch_type": "basic", "snes_rtol": 1e-9,
               "snes_atol": 1e-12, "snes_max_it": 25}
    options |= MUMPS_OPTIONS if solver == "mumps" else GAMG_OPTIONS
    problem = dolfinx.fem.petsc.NonlinearProblem(
        residual, u, bcs=bcs, petsc_options_prefix=_prefix("neohookean"),
        petsc_options=options)
    if solver == "gamg":
        problem.A.setNearNullSpace(rigid_body_modes(V))
    snes = problem.solver
    clock = EventClock(comm)
    newton = krylov_its = 0
    converged = True
    with Stopwatch(comm) as wall:
        for k in range(1, load_steps + 1):
            shift = (stretch - 1.0) * k / load_steps
            pull.interpolate(lambda x, s=shift: np.vstack([np.full(x.shape[1], s)]
                                                          + [np.zeros(x.shape[1])] * (gdim - 1)))
            problem.solve()
            converged &= snes.getConvergedReason() > 0
            newton += snes.getIterationNumber()
            krylov_its += snes.getLinearSolveIterations()
    split = clock.split()
    dofs = V.dofmap.index_map.size_global * V.dofmap.index_map_bs
    return {"dofs": int(dofs), "cells": msh.topology.index_map(gdim).size_global,
            "degree": degree, "time_s": split.snes_s, "wall_s": wall.s,
            "assembly_s": split.assembly_s, "pc_setup_s": split.pc_setup_s,
            "krylov_s": split.krylov_s, "contact_s": 0.0, "newton_iterations": int(newton),
            "krylov_iterations": int(krylov_its), "load_steps": load_steps,
            "time_per_newton_step_s": split.snes_s / max(newton, 1),
            "converged": bool(converged), "peak_rss_mb": peak_rss_mb(comm)}


def hertz_penalty(comm: MPI.Comm, fine_mm: float, *, depth_mm: float, sphere_radius_mm: float,
                  young_MPa: float = 1.0, poisson: float = 0.3, penalty_factor: float = 10.0,
                  load_steps: int = 2, block_mm: float = 15.0) -> dict:
    """A rigid sphere pressed ``depth_mm`` into an axisymmetric block, plain penalty, SNES.

    Same mesh as our contact benchmark (:func:`meshes.disc.load_layered_disc`, one layer),
    same P2 displacement, same compressible neo-Hookean and the same penalty stiffness rule
    ``eps = penalty_factor * 3 mu / h`` (h: smallest top-face facet), but a plain penalty
    energy ``eps/2 <-g>_+^2`` with ``g = |x - c| - R`` the exact gap to the sphere (centre
    ``c = (0, R - d)``) and a Krylov solver (CG + GAMG, rtol 1e-8) inside Newton.
    """
    from meshes.disc import load_layered_disc

    spec = disc_spec(fine_mm, sphere_radius_mm, block_mm)
    dm = load_layered_disc(spec, comm)
    msh = dm.mesh
    V = fem.functionspace(msh, ("Lagrange", 2, (2,)))
    u, v = fem.Function(V), ufl.TestFunction(V)
    mu = young_MPa / (2 * (1 + poisson))
    lmbda = young_MPa * poisson / ((1 + poisson) * (1 - 2 * poisson))
    X = ufl.SpatialCoordinate(msh)
    r = X[0]
    g2 = ufl.grad(u)
    F = ufl.as_matrix([[1 + g2[0, 0], g2[0, 1], 0], [g2[1, 0], 1 + g2[1, 1], 0],
                       [0, 0, 1 + u[0] / r]])
    J = ufl.det(F)
    psi = 0.5 * mu * (ufl.tr(F.T * F) - 3.0 - 2.0 * ufl.ln(J)) + 0.5 * lmbda * ufl.ln(J) ** 2
    top = dm.boundaries["contact_surface"]
    ds = ufl.Measure("ds", domain=msh, subdomain_data=dm.facet_tags,
                     metadata={"quadrature_degree": 6})
    dx = ufl.Measure("dx", domain=msh, metadata={"quadrature_degree": 4})
    h = _min_facet_length(msh, dm.facet_tags.find(top))
    eps = penalty_factor * 3.0 * mu / h
    d = fem.Constant(msh, 0.0)
    x = X + u
    centre = ufl.as_vector([0.0, sphere_radius_mm - d])
    dist = ufl.sqrt(ufl.dot(x - centre, x - centre))
    gap = dist - sphere_radius_mm
    pen = ufl.max_value(-gap, 0.0)
    weight = 2.0 * math.pi * r
    energy = psi * weight * dx + 0.5 * eps * pen**2 * weight * ds(top)
    residual = ufl.derivative(energy, u, v)
    fdim = 1
    axis = dm.facet_tags.find(dm.boundaries["axis"])
    bottom = dm.facet_tags.find(dm.boundaries["far_surface"])
    V0, V1 = V.sub(0), V.sub(1)
    bcs = [fem.dirichletbc(0.0, fem.locate_dofs_topological(V0, fdim, axis), V0),
           fem.dirichletbc(0.0, fem.locate_dofs_topological(V1, fdim, bottom), V1)]
    options = {"snes_type": "newtonls", "snes_linesearch_type": "basic", "snes_rtol": 1e-9,
               "snes_atol": 1e-14, "snes_max_it": 30} | GAMG_OPTIONS
    problem = dolfinx.fem.petsc.NonlinearProblem(
        residual, u, bcs=bcs, petsc_options_prefix=_prefix("hertz"), petsc_options=options)
    problem.A.setNearNullSpace(rigid_body_modes(V))
    snes = problem.solver
    # Force on the sphere: dPi/dd = int eps <-g>_+ (-dg/dd) = -int eps <-g>_+ n_z, n = (x-c)/|x-c|
    force_form = fem.form(-eps * pen * (x[1] - centre[1]) / dist * weight * ds(top))
    clock = EventClock(comm)
    newton = krylov_its = 0
    converged = True
    with Stopwatch(comm) as wall:
        for k in range(1, load_steps + 1):
            d.value = depth_mm * k / load_steps
            problem.solve()
            converged &= snes.getConvergedReason() > 0
            newton += snes.getIterationNumber()
            krylov_its += snes.getLinearSolveIterations()
    split = clock.split()
    force = comm.allreduce(fem.assemble_scalar(force_form), op=MPI.SUM)
    dofs = V.dofmap.index_map.size_global * V.dofmap.index_map_bs
    return {"dofs": int(dofs), "cells": msh.topology.index_map(2).size_global, "degree": 2,
            "fine_mm": fine_mm, "time_s": wall.s, "assembly_s": split.assembly_s,
            "pc_setup_s": split.pc_setup_s, "krylov_s": split.krylov_s, "contact_s": 0.0,
            "newton_iterations": int(newton), "krylov_iterations": int(krylov_its),
            "force_N": float(force),
            "hertz_force_N": hertz_force(young_MPa, poisson, sphere_radius_mm, depth_mm),
            "penalty_MPa_per_mm": eps, "converged": bool(converged),
            "peak_rss_mb": peak_rss_mb(comm)}


def disc_spec(fine_mm: float, sphere_radius_mm: float, block_mm: float):
    """The block of the Hertz benchmarks: radius = height = ``block_mm``, fine under the tip."""
    from meshes.disc import LayeredDiscSpec

    return LayeredDiscSpec(layers=(("block", block_mm),), radius_mm=block_mm,
                           fine_size_mm=fine_mm, fine_radius_mm=0.4 * sphere_radius_mm,
                           coarse_size_mm=block_mm / 10.0, coarse_radius_mm=block_mm)


def hertz_force(young_MPa: float, poisson: float, sphere_radius_mm: float,
                depth_mm: float) -> float:
    """Hertz: ``F = 4/3 E* sqrt(R) d^(3/2)``, ``E* = E / (1 - nu^2)`` (N)."""
    e_star = young_MPa / (1.0 - poisson**2)
    return 4.0 / 3.0 * e_star * math.sqrt(sphere_radius_mm) * depth_mm**1.5


def _min_facet_length(msh, facets) -> float:
    local = math.inf
    if len(facets):
        geom = dolfinx.mesh.entities_to_geometry(msh, 1, facets)
        x = msh.geometry.x
        local = float(np.linalg.norm(x[geom[:, 0]] - x[geom[:, 1]], axis=1).min())
    return msh.comm.allreduce(local, op=MPI.MIN)
