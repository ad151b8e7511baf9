"""Needle-induced rupture of the balloon film: a rigid needle against the pre-tensioned film (FE).

Model
-----
A quarter disc of film around the point where the needle crosses it (:mod:`meshes.film_patch`),
flat or on the balloon's cylinder, is the finite-strain membrane of :mod:`fem.balloon.membrane`
(incompressible neo-Hookean film, ``mu = E / 3``, plane stress, follower pressure). Before the
needle moves the film is in its balloon state (:class:`FilmState`): pressure ``p`` behind it,
hoop and axial tensions ``T_theta``, ``T_z`` and radius ``r``; the reference (stress-free)
patch is built so that the homogeneous state with those tensions is an equilibrium, and the rim
is held in that state. Symmetry planes ``y = 0`` and ``z = 0``: results are for the whole film
(four quarters).

* ``support = "free"``: nothing on the needle's side of the film (a film over a gap of the
  channel, a cone, a balloon on the bench). Equilibrium needs ``T_theta = p r``.
* ``support = "wall"``: the film lies on the channel wall on the needle's side, pressed on it
  with ``p_c = p - T_theta / r >= 0`` (the wall takes ``p_c``); the wall is a rigid cylinder
  (flat patch: a plane) that the film can leave but not cross. This is how the needle meets the
  film after it has crossed the outer wall: the film lifts off the wall around the needle.

Wrinkling (tension field): a membrane cannot carry compression. Around a needle pushed into a
film of low pre-tension the stress around the needle turns compressive (measured: -9 MPa on
the 2 atm film on the wall at 0.4 mm), the plain membrane's tangent turns indefinite and Newton
stops. The film's energy is therefore relaxed (Pipkin's tension-field membrane): with the
principal stretches ``l1 >= l2``, where ``l2`` is below the natural width ``l1^-1/2`` of
uniaxial tension the film is wrinkled and stores ``psi(l1^2 + 2 / l1)`` (uniaxial tension
along ``l1``), where ``l1 < 1`` it is slack and stores nothing; a fraction
:data:`_RESIDUAL_COMPRESSION` of the compression stiffness is kept so that the tangent stays
regular. Taut film is unchanged, so the closed-form checks (taut everywhere) are not affected.

The needle (:class:`fem.needle.geometry.Needle`, its exact signed distance ``S`` evaluated at
the deformed film ``x = X + u``) moves along ``-x`` (towards the balloon axis) from first
contact; contact is a penalty ``k/2 <-S>^2`` per reference area (C1-smoothed as the channel's),
``k = penalty_factor E H / h^2`` with ``h`` the finest element size. The needle force is
``F = -dE_c/du [a]`` (the contact energy's derivative along the needle axis ``a``).

Puncture criteria (the first reached; ``criterion`` says which)
---------------------------------------------------------------
* ``"energy"``: the work done by the needle pays for the crack through the film,
  ``W(d*) = int F dd = G t w`` with ``G = K_c^2 / E`` (plane stress; the film's toughness
  ``K_c``, the same toughness as the pinhole/tear check), ``t`` the reference film thickness and
  ``w = crack_width_factor x OD``: the criterion of :mod:`fem.closed_form.rupture` and of the
  tissue (:mod:`fem.needle.puncture`). The film is hyperelastic, the contact frictionless and
  the pressure conservative with the rim held, so ``W`` is the change of the total potential
  and is released when the film parts (``energy_balance_error`` checks ``W`` against it).
* ``"strength"``: the largest in-plane principal Cauchy stress (cell midpoints) reaches the
  film's tensile strength (the burst criterion of :mod:`fem.balloon.burst`). Under a rounded
  tip it converges once the mesh resolves the tip radius; under a sharp edge (a flat punch) it
  is mesh dependent and should be switched off (``strength_MPa = inf``).

Checks (``tests/test_film_puncture.py``, ``python -m hpc.benchmarks.film_puncture``): a flat
punch on a flat, equi-biaxially pre-tensioned free film against
:func:`fem.closed_form.rupture.film_puncture` in its small-deflection range, and on a flat
supported film against :func:`fem.closed_form.rupture.supported_film_puncture`.

Units: mm, N, MPa.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field

import hpc.stack  # noqa: F401  (orders MPI before DOLFINx; keep first)

import dolfinx
import dolfinx.fem.petsc
import numpy as np
import ufl
from mpi4py import MPI
from petsc4py import PETSc

from fem._json import json_ready
from fem.balloon.film import NeoHookeanFilm, _check, cylinder_tensions
from fem.balloon.membrane import surface_kinematics
from fem.needle.geometry import Needle, ufl_ops

__all__ = ["SUPPORTS", "FilmPunctureCase", "FilmPunctureResult", "FilmState",
           "solve_film_puncture"]

SUPPORTS = ("free", "wall")
#: Fraction of the film's compression stiffness kept where it wrinkles (tension field): enough
#: to keep the tangent regular, small enough that the compressive stress is 0.1 % of the
#: unrelaxed film's.
_RESIDUAL_COMPRESSION = 1.0e-3
#: ``1 MPa*sqrt(m)`` in ``MPa*sqrt(mm)``.
_SQRT_MM_PER_SQRT_M = math.sqrt(1000.0)
_COUNTER = [0]


@dataclass(frozen=True, slots=True)
class FilmState:
    """The film where the needle meets it, before the needle moves.

    Attributes:
        pressure_MPa: balloon pressure (a follower load on the film, towards the needle).
        hoop_tension_N_per_mm, axial_tension_N_per_mm: membrane tensions (> 0).
        radius_mm: deformed radius of the film (inf: a flat film).
        support: ``"free"`` or ``"wall"`` (module docstring).
    """

    pressure_MPa: float
    hoop_tension_N_per_mm: float
    axial_tension_N_per_mm: float
    radius_mm: float = math.inf
    support: str = "free"

    def __post_init__(self) -> None:
        o = "FilmState"
        _check(o, "pressure_MPa", self.pressure_MPa, 0.0, 10.0, "MPa")
        _check(o, "hoop_tension_N_per_mm", self.hoop_tension_N_per_mm, 1e-6, 1e3, "N/mm")
        _check(o, "axial_tension_N_per_mm", self.axial_tension_N_per_mm, 1e-6, 1e3, "N/mm")
        if not (self.radius_mm == math.inf or 0.1 <= self.radius_mm <= 1e3):
            raise ValueError(f"{o}.radius_mm = {self.radius_mm!r} is outside the allowed range "
                             "[0.1, 1000] mm (or inf: flat)")
        if self.support not in SUPPORTS:
            raise ValueError(f"{o}.support = {self.support!r} must be one of {SUPPORTS}")
        pc = self.contact_pressure_MPa
        if self.support == "wall" and pc < -1e-9 * max(self.pressure_MPa, 1e-9):
            raise ValueError(f"{o}: hoop tension {self.hoop_tension_N_per_mm} N/mm over radius "
                             f"{self.radius_mm} mm exceeds the pressure {self.pressure_MPa} MPa: "
                             "the film does not press on the wall")
        if self.support == "free" and abs(pc) > 1e-6 * max(self.pressure_MPa, 1e-6):
            raise ValueError(f"{o}: a free film needs T_theta / r = p (got p = "
                             f"{self.pressure_MPa} MPa, T_theta / r = "
                             f"{self.pressure_MPa - pc} MPa)")

    @property
    def contact_pressure_MPa(self) -> float:
        """What the wall takes, ``p - T_theta / r`` (0 for a free film in equilibrium)."""
        curv = 0.0 if self.radius_mm == math.inf else self.hoop_tension_N_per_mm / self.radius_mm
        return self.pressure_MPa - curv

    @classmethod
    def free_balloon(cls, pressure_MPa: float, radius_mm: float) -> FilmState:
        """The body of a free closed-end balloon: ``T_theta = p r``, ``T_z = p r / 2``."""
        return cls(pressure_MPa, pressure_MPa * radius_mm, 0.5 * pressure_MPa * radius_mm,
                   radius_mm, "free")

    @classmethod
    def on_wall(cls, pressure_MPa: float, radius_mm: float,
                contact_pressure_MPa: float) -> FilmState:
        """The body on the channel wall: ``T_theta = (p - p_c) r``, ``T_z = p r / 2``."""
        return cls(pressure_MPa, (pressure_MPa - contact_pressure_MPa) * radius_mm,
                   0.5 * pressure_MPa * radius_mm, radius_mm, "wall")


@dataclass(frozen=True, slots=True)
class FilmPunctureCase:
    """One needle-film event.

    Attributes:
        state: the film before the needle moves.
        needle: the needle (its axis and entry point are set here: ``-x`` through the
            crossing point); a lancet is replaced by its equivalent cone.
        film_thickness_mm: reference thickness ``t``.
        film_modulus_MPa: Young's modulus ``E`` (neo-Hookean ``mu = E / 3``).
        toughness_MPa_sqrt_m: ``K_c``; ``G = K_c^2 / E``.
        crack_width_factor: crack width in needle outer diameters.
        strength_MPa: tensile strength for the ``"strength"`` criterion (inf: off).
        patch_radius_mm: patch radius (reference, developed).
        fine_size_mm, fine_radius_mm, coarse_size_mm: element sizes (:mod:`meshes.film_patch`).
        step_mm: needle advance per step (halved on a failed step, down to 1 % of it).
        max_depth_mm: needle travel after first contact before giving up (``"no_puncture"``).
        penalty_factor: contact penalty in ``E t / h^2``.
        degree: displacement degree (1 or 2).
        tension_field: relax the film's energy where it would be compressed (module
            docstring); False keeps the plain membrane.
    """

    state: FilmState
    needle: Needle = field(default_factory=lambda: Needle.from_gauge(18, tip="flat"))
    film_thickness_mm: float = 0.025
    film_modulus_MPa: float = 1500.0
    toughness_MPa_sqrt_m: float = 4.0
    crack_width_factor: float = 1.0
    strength_MPa: float = math.inf
    patch_radius_mm: float = 2.5
    fine_size_mm: float = 0.04
    fine_radius_mm: float = 0.8
    coarse_size_mm: float = 0.3
    step_mm: float = 0.02
    max_depth_mm: float = 2.0
    penalty_factor: float = 1.0
    degree: int = 2
    tension_field: bool = True

    def __post_init__(self) -> None:
        o = "FilmPunctureCase"
        _check(o, "film_thickness_mm", self.film_thickness_mm, 1e-3, 0.5, "mm")
        _check(o, "film_modulus_MPa", self.film_modulus_MPa, 1.0, 1e5, "MPa")
        _check(o, "toughness_MPa_sqrt_m", self.toughness_MPa_sqrt_m, 1e-3, 50.0, "MPa*sqrt(m)")
        _check(o, "crack_width_factor", self.crack_width_factor, 1e-3, 10.0)
        if not (self.strength_MPa == math.inf or 1.0 <= self.strength_MPa <= 1e4):
            raise ValueError(f"{o}.strength_MPa = {self.strength_MPa!r} is outside the allowed "
                             "range [1, 1e4] MPa (or inf: no strength criterion)")
        _check(o, "patch_radius_mm", self.patch_radius_mm, 2.0 * self.needle.radius_mm, 20.0,
               "mm (at least the needle's outer diameter)")
        _check(o, "step_mm", self.step_mm, 1e-4, 0.5, "mm")
        _check(o, "max_depth_mm", self.max_depth_mm, self.step_mm, 20.0, "mm")
        _check(o, "penalty_factor", self.penalty_factor, 1e-3, 1e4)
        if self.degree not in (1, 2):
            raise ValueError(f"{o}.degree = {self.degree!r} must be 1 or 2")

    @property
    def fracture_energy_N_per_mm(self) -> float:
        return (self.toughness_MPa_sqrt_m * _SQRT_MM_PER_SQRT_M) ** 2 / self.film_modulus_MPa

    @property
    def threshold_Nmm(self) -> float:
        """``G t w``, the work that pays for the crack."""
        return (self.fracture_energy_N_per_mm * self.film_thickness_mm
                * self.crack_width_factor * self.needle.outer_diameter_mm)


@dataclass(slots=True)
class FilmPunctureResult:
    """What one needle-film event produced (``to_dict`` is JSON-ready).

    ``status``: ``"punctured"``, ``"no_puncture"`` (travel limit) or ``"failed"`` (Newton,
    with ``failure``). ``curve`` rows: ``(d_mm, F_N, W_Nmm, max_principal_MPa, liftoff_mm)``;
    ``liftoff_radius_mm`` is the radius of the film area off the wall (``"wall"`` only).
    """

    status: str
    criterion: str = ""
    puncture_force_N: float = math.nan
    puncture_depth_mm: float = math.nan
    puncture_work_Nmm: float = math.nan
    threshold_Nmm: float = math.nan
    max_principal_at_puncture_MPa: float = math.nan
    liftoff_radius_mm: float = math.nan
    wrinkled_area_mm2: float = math.nan
    energy_balance_error: float = math.nan
    reference_hoop_stretch: float = math.nan
    reference_axial_stretch: float = math.nan
    curve: list[tuple[float, ...]] = field(default_factory=list)
    newton_iterations: int = 0
    steps: int = 0
    cells: int = 0
    failure: dict | None = None
    wall_time_s: float = 0.0

    def to_dict(self) -> dict:
        return json_ready(asdict(self))


def reference_stretches(state: FilmState, material: NeoHookeanFilm,
                        thickness_mm: float) -> tuple[float, float]:
    """Hoop and axial stretch of the film whose tensions are the state's."""
    from scipy.optimize import fsolve

    target = np.array([state.hoop_tension_N_per_mm, state.axial_tension_N_per_mm])

    def residual(x):
        return np.array(cylinder_tensions(material, thickness_mm, x[0], x[1])) / target - 1.0

    mu_h = material.shear_modulus_MPa * thickness_mm
    guess = 1.0 + target / (3.0 * mu_h)  # small strain, per direction
    sol, info, ier, msg = fsolve(residual, guess, full_output=True, xtol=1e-13)
    if ier != 1 or np.max(np.abs(residual(sol))) > 1e-10:
        raise ValueError(f"no film stretch carries the tensions {target} N/mm: {msg}")
    return float(sol[0]), float(sol[1])


