"""Frictionless contact of a finite-strain solid against a rigid needle: 3-D and axisymmetric.

Two models share one contact machinery (:class:`NeedleContactProblem`):

* **3-D** (:class:`NeedleContactProblem`): a tetrahedral mesh, ``F = I + grad u``, the needle's
  exact 3-D signed distance (:meth:`fem.needle.geometry.Needle.distance`, the true lancet bevel
  included),
  every integral with weight 1. A symmetric sector of the body (a quarter disc for a revolved
  tip, a half disc for a lancet bevel) carries ``symmetry_copies`` > 1: the needle force, the
  contact area and the energy are those of the whole body.
* **Axisymmetric** (:class:`AxisymmetricNeedleProblem`, the reduced model of the puncture
  studies): the mesh lies in the (r, z) half-plane, the needle axis is ``r = 0``. With
  ``u = (u_r, u_z)``

      F = [[1 + du_r/dr, du_r/dz, 0], [du_z/dr, 1 + du_z/dz, 0], [0, 0, 1 + u_r / r]],

  every integral carries the weight ``2 pi r`` of the reference configuration, and a lancet is
  replaced by a cone of its bevel angle (:meth:`fem.needle.geometry.Needle.axisymmetric`). The
  subclass
  overrides only these geometry hooks. ``tests/test_contact_3d.py`` checks it against the
  3-D model (18 G hemisphere on the balloon-backed outer wall: forces within 0.4 % at
  0.05-0.2 mm; :mod:`hpc.benchmarks.axisymmetric_vs_3d` prints the comparison).

The material models, the mixed u-p (Taylor-Hood) formulation, the per-region pressures and the
Newton/SNES machinery are those of :class:`fem.solid.hyperelastic.HyperelasticProblem` (subclassed
here: the deformation gradient and the measure change, the contact terms are added).

Contact: penalty plus augmented Lagrangian (Uzawa)
---------------------------------------------------
The gap is the needle's exact signed distance evaluated at the deformed position,
``g = S(X + u; d)`` (:mod:`fem.needle.geometry`),
        with ``d`` the needle advance. The contact energy per
reference area is

    psi_c = ( <lambda - eps g>_+^2 - lambda^2 ) / (2 eps),

(with the ramp ``<x>_+`` rounded to C1 over a width ``eps * smoothing_mm``, so that Newton does not
cycle when surface nodes enter and leave contact) whose variation gives the nominal contact
pressure ``P = <lambda - eps g>_+`` acting along the
needle's outward normal ``grad S``. ``lambda`` (a nodal field of the displacement's degree on the
contact surface) is held fixed during a Newton solve and updated after it by Uzawa,
``lambda <- <lambda - eps g>_+`` at the surface nodes, until the largest nodal penetration
``max(-g)`` is below ``min(penetration_tol_mm, penetration_rel_tol * d)``. ``lambda = 0`` and one
solve is the pure penalty method. Penalty continuation (``penalty_growth > 1``) instead grows
``eps`` until the largest penetration at the contact Gauss points is below that tolerance; under
sharp tips and next to calcium it converges where Uzawa's updates stalled Newton (measured:
cone 45 deg and a medial calcium sheet on the outer wall).

Penalty stiffness rule: ``eps = penalty_factor * E_eff / h`` (MPa/mm) with ``E_eff = 3 mu`` of the
stiffest region touching the contact surface (Young's modulus of an incompressible solid with
shear modulus ``mu``) and ``h`` the shortest edge of the contact-surface facets. With it the
penetration of pure penalty is about ``P h / (penalty_factor E_eff)``, a fixed fraction of the
element size whatever the material; Uzawa then removes it.

The contact surface integral uses an explicit quadrature degree
(``ContactSettings.quadrature_degree``) on the one ``ds`` measure from which both residual and
Jacobian are derived: with UFL's automatic estimate the Jacobian's kink term was integrated less
accurately than the residual and Newton fell back to linear convergence (measured by the team).

Needle force: the apex moves as ``apex(d) = entry + d a`` along the unit axis ``a``, so
``dg/dd = -grad S . a`` and ``F = dPi/dd = int P grad S . a dA`` (N), the exact work conjugate
of ``d`` (the needle work ``W = int F dd`` is consistent with the stored energy); in the
axisymmetric frame ``a = -e_z`` and ``F = -int P dS/dz 2 pi r dA``.

Friction (optional, ``ContactSettings.friction_coefficient`` > 0)
-----------------------------------------------------------------
Regularised Coulomb friction between needle and tissue: the slip of a contact point relative to
the needle in a step, ``s = (u - u_prev) - (d - d_prev) a``, has a tangential part ``s_T``
(normal ``n = grad S / |grad S|``), and the traction on the tissue is
``t = -mu P s_T / sqrt(|s_T|^2 + e^2)`` (``e = friction_slip_mm``: full slip once the step's
slip passes ``e``, a stiff elastic stick below it). It is not conservative: it enters the
residual as a force (its Jacobian from UFL, non-symmetric, MUMPS), the needle force gains
``-t . a`` and each step dissipates ``int (-t) . s_T dA`` (``InsertionResult.dissipation``,
cumulative). The work of the needle is then ``W = Delta Pi + D``, checked in the tests. Along
the shaft, friction is what an insertion force past the puncture is made of; before puncture it
acts on the tip's flanks.

Balloon backing (optional ``support_boundaries``): a pressure-limited frictionless support,
nominal traction ``q = p_support tanh(k <w>_+ / p_support)`` (stiffness ``k`` at first, saturating
smoothly at ``p_support``) opposing the normal displacement ``w = u . N``
into the support, energy ``phi(w)`` with ``phi' = q``: the balloon holds the wall where it is
until the fluid pressure is reached, then gives way at that constant pressure.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field

import basix.ufl
import dolfinx
import dolfinx.fem.petsc
import numpy as np
import ufl
from mpi4py import MPI

from fem.needle.geometry import Needle, ufl_ops
from fem.needle.inputs import ContactSettings  # noqa: F401  (re-exported; moved there)
from fem.solid.hyperelastic import DisplacementBC, HyperelasticProblem, SolverOptions
from fem.solid.materials import Material, check_range

_FLOOR_REASONS = (-6, -5)  # PETSc SNES_DIVERGED_LINE_SEARCH, SNES_DIVERGED_MAX_IT


@dataclass(slots=True)
class InsertionStep:
    """One needle position tried (converged or not).

    ``al_iterations`` counts the enforcement updates of the step: Uzawa updates, or penalty
    growths under penalty continuation; ``penalty_factor`` is the ``c`` it ended with.
    """

    step: int
    displacement_mm: float
    converged: bool
    force_N: float
    work_Nmm: float
    penetration_mm: float
    al_iterations: int
    newton_iterations: int
    snes_reason: int
    snes_reason_name: str
    residual_norm: float
    wall_time_s: float
    penalty_factor: float = math.nan
    dissipation_Nmm: float = 0.0


@dataclass(slots=True)
class InsertionResult:
    """Record of :meth:`NeedleContactProblem.insert` (``to_dict`` goes to JSON).

    ``curve`` holds the converged ``(displacement_mm, force_N)`` pairs, starting at the state
    the insertion started from. ``stopped_by`` is ``"target"``, ``"criterion"`` (the callback
    asked to stop) or the failure reason.
    """

    converged: bool
    target_displacement_mm: float
    reached_displacement_mm: float
    stopped_by: str
    curve: list[tuple[float, float]] = field(default_factory=list)
    dissipation: list[float] = field(default_factory=list)
    steps: list[InsertionStep] = field(default_factory=list)
    failure: dict | None = None

    def to_dict(self) -> dict:
        return asdict(self)


class NeedleContactProblem(HyperelasticProblem):
    """3-D finite-strain solid indented by a rigid needle (the shared contact machinery).

    The geometry hooks (``_check_mesh``, ``_contact_needle``, ``_measure_weight``,
    ``_distance``, ``_force_integrand``, ``_as_3d``, ``_deformation_gradient``) are what
    :class:`AxisymmetricNeedleProblem` overrides; enforcement, stepping (:meth:`insert`,
    :meth:`solve_contact`), penalty continuation and Uzawa are shared.

    Args:
        mesh, cell_tags, facet_tags, regions, boundaries, materials, pressure_boundaries,
            displacement_bcs, options, name: as :class:`fem.solid.hyperelastic.HyperelasticProblem`
            (3-D mesh, mm). ``pressure_boundaries`` carry a follower pressure (set with
            :meth:`ramp`).
        needle: the rigid needle, with its own axis and entry point in the mesh's frame (for
            the layered disc of :func:`meshes.disc.load_layered_disc_3d`: axis ``(0, 0, -1)``,
            apex at the top face centre, the origin).
        contact_boundary: boundary name (or names) of the surface the needle may touch (with
            a cohesive crack: the top face and the crack plane, whose faces the needle meets
            once the crack opens).
        contact: enforcement and stepping settings.
        support_boundaries: boundaries backed by the pressure-limited support (balloon).
        support_pressure_MPa: the support's limit pressure (the balloon pressure), >= 0.
        prestretch_boundary: boundary (the disc's outer edge) whose in-plane displacement
            follows the in-plane pre-stretch ``lambda``: ``u_i = (lambda - 1) x_i`` for the
            coordinates normal to the needle (x, y), set by :meth:`prestretch`. Give no other
            in-plane condition on it.
        symmetry_copies: the mesh is ``1 / symmetry_copies`` of the body (4: a quarter disc
            with symmetry conditions on its two cut planes; 2: a half disc), in 1..64: the needle
            force, the contact area and the energy are reported for the whole body.
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
        needle: Needle,
        contact_boundary: str | Sequence[str],
        contact: ContactSettings | None = None,
        pressure_boundaries: Sequence[str] = (),
        support_boundaries: Sequence[str] = (),
        support_pressure_MPa: float = 0.0,
        prestretch_boundary: str | Sequence[str] | None = None,
        displacement_bcs: Sequence[DisplacementBC] = (),
        options: SolverOptions | None = None,
        symmetry_copies: int = 1,
        name: str = "needle",
    ) -> None:
        self._check_mesh(mesh)
        self.contact_boundaries = ((contact_boundary,) if isinstance(contact_boundary, str)
                                   else tuple(contact_boundary))
        self.contact_boundary = self.contact_boundaries[0]
        for b in (*self.contact_boundaries, *support_boundaries):
            if b not in boundaries:
                raise ValueError(f"boundary = {b!r} is not in boundaries {sorted(boundaries)}")
        check_range("support_pressure_MPa", support_pressure_MPa, 0.0, 1e3, unit="MPa")
        check_range("symmetry_copies", symmetry_copies, 1, 64)
        self.symmetry_copies = int(symmetry_copies)
        self.needle = self._contact_needle(needle)
        self.contact = contact if contact is not None else ContactSettings()
        self.support_boundaries = tuple(support_boundaries)
        self._d = dolfinx.fem.Constant(mesh, 0.0)
        self._support_p = dolfinx.fem.Constant(mesh, float(support_pressure_MPa))
        self.needle_displacement_mm = 0.0
        self._last_force = 0.0
        if isinstance(prestretch_boundary, str):
            prestretch_boundary = (prestretch_boundary,)
        for b in prestretch_boundary or ():
            if b not in boundaries:
                raise ValueError(f"prestretch_boundary = {b!r} is not in "
                                 f"boundaries {sorted(boundaries)}")
        self.prestretch_boundary = tuple(prestretch_boundary) if prestretch_boundary else None
        super().__init__(
            mesh, cell_tags, facet_tags, regions=regions, boundaries=boundaries,
            materials=materials, pressure_boundaries=pressure_boundaries,
            displacement_bcs=displacement_bcs, rigid_motion="none", options=options, name=name,
        )
        self._build_contact_dofs()

    # ------------------------------------------------------------------ geometry hooks
    def _check_mesh(self, mesh: dolfinx.mesh.Mesh) -> None:
        if mesh.geometry.dim != 3:
            raise ValueError(f"mesh geometric dimension = {mesh.geometry.dim} must be 3 "
                             "(AxisymmetricNeedleProblem takes the 2-D (r, z) mesh)")

    def _contact_needle(self, needle: Needle) -> Needle:
        """The needle the contact sees (3-D: the needle itself, lancet bevel included)."""
        return needle

    def _measure_weight(self, X):
        """Weight of every integral over the reference mesh (3-D: 1)."""
        return 1.0

    def _distance(self, x, d, ops):
        """Signed distance (UFL) of the needle advanced by ``d`` at the points ``x``."""
        return self.needle.distance(x, d, ops)

    def _force_integrand(self, pressure, dS):
        """``P grad S . a``: the needle force density (``dS`` = grad of the distance)."""
        a = ufl.as_vector(list(self.needle.axis))
        return pressure * ufl.dot(dS, a)

    def _as_3d(self, v):
        """A vector of the mesh's frame as a 3-vector (3-D: itself)."""
        return v

    def _axis_vector(self):
        """The direction the needle advances, in the mesh's frame."""
        return ufl.as_vector(list(self.needle.axis))

    # ------------------------------------------------------------------ setup
    def _build_bcs(self, displacement_bcs, rigid_motion) -> None:
        super()._build_bcs(displacement_bcs, rigid_motion)
        self._rim_g = []
        if self.prestretch_boundary is not None:
            # In-plane components: all but the last coordinate (the needle's direction).
            for i in range(self.gdim - 1):
                sub, Vc = self._component_space(i)
                g = dolfinx.fem.Function(Vc)
                facets = np.unique(np.concatenate([self._facets(b)
                                                   for b in self.prestretch_boundary]))
                dofs = dolfinx.fem.locate_dofs_topological(
                    (sub, Vc), self.mesh.topology.dim - 1, facets)
                self.bcs.append(dolfinx.fem.dirichletbc(g, dofs, sub))
                self._rim_g.append(g)

    def _set_load(self, pressure_MPa: float, axial_stretch: float) -> None:
        # The base class's "axial stretch" load parameter is the in-plane pre-stretch here
        # (the needle model has no plane-strain axial stretch): it drives the rim.
        self._p_load.value = pressure_MPa
        for i, g in enumerate(self._rim_g):
            g.interpolate(lambda x, i=i: (axial_stretch - 1.0) * x[i])
            g.x.scatter_forward()  # owners' values on the ghosts (see the base class)

    @property
    def in_plane_prestretch(self) -> float:
        """The in-plane pre-stretch reached by :meth:`prestretch` (1: none)."""
        return self.axial_stretch

    def prestretch(self, stretch: float):
        """Ramp the rim to the in-plane pre-stretch ``stretch`` (adaptive steps, as a pressure
        ramp; returns the :class:`fem.solid.hyperelastic.RampResult`)."""
        if not self._rim_g:
            raise ValueError("prestretch needs prestretch_boundary")
        check_range("stretch", stretch, 0.5, 3.0)
        return self.ramp(axial_stretch=stretch)

    def _contact_scales(self) -> tuple[float, float]:
        """``(E_eff, h)``: modulus of the stiffest region at the contact surface, and the
        shortest edge of the contact-surface facets."""
        tdim = self.mesh.topology.dim
        facets = self._contact_facets()
        self.mesh.topology.create_connectivity(tdim - 1, tdim)
        self.mesh.topology.create_connectivity(tdim - 1, 0)
        f2c = self.mesh.topology.connectivity(tdim - 1, tdim)
        cells = np.unique(np.concatenate([f2c.links(f) for f in facets])) if len(facets) else []
        mu = 0.0
        for r, mat in self.materials.items():
            if np.intersect1d(cells, self.cell_tags.find(self.regions[r])).size:
                mu = max(mu, mat.reference_modulus_MPa)
        mu = self.comm.allreduce(mu, op=MPI.MAX)
        h_local = np.inf
        if len(facets):
            x = self.mesh.geometry.x
            geom = dolfinx.mesh.entities_to_geometry(self.mesh, tdim - 1, facets)
            # Simplex facets: the first tdim geometry nodes are the vertices; every pair is an
            # edge (one pair for the interval facets of a 2-D mesh).
            pairs = [(i, j) for i in range(tdim) for j in range(i + 1, tdim)]
            lengths = np.concatenate([np.linalg.norm(x[geom[:, i]] - x[geom[:, j]], axis=1)
                                      for i, j in pairs])
            h_local = float(lengths.min())
        h = self.comm.allreduce(h_local, op=MPI.MIN)
        return 3.0 * mu, h

    def _build_forms(self) -> None:
        q = self.options.quadrature_degree
        qc = self.contact.quadrature_degree
        self.dx = ufl.Measure("dx", domain=self.mesh, subdomain_data=self.cell_tags,
                              metadata={"quadrature_degree": q})
        self.ds = ufl.Measure("ds", domain=self.mesh, subdomain_data=self.facet_tags,
                              metadata={"quadrature_degree": q})
        # One measure, explicit degree, for residual and Jacobian of the kink terms.
        self.ds_contact = ufl.Measure("ds", domain=self.mesh, subdomain_data=self.facet_tags,
                                      metadata={"quadrature_degree": qc})
        X = ufl.SpatialCoordinate(self.mesh)
        weight = self._measure_weight(X)
        u, F = self.kinematics()

        self.E_eff_MPa, self.h_contact_mm = self._contact_scales()
        self.penalty_MPa_per_mm = self.contact.penalty_factor * self.E_eff_MPa / self.h_contact_mm
        self._eps = dolfinx.fem.Constant(self.mesh, self.penalty_MPa_per_mm)
        el_l = basix.ufl.element("Lagrange", self.mesh.basix_cell(),
                                 self.options.displacement_degree)
        self.L = dolfinx.fem.functionspace(self.mesh, el_l)
        self.multiplier = dolfinx.fem.Function(self.L, name="contact_multiplier_MPa")

        energy = sum(
            self.strain_energy_density(r, F) * weight * self.dx(self.regions[r])
            for r in self.materials
        )
        x = X + u
        ops = ufl_ops()
        gap = self._distance(x, self._d, ops)
        lam, eps = self.multiplier, self._eps
        self.gap = gap
        # C1 ramp: P(x) = x^2/(2 delta) on [0, delta], x - delta/2 above (Newton does not cycle
        # on the kink of <x>_+ when contact nodes enter and leave); delta = eps * smoothing.
        xc = lam - eps * gap
        delta = eps * self.contact.smoothing_mm
        xp = ufl.max_value(xc, 0.0)
        phi = ufl.conditional(ufl.le(xp, delta), xp**3 / (6.0 * delta),
                              0.5 * xp**2 - 0.5 * delta * xp + delta**2 / 6.0)
        self.contact_pressure = ufl.conditional(ufl.le(xp, delta), xp**2 / (2.0 * delta),
                                                xp - 0.5 * delta)
        dsc = self.ds_contact(tuple(self.boundaries[b] for b in self.contact_boundaries))
        self._dsc = dsc
        energy = energy + (phi - 0.5 * lam**2) / eps * weight * dsc
        # Needle force: P grad S . a, with grad S from the same distance as a UFL variable.
        xv = ufl.variable(x)
        dS = ufl.diff(self._distance(xv, self._d, ops), xv)
        self._force_form = dolfinx.fem.form(
            self._force_integrand(self.contact_pressure, dS) * weight * dsc)
        self._area_form = dolfinx.fem.form(
            ufl.conditional(ufl.gt(self.contact_pressure, 0.0), 1.0, 0.0) * weight * dsc)
        friction_work = None
        if self.contact.friction_coefficient > 0.0:
            # Regularised Coulomb friction on the slip of the tissue relative to the needle in
            # this step, s = (u - u_prev) - (d - d_prev) a, tangential part s_T (normal
            # n = grad S / |grad S|): traction on the tissue t = -mu P s_T / sqrt(|s_T|^2 + e^2).
            self._u_prev = dolfinx.fem.Function(self.V, name="u_prev")
            self._d_prev = dolfinx.fem.Constant(self.mesh, 0.0)
            a = self._axis_vector()
            slip = (u - self._u_prev) - (self._d - self._d_prev) * a
            n = dS / ufl.sqrt(ufl.dot(dS, dS) + 1e-30)
            s_t = slip - ufl.dot(slip, n) * n
            reg = ufl.sqrt(ufl.dot(s_t, s_t) + self.contact.friction_slip_mm**2)
            mu_p = self.contact.friction_coefficient * self.contact_pressure
            friction_work = mu_p / reg * s_t  # minus the traction on the tissue
            self._force_form = dolfinx.fem.form(
                (self._force_integrand(self.contact_pressure, dS)
                 - ufl.dot(friction_work, a)) * weight * dsc)
            self._dissipation_form = dolfinx.fem.form(
                ufl.dot(friction_work, s_t) * weight * dsc)

        if self.support_boundaries:
            E_eff_all = 3.0 * max(m.reference_modulus_MPa for m in self.materials.values())
            k = self.contact.support_stiffness_factor * E_eff_all / self.h_contact_mm
            self.support_stiffness_MPa_per_mm = k
            N = ufl.FacetNormal(self.mesh)
            # The same C1 rounding of <w>_+ as the contact ramp: where the far face lifts off,
            # the support's stiffness must not jump from 0 to k (Newton would cycle there).
            wp = ufl.max_value(ufl.dot(u, N), 0.0)
            dw = 10.0 * self.contact.smoothing_mm
            w = ufl.conditional(ufl.le(wp, dw), wp**2 / (2.0 * dw), wp - 0.5 * dw)
            p_s = max(float(self._support_p.value), 1e-12)
            # q = p tanh(k w / p): stiffness k at first, smoothly saturating at p (no second
            # kink for Newton); energy (p^2/k) ln cosh(k w / p), written overflow-free.
            z = k * w / p_s
            phi = (p_s**2 / k) * (z + ufl.ln(1.0 + ufl.exp(-2.0 * z)) - math.log(2.0))
            for b in self.support_boundaries:
                energy = energy + phi * weight * self.ds_contact(self.boundaries[b])

        w_test = ufl.TestFunction(self.W)
        residual = ufl.derivative(energy, self.w, w_test)
        v = ufl.split(w_test)[0] if self.options.formulation == "mixed" else w_test
        if friction_work is not None:
            residual = residual + ufl.dot(friction_work, v) * weight * dsc
        if self.pressure_boundaries:
            N3 = self._as_3d(ufl.FacetNormal(self.mesh))
            v3 = self._as_3d(v)
            J = ufl.det(F)
            traction_work = self._p_load * J * ufl.dot(ufl.inv(F).T * N3, v3) * weight
            residual = residual + sum(
                traction_work * self.ds(self.boundaries[b]) for b in self.pressure_boundaries
            )
        self._residual = residual
        self._jacobian = ufl.derivative(residual, self.w, ufl.TrialFunction(self.W))
        self._energy_form = dolfinx.fem.form(energy)

    def _build_contact_dofs(self) -> None:
        fdim = self.mesh.topology.dim - 1
        dofs = dolfinx.fem.locate_dofs_topological(self.L, fdim, self._contact_facets())
        n_owned = self.L.dofmap.index_map.size_local
        self._contact_dofs = dofs[dofs < n_owned]
        pts = self.L.element.interpolation_points
        self._update_expr = dolfinx.fem.Expression(self.contact_pressure, pts)
        self._gap_expr = dolfinx.fem.Expression(self.gap, pts)
        self._gap_fn = dolfinx.fem.Function(self.L)
        self._check_start()
        # Penetration is measured where each method imposes contact: Uzawa's multipliers live
        # at the surface nodes; the penalty acts at the Gauss points of the contact integral
        # (there, a node on the axis, which no penalty can push out of a sharp tip, and whose
        # 2 pi r weight is zero in the axisymmetric model, is not a measuring point).
        tdim = self.mesh.topology.dim
        self.mesh.topology.create_connectivity(tdim, tdim - 1)
        facet_cell = basix.cell.sub_entity_type(self.mesh.basix_cell(), tdim - 1, 0)
        qpts, _ = basix.make_quadrature(facet_cell, self.contact.quadrature_degree)
        self._gap_qp_expr = dolfinx.fem.Expression(self.gap, qpts)
        self._contact_facet_entities = dolfinx.fem.compute_integration_domains(
            dolfinx.fem.IntegralType.exterior_facet, self.mesh.topology,
            self._contact_facets()).reshape(-1, 2)

    def _contact_facets(self) -> np.ndarray:
        """Local indices of the facets of every contact boundary (sorted, unique)."""
        return np.unique(np.concatenate([self._facets(b) for b in self.contact_boundaries])
                         ).astype(np.int32)

    def _check_start(self) -> None:
        """The needle must not be inside the reference contact surface at ``d = 0`` (a needle
        given in the wrong frame, e.g. the axisymmetric default axis ``-y`` on a 3-D disc,
        would otherwise be pushed out of the tissue by huge penalty forces)."""
        self._gap_fn.interpolate(self._gap_expr)
        g = self._gap_fn.x.array[self._contact_dofs]
        g_min = self.comm.allreduce(float(g.min()) if g.size else np.inf, op=MPI.MIN)
        if g_min < -1e-8 * self.length_scale_mm:
            raise ValueError(
                f"needle (axis = {self.needle.axis}, entry_point_mm = "
                f"{self.needle.entry_point_mm}) is {-g_min:.3g} mm inside the contact surface "
                f"{self.contact_boundaries!r} at needle advance 0: give the needle in the mesh's "
                "frame (3-D disc: axis (0, 0, -1), apex at the top face centre)")

    # ------------------------------------------------------------------ observables
    def set_needle_displacement(self, d_mm: float) -> None:
        self.needle_displacement_mm = float(d_mm)
        self._d.value = float(d_mm)

    @property
    def _enforced(self) -> bool:
        """Whether the penetration tolerance is enforced (AL or penalty continuation)."""
        return self.contact.augmented_lagrangian or self.contact.penalty_growth > 1.0

    @property
    def penalty_factor(self) -> float:
        """The current penalty factor ``c`` (grows under penalty continuation)."""
        return self.penalty_MPa_per_mm * self.h_contact_mm / self.E_eff_MPa

    def set_penalty_factor(self, c: float) -> None:
        self.refresh_preconditioner()  # a kept preconditioner has the old penalty
        self.penalty_MPa_per_mm = float(c) * self.E_eff_MPa / self.h_contact_mm
        self._eps.value = self.penalty_MPa_per_mm

    def snapshot(self) -> tuple:
        """The state :meth:`restore` goes back to: displacement (and pressures), contact
        multiplier, penalty factor, needle advance."""
        return (self.w.x.array.copy(), self.multiplier.x.array.copy(), self.penalty_factor,
                self.needle_displacement_mm,
                tuple(term.snapshot() for term in self._extra_terms))

    def restore(self, state: tuple) -> None:
        """Go back to a :meth:`snapshot`."""
        w, lam, c, d, terms = state
        for term, s in zip(self._extra_terms, terms, strict=True):
            term.restore(s)
        self.w.x.array[:] = w
        self.w.x.scatter_forward()
        self.multiplier.x.array[:] = lam
        self.multiplier.x.scatter_forward()
        self.set_penalty_factor(c)  # (also drops a kept preconditioner)
        self.set_needle_displacement(d)

    def _sum(self, form) -> float:
        return float(self.comm.allreduce(dolfinx.fem.assemble_scalar(form), op=MPI.SUM))

    def needle_force(self) -> float:
        """Force (N) the needle exerts along its insertion direction in the current state
        (on the whole body: ``symmetry_copies`` times the mesh's share)."""
        return self._sum(self._force_form) * self.symmetry_copies

    def contact_area(self) -> float:
        """Reference area (mm^2) where the contact pressure is positive (whole body)."""
        return self._sum(self._area_form) * self.symmetry_copies

    def penetration(self) -> float:
        """Largest penetration ``max(-g, 0)`` (mm): over the contact-surface nodes with
        augmented Lagrangian, over the contact integral's Gauss points with a penalty."""
        if self.contact.augmented_lagrangian:
            self._gap_fn.interpolate(self._gap_expr)
            g = self._gap_fn.x.array[self._contact_dofs]
        else:
            ents = self._contact_facet_entities
            g = self._gap_qp_expr.eval(self.mesh, ents) if len(ents) else np.zeros(0)
        local = float(max(0.0, -np.min(g))) if np.size(g) else 0.0
        return float(self.comm.allreduce(local, op=MPI.MAX))

    def contact_pressure_function(self) -> dolfinx.fem.Function:
        """The nominal contact pressure (MPa) at the nodes, as a Function (for output)."""
        f = dolfinx.fem.Function(self.L, name="contact_pressure_MPa")
        f.interpolate(self._update_expr)
        return f

    def energy(self) -> float:
        """Total potential of the conservative terms (strain, contact, support, the energy
        stored in a cohesive crack), N mm, of the whole body."""
        stored = sum(term.energies()[0] for term in self._extra_terms)
        return (self._sum(self._energy_form) + stored) * self.symmetry_copies

    def crack_dissipation(self) -> float:
        """Energy dissipated by the cohesive crack(s) so far (N mm, whole body)."""
        return sum(term.energies()[1] for term in self._extra_terms) * self.symmetry_copies

    # ------------------------------------------------------------------ solving
    def _residual_floor(self) -> float:
        """Residual (N) below which a stalled Newton solve is accepted (``stall_rtol``)."""
        # The residual is the mesh's own: compare it with the mesh's share of the force.
        return self.contact.stall_rtol * max(abs(self._last_force) / self.symmetry_copies,
                                             self.E_eff_MPa * self.h_contact_mm**2)

    @property
    def friction(self) -> bool:
        return self.contact.friction_coefficient > 0.0

    def _set_slip_origin(self, d_mm: float) -> None:
        """The converged state the next step's slip is measured from (friction only)."""
        if self.friction:
            self._u_prev.x.array[:] = self.w.x.array[self._u_to_w]
            self._u_prev.x.scatter_forward()
            self._d_prev.value = float(d_mm)

    def _uzawa_update(self) -> None:
        new = dolfinx.fem.Function(self.L)
        new.interpolate(self._update_expr)
        self.multiplier.x.array[:] = new.x.array
        self.multiplier.x.scatter_forward()

    def solve_contact(self, step: int = 0) -> InsertionStep:
        """Solve at the current needle position: Newton, then Uzawa until the tolerance."""
        tic = time.perf_counter()
        d = self.needle_displacement_mm
        tol = min(self.contact.penetration_tol_mm,
                  max(self.contact.penetration_rel_tol * abs(d), 1e-12))
        newton = 0
        al = 0
        rec = None
        pen = math.inf
        while True:
            rec = self._solve_once(step, 0.0, self.pressure_MPa, self.axial_stretch)
            newton += rec.newton_iterations
            if not rec.converged and rec.snes_reason in _FLOOR_REASONS and math.isfinite(
                    rec.residual_norm) and rec.residual_norm <= self._residual_floor():
                # Newton cannot lower a residual that is already at rounding level (a relative
                # test against a small initial residual can be out of reach).
                rec.converged, rec.snes_reason_name = True, "CONVERGED_RESIDUAL_FLOOR"
            if not rec.converged:
                break
            pen = self.penetration()
            if pen <= tol or not self._enforced:
                break
            if self.contact.augmented_lagrangian:
                if al >= self.contact.max_al_iterations:
                    break
                self._uzawa_update()
            else:
                grown = self.penalty_factor * self.contact.penalty_growth
                if grown > self.contact.max_penalty_factor * (1.0 + 1e-12):
                    break
                self.set_penalty_factor(grown)
            al += 1
        converged = bool(rec.converged and (pen <= tol or not self._enforced))
        reason_name = rec.snes_reason_name
        if rec.converged and not converged:
            reason_name = ("AL_MAX_ITERATIONS" if self.contact.augmented_lagrangian
                           else "PENALTY_MAX")
        force = self.needle_force() if rec.converged else math.nan
        if converged:
            self._last_force = force
        wall = self.comm.allreduce(time.perf_counter() - tic, op=MPI.MAX)
        return InsertionStep(step=step, displacement_mm=d, converged=converged, force_N=force,
                             work_Nmm=math.nan, penetration_mm=pen, al_iterations=al,
                             newton_iterations=newton, snes_reason=rec.snes_reason,
                             snes_reason_name=reason_name, residual_norm=rec.residual_norm,
                             wall_time_s=wall, penalty_factor=self.penalty_factor)

    def insert(self, target_mm: float, *, stop=None, max_step_mm: float | None = None
               ) -> InsertionResult:
        """Advance the needle from its current position to ``target_mm`` in adaptive steps.

        A failed step (Newton failure or Uzawa not reaching the tolerance) restores the last
        converged state and multiplier and halves the increment; easy steps grow it.

        Args:
            target_mm: needle advance to reach (mm).
            stop: optional callback ``stop(curve) -> bool`` called after each converged step
                with the ``(d, F)`` pairs so far; True ends the insertion (``"criterion"``).
            max_step_mm: overrides ``ContactSettings.max_step_mm``.

        Returns:
            The insertion record; on failure the state stays at the last converged step.
        """
        c = self.contact
        max_step = c.max_step_mm if max_step_mm is None else float(max_step_mm)
        d0 = self.needle_displacement_mm
        result = InsertionResult(converged=False, target_displacement_mm=float(target_mm),
                                 reached_displacement_mm=d0, stopped_by="")
        result.curve.append((d0, self.needle_force()))
        result.dissipation.append(0.0)
        self.dissipation_curve = result.dissipation
        dd = min(c.initial_step_mm, max_step)
        w_backup = self.w.x.array.copy()
        l_backup = self.multiplier.x.array.copy()
        c_backup = self.penalty_factor
        d = d0
        work = 0.0
        dissipated = 0.0
        self._set_slip_origin(d0)
        rate: np.ndarray | None = None
        while d < target_mm - 1e-12:
            if len(result.steps) >= c.max_steps:
                result.failure = self._insertion_failure("max_steps", result)
                break
            dd = min(dd, max_step, target_mm - d)
            if self.options.predictor and rate is not None:
                self.w.x.array[:] = w_backup + dd * rate
                self.w.x.scatter_forward()
            self.set_needle_displacement(d + dd)
            for term in self._extra_terms:
                term.set_increment(dd)
            rec = self.solve_contact(len(result.steps))
            if rec.converged and dd > c.min_step_mm and any(
                    term.history_increment() > c.max_history_step for term in self._extra_terms):
                # A crack front that would jump several elements in one step: a smaller step.
                rec.converged, rec.snes_reason_name = False, "DAMAGE_STEP"
            if rec.converged:
                for term in self._extra_terms:
                    term.commit()
                f_prev = result.curve[-1][1]
                work += 0.5 * (f_prev + rec.force_N) * dd
                rec.work_Nmm = work
                if self.friction:
                    dissipated += self._sum(self._dissipation_form)
                    self._set_slip_origin(d + dd)
                rec.dissipation_Nmm = dissipated
                result.steps.append(rec)
                rate = (self.w.x.array - w_backup) / dd
                w_backup[:] = self.w.x.array
                l_backup[:] = self.multiplier.x.array
                c_backup = self.penalty_factor
                d += dd
                result.curve.append((d, rec.force_N))
                result.dissipation.append(dissipated)
                if rec.newton_iterations <= c.easy_iterations * (1 + rec.al_iterations):
                    dd *= c.grow_factor
                if stop is not None and stop(result.curve):
                    result.stopped_by = "criterion"
                    break
                continue
            result.steps.append(rec)
            self.restore((w_backup, l_backup, c_backup, d,
                          tuple(term.snapshot() for term in self._extra_terms)))
            dd *= c.shrink_factor
            if dd < c.min_step_mm * (1.0 - 1e-12):
                result.failure = self._insertion_failure("min_step", result)
                break
        result.reached_displacement_mm = d
        if result.failure is None and not result.stopped_by:
            result.stopped_by = "target"
        elif result.failure is not None:
            result.stopped_by = result.failure["reason"]
        result.converged = result.failure is None
        return result

    def _insertion_failure(self, why: str, result: InsertionResult) -> dict:
        last = result.steps[-1] if result.steps else None
        return {
            "reason": why,
            "snes_reason": last.snes_reason if last else 0,
            "snes_reason_name": last.snes_reason_name if last else "",
            "step": last.step if last else 0,
            "displacement_mm": last.displacement_mm if last else self.needle_displacement_mm,
            "last_converged_displacement_mm": self.needle_displacement_mm,
            "residual_norm": last.residual_norm if last else math.nan,
            "penetration_mm": last.penetration_mm if last else math.nan,
        }

    def write_contact_pressure(self, path, time_value: float = 0.0) -> None:
        """Write the nominal contact pressure and the displacement (VTX/ADIOS2 folder ``path``)."""
        p = self.contact_pressure_function()
        u = self.displacement
        # VTX needs both on the same element: interpolate the pressure into a blocked-free copy.
        with dolfinx.io.VTXWriter(self.comm, str(path), [p], engine="BP4") as vtx:
            vtx.write(time_value)
        with dolfinx.io.VTXWriter(self.comm, str(path).replace(".bp", "") + "_u.bp", [u],
                                  engine="BP4") as vtx:
            vtx.write(time_value)


