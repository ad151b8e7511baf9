"""Newton's linear algebra (fem/solid/solver.py): the assembly callbacks, the hooks for terms
assembled by hand, the u-p Schur fieldsplit and preconditioner reuse.

Each solver option must give the answer of the direct solve; the residual must be DOLFINx's
(lifting skipped only where it adds exactly zero).
"""

from __future__ import annotations

import hpc.stack  # noqa: F401  (orders MPI before DOLFINx; keep first)

import dolfinx
import dolfinx.fem.petsc
import numpy as np
import pytest
from mpi4py import MPI
from petsc4py import PETSc

from fem.solid.hyperelastic import DisplacementBC, HyperelasticProblem, SolverOptions
from fem.solid.materials import NearlyIncompressibleNeoHookean, calcium
from tests.tube_meshes import quarter_tube

RADII = (2.5, 3.0, 3.6)
SYMMETRY = (DisplacementBC("sym_x", 0), DisplacementBC("sym_y", 1))
P_MPA = 2e-3


def _materials(calcium_MPa=2.0e4):
    return {"layer0": calcium(calcium_MPa, 0.3),
            "layer1": NearlyIncompressibleNeoHookean(0.1, 5.0)}


def _tube(comm, options, *, dim=2, cls=HyperelasticProblem, calcium_MPa=2.0e4, **kw):
    if dim == 2:
        tm = quarter_tube(comm, RADII, 0.15, order=2)
        extra = {}
    else:
        tm = quarter_tube(comm, RADII, 0.35, dim=3, length_mm=0.7, order=1)
        extra = {"axial_ends": ("end_proximal", "end_distal")}
    return cls(tm.mesh, tm.cell_tags, tm.facet_tags, regions=tm.regions,
               boundaries=tm.boundaries, materials=_materials(calcium_MPa),
               pressure_boundaries=("inner",), displacement_bcs=SYMMETRY,
               options=options, **extra, **kw)


def _dolfinx_residual(problem, x: PETSc.Vec) -> PETSc.Vec:
    b = problem._problem.b.duplicate()
    dolfinx.fem.petsc.assemble_residual(None, x, b, problem.w, problem._problem.F,
                                        problem._problem.J, problem.bcs)
    return b


@pytest.mark.mpi
def test_residual_is_dolfinx_residual(comm):
    """Our residual callback equals DOLFINx's (which lifts every condition at every call) to
    the bit, at a state that violates the axial-end conditions (then the lifting runs) and at
    one that holds them (then it is skipped)."""
    problem = _tube(comm, SolverOptions(), dim=3)
    problem._set_load(P_MPA, 1.05)  # axial ends move: the state violates them
    rng = np.random.default_rng(comm.rank)
    problem.w.x.array[:] = 1e-3 * rng.standard_normal(problem.w.x.array.size)
    problem.w.x.scatter_forward()
    x = problem._problem.x
    dolfinx.fem.petsc.assign(problem.w, x)
    for holds in (False, True):
        if holds:  # put the condition values into the state, as after a Newton step
            dolfinx.fem.petsc.set_bc(x, problem.bcs)
            x.ghostUpdate(PETSc.InsertMode.INSERT, PETSc.ScatterMode.FORWARD)
        lifts = problem.assembly.liftings
        ours = problem._problem.b.duplicate()
        problem.assembly.residual(None, x, ours)
        ref = _dolfinx_residual(problem, x)
        assert np.array_equal(ours.array, ref.array)
        assert (problem.assembly.liftings > lifts) == (not holds)


class _Foundation(HyperelasticProblem):
    """An elastic foundation ``k u`` on every free displacement dof, assembled by hand."""

    k = 0.05

    def _free(self):
        n = self.W.dofmap.index_map.size_local + self.W.dofmap.index_map.num_ghosts
        free = np.ones(n, dtype=bool)
        free[self.dirichlet_dofs] = False
        u = np.zeros(n, dtype=bool)
        u[self._u_to_w] = True
        return np.flatnonzero(free & u).astype(np.int32)

    def add_to_residual(self, b):
        dofs = self._free()
        with b.localForm() as local:
            # ghost entries are summed into their owners: add each dof once, where owned
            owned = dofs[dofs < self.W.dofmap.index_map.size_local]
            local.array[owned] += self.k * self.w.x.array[owned]

    def add_to_jacobian(self, A):
        dofs = self._free()
        owned = dofs[dofs < self.W.dofmap.index_map.size_local]
        rows = self.W.dofmap.index_map.local_to_global(owned).astype(PETSc.IntType)
        for r in rows:
            A.setValue(r, r, self.k, addv=PETSc.InsertMode.ADD)