class _FilmNeedleProblem:
    """The FE problem of one :class:`FilmPunctureCase` (built once, driven by the solver)."""

    def __init__(self, case: FilmPunctureCase, comm: MPI.Comm) -> None:
        from meshes.film_patch import FilmPatchSpec, load_film_patch

        self.case, self.comm = case, comm
        st = case.state
        self.flat = st.radius_mm == math.inf
        self.material = NeoHookeanFilm(case.film_modulus_MPa / 3.0)
        self.l_hoop, self.l_axial = reference_stretches(st, self.material, case.film_thickness_mm)
        r_ref = None if self.flat else st.radius_mm / self.l_hoop
        spec = FilmPatchSpec(case.patch_radius_mm, r_ref, case.fine_size_mm, case.fine_radius_mm,
                             case.coarse_size_mm, order=2 if not self.flat else 1)
        patch = load_film_patch(spec, comm)
        mesh = self.mesh = patch.mesh
        self.cells = comm.allreduce(mesh.topology.index_map(2).size_local, op=MPI.SUM)
        V = self.V = dolfinx.fem.functionspace(mesh, ("Lagrange", case.degree, (3,)))
        self.u = dolfinx.fem.Function(V, name="displacement")
        v = ufl.TestFunction(V)
        H = case.film_thickness_mm

        def outward(x):  # the film's normal towards the needle (+x on the flat patch)
            if self.flat:
                return np.vstack([np.ones_like(x[0]), 0 * x[0], 0 * x[0]])
            return np.vstack([x[0], x[1], 0 * x[0]])

        kin = surface_kinematics(mesh, self.u, outward)
        md = {"quadrature_degree": 4}
        dx = self.dx = ufl.Measure("dx", domain=mesh, metadata=md)
        X = ufl.SpatialCoordinate(mesh)
        x = X + self.u
        self.pressure = dolfinx.fem.Constant(mesh, PETSc.ScalarType(st.pressure_MPa))
        self.depth = dolfinx.fem.Constant(mesh, PETSc.ScalarType(0.0))
        # penalty from the film's membrane stiffness and the finest element
        h = case.fine_size_mm
        self.k_contact = case.penalty_factor * case.film_modulus_MPa * H / h**2
        delta = self._delta = 1e-3 * h

        def ramp(g, delta=delta):  # C1 penalty ramp of an overlap g (force, energy)
            f = ufl.conditional(ufl.le(g, 0.0), 0.0, ufl.conditional(
                ufl.lt(g, delta), g**2 / (2 * delta), g - delta / 2))
            e = ufl.conditional(ufl.le(g, 0.0), 0.0, ufl.conditional(
                ufl.lt(g, delta), g**3 / (6 * delta), (g - delta / 2) ** 2 / 2 + delta**2 / 24))
            return f, e

        # the needle: apex at the film's crossing point, moving along -x
        x0 = 0.0 if self.flat else st.radius_mm
        needle = case.needle.axisymmetric() if case.needle.tip == "lancet" else case.needle
        self.needle = Needle(needle.outer_diameter_mm, needle.inner_diameter_mm, needle.tip,
                             needle.tip_angle_deg, needle.tip_radius_mm, needle.sphere_radius_mm,
                             (-1.0, 0.0, 0.0), (x0, 0.0, 0.0), needle.gauge)
        ops = ufl_ops()
        S = self.needle.distance(x, self.depth, ops)
        f_needle, e_needle = ramp(-S)
        self.E_contact = self.k_contact * e_needle * dx
        psi = self.material.psi
        if case.tension_field:
            # relaxed energy (tension field): wrinkled where the smaller stretch is below the
            # natural width l1^-1/2 of uniaxial tension, slack where l1 < 1 (class docstring)
            l1 = ufl.sqrt(0.5 * (kin.I_s + ufl.sqrt(kin.I_s**2 - 4.0 * kin.J_s**2 + 1e-14)))
            i1_w = l1**2 + 2.0 / l1
            wrinkled = ufl.lt(kin.J_s**2, l1)
            psi_w = psi(i1_w) + _RESIDUAL_COMPRESSION * (psi(kin.I1) - psi(i1_w))
            w_film = ufl.conditional(ufl.lt(l1, 1.0), _RESIDUAL_COMPRESSION * psi(kin.I1),
                                     ufl.conditional(wrinkled, psi_w, psi(kin.I1)))
        else:
            w_film = psi(kin.I1)
        energy_film = H * w_film * dx
        energy = energy_film + self.E_contact
        self.E_film = energy_film
        self.E_wall = None
        self.wall_force = None
        if st.support == "wall":
            # rigid wall on the needle's side: the film can leave it, not cross it
            k_wall = max(1.0e3, 1.0e5 * st.contact_pressure_MPa)
            if self.flat:
                overlap = x[0]
            else:
                overlap = ufl.sqrt(x[0] ** 2 + x[1] ** 2) - st.radius_mm
            # a wider C1 onset at the wall, where the film lifts off along a moving line
            # (adds at most wall_delta / 2 = 0.01 h to the film's position on the wall)
            self._delta = wall_delta = float(__import__("os").environ.get("FP_WD", "0.02")) * h
            f_w, e_w = ramp(overlap, wall_delta)
            self.wall_force = k_wall * f_w
            self.E_wall = k_wall * e_w * dx
            energy = energy + self.E_wall
        residual = ufl.derivative(energy, self.u, v) - self.pressure * ufl.dot(kin.n_da, v) * dx
        self.n_da = kin.n_da
        # needle force along the axis a = (-1, 0, 0): F = -dE_c/du [a], all four quarters
        axis = dolfinx.fem.Function(V)
        axis.interpolate(lambda xx: np.vstack([-np.ones_like(xx[0]), 0 * xx[0], 0 * xx[0]]))
        self._force_form = dolfinx.fem.form(
            -4.0 * ufl.derivative(self.k_contact * e_needle * dx, self.u, axis))
        self._energy_forms = {k: dolfinx.fem.form(4.0 * e) for k, e in (
            ("film", energy_film), ("contact", self.E_contact)) if e is not None}
        if self.E_wall is not None:
            self._energy_forms["wall"] = dolfinx.fem.form(4.0 * self.E_wall)
            self._off_wall_form = dolfinx.fem.form(4.0 * ufl.conditional(
                ufl.gt(self.wall_force, 0.0), 0.0, 1.0) * dx)
        # pressure work of a step, p (n da) . du with n da at both ends (trapezoid)
        self._u_prev = dolfinx.fem.Function(V)
        kin_prev = surface_kinematics(mesh, self._u_prev, outward)
        self._pw_form = dolfinx.fem.form(2.0 * self.pressure * ufl.dot(
            kin.n_da + kin_prev.n_da, self.u - self._u_prev) * dx)
        # largest in-plane principal Cauchy stress, cell midpoints
        proj = ufl.Identity(3) - ufl.outer(kin.n, kin.n)
        sigma = 2.0 * self.material.dpsi_dI1(kin.I1) * (kin.b - kin.J_s**-2 * proj)
        tr = ufl.tr(sigma)
        disc = ufl.max_value(0.5 * ufl.inner(sigma, sigma) - 0.25 * tr**2, 0.0)
        s_max = 0.5 * tr + ufl.sqrt(disc + 1e-300)
        s_min = 0.5 * tr - ufl.sqrt(disc + 1e-300)
        if case.tension_field:  # uniaxial stress where wrinkled, none where slack
            s_uni = 2.0 * self.material.dpsi_dI1(i1_w) * (l1**2 - 1.0 / l1)
            s_max = ufl.conditional(ufl.lt(l1, 1.0), 0.0, ufl.conditional(wrinkled, s_uni, s_max))
            s_min = ufl.conditional(ufl.Or(ufl.lt(l1, 1.0), wrinkled), 0.0, s_min)
        Q = dolfinx.fem.functionspace(mesh, ("DG", 0))
        self._principal = dolfinx.fem.Function(Q)
        self._principal_expr = dolfinx.fem.Expression(s_max, Q.element.interpolation_points)
        self._principal_min_expr = dolfinx.fem.Expression(s_min, Q.element.interpolation_points)
        if case.tension_field:
            self._wrinkled_form = dolfinx.fem.form(4.0 * ufl.conditional(
                ufl.Or(ufl.lt(l1, 1.0), wrinkled), 1.0, 0.0) * dx)
        # boundary conditions: rim held in the homogeneous state, symmetry planes
        fdim = 1
        mesh.topology.create_connectivity(fdim, 2)
        rim = patch.facet_tags.find(patch.boundaries["rim"])
        rim_dofs = dolfinx.fem.locate_dofs_topological(V, fdim, rim)
        self.u_rim = dolfinx.fem.Function(V)
        self.u_rim.interpolate(self._homogeneous)
        bcs = [dolfinx.fem.dirichletbc(self.u_rim, rim_dofs)]
        for name, comp in (("sym_s", 1), ("sym_z", 2)):
            facets = patch.facet_tags.find(patch.boundaries[name])
            dofs = dolfinx.fem.locate_dofs_topological(V.sub(comp), fdim, facets)
            bcs.append(dolfinx.fem.dirichletbc(PETSc.ScalarType(0.0), dofs, V.sub(comp)))
        _COUNTER[0] += 1
        self.problem = dolfinx.fem.petsc.NonlinearProblem(
            residual, self.u, bcs=bcs, petsc_options_prefix=f"nre_film_needle_{_COUNTER[0]}_",
            petsc_options={
                "snes_type": "newtonls", "snes_linesearch_type": "l2", "snes_rtol": 1e-9,
                "snes_atol": 1e-10, "snes_stol": 0.0, "snes_max_it": 40,
                "ksp_type": "preonly", "pc_type": "lu", "pc_factor_mat_solver_type": "mumps",
                "ksp_error_if_not_converged": False})

    def _homogeneous(self, xx: np.ndarray) -> np.ndarray:
        """The balloon state's displacement of reference points ``xx``."""
        lt, lz = self.l_hoop, self.l_axial
        if self.flat:  # film in x = 0: y along the hoop, z along the axis
            return np.vstack([0 * xx[0], (lt - 1.0) * xx[1], (lz - 1.0) * xx[2]])
        return np.vstack([(lt - 1.0) * xx[0], (lt - 1.0) * xx[1], (lz - 1.0) * xx[2]])

    def _guess(self, xx: np.ndarray) -> np.ndarray:
        """Newton's start for the balloon state: the homogeneous state, pressed into the wall
        by the smoothing length (the penalty's tangent vanishes at first contact)."""
        u = self._homogeneous(xx)
        if self.case.state.support == "wall":
            if self.flat:
                u[0] += self._delta
            else:
                r = np.hypot(xx[0], xx[1])
                u[0] += self._delta * xx[0] / r
                u[1] += self._delta * xx[1] / r
        return u

    def solve(self) -> tuple[int, int]:
        snes = self.problem.solver
        try:
            self.problem.solve()
        except PETSc.Error:
            return -100, snes.getIterationNumber()
        reason = snes.getConvergedReason()
        ok = self.comm.allreduce(bool(np.all(np.isfinite(self.u.x.array))), op=MPI.LAND)
        return (reason if ok else -101), snes.getIterationNumber()

    def assemble(self, form) -> float:
        return self.comm.allreduce(dolfinx.fem.assemble_scalar(form), op=MPI.SUM)

    def energy(self) -> float:
        return sum(self.assemble(f) for f in self._energy_forms.values())

    def max_principal(self) -> float:
        self._principal.interpolate(self._principal_expr)
        n = self._principal.function_space.dofmap.index_map.size_local
        local = float(self._principal.x.array[:n].max()) if n else -math.inf
        return self.comm.allreduce(local, op=MPI.MAX)

    def min_principal(self) -> float:
        """The smallest in-plane principal Cauchy stress (negative: the film is compressed
        there, which a membrane cannot carry: it wrinkles)."""
        self._principal.interpolate(self._principal_min_expr)
        n = self._principal.function_space.dofmap.index_map.size_local
        local = float(self._principal.x.array[:n].min()) if n else math.inf
        return self.comm.allreduce(local, op=MPI.MIN)

    def wrinkled_area(self) -> float:
        """Film area (reference) that is wrinkled or slack (tension field), NaN when off."""
        if not self.case.tension_field:
            return math.nan
        return self.assemble(self._wrinkled_form)

    def liftoff_radius(self) -> float:
        if self.E_wall is None:
            return math.nan
        return math.sqrt(max(self.assemble(self._off_wall_form), 0.0) / math.pi)