class AxisymmetricNeedleProblem(NeedleContactProblem):
    """Axisymmetric finite-strain solid indented by a rigid needle on its axis.

    The reduced model of :class:`NeedleContactProblem`: only the geometry hooks differ (2-D
    mesh, ``2 pi r`` weight, axisymmetric ``F``, the needle's axisymmetric distance with a
    lancet as its equivalent cone, the force along ``-z``).

    Args:
        mesh, cell_tags, facet_tags, regions, boundaries, materials, pressure_boundaries,
            displacement_bcs, options, name: as :class:`fem.solid.hyperelastic.HyperelasticProblem`
            (2-D mesh in the (r, z) half-plane, r >= 0). ``pressure_boundaries`` carry a
            follower pressure (set with :meth:`ramp`), here weighted by ``2 pi r``.
        needle: the rigid needle; its axis is the mesh's r = 0 line, moving towards -z, its
            apex at ``z = entry_point_mm[1] - d``.
        contact_boundary: boundary name of the surface the needle may touch.
        contact: enforcement and stepping settings.
        support_boundaries: boundaries backed by the pressure-limited support (balloon).
        support_pressure_MPa: the support's limit pressure (the balloon pressure), >= 0.
        prestretch_boundary: boundary (the disc's outer edge) whose radial displacement
            follows the in-plane pre-stretch ``lambda``: ``u_r = (lambda - 1) r``, set by
            :meth:`prestretch` (the state a global solution hands to this local model). Give
            no other ``u_r`` condition on it.
    """

    def __init__(self, *args, **kwargs) -> None:
        # The arguments of NeedleContactProblem, less symmetry_copies: the revolved model is
        # the whole body.
        if "symmetry_copies" in kwargs:
            raise TypeError("AxisymmetricNeedleProblem takes no symmetry_copies (the revolved "
                            "model is the whole body)")
        super().__init__(*args, **kwargs)

    def _check_mesh(self, mesh: dolfinx.mesh.Mesh) -> None:
        if mesh.geometry.dim != 2:
            raise ValueError(f"mesh geometric dimension = {mesh.geometry.dim} must be 2 (r, z)")

    def _contact_needle(self, needle: Needle) -> Needle:
        return needle.axisymmetric()

    def _measure_weight(self, X):
        return 2.0 * math.pi * X[0]

    def _distance(self, x, d, ops):
        return self.needle.axisymmetric_distance(x, d, ops)

    def _force_integrand(self, pressure, dS):
        # The apex moves along -z: grad S . a = -dS/dz.
        return -pressure * dS[1]

    def _as_3d(self, v):
        return ufl.as_vector([v[0], v[1], 0.0])

    def _axis_vector(self):
        return ufl.as_vector([0.0, -1.0])

    def _deformation_gradient(self, u):
        g = ufl.grad(u)
        r = ufl.SpatialCoordinate(self.mesh)[0]
        return ufl.as_matrix(
            [[1.0 + g[0, 0], g[0, 1], 0.0], [g[1, 0], 1.0 + g[1, 1], 0.0],
             [0.0, 0.0, 1.0 + u[0] / r]]
        )
