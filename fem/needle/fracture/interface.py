"""A cohesive crack on a symmetry plane of the model, assembled beside DOLFINx's forms.

Where the crack plane is a symmetry plane of the body (the half-disc's ``y = 0`` plane, which
holds the needle axis and its point; the half of a double cantilever beam), the half model
keeps the symmetry condition ``u_n = 0`` outside the region the crack may reach and, inside
it, replaces it by the cohesive law of :mod:`fem.needle.fracture.law` between the face and its
mirror image: the opening is ``delta = 2 u_n`` (``u_n`` = displacement away from the plane),
and the half model's share of the cohesive energy is ``1/2 int psi(delta) dA``, so each face
node feels ``f_a = int t(delta) N_a dA`` and the tangent ``2 int t'(delta) N_a N_b dA``.

Why not UFL: the law's history (the largest opening ``kappa``) must live at the quadrature
points of the crack-plane facets, and DOLFINx has no facet quadrature spaces. The facets'
shape functions are built here (Lagrange of the displacement's degree through the facet's own
dof points, Gauss points of ``quadrature_degree``), the history is an array per facet and
point, and the residual and tangent are added to PETSc's vector and matrix after DOLFINx has
assembled the bulk (:meth:`fem.solid.hyperelastic.HyperelasticProblem.add_term`). Rows of
constrained dofs are left alone; each rank assembles the facets of the cells it owns and the
contributions to dofs other ranks own travel with PETSc's assembly, so the answer does not
depend on the number of ranks.

Rate regularisation (optional, ``viscosity_mm``): the history follows the opening with a
"time" constant measured in the load parameter (the needle advance or the opening, mm), see
:mod:`fem.needle.fracture.law`; the dissipation is tracked step by step and the effect on the
answer is shown to vanish (tests).

Units: mm, N, MPa.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import basix
import dolfinx
import numpy as np
from mpi4py import MPI
from petsc4py import PETSc

from fem.needle.fracture.law import (
    CohesiveLaw,
    cohesive_damage,
    cohesive_stored_energy,
    cohesive_traction,
)
from fem.solid.materials import check_range

__all__ = ["CohesivePlane", "CohesiveSettings", "ResolutionError"]


class ResolutionError(ValueError):
    """The mesh on the crack plane is too coarse for a layer's cohesive length."""


@dataclass(frozen=True, slots=True)
class CohesiveSettings:
    """Numerics of the cohesive interface.

    Attributes:
        penalty_factor: ``K0 = penalty_factor * E / min(l_cz, layer thickness)``, in
            [1, 1e6] (law module docstring).
        viscosity_mm: relaxation length ``mu`` of the history regularisation, in the units of
            the load parameter (mm), in [0, 10]; 0: none.
        quadrature_degree: Gauss rule on the crack-plane facets, in [1, 10].
        min_elements: the crack-plane facets must be at most ``l_cz / min_elements`` in size
            (checked by :meth:`CohesivePlane.check_resolution`), in [0, 100].
    """

    penalty_factor: float = 200.0
    viscosity_mm: float = 1.0e-4
    quadrature_degree: int = 4
    min_elements: float = 3.0

    def __post_init__(self) -> None:
        check_range("penalty_factor", self.penalty_factor, 1.0, 1e6)
        check_range("viscosity_mm", self.viscosity_mm, 0.0, 10.0, unit="mm")
        check_range("quadrature_degree", self.quadrature_degree, 1, 10)
        check_range("min_elements", self.min_elements, 0.0, 100.0)


def _monomials(xi: np.ndarray, degree: int) -> np.ndarray:
    """Monomials of total degree <= ``degree`` at reference points ``xi`` (..., dim)."""
    dim = xi.shape[-1]
    cols = []
    if dim == 1:
        cols = [xi[..., 0] ** i for i in range(degree + 1)]
    else:
        for total in range(degree + 1):
            for j in range(total + 1):
                cols.append(xi[..., 0] ** (total - j) * xi[..., 1] ** j)
    return np.stack(cols, axis=-1)