def solve_film_puncture(case: FilmPunctureCase, comm: MPI.Comm = MPI.COMM_WORLD
                        ) -> FilmPunctureResult:
    """Push the needle into the film until it punctures (module docstring)."""
    t0 = time.perf_counter()
    prob = _FilmNeedleProblem(case, comm)
    out = FilmPunctureResult("failed", threshold_Nmm=case.threshold_Nmm, cells=prob.cells,
                             reference_hoop_stretch=prob.l_hoop,
                             reference_axial_stretch=prob.l_axial)
    # the balloon state: the homogeneous guess is the equilibrium (up to discretisation)
    prob.u.interpolate(prob._guess)
    reason, its = prob.solve()
    out.newton_iterations += its
    if reason <= 0:
        out.failure = {"reason": "balloon_state", "snes_reason": int(reason), "depth_mm": 0.0}
        out.wall_time_s = time.perf_counter() - t0
        return out
    pi0 = prob.energy()
    d, work, pressure_work = 0.0, 0.0, 0.0
    force = 0.0
    out.curve.append((0.0, 0.0, 0.0, prob.max_principal(), prob.liftoff_radius(),
                      prob.min_principal()))
    step = case.step_mm
    saved = prob.u.x.array.copy()
    last_du, last_dd = np.zeros_like(saved), 0.0
    while True:
        if d >= case.max_depth_mm - 1e-12:
            out.status = "no_puncture"
            break
        d_try = min(d + step, case.max_depth_mm)
        prob._u_prev.x.array[:] = prob.u.x.array
        saved[:] = prob.u.x.array
        if last_dd > 0.0:  # secant predictor from the last step
            prob.u.x.array[:] += last_du * ((d_try - d) / last_dd)
            prob.u.x.scatter_forward()
        prob.depth.value = d_try
        reason, its = prob.solve()
        out.newton_iterations += its
        if reason <= 0:
            prob.u.x.array[:] = saved
            prob.u.x.scatter_forward()
            prob.depth.value = d
            step *= 0.5
            if step < 0.01 * case.step_mm:
                out.failure = {"reason": "newton", "snes_reason": int(reason), "depth_mm": d_try}
                break
            continue
        last_du[:] = prob.u.x.array - saved
        last_dd = d_try - d
        out.steps += 1
        f_new = prob.assemble(prob._force_form)
        dw = 0.5 * (force + f_new) * (d_try - d)
        pressure_work += prob.assemble(prob._pw_form)
        sigma = prob.max_principal()
        out.curve.append((d_try, f_new, work + dw, sigma, prob.liftoff_radius(),
                          prob.min_principal()))
        crossed_energy = work + dw >= case.threshold_Nmm
        crossed_strength = sigma >= case.strength_MPa
        if crossed_energy or crossed_strength:
            s_prev = out.curve[-2][3]
            frac_e = ((case.threshold_Nmm - work) / dw) if crossed_energy and dw > 0 else 2.0
            frac_s = ((case.strength_MPa - s_prev) / (sigma - s_prev)) if crossed_strength \
                and sigma > s_prev else 2.0
            frac = min(frac_e, frac_s, 1.0)
            frac = max(frac, 0.0)
            out.status = "punctured"
            out.criterion = "energy" if frac_e <= frac_s else "strength"
            out.puncture_depth_mm = d + frac * (d_try - d)
            out.puncture_force_N = force + frac * (f_new - force)
            out.puncture_work_Nmm = work + frac * dw  # linear in the step (force trapezoid)
            out.max_principal_at_puncture_MPa = s_prev + frac * (sigma - s_prev)
            out.liftoff_radius_mm = out.curve[-1][4]
            out.wrinkled_area_mm2 = prob.wrinkled_area()
            # total potential change against the needle work at the end of the step
            d_pi = prob.energy() - pi0 - pressure_work
            out.energy_balance_error = (d_pi - (work + dw)) / (work + dw) if work + dw > 0 \
                else math.nan
            break
        d, force, work = d_try, f_new, work + dw
        if step < case.step_mm:
            step = min(2.0 * step, case.step_mm)
    out.wall_time_s = time.perf_counter() - t0
    return out
