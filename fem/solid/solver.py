"""Newton's linear algebra for the solid problems: assembly callbacks, linear solvers, reuse.

Used by :class:`fem.solid.hyperelastic.HyperelasticProblem` (and so by its subclasses, the
needle contact problems); nothing here knows the mechanics.

Assembly (:class:`NewtonAssembly`)
----------------------------------
The residual and tangent are assembled as DOLFINx's ``NonlinearProblem`` does, with two
differences:

* **Lifting only where it acts.** The residual at a state ``x`` is ``F(x)`` with the rows of
  Dirichlet dofs replaced by ``x - g``, and, for every condition whose value ``g`` differs from
  the state at its dofs, the lifting ``- J (g - x)`` (the Newton step then moves those dofs to
  ``g`` and the rest of the body consistently). A condition whose dofs already hold their
  values lifts exactly zero; its lifting, which computes the element tangent of every cell
  touching its dofs, is skipped. After the first Newton iteration of a load step that holds
  for all of them, and the region-wise pressure fields' "inactive" conditions (which touch
  every cell outside their region) hold from the start: the residual is then as cheap as its
  assembly. The result is the same to the bit.
* **Extra contributions.** :meth:`HyperelasticProblem.add_to_residual` and
  :meth:`~HyperelasticProblem.add_to_jacobian` are called after DOLFINx's assembly and before
  the Dirichlet rows are set (residual) or the matrix is assembled (tangent), for terms that
  are not UFL forms (e.g. a cohesive interface assembled by hand). The matrix accepts
  nonzeros outside the forms' sparsity (``MAT_NEW_NONZERO_ALLOCATION_ERR`` off).

Linear solvers (``SolverOptions.linear_solver``)
------------------------------------------------
* ``"mumps"``: LU with pivoting (any formulation).
* ``"gamg"`` (displacement formulation): GMRES + smoothed-aggregation AMG with the rigid-body
  near-nullspace, weak couplings dropped before aggregation (``pc_gamg_threshold``), which
  keeps the iterations flat across a stiff inclusion (calcium).
* ``"fieldsplit"`` (mixed u-p formulation): FGMRES + a Schur-complement fieldsplit: the
  displacement block by AMG with the rigid-body near-nullspace (on the displacement
  sub-block), the Schur complement by the pressure mass matrix weighted region by region with
  ``1 / mu_r + 1 / K_r`` (:func:`pressure_schur_form`), Jacobi on it.
* ``"auto"``: ``"mumps"`` below ``SolverOptions.iterative_min_dofs`` unknowns, else the
  iterative solver of the formulation.

PETSc's pip wheel has no hypre; the AMG is GAMG whatever the install.

Preconditioner reuse (``SolverOptions.preconditioner_reuse`` = N > 0): the tangent is
assembled at every Newton iteration and solved by GMRES to ``ksp_rtol``, preconditioned by
the LU factors (or the AMG hierarchy) of an earlier tangent (a copy of it in its own matrix,
which PETSc factorises again only when it changes), kept across Newton iterations and load
steps. It is rebuilt when a linear solve needed more than N iterations or did not
converge, and when the problem asks for it (:meth:`PreconditionerReuse.invalidate`: a penalty
change, a state restored after a failed step). Newton converges to the same tolerance as with
a fresh factorisation; only the linear solves are inexact (to ``ksp_rtol``).

PETSc options live under each problem's own prefix; options that PETSc reads only when the
preconditioner is set up (MUMPS controls, AMG levels, fieldsplit blocks) are put in the
options database for the duration of each solve (:func:`options_scope`) and removed after.
"""

from __future__ import annotations

import contextlib
import weakref

import dolfinx
import dolfinx.fem.petsc
import dolfinx.la.petsc
import numpy as np
import ufl
from petsc4py import PETSc

_INSERT, _ADD = PETSc.InsertMode.INSERT, PETSc.InsertMode.ADD
_FORWARD, _REVERSE = PETSc.ScatterMode.FORWARD, PETSc.ScatterMode.REVERSE