@pytest.mark.mpi
def test_hooks_add_hand_assembled_terms(comm):
    """Terms added by the hooks enter residual and tangent: with a foundation ``k u`` the
    residual changes by ``k u`` at the free dofs and nothing at the Dirichlet dofs, Newton
    still converges quadratically (consistent tangent), and the wall moves less."""
    plain = _tube(comm, SolverOptions(initial_step=1.0))
    held = _tube(comm, SolverOptions(initial_step=1.0), cls=_Foundation)
    rng = np.random.default_rng(3)
    for p in (plain, held):
        p.w.x.array[:] = 1e-4 * rng.standard_normal(p.w.x.array.size)
    held.w.x.array[:] = plain.w.x.array
    for p in (plain, held):
        p.w.x.scatter_forward()
        dolfinx.fem.petsc.assign(p.w, p._problem.x)
        dolfinx.fem.petsc.set_bc(p._problem.x, p.bcs)
    b0, b1 = plain._problem.b.duplicate(), held._problem.b.duplicate()
    plain.assembly.residual(None, plain._problem.x, b0)
    held.assembly.residual(None, held._problem.x, b1)
    diff = b1.array - b0.array
    n = held.W.dofmap.index_map.size_local
    free = held._free()
    free = free[free < n]
    tol = 1e-10 * comm.allreduce(float(np.abs(b0.array).max(initial=0.0)), op=MPI.MAX)
    assert np.allclose(diff[free], held.k * held.w.x.array[free], rtol=0.0, atol=tol)
    others = np.setdiff1d(np.arange(n), free)
    assert np.allclose(diff[others], 0.0, rtol=0.0, atol=tol)
    radii = {}
    for name, p in (("plain", plain), ("held", held)):
        p.w.x.array[:] = 0.0
        result = p.ramp(pressure_MPa=P_MPA)
        assert result.converged, result.failure
        assert result.steps[-1].newton_iterations <= 6
        radii[name] = p.mean_radial_displacement("inner")
    assert 0.0 < radii["held"] < radii["plain"]


@pytest.mark.mpi
@pytest.mark.parametrize("dim", [2, 3])
def test_fieldsplit_matches_mumps(comm, dim, verification):
    """The u-p Schur fieldsplit (AMG with the rigid-body near-nullspace on u, weighted pressure
    mass matrix on the Schur complement) gives the MUMPS answer next to 20 GPa calcium, with
    the same Newton iterations, and really iterates."""
    out = {}
    for solver in ("mumps", "fieldsplit"):
        p = _tube(comm, SolverOptions(linear_solver=solver, initial_step=1.0), dim=dim)
        assert p.linear_solver == solver
        result = p.ramp(pressure_MPa=P_MPA)
        assert result.converged, result.failure
        out[solver] = (p.mean_radial_displacement("inner"), result.steps[-1].newton_iterations,
                       result.steps[-1].linear_iterations)
    verification.record(solver="fem.solid.solver",
                        name=f"u-p Schur fieldsplit vs MUMPS ({dim}-D tube, 20 GPa calcium)",
                        reference="direct solve (MUMPS)", expected=out["mumps"][0],
                        computed=out["fieldsplit"][0],
                        error=out["fieldsplit"][0] / out["mumps"][0] - 1.0, tolerance=1e-7)
    assert out["fieldsplit"][0] == pytest.approx(out["mumps"][0], rel=1e-7)
    assert out["fieldsplit"][1] == out["mumps"][1]
    newton = out["fieldsplit"][1]
    assert newton < out["fieldsplit"][2] < 300 * newton


def test_auto_picks_by_size(comm):
    small = _tube(comm, SolverOptions(linear_solver="auto", iterative_min_dofs=10**7))
    large = _tube(comm, SolverOptions(linear_solver="auto", iterative_min_dofs=10))
    assert (small.linear_solver, large.linear_solver) == ("mumps", "fieldsplit")
    disp = SolverOptions(formulation="displacement", displacement_degree=1,
                         linear_solver="auto", iterative_min_dofs=10)
    assert disp.linear_solver == "auto"
    with pytest.raises(ValueError, match="linear_solver"):
        SolverOptions(linear_solver="gamg")  # mixed: fieldsplit, not gamg
    with pytest.raises(ValueError, match="linear_solver"):
        SolverOptions(formulation="displacement", linear_solver="fieldsplit")
    with pytest.raises(ValueError, match="preconditioner_reuse"):
        SolverOptions(preconditioner_reuse=-2)


def test_auto_reuse_grows_with_the_factorisation_cost():
    from fem.solid.solver import auto_reuse_iterations

    assert auto_reuse_iterations(11_500, 3) == 8
    assert auto_reuse_iterations(1_000, 3) == 5  # at least a few iterations
    assert 8 < auto_reuse_iterations(41_000, 3) < 60
    assert auto_reuse_iterations(10**8, 3) == 60
    assert auto_reuse_iterations(65_000, 2) == 5


@pytest.mark.mpi
def test_preconditioner_reuse_same_answer(comm, verification):
    """With the LU factors kept across Newton iterations and load steps (GMRES on the current
    tangent), the ramp ends at the answer of a fresh factorisation per iteration, with fewer
    factorisations than Newton iterations."""
    out = {}
    for reuse in (0, 20, -1):
        # 100 MPa calcium: next to 20 GPa the residual's rounding floor is near snes_atol
        p = _tube(comm, SolverOptions(preconditioner_reuse=reuse, initial_step=0.25),
                  calcium_MPa=100.0)
        result = p.ramp(pressure_MPa=20 * P_MPA)
        assert result.converged, result.failure
        newton = sum(s.newton_iterations for s in result.steps)
        out[reuse] = (p.mean_radial_displacement("inner"), newton,
                      p.pc_reuse.rebuilds if p.pc_reuse else newton)
    verification.record(solver="fem.solid.solver",
                        name="preconditioner reuse vs fresh LU: tube inner displacement",
                        reference="LU at every Newton iteration", expected=out[0][0],
                        computed=out[20][0], error=out[20][0] / out[0][0] - 1.0, tolerance=1e-8)
    for n in (20, -1):
        assert out[n][0] == pytest.approx(out[0][0], rel=1e-8)
        assert out[n][2] < out[n][1]


def test_problem_with_reuse_is_freed():
    """The callbacks hold the problem weakly: a problem with a kept preconditioner is freed."""
    import gc
    import weakref

    p = _tube(MPI.COMM_SELF, SolverOptions(preconditioner_reuse=5))
    ref = weakref.ref(p)
    del p
    gc.collect()
    assert ref() is None