class CohesivePlane:
    """Cohesive crack on a planar boundary that is a symmetry plane of the model.

    Args:
        problem: the :class:`fem.solid.hyperelastic.HyperelasticProblem` (or a subclass) whose
            state it acts on; the term registers itself with ``problem.add_term``.
        boundary: name of the boundary (facet tag) the crack may reach: planar, normal to the
            coordinate axis ``normal_axis``, with no displacement condition on that component.
        laws: region name -> cohesive law of every region that touches ``boundary``.
        normal_axis: 0, 1 (or 2 in 3-D): the axis normal to the plane.
        settings: numerics.
        layer_thickness_mm: region name -> thickness (mm) used to bound ``K0`` (default: the
            extent of the region's facets on the plane along the needle, i.e. unbounded).
    """

    def __init__(self, problem, boundary: str, laws: Mapping[str, CohesiveLaw], *,
                 normal_axis: int, settings: CohesiveSettings | None = None,
                 layer_thickness_mm: Mapping[str, float] | None = None) -> None:
        self.problem = problem
        self.boundary = boundary
        self.settings = settings if settings is not None else CohesiveSettings()
        self.laws = dict(laws)
        mesh = problem.mesh
        self.comm = mesh.comm
        gdim, tdim = problem.gdim, mesh.topology.dim
        fdim = tdim - 1
        check_range("normal_axis", normal_axis, 0, gdim - 1)
        self.normal_axis = int(normal_axis)
        for name in self.laws:
            if name not in problem.regions:
                raise ValueError(f"laws region = {name!r} is not in regions "
                                 f"{sorted(problem.regions)}")
        mesh.topology.create_connectivity(fdim, tdim)
        mesh.topology.create_connectivity(tdim, fdim)
        f2c = mesh.topology.connectivity(fdim, tdim)
        c2f = mesh.topology.connectivity(tdim, fdim)
        n_owned_cells = mesh.topology.index_map(tdim).size_local
        facets = np.asarray(problem._facets(boundary), dtype=np.int32)
        cells = np.array([f2c.links(f)[0] for f in facets], dtype=np.int32)
        keep = cells < n_owned_cells
        facets, cells = facets[keep], cells[keep]
        local = np.array([int(np.flatnonzero(c2f.links(c) == f)[0])
                          for f, c in zip(facets, cells, strict=True)], dtype=np.int32)
        self.facets, self.cells = facets, cells
        # Region (law) of each facet, from its cell.
        tag_of_cell = np.full(mesh.topology.index_map(tdim).size_local
                              + mesh.topology.index_map(tdim).num_ghosts, -1, dtype=np.int64)
        tag_of_cell[problem.cell_tags.indices] = problem.cell_tags.values
        tag_to_region = {t: r for r, t in problem.regions.items()}
        region_of = [tag_to_region.get(int(tag_of_cell[c])) for c in cells]
        missing = sorted({r for r in region_of if r not in self.laws}, key=str)
        missing = self.comm.allreduce(missing, op=MPI.SUM)
        if missing:
            raise ValueError(f"no cohesive law for region(s) {sorted(set(missing), key=str)} "
                             f"on boundary {boundary!r}; laws given for {sorted(self.laws)}")
        self.region_of = np.array(region_of, dtype=object)

        # Geometry of the facets: vertices (affine facets), plane position, measure.
        geom = dolfinx.mesh.entities_to_geometry(mesh, fdim, facets, False)
        xv = mesh.geometry.x[geom][:, :, :gdim] if len(facets) else np.zeros((0, tdim, gdim))
        plane = xv[:, :, self.normal_axis] if len(facets) else np.zeros((0, tdim))
        lo = self.comm.allreduce(float(plane.min()) if plane.size else math.inf, op=MPI.MIN)
        hi = self.comm.allreduce(float(plane.max()) if plane.size else -math.inf, op=MPI.MAX)
        scale = max(problem.length_scale_mm, 1.0)
        if not math.isfinite(lo) or hi - lo > 1e-9 * scale:
            raise ValueError(f"boundary {boundary!r} is not a plane normal to axis "
                             f"{normal_axis} (coordinate spread {hi - lo:g} mm)")
        self.plane_coordinate = 0.5 * (lo + hi)
        # The body's side: +1 when its cells lie on the + side of the plane.
        xg = mesh.geometry.x
        cgeo = dolfinx.mesh.entities_to_geometry(mesh, tdim, cells, False)
        centroid = xg[cgeo].mean(axis=1)[:, self.normal_axis] if len(cells) else np.zeros(0)
        self.side = np.where(centroid > self.plane_coordinate, 1.0, -1.0)

        # Displacement component normal to the plane: its dofs on each facet.
        u_sub = problem._Vu_sub.sub(self.normal_axis)
        Vk, _ = u_sub.collapse()
        degree = Vk.ufl_element().embedded_superdegree
        layout = Vk.dofmap.dof_layout
        closure = np.array([layout.entity_closure_dofs(fdim, int(lf)) for lf in range(tdim + 1)])
        w_cell_dofs = u_sub.dofmap.list
        k_cell_dofs = Vk.dofmap.list
        xdof = Vk.tabulate_dof_coordinates()[:, :gdim]
        self.dofs = np.array([w_cell_dofs[c][closure[lf]] for c, lf in zip(cells, local,
                                                                             strict=True)],
                             dtype=np.int32).reshape(len(cells), closure.shape[1])
        dof_x = (np.array([xdof[k_cell_dofs[c][closure[lf]]] for c, lf in zip(cells, local,
                                                                              strict=True)])
                 .reshape(len(cells), closure.shape[1], gdim))
        # Reference coordinates on each facet (affine map from its vertices), Gauss points.
        ref_cell = basix.CellType.interval if fdim == 1 else basix.CellType.triangle
        qp, qw = basix.make_quadrature(ref_cell, self.settings.quadrature_degree)
        nf = len(cells)
        if nf:
            T = np.stack([xv[:, i + 1] - xv[:, 0] for i in range(fdim)], axis=-1)  # (nf,g,fd)
            TtT = np.einsum("fgi,fgj->fij", T, T)
            rhs = np.einsum("fgi,fag->fai", T, dof_x - xv[:, :1, :])
            xi = np.linalg.solve(TtT[:, None], rhs[..., None])[..., 0]  # (nf, nd, fdim)
            Vm = _monomials(xi, degree)  # (nf, nd, nd)
            C = np.linalg.inv(Vm)
            self.N = np.einsum("qm,fma->fqa", _monomials(qp, degree), C)
            measure = np.sqrt(np.linalg.det(TtT))  # |J| of the affine facet map
            self.wA = measure[:, None] * qw[None, :]
        else:
            self.N = np.zeros((0, len(qw), closure.shape[1]))
            self.wA = np.zeros((0, len(qw)))
        # Element size on the plane: the longest edge of each facet.
        if nf:
            edges = [np.linalg.norm(xv[:, i] - xv[:, j], axis=1)
                     for i in range(fdim + 1) for j in range(i)]
            self.size_mm = np.max(np.stack(edges, axis=1), axis=1)
        else:
            self.size_mm = np.zeros(0)
        # Law parameters per facet.
        self.moduli = {r: _young_modulus(problem.materials[r]) for r in self.laws}
        thickness = dict(layer_thickness_mm or {})
        sigma, delta_f, k0 = (np.zeros(nf) for _ in range(3))
        for r, law in self.laws.items():
            sel = self.region_of == r
            sigma[sel] = law.strength_MPa
            delta_f[sel] = law.failure_opening_mm
            k0[sel] = law.penalty_MPa_per_mm(self.moduli[r], thickness.get(r, math.inf),
                                              self.settings.penalty_factor)
        self.sigma, self.delta_f, self.k0 = sigma[:, None], delta_f[:, None], k0[:, None]
        nq = len(qw)
        self.kappa = np.zeros((nf, nq))
        self.delta_prev = np.zeros((nf, nq))
        self.traction_prev = np.zeros((nf, nq))
        self.dissipated = 0.0
        self._dtau = math.inf
        # Constrained dofs of the problem (rows and columns left to DOLFINx).
        im = problem.W.dofmap.index_map
        self._n_local = (im.size_local + im.num_ghosts) * problem.W.dofmap.index_map_bs
        self._n_owned = im.size_local * problem.W.dofmap.index_map_bs
        constrained = np.zeros(self._n_local, dtype=bool)
        for bc in problem.bcs:
            constrained[bc.dof_indices()[0]] = True
        self._free = ~constrained[self.dofs]
        self._rows = np.where(self._free, self.dofs, -1).astype(PETSc.IntType)
        self._work = dolfinx.la.vector(im, problem.W.dofmap.index_map_bs)
        problem.add_term(self)

    # ------------------------------------------------------------------ checks
    def check_resolution(self) -> None:
        """Raise :class:`ResolutionError` when the crack-plane facets of a layer are larger
        than ``l_cz / min_elements``; the message names the layer, ``l_cz`` and the size."""
        problems = []
        for r, law in self.laws.items():
            sel = self.region_of == r
            local = float(self.size_mm[sel].max()) if np.any(sel) else 0.0
            size = self.comm.allreduce(local, op=MPI.MAX)
            if size == 0.0:
                continue
            lcz = law.cohesive_length_mm(self.moduli[r])
            if lcz / size < self.settings.min_elements:
                problems.append(f"layer {r!r}: cohesive length l_cz = E G_c / sigma_c^2 = "
                                f"{lcz:.3g} mm (E {self.moduli[r]:.3g} MPa, G_c "
                                f"{law.fracture_energy_N_per_mm:.3g} N/mm, sigma_c "
                                f"{law.strength_MPa:.3g} MPa) is resolved by {lcz / size:.2f} "
                                f"elements of {size:.3g} mm; needs >= "
                                f"{self.settings.min_elements:g} (element size <= "
                                f"{lcz / self.settings.min_elements:.3g} mm)")
        if problems:
            raise ResolutionError("; ".join(problems))

    # ------------------------------------------------------------------ state
    def _delta(self) -> np.ndarray:
        u = self.problem.w.x.array[self.dofs]
        return 2.0 * self.side[:, None] * np.einsum("fqa,fa->fq", self.N, u)

    def set_increment(self, dtau: float) -> None:
        """The load-parameter increment of the coming step (for the regularisation)."""
        self._dtau = float(dtau) if dtau > 0 else math.inf

    def _lag(self) -> float:
        mu = self.settings.viscosity_mm
        if mu <= 0.0 or not math.isfinite(self._dtau):
            return 1.0
        return self._dtau / (mu + self._dtau)

    def commit(self) -> None:
        """Accept the converged state: history and dissipation move on."""
        delta = self._delta()
        t, _, k_new = cohesive_traction(delta, self.kappa, self.sigma, self.delta_f, self.k0,
                                        self._lag())
        if delta.size:
            d_old = cohesive_damage(self.kappa, self.sigma, self.delta_f, self.k0)[0]
            d_new = cohesive_damage(k_new, self.sigma, self.delta_f, self.k0)[0]
            work = 0.5 * (self.traction_prev + t) * (delta - self.delta_prev)
            stored_change = (cohesive_stored_energy(delta, d_new, self.k0)
                             - cohesive_stored_energy(self.delta_prev, d_old, self.k0))
            local = 0.5 * float(np.sum(self.wA * (work - stored_change)))
        else:
            local = 0.0
        self.dissipated += self.comm.allreduce(local, op=MPI.SUM)
        self.kappa = k_new
        self.delta_prev = delta
        self.traction_prev = t

    def history_increment(self) -> float:
        """Largest growth of the history over the quadrature points in the current
        (unaccepted) step, as a fraction of the failure opening (capped there): the step-size
        control that keeps a crack front from running several elements in one step."""
        if len(self.dofs):
            _, _, k_new = cohesive_traction(self._delta(), self.kappa, self.sigma,
                                            self.delta_f, self.k0, self._lag())
            grow = (np.minimum(k_new, self.delta_f) - np.minimum(self.kappa, self.delta_f))
            local = float(np.max(grow / self.delta_f))
        else:
            local = 0.0
        return self.comm.allreduce(local, op=MPI.MAX)

    def snapshot(self) -> tuple:
        return (self.kappa.copy(), self.delta_prev.copy(), self.traction_prev.copy(),
                self.dissipated)

    def restore(self, state: tuple) -> None:
        kappa, delta, traction, dissipated = state
        self.kappa = kappa.copy()
        self.delta_prev, self.traction_prev = delta.copy(), traction.copy()
        self.dissipated = dissipated

    #: Tangent of the law used by Newton: ``"consistent"`` (the exact derivative: quadratic
    #: convergence, but Newton can cycle where quadrature points switch between loading and
    #: unloading), ``"secant"`` (``(1 - D) K0``, positive: a fixed-point iteration that does
    #: not cycle) or ``"secant-first"`` (secant for the first :attr:`secant_iterations`
    #: Newton iterations of a solve, which settle which points load, then consistent). The
    #: residual, hence the converged answer, is the same.
    tangent: str = "consistent"
    secant_iterations: int = 4

    def _use_secant(self) -> bool:
        if self.tangent == "secant":
            return True
        if self.tangent == "secant-first":
            return self.problem.snes.getIterationNumber() < self.secant_iterations
        return False

    def _traction(self):
        t, dt, k_new = cohesive_traction(self._delta(), self.kappa, self.sigma, self.delta_f,
                                         self.k0, self._lag())
        if self._use_secant():
            d_new = cohesive_damage(k_new, self.sigma, self.delta_f, self.k0)[0]
            dt = np.where(dt < 0.0, (1.0 - d_new) * self.k0, dt)
        return t, dt

    def add_residual(self, b: PETSc.Vec) -> None:
        """Add ``f_a = side int t N_a dA`` to the residual (free rows only)."""
        self._work.array[:] = 0.0
        if len(self.dofs):
            t, _ = self._traction()
            r = self.side[:, None] * np.einsum("fq,fqa->fa", self.wA * t, self.N)
            np.add.at(self._work.array, self.dofs[self._free], r[self._free])
        self._work.scatter_reverse(dolfinx.la.InsertMode.add)
        with b.localForm() as loc:
            loc.array[: self._n_owned] += self._work.array[: self._n_owned]

    def add_jacobian(self, A: PETSc.Mat) -> None:
        """Add ``2 int t' N_a N_b dA`` to the tangent (free rows and columns only)."""
        if len(self.dofs):
            _, dt = self._traction()
            K = 2.0 * np.einsum("fq,fqa,fqb->fab", self.wA * dt, self.N, self.N)
            add = PETSc.InsertMode.ADD_VALUES
            for rows, Ke in zip(self._rows, K, strict=True):
                A.setValuesLocal(rows, rows, Ke, addv=add)
        A.assemble()

    # ------------------------------------------------------------------ observables
    def energies(self) -> tuple[float, float]:
        """``(stored, dissipated)`` cohesive energy of the model's share (N mm) at the last
        committed state: half of the crack plane's, as the model holds one of the two faces."""
        damage = cohesive_damage(self.kappa, self.sigma, self.delta_f, self.k0)[0]
        local = (0.5 * float(np.sum(self.wA * cohesive_stored_energy(
            self.delta_prev, damage, self.k0))) if len(self.dofs) else 0.0)
        return self.comm.allreduce(local, op=MPI.SUM), self.dissipated

    def separated_area_mm2(self) -> float:
        """Area (mm^2) of the model's crack plane that is fully separated (``kappa >=
        delta_f``): the crack."""
        local = float(np.sum(self.wA * (self.kappa >= self.delta_f))) if len(self.dofs) else 0.0
        return self.comm.allreduce(local, op=MPI.SUM)

    def damaged_area_mm2(self) -> float:
        """Area (mm^2) past the strength (softening or separated): crack + process zone."""
        local = (float(np.sum(self.wA * (self.kappa > self.sigma / self.k0)))
                 if len(self.dofs) else 0.0)
        return self.comm.allreduce(local, op=MPI.SUM)

    def crack_extent(self, axis: int) -> tuple[float, float]:
        """``(min, max)`` of coordinate ``axis`` over the separated Gauss points (mm);
        ``(nan, nan)`` when nothing has separated."""
        x = self.quadrature_points()
        sep = self.kappa >= self.delta_f
        vals = x[..., axis][sep] if sep.any() else np.zeros(0)
        lo = self.comm.allreduce(float(vals.min()) if vals.size else math.inf, op=MPI.MIN)
        hi = self.comm.allreduce(float(vals.max()) if vals.size else -math.inf, op=MPI.MAX)
        return (lo, hi) if math.isfinite(lo) else (math.nan, math.nan)

    def quadrature_points(self) -> np.ndarray:
        """Reference coordinates of the Gauss points, ``(facets, points, gdim)``."""
        if not hasattr(self, "_qx"):
            mesh = self.problem.mesh
            fdim = mesh.topology.dim - 1
            geom = dolfinx.mesh.entities_to_geometry(mesh, fdim, self.facets, False)
            xv = mesh.geometry.x[geom][:, :, : self.problem.gdim]
            ref_cell = basix.CellType.interval if fdim == 1 else basix.CellType.triangle
            qp, _ = basix.make_quadrature(ref_cell, self.settings.quadrature_degree)
            lam = np.concatenate([1.0 - qp.sum(axis=1, keepdims=True), qp], axis=1)
            self._qx = np.einsum("qv,fvg->fqg", lam, xv) if len(xv) else np.zeros(
                (0, len(qp), self.problem.gdim))
        return self._qx


def _young_modulus(material) -> float:
    """Small-strain Young's modulus of a material (MPa): its own, or ``3 mu`` (incompressible)."""
    e = getattr(material, "young_modulus_MPa", None)
    if e is not None:
        return float(e)
    return 3.0 * float(material.reference_modulus_MPa)