@contextlib.contextmanager
def options_scope(prefix: str, options: dict):
    """``options`` under ``prefix`` in PETSc's options database while the block runs."""
    db = PETSc.Options()
    keys = [f"{prefix}{k}" for k in options]
    for key, value in zip(keys, options.values(), strict=True):
        db[key] = value
    try:
        yield
    finally:
        for key in keys:
            db.delValue(key)


def linear_solver_options(linear_solver: str, ksp_rtol: float, reuse: int) -> dict:
    """The KSP/PC options of a linear solver (module docstring), without a prefix."""
    if linear_solver == "mumps":
        opts = {"pc_type": "lu", "pc_factor_mat_solver_type": "mumps",
                # More workspace: pivoting in the indefinite u-p system fills in.
                "mat_mumps_icntl_14": 200}
        if reuse:
            return opts | {"ksp_type": "gmres", "ksp_gmres_restart": 200,
                           "ksp_rtol": ksp_rtol, "ksp_max_it": max(3 * reuse, 30)}
        return opts | {"ksp_type": "preonly"}
    krylov = {"ksp_rtol": ksp_rtol, "ksp_max_it": 1000, "ksp_gmres_restart": 200}
    # threshold: graph edges weaker than 2 % of the diagonal are dropped before aggregation,
    # so aggregates do not straddle a 10^2-10^5 modulus jump (calcium in tissue); measured on
    # the artery (README "Benchmarks"): 57-79 Krylov iterations from no calcium to 20 GPa,
    # 67-148 without it
    amg = {"pc_type": "gamg", "pc_gamg_type": "agg", "pc_gamg_coarse_eq_limit": 1000,
           "pc_gamg_threshold": 0.02,
           "mg_levels_ksp_type": "chebyshev", "mg_levels_pc_type": "jacobi"}
    if linear_solver == "gamg":
        return {"ksp_type": "gmres", **krylov, **amg}
    if linear_solver == "fieldsplit":
        opts = {"ksp_type": "fgmres", **krylov, "pc_type": "fieldsplit",
                "pc_fieldsplit_type": "schur", "pc_fieldsplit_schur_fact_type": "upper",
                "pc_fieldsplit_schur_precondition": "user",
                "fieldsplit_u_ksp_type": "preonly",
                "fieldsplit_p_ksp_type": "preonly", "fieldsplit_p_pc_type": "jacobi"}
        opts |= {f"fieldsplit_u_{k}": v for k, v in amg.items()}
        return opts
    raise ValueError(f"linear_solver = {linear_solver!r} has no options here")


def auto_reuse_iterations(dofs: int, gdim: int) -> int:
    """``preconditioner_reuse = -1``: the Krylov iterations a kept LU may cost before it is
    rebuilt, from the problem size. A factorisation costs as many triangular solves as the
    ratio of its flops to the factors' size: in 3-D about 20 at 11.5 k unknowns (P2-P1,
    measured: 0.5 s vs 0.025 s per GMRES iteration), growing as unknowns^(2/3) (55 measured
    at 41 k); rebuilding at 1/2.5 of it was the fastest of 8, 20 and 40 at 11.5 k (27 LU +
    601 iterations vs 17 + ~1000 and 11 + 1889). In 2-D a factorisation costs about 12
    solves (65 k unknowns): 5."""
    if gdim == 2:
        return 5
    return int(min(60, max(5, round(8.0 * (dofs / 11_500) ** (2.0 / 3.0)))))


class PreconditionerReuse:
    """Keeps a KSP's preconditioner across Newton iterations while it works (module doc)."""

    def __init__(self, max_iterations: int) -> None:
        self.max_iterations = int(max_iterations)
        self.stale = True
        self.rebuilds = 0

    def invalidate(self) -> None:
        """Rebuild the preconditioner at the next tangent."""
        self.stale = True

    def rebuild(self, ksp: PETSc.KSP) -> bool:
        """Whether the next tangent rebuilds the preconditioner (from the last solve)."""
        its, reason = ksp.getIterationNumber(), ksp.getConvergedReason()
        rebuild = self.stale or reason < 0 or its > self.max_iterations
        if rebuild:
            self.rebuilds += 1
            self.stale = False
        return rebuild


class NewtonAssembly:
    """The SNES residual and tangent callbacks of a problem (module docstring).

    Holds the problem weakly: PETSc keeps these callbacks alive from C, and a strong
    reference would keep the whole problem (meshes, matrices) alive after its last use.
    """

    def __init__(self, problem, F: dolfinx.fem.Form, J: dolfinx.fem.Form,
                 bcs: list[dolfinx.fem.DirichletBC], reuse: PreconditionerReuse | None) -> None:
        self._problem = weakref.ref(problem)
        self.F, self.J, self.bcs, self.reuse = F, J, bcs, reuse
        self.w = problem.w
        self._scratch = np.zeros_like(self.w.x.array)
        self.residual_evaluations = 0
        self.liftings = 0
        self._copied_nonzeros = -1.0

    def _lifted_bcs(self) -> list[dolfinx.fem.DirichletBC]:
        """The conditions whose values differ from the state at their dofs (on this rank:
        lifting is local, and a condition that holds here lifts zero here)."""
        x = self.w.x.array
        out = []
        for bc in self.bcs:
            dofs, _ = bc.dof_indices()
            if not len(dofs):
                continue
            bc.set(self._scratch, x0=x, alpha=1.0)
            if np.any(self._scratch[dofs] != 0.0):
                out.append(bc)
            self._scratch[dofs] = 0.0
        return out

    def residual(self, snes, x: PETSc.Vec, b: PETSc.Vec) -> None:
        problem = self._problem()
        x.ghostUpdate(_INSERT, _FORWARD)
        dolfinx.fem.petsc.assign(x, self.w)
        with b.localForm() as b_local:
            b_local.set(0.0)
        dolfinx.fem.petsc.assemble_vector(b, self.F)
        if problem is not None:
            problem.add_to_residual(b)
        lifted = self._lifted_bcs()
        if lifted:
            dolfinx.fem.petsc.apply_lifting(b, [self.J], bcs=[lifted], x0=[x], alpha=-1.0)
            self.liftings += 1
        b.ghostUpdate(_ADD, _REVERSE)
        dolfinx.fem.petsc.set_bc(b, self.bcs, x0=x, alpha=-1.0)
        b.ghostUpdate(_INSERT, _FORWARD)
        self.residual_evaluations += 1

    def jacobian(self, snes, x: PETSc.Vec, A: PETSc.Mat, P: PETSc.Mat) -> None:
        problem = self._problem()
        x.ghostUpdate(_INSERT, _FORWARD)
        dolfinx.fem.petsc.assign(x, self.w)
        self._assemble_tangent(problem, A)
        # With reuse, the preconditioner is built from its own matrix P, a copy of an
        # earlier tangent: PETSc rebuilds it only when P changes.
        if self.reuse is not None and P.handle != A.handle and self.reuse.rebuild(
                snes.getKSP()):
            nonzeros = A.getInfo()["nz_used"]
            if nonzeros == self._copied_nonzeros:
                A.copy(P, structure=PETSc.Mat.Structure.SAME_NONZERO_PATTERN)
                P.assemble()
            else:  # P's first fill, or extra nonzeros: assemble its structure
                self._assemble_tangent(problem, P)
            self._copied_nonzeros = nonzeros

    def _assemble_tangent(self, problem, A: PETSc.Mat) -> None:
        A.zeroEntries()
        dolfinx.fem.petsc.assemble_matrix(A, self.J, self.bcs, diag=1.0)
        if problem is not None:
            # DOLFINx ends with INSERT_VALUES on the diagonal: flush before adding
            A.assemble(PETSc.Mat.AssemblyType.FLUSH)
            problem.add_to_jacobian(A)
        A.assemble()


def pressure_schur_form(W: dolfinx.fem.FunctionSpace, region_order: list[str],
                        weights: dict[str, float], dx) -> ufl.Form:
    """The Schur-complement preconditioner of the scaled u-p system: per region ``r``,
    ``-w_r p_r q_r dx(r)`` with ``w_r = s_r^2 (1 / mu_r + 1 / K_r)`` (``s_r``: the region's
    pressure scale), i.e. minus the pressure mass matrix weighted by what ``B A^-1 B^T + C``
    is for a locally incompressible block. ``weights`` maps region -> ``(w_r, tag)``."""
    p = ufl.split(ufl.TrialFunction(W))
    q = ufl.split(ufl.TestFunction(W))
    terms = [-w * p[1 + k] * q[1 + k] * dx(tag)
             for k, (w, tag) in ((k, weights[r]) for k, r in enumerate(region_order))]
    # The displacement block stays zero (only the pressure block is extracted).
    return sum(terms[1:], terms[0])


def setup_fieldsplit(problem) -> tuple:
    """The u-p Schur fieldsplit of a mixed problem's KSP (module docstring): index sets of
    the displacement and pressure unknowns, the rigid-body near-nullspace on the
    displacement block, the weighted pressure mass matrix as the Schur complement's
    preconditioner. Returns the PETSc objects the KSP uses (keep them alive with it)."""
    import math

    from fem.solid.hyperelastic import rigid_body_near_nullspace

    W, comm = problem.W, problem.comm
    im = W.dofmap.index_map
    n_u = problem.V.dofmap.index_map.size_local * problem.V.dofmap.index_map_bs
    u_global = owned_global_indices(problem._u_to_w[:n_u], im)
    if len(u_global) != n_u:  # the collapsed space keeps its parent's owners
        raise RuntimeError("displacement dofs owned by another rank than their parent's")
    order = problem._region_order
    p_maps = [np.asarray(W.sub(1 + k).collapse()[1]) for k in range(len(order))]
    p_global = np.unique(np.concatenate([owned_global_indices(m, im) for m in p_maps]))
    is_u = PETSc.IS().createGeneral(u_global, comm=comm)
    is_u.setBlockSize(problem.gdim)
    is_p = PETSc.IS().createGeneral(p_global.astype(PETSc.IntType), comm=comm)
    nullspace = rigid_body_near_nullspace(problem.V)
    is_u.compose("nearnullspace", nullspace)
    weights = {}
    for r, mat in problem.materials.items():
        s = problem.pressure_scales_MPa[r]
        kv = mat.volumetric_modulus_MPa
        inv_k = 0.0 if math.isinf(kv) else 1.0 / kv
        weights[r] = (s * s * (1.0 / mat.reference_modulus_MPa + inv_k), problem.regions[r])
    form = dolfinx.fem.form(pressure_schur_form(W, order, weights, problem.dx))
    full = dolfinx.fem.petsc.assemble_matrix(form, bcs=problem.bcs, diag=1.0)
    full.assemble()
    schur_pre = full.createSubMatrix(is_p, is_p)
    full.destroy()
    pc = problem._problem.solver.getKSP().getPC()
    pc.setFieldSplitIS(("u", is_u), ("p", is_p))
    pc.setFieldSplitSchurPreType(PETSc.PC.FieldSplitSchurPreType.USER, schur_pre)
    return is_u, is_p, nullspace, schur_pre


def owned_global_indices(sub_to_parent: np.ndarray, index_map) -> np.ndarray:
    """Global (PETSc) indices of the owned parent dofs listed in ``sub_to_parent`` (unblocked
    parent space), in that order."""
    sub_to_parent = np.asarray(sub_to_parent)
    owned = sub_to_parent[sub_to_parent < index_map.size_local]
    return (owned + index_map.local_range[0]).astype(PETSc.IntType)
