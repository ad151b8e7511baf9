"""The balloon film as a finite-strain membrane on a surface mesh embedded in 3-D.

Model
-----
The film is a surface (DOLFINx mesh with topological dimension 2 and geometric dimension 3,
triangles from Gmsh) carrying a 3-component displacement ``u`` (Lagrange P1 or P2). Membrane
kinematics use the surface (covariant) description: with the reference tangents
``A = dX/dxi`` (``ufl.Jacobian``, 3 x 2) the deformed tangents are ``a = A + grad_s(u) A``, so
the surface metrics are ``G = A^T A`` and ``g = a^T a``. The in-plane invariants are
``I_s = tr(G^-1 g) = l1^2 + l2^2`` and the area stretch ``J_s = sqrt(det g / det G) = l1 l2``.

The film is incompressible and in plane stress, so the stretch through the thickness is
``l3 = 1 / (l1 l2)``, the current thickness ``h = H / (l1 l2)``, and every isotropic law
``psi(I1)`` with ``I1 = I_s + J_s^-2`` gives the in-plane Cauchy stress

    sigma = 2 psi'(I1) (b - J_s^-2 (I - n n)),   b = F F^T = a G^-1 a^T,

and the membrane tension ``T = h sigma``. Two laws are offered:

* :class:`NeoHookeanFilm`, ``psi = mu/2 (I1 - 3)``. The shear modulus of a PTA film is fitted to
  a stated compliance by :func:`fit_film_to_compliance` (the closed-end cylinder below).
* :class:`DemirayFilm`, ``psi = mu/(2 b) (exp(b (I1 - 3)) - 1)``, an isotropic Fung-type law that
  stiffens with stretch: with ``b`` large enough it has no pressure limit point, which is how a
  semi-compliant film behaves towards its rated burst pressure.

Loading and constraints
-----------------------
The inflation pressure is a follower load: its virtual work is ``p (a1 x a2) . v dxi``, i.e. it
acts along the deformed normal on the deformed area, written per reference area as
``p s (a1 x a2) / |A1 x A2|``, where ``s = +-1`` per cell orients the normal outwards (DOLFINx
reorders cell vertices, so the raw cell normal flips from cell to cell; ``s`` is fixed once
from the reference geometry with an outward guess, radial from the balloon axis ``z``).

The pressure is ramped with adaptive steps (shrink and retry on SNES failure, grow after easy
steps). A failed ramp ends as data (:class:`MembraneFailure`), never as an exception.

A membrane has no bending stiffness, so at zero pressure the tangent is singular (the
inextensional modes of a stress-free shell cost nothing). The ramp starts from an *initial
guess* that is a small radial pre-stretch ``u_r = eps (r - r_clamp)`` (zero on the clamped
necks, tensile everywhere else). It is only Newton's starting point: the converged state is an
equilibrium of the unmodified equations, so the answer does not depend on it (a test checks
this). No regularising stiffness is added.

A confining channel (:class:`ChannelContact`) is a cylinder of radius ``R_w`` about the balloon
axis pushing back with ``f = k <r - R_w>_+`` per reference area: with ``k`` large it is a
penalty for a rigid wall (penetration ``f / k``), with ``k`` from the wall's stiffness it is an
elastic (Winkler) foundation, e.g. ``k = E t / R_w^2`` for a thin elastic tube. The wall can
have axial gaps (``gaps_z_mm``) where it does not support the film. An elastic channel
narrower than the film at rest (an oversized balloon) is pre-loaded: the folded balloon opens it
to the film's rest radius while the film is slack, which takes ``p_0 = k (R - R_w)``; the ramp
starts there, from the stress-free film against the opened wall
(:attr:`MembraneProblem.start_pressure_atm`).

Closed ends (``end_caps``): an edge that is a circle about z can carry the pressure's resultant
on a flat cap closing it, ``p r / 2`` per deformed edge length along the axis (a follower load:
``r`` and the edge's hoop stretch are the deformed ones). A straight cylinder with a cap on one
end and a symmetry plane at the other is then the closed-end vessel of the closed forms.

Failure output: every state records the largest in-plane principal Cauchy stress of the film
(cell midpoints), where it is (``z``, ``r`` and region) and, per region, its maximum; the burst
search on top of it is :mod:`fem.balloon.burst`.

The film laws, the catheter rating and the closed forms of a cylindrical membrane
(used by the tests and the calibration) are in :mod:`fem.balloon.film`.

Units: mm, N, MPa. Pressures given by people are in atm (``ATM_MPA``).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import NamedTuple

import hpc.stack  # noqa: F401  (orders MPI before DOLFINx; keep first)

import dolfinx
import dolfinx.fem.petsc
import numpy as np
import numpy.typing as npt
import ufl
from mpi4py import MPI
from petsc4py import PETSc

from fem._json import json_ready
from fem.balloon.film import (  # noqa: F401  (re-exported: the film laws the problem uses)
    ATM_MPA,
    BalloonFilm,
    BalloonRating,
    DemirayFilm,
    FilmLaw,
    NeoHookeanFilm,
    _check,
    closed_end_axial_stretch,
    closed_end_confined_contact_pressure,
    closed_end_cylinder_pressure,
    closed_end_cylinder_stretches,
    cylinder_pressure_axially_fixed,
    cylinder_tensions,
    fit_film_to_compliance,
)

_PROBLEM_COUNTER = [0]


# --------------------------------------------------------------------------------------------
# Problem inputs
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ChannelContact:
    """A cylindrical channel about the balloon axis (z) that limits the balloon's radius.

    Attributes:
        radius_mm: channel radius ``R_w``.
        stiffness_MPa_per_mm: ``k`` in ``f = k <r - R_w>_+`` (force per reference film area).
            Rigid wall: a penalty, penetration ``f / k``; the default 1e3 MPa/mm keeps it below
            ~1e-3 mm at 1 MPa of contact pressure. Stiffer penalties (1e5) made Newton stall on
            a 20 mm body above ~7-10 atm (ill-conditioning at the lift-off shoulder). Elastic:
            the wall's radial stiffness, e.g. ``E t / R_w^2`` for a thin tube.
        kind: ``"rigid"`` (penalty) or ``"elastic"`` (Winkler foundation); only a label.
        smoothing_mm: the force ramps in quadratically over this overlap (C1 law, so Newton
            does not cycle between active sets); it adds at most ``smoothing_mm / 2`` to the
            penetration. 0 gives the plain kinked penalty.
        gaps_z_mm: axial intervals ``(z0, z1)`` (reference coordinates) without wall: the film
            is free there.

    A ``"rigid"`` channel must not be narrower than the film at rest; an ``"elastic"`` one may
    be (pre-loaded, module docstring).
    """

    radius_mm: float
    stiffness_MPa_per_mm: float = 1.0e3
    kind: str = "rigid"
    smoothing_mm: float = 1.0e-5
    gaps_z_mm: tuple[tuple[float, float], ...] = ()

    def __post_init__(self) -> None:
        _check("ChannelContact", "radius_mm", self.radius_mm, 1e-3, 1e3, "mm")
        _check("ChannelContact", "stiffness_MPa_per_mm", self.stiffness_MPa_per_mm, 1e-6, 1e12,
               "MPa/mm")
        _check("ChannelContact", "smoothing_mm", self.smoothing_mm, 0.0, 1e-2 * self.radius_mm,
               "mm (at most 1 % of radius_mm)")
        if self.kind not in ("rigid", "elastic"):
            raise ValueError(f"ChannelContact.kind = {self.kind!r} must be 'rigid' or 'elastic'")
        gaps = tuple((float(a), float(b)) for a, b in self.gaps_z_mm)
        for a, b in gaps:
            if not (math.isfinite(a) and math.isfinite(b) and a < b):
                raise ValueError(f"ChannelContact.gaps_z_mm = {self.gaps_z_mm!r}: each gap must "
                                 "be (z0, z1) with z0 < z1")
        object.__setattr__(self, "gaps_z_mm", gaps)


@dataclass(frozen=True, slots=True)
class LoadStepping:
    """Adaptive pressure ramp.

    Attributes:
        initial_step_atm: first pressure increment.
        min_step_atm: a failure below this step ends the ramp (recorded as data).
        max_step_atm: largest increment.
        grow: step factor after an easy step.
        shrink: step factor after a failed step.
        easy_iterations: a step converged in at most this many Newton iterations is easy.
        max_steps: hard cap on attempted steps (accepted + rejected) per ramp to a target, so
            a ramp never hangs.
        initial_prestretch: Newton's starting guess, ``u_r = eps (r - r_clamp)``; only a guess.
    """

    initial_step_atm: float = 0.5
    min_step_atm: float = 1e-3
    max_step_atm: float = 2.0
    grow: float = 1.5
    shrink: float = 0.5
    easy_iterations: int = 5
    max_steps: int = 100
    initial_prestretch: float = 0.01

    def __post_init__(self) -> None:
        o = "LoadStepping"
        _check(o, "initial_step_atm", self.initial_step_atm, 1e-9, 1e3, "atm")
        _check(o, "min_step_atm", self.min_step_atm, 1e-12, self.initial_step_atm,
               "atm (at most initial_step_atm)")
        _check(o, "max_step_atm", self.max_step_atm, self.initial_step_atm, 1e4,
               "atm (at least initial_step_atm)")
        _check(o, "grow", self.grow, 1.0, 10.0)
        _check(o, "shrink", self.shrink, 0.01, 0.99)
        _check(o, "easy_iterations", self.easy_iterations, 1, 100)
        _check(o, "max_steps", self.max_steps, 1, 100000)
        _check(o, "initial_prestretch", self.initial_prestretch, 0.0, 0.5)


@dataclass(frozen=True, slots=True)
class MembraneOptions:
    """Discretisation and Newton settings.

    Attributes:
        degree: Lagrange degree of the displacement (1 or 2).
        quadrature_degree: None lets UFL choose (capped at 8 to keep forms small).
        snes_rtol, snes_atol: Newton tolerances on the residual norm (atol in N).
        snes_max_it: Newton iterations per step.
        linesearch: PETSc SNES line search (``basic`` or ``bt``).
        midplane_z_mm: axial position of the "body mid-plane" for the diameter and stresses.
        midplane_halfwidth_mm: slab ``|Z - z_mid| <= w`` (reference coordinates) used there.
        max_stretch: a converged state with a larger area stretch is treated as a failure
            (runaway past a limit point converging to a meaningless state).
    """

    degree: int = 2
    quadrature_degree: int | None = 4
    snes_rtol: float = 1e-9
    snes_atol: float = 1e-10
    snes_max_it: int = 30
    linesearch: str = "l2"
    midplane_z_mm: float = 0.0
    midplane_halfwidth_mm: float = 0.5
    max_stretch: float = 10.0

    def __post_init__(self) -> None:
        o = "MembraneOptions"
        if self.degree not in (1, 2):
            raise ValueError(f"{o}.degree = {self.degree!r} must be 1 or 2")
        if self.quadrature_degree is not None:
            _check(o, "quadrature_degree", self.quadrature_degree, 1, 12)
        _check(o, "snes_rtol", self.snes_rtol, 0.0, 0.1)
        _check(o, "snes_atol", self.snes_atol, 0.0, 1.0, "N")
        _check(o, "snes_max_it", self.snes_max_it, 1, 500)
        if self.linesearch not in ("basic", "bt", "l2", "cp"):
            raise ValueError(f"{o}.linesearch = {self.linesearch!r} must be basic, bt, l2 or cp")
        _check(o, "midplane_z_mm", self.midplane_z_mm, -1e4, 1e4, "mm")
        _check(o, "midplane_halfwidth_mm", self.midplane_halfwidth_mm, 1e-9, 1e4, "mm")
        _check(o, "max_stretch", self.max_stretch, 1.01, 1e3)


# --------------------------------------------------------------------------------------------
# Result records
# --------------------------------------------------------------------------------------------


@dataclass(slots=True)
class MembraneStep:
    """One attempted load step."""

    pressure_atm: float
    step_atm: float
    accepted: bool
    snes_reason: int
    iterations: int
    residual_norm: float


@dataclass(slots=True)
class MembraneState:
    """The film at one requested pressure (an output point of the ramp).

    Diameter: mean of ``2 r`` over the displacement nodes in the mid-plane slab; stresses:
    area means over the slab (deformed hoop and meridional directions); contact pressure: mean
    contact force per *deformed* area over the slab. ``max_principal_*``: the largest in-plane
    principal Cauchy stress over the whole film (cell midpoints), its reference ``z`` and
    deformed radius, its region, and the maximum per region.
    """

    pressure_atm: float
    diameter_mm: float
    diameter_min_mm: float
    diameter_max_mm: float
    hoop_stress_MPa: float
    axial_stress_MPa: float
    hoop_tension_N_per_mm: float
    thickness_mm: float
    max_hoop_stress_MPa: float
    contact_pressure_MPa: float
    contact_force_N: float
    max_principal_stress_MPa: float = math.nan
    max_principal_z_mm: float = math.nan
    max_principal_radius_mm: float = math.nan
    max_principal_region: str = ""
    region_max_principal_MPa: dict[str, float] = field(default_factory=dict)


@dataclass(slots=True)
class MembraneFailure:
    """Why a ramp ended early."""

    reason: str
    snes_reason: int
    pressure_atm: float
    step_atm: float
    residual_norm: float
    last_converged_pressure_atm: float


@dataclass(slots=True)
class MembraneResult:
    """Everything a ramp produced. ``to_dict`` is JSON-ready."""

    converged: bool
    states: list[MembraneState] = field(default_factory=list)
    steps: list[MembraneStep] = field(default_factory=list)
    failure: MembraneFailure | None = None
    reference_diameter_mm: float = math.nan
    wall_time_s: float = 0.0
    info: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        """A JSON-ready dict (nan becomes None)."""
        return json_ready(asdict(self))

    def curve(self) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """Pressure (atm) and mid-plane diameter (mm) of the converged output points."""
        return (np.array([s.pressure_atm for s in self.states]),
                np.array([s.diameter_mm for s in self.states]))

    def compliance_pct_per_atm(self, p_from_atm: float, p_to_atm: float,
                               nominal_diameter_mm: float | None = None) -> float:
        """Secant compliance ``(D(p2) - D(p1)) / D_ref / (p2 - p1)`` in %/atm.

        ``D_ref`` is ``nominal_diameter_mm`` if given, else ``D(p1)``; both pressures must be
        output points of the ramp.
        """
        p, d = self.curve()
        i1 = int(np.argmin(np.abs(p - p_from_atm)))
        i2 = int(np.argmin(np.abs(p - p_to_atm)))
        if abs(p[i1] - p_from_atm) > 1e-9 or abs(p[i2] - p_to_atm) > 1e-9:
            raise ValueError(f"pressures {p_from_atm}, {p_to_atm} atm are not output points {p}")
        dref = nominal_diameter_mm if nominal_diameter_mm is not None else d[i1]
        return float((d[i2] - d[i1]) / dref / (p_to_atm - p_from_atm) * 100.0)


# --------------------------------------------------------------------------------------------
# The problem
# --------------------------------------------------------------------------------------------


def _default_outward(x: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Outward guess for a balloon about the z axis: radial."""
    return np.vstack([x[0], x[1], np.zeros_like(x[0])])


class SurfaceKinematics(NamedTuple):
    """Membrane kinematics of a surface mesh (module docstring), as UFL expressions."""

    I_s: ufl.core.expr.Expr  # l1^2 + l2^2
    J_s: ufl.core.expr.Expr  # l1 l2
    I1: ufl.core.expr.Expr  # I_s + J_s^-2 (incompressible, plane stress)
    n_da: ufl.core.expr.Expr  # deformed normal times deformed area, per reference area
    n: ufl.core.expr.Expr  # deformed unit normal
    b: ufl.core.expr.Expr  # left Cauchy-Green tensor of the surface, a G^-1 a^T
    orientation: dolfinx.fem.Function  # per-cell +-1 orienting the normal along ``outward``


def surface_kinematics(
    mesh: dolfinx.mesh.Mesh, u: dolfinx.fem.Function,
    outward: Callable[[npt.NDArray[np.float64]], npt.NDArray[np.float64]],
) -> SurfaceKinematics:
    """Kinematics of the displacement ``u`` on the surface ``mesh``; the normal is oriented per
    cell along the guess ``outward(x)`` (DOLFINx reorders cell vertices, so the raw cell
    normal flips from cell to cell)."""
    A = ufl.Jacobian(mesh)  # 3 x 2 reference tangents
    a = A + ufl.grad(u) * A  # deformed tangents
    G = A.T * A
    g = a.T * a
    I_s = ufl.tr(ufl.inv(G) * g)
    J_s = ufl.sqrt(ufl.det(g) / ufl.det(G))
    A1, A2 = A[:, 0], A[:, 1]
    area_ref = ufl.sqrt(ufl.dot(ufl.cross(A1, A2), ufl.cross(A1, A2)))
    Q = dolfinx.fem.functionspace(mesh, ("DG", 0))
    W = dolfinx.fem.functionspace(mesh, ("DG", 0, (3,)))
    guess = dolfinx.fem.Function(W)
    guess.interpolate(outward)
    s = dolfinx.fem.Function(Q, name="orientation")
    # evaluated at the cell midpoint: a cell whose normal is orthogonal to the guess gets +1
    sign = ufl.conditional(ufl.ge(ufl.dot(ufl.cross(A1, A2), guess), 0.0), 1.0, -1.0)
    s.interpolate(dolfinx.fem.Expression(sign, Q.element.interpolation_points))
    s.x.scatter_forward()
    n_da = s * ufl.cross(a[:, 0], a[:, 1]) / area_ref
    return SurfaceKinematics(I_s, J_s, I_s + J_s**-2, n_da,
                             n_da / ufl.sqrt(ufl.dot(n_da, n_da)), a * ufl.inv(G) * a.T, s)


class MembraneProblem:
    """Inflation of a balloon film (membrane) by a follower pressure, optionally confined.

    Args:
        mesh: surface mesh, tdim 2, gdim 3 (axis of the balloon = z, through the origin).
        cell_tags: region markers (may be None when one film covers everything).
        facet_tags: boundary markers (edges of the surface).
        regions: region name -> tag.
        boundaries: boundary name -> tag.
        film: one :class:`BalloonFilm` for all cells, or a dict region name -> film.
        clamped: boundary names where all displacement components are zero (catheter necks).
        fixed_components: boundary name -> components fixed to zero (symmetry planes, axially
            fixed ends), e.g. ``{"end_top": (2,)}``.
        contact: optional confining channel.
        end_caps: boundary name -> +1 or -1, the axial direction of the cap load ``p r / 2`` on
            that edge (a circle about z closed by a flat cap; module docstring).
        options: discretisation and Newton settings.
        stepping: adaptive ramp settings.
        name: used in the unique PETSc options prefix.
    """

    def __init__(
        self,
        mesh: dolfinx.mesh.Mesh,
        cell_tags: dolfinx.mesh.MeshTags | None,
        facet_tags: dolfinx.mesh.MeshTags | None,
        regions: Mapping[str, int],
        boundaries: Mapping[str, int],
        film: BalloonFilm | Mapping[str, BalloonFilm],
        *,
        clamped: Sequence[str] = ("neck_proximal", "neck_distal"),
        fixed_components: Mapping[str, Sequence[int]] | None = None,
        contact: ChannelContact | None = None,
        end_caps: Mapping[str, float] | None = None,
        options: MembraneOptions | None = None,
        stepping: LoadStepping | None = None,
        outward: Callable[[npt.NDArray[np.float64]], npt.NDArray[np.float64]] = _default_outward,
        name: str = "membrane",
    ) -> None:
        if mesh.topology.dim != 2 or mesh.geometry.dim != 3:
            raise ValueError(
                f"mesh has tdim {mesh.topology.dim}, gdim {mesh.geometry.dim}: the membrane "
                "needs a surface mesh (tdim 2) in 3-D (gdim 3)"
            )
        self.mesh = mesh
        self.comm = mesh.comm
        self.options = options or MembraneOptions()
        self.stepping = stepping or LoadStepping()
        self.contact = contact
        self._cell_tags = cell_tags
        self._regions = dict(regions)
        fixed_components = dict(fixed_components or {})
        end_caps = dict(end_caps or {})
        for bname in list(clamped) + list(fixed_components) + list(end_caps):
            if bname not in boundaries:
                raise ValueError(
                    f"boundary {bname!r} is not in the mesh boundaries {sorted(boundaries)}"
                )
        if isinstance(film, Mapping):
            missing = set(regions) - set(film)
            if missing or cell_tags is None:
                raise ValueError(
                    f"film dict must cover every region {sorted(regions)} (missing "
                    f"{sorted(missing)}) and cell_tags must be given"
                )
            self.films = dict(film)
        else:
            self.films = {"all": film}
        self._single_film = not isinstance(film, Mapping)

        opts = self.options
        gdim = 3
        V = dolfinx.fem.functionspace(mesh, ("Lagrange", opts.degree, (gdim,)))
        self.V = V
        self.u = dolfinx.fem.Function(V, name="displacement")
        self._u_saved = dolfinx.fem.Function(V)
        v = ufl.TestFunction(V)
        self.pressure = dolfinx.fem.Constant(mesh, PETSc.ScalarType(0.0))  # MPa

        kin = surface_kinematics(mesh, self.u, outward)
        self._I_s, self._J_s, self._I1 = kin.I_s, kin.J_s, kin.I1
        self._orientation, self._n, self._b = kin.orientation, kin.n, kin.b
        n_da = kin.n_da

        md = {} if opts.quadrature_degree is None else {"quadrature_degree":
                                                         opts.quadrature_degree}
        if self._single_film or cell_tags is None:
            self.dx = ufl.Measure("dx", domain=mesh, metadata=md)
            pieces = [(self.dx, next(iter(self.films.values())))]
        else:
            self.dx = ufl.Measure("dx", domain=mesh, subdomain_data=cell_tags, metadata=md)
            pieces = [(self.dx(regions[r]), f) for r, f in self.films.items()]
        self._dx_all = ufl.Measure("dx", domain=mesh, metadata=md)

        energy = sum(f.thickness_mm * f.material.psi(self._I1) * dxr for dxr, f in pieces)
        X = ufl.SpatialCoordinate(mesh)
        x = X + self.u
        self._X, self._x = X, x
        r = ufl.sqrt(x[0] ** 2 + x[1] ** 2)
        self._r = r
        if contact is not None:
            k, delta = contact.stiffness_MPa_per_mm, contact.smoothing_mm
            g = r - contact.radius_mm
            if delta > 0.0:
                # C1 ramp: no force without contact, quadratic onset over delta, then linear;
                # a C0 kink made Newton cycle between active sets at the body/cone shoulder
                ramp = ufl.conditional(ufl.le(g, 0.0), 0.0, ufl.conditional(
                    ufl.lt(g, delta), g**2 / (2 * delta), g - delta / 2))
                ramp_energy = ufl.conditional(ufl.le(g, 0.0), 0.0, ufl.conditional(
                    ufl.lt(g, delta), g**3 / (6 * delta), (g - delta / 2) ** 2 / 2 + delta**2 / 24))
            else:
                ramp = ufl.conditional(ufl.gt(g, 0.0), g, 0.0)
                ramp_energy = ramp**2 / 2
            if contact.gaps_z_mm:  # no wall in the gaps (reference z)
                Q0 = dolfinx.fem.functionspace(mesh, ("DG", 0))
                walled = dolfinx.fem.Function(Q0, name="walled")
                walled.interpolate(lambda xx: np.all(
                    [(xx[2] < a) | (xx[2] > b) for a, b in contact.gaps_z_mm], axis=0
                ).astype(float))
                walled.x.scatter_forward()
                ramp, ramp_energy = walled * ramp, walled * ramp_energy
            self._contact_force_density = k * ramp  # N/mm^2 of reference area
            energy = energy + k * ramp_energy * self._dx_all
        else:
            self._contact_force_density = None
        residual = ufl.derivative(energy, self.u, v) - self.pressure * ufl.dot(n_da, v) * \
            self._dx_all
        if end_caps:
            # cap resultant p pi r^2 spread over the edge: p r / 2 per deformed length, the
            # edge's hoop stretch |F e_theta| converting reference to deformed length
            ds = ufl.Measure("ds", domain=mesh, subdomain_data=facet_tags, metadata=md)
            e_theta = ufl.as_vector([-X[1], X[0], 0.0]) / ufl.sqrt(X[0] ** 2 + X[1] ** 2)
            F_s = ufl.Identity(3) + ufl.grad(self.u)
            hoop_stretch = ufl.sqrt(ufl.dot(F_s * e_theta, F_s * e_theta))
            for bname, sign in end_caps.items():
                if sign not in (1, -1, 1.0, -1.0):
                    raise ValueError(f"end_caps[{bname!r}] = {sign!r} must be +1 or -1")
                residual -= float(sign) * 0.5 * self.pressure * r * hoop_stretch * v[2] * \
                    ds(boundaries[bname])

        # --- Dirichlet conditions ---
        fdim = 1
        mesh.topology.create_connectivity(fdim, 2)
        bcs = []
        zero = np.zeros(gdim, dtype=PETSc.ScalarType)
        for bname in clamped:
            facets = facet_tags.find(boundaries[bname])
            dofs = dolfinx.fem.locate_dofs_topological(V, fdim, facets)
            bcs.append(dolfinx.fem.dirichletbc(zero, dofs, V))
        for bname, comps in fixed_components.items():
            facets = facet_tags.find(boundaries[bname])
            for c in comps:
                if c not in (0, 1, 2):
                    raise ValueError(f"fixed_components[{bname!r}] component {c} not in 0, 1, 2")
                Vc = V.sub(c)
                dofs = dolfinx.fem.locate_dofs_topological(Vc, fdim, facets)
                bcs.append(dolfinx.fem.dirichletbc(PETSc.ScalarType(0.0), dofs, Vc))
        self.bcs = bcs
        self._clamp_radius = self._min_radius_on(facet_tags, [boundaries[b] for b in clamped])
        self.start_pressure_atm = 0.0
        if contact is not None:
            xg = mesh.geometry.x
            r_max = self.comm.allreduce(
                float(np.max(np.hypot(xg[:, 0], xg[:, 1]))) if len(xg) else 0.0, op=MPI.MAX)
            if contact.radius_mm < r_max and contact.kind == "rigid":
                raise ValueError(
                    f"ChannelContact.radius_mm = {contact.radius_mm} is below the film's largest "
                    f"stress-free radius {r_max:.4g} mm: the film would start inside a rigid wall"
                    " (kind 'elastic' is pre-loaded instead)"
                )
            # pre-loaded elastic wall: the pressure that opened it to the film's rest radius
            self.start_pressure_atm = contact.stiffness_MPa_per_mm * max(
                r_max - contact.radius_mm, 0.0) / ATM_MPA

        _PROBLEM_COUNTER[0] += 1
        prefix = f"nre_{name}_{_PROBLEM_COUNTER[0]}_"
        petsc_options = {
            "snes_type": "newtonls",
            "snes_linesearch_type": opts.linesearch,
            "snes_rtol": opts.snes_rtol,
            "snes_atol": opts.snes_atol,
            "snes_stol": 0.0,  # no "converged" on a tiny step: only the residual counts
            "snes_max_it": opts.snes_max_it,
            "snes_divergence_tolerance": 1e8,
            "ksp_type": "preonly",
            "pc_type": "lu",
            "pc_factor_mat_solver_type": "mumps",
            "ksp_error_if_not_converged": False,
        }
        self.problem = dolfinx.fem.petsc.NonlinearProblem(
            residual, self.u, bcs=bcs, petsc_options_prefix=prefix, petsc_options=petsc_options
        )
        self.petsc_options = petsc_options
        self._build_output_forms()

    @classmethod
    def from_tagged(cls, tagged, film: BalloonFilm | Mapping[str, BalloonFilm],
                    **kwargs) -> MembraneProblem:
        """Build from a mesh record with ``mesh, cell_tags, facet_tags, regions, boundaries``
        (the lead's ``meshes.load_balloon_mesh(spec, comm)`` TaggedMesh, or the test meshes).
        Keyword arguments go to the constructor (``clamped`` defaults to both necks)."""
        return cls(tagged.mesh, tagged.cell_tags, tagged.facet_tags, tagged.regions,
                   tagged.boundaries, film, **kwargs)

    # ----------------------------------------------------------------------------------------

    def _min_radius_on(self, facet_tags, tags: Sequence[int]) -> float:
        """Smallest reference radius on the clamped boundaries (0 when none)."""
        r_min = math.inf
        if facet_tags is not None and tags:
            x = self.mesh.geometry.x
            for t in tags:
                facets = facet_tags.find(t)
                if len(facets):
                    nodes = dolfinx.mesh.entities_to_geometry(self.mesh, 1, facets).ravel()
                    r_min = min(r_min, float(np.min(np.hypot(x[nodes, 0], x[nodes, 1]))))
        r_min = self.comm.allreduce(r_min, op=MPI.MIN)
        return 0.0 if not math.isfinite(r_min) else r_min

    def _build_output_forms(self) -> None:
        opts = self.options
        x = self._x
        # whole cells whose midpoint lies in the slab: a slab cutting through cells would
        # sample a stiff penalty's quadrature-point scatter instead of the element's resultant
        Q = dolfinx.fem.functionspace(self.mesh, ("DG", 0))
        slab = dolfinx.fem.Function(Q, name="midplane_slab")
        slab.interpolate(lambda xx: (np.abs(xx[2] - opts.midplane_z_mm)
                                     <= opts.midplane_halfwidth_mm).astype(float))
        slab.x.scatter_forward()
        e_t = ufl.as_vector([-x[1], x[0], 0.0]) / self._r
        m = ufl.cross(e_t, self._n)
        m = m / ufl.sqrt(ufl.dot(m, m))
        proj = ufl.Identity(3) - ufl.outer(self._n, self._n)
        if len(self.films) == 1:
            film = next(iter(self.films.values()))
            two_dpsi = 2.0 * film.material.dpsi_dI1(self._I1)
            H = film.thickness_mm
        else:
            # per-region law: indicator fields pick each region's 2 psi' and thickness
            two_dpsi, H = 0.0, 0.0
            for chi, film in self._region_indicators():
                two_dpsi = two_dpsi + chi * 2.0 * film.material.dpsi_dI1(self._I1)
                H = H + chi * film.thickness_mm
        sigma = two_dpsi * (self._b - self._J_s**-2 * proj)
        self._sigma = sigma
        s_tt = ufl.dot(e_t, sigma * e_t)
        s_mm = ufl.dot(m, sigma * m)
        dxa = self._dx_all
        self._f_area = dolfinx.fem.form(slab * dxa)
        self._f_hoop = dolfinx.fem.form(slab * s_tt * dxa)
        self._f_axial = dolfinx.fem.form(slab * s_mm * dxa)
        self._f_thick = dolfinx.fem.form(slab * H / self._J_s * dxa)
        if self.contact is not None:
            fc = self._contact_force_density
            self._f_contact_p = dolfinx.fem.form(slab * fc / self._J_s * dxa)
            self._f_contact_F = dolfinx.fem.form(fc * dxa)
        # pointwise hoop stress for the maximum
        self._hoop_dg = dolfinx.fem.Function(Q)
        self._hoop_expr = dolfinx.fem.Expression(s_tt, Q.element.interpolation_points)
        # largest in-plane principal stress (the third eigenvalue, along n, is 0):
        # tr/2 + sqrt(tr(s^2)/2 - tr^2/4)
        tr = ufl.tr(sigma)
        disc = ufl.max_value(0.5 * ufl.inner(sigma, sigma) - 0.25 * tr**2, 0.0)
        self._principal_dg = dolfinx.fem.Function(Q)
        self._principal_expr = dolfinx.fem.Expression(0.5 * tr + ufl.sqrt(disc + 1e-300),
                                                      Q.element.interpolation_points)
        self._radius_dg = dolfinx.fem.Function(Q)
        self._radius_expr = dolfinx.fem.Expression(self._r, Q.element.interpolation_points)
        tdim = self.mesh.topology.dim
        n_cells = self.mesh.topology.index_map(tdim).size_local
        cells = np.arange(n_cells, dtype=np.int32)
        self._cell_z = dolfinx.mesh.compute_midpoints(self.mesh, tdim, cells)[:, 2] \
            if n_cells else np.zeros(0)
        self._cell_region = np.full(n_cells, "", dtype=object)
        if self._cell_tags is not None:
            for rname, tag in self._regions.items():
                tagged = self._cell_tags.find(tag)
                self._cell_region[tagged[tagged < n_cells]] = rname
        # dof coordinates in the slab for the diameter
        coords = self.V.tabulate_dof_coordinates()
        n_owned = self.V.dofmap.index_map.size_local
        sel = np.abs(coords[:n_owned, 2] - opts.midplane_z_mm) <= opts.midplane_halfwidth_mm
        self._slab_dofs = np.flatnonzero(sel)
        self._slab_X = coords[self._slab_dofs]
        n_slab = self.comm.allreduce(len(self._slab_dofs), op=MPI.SUM)
        if n_slab == 0 or self._assemble(self._f_area) <= 0.0:
            raise ValueError(
                f"MembraneOptions: no nodes or cell midpoints within "
                f"{opts.midplane_halfwidth_mm} mm of the mid-plane z = {opts.midplane_z_mm} mm; "
                "widen midplane_halfwidth_mm"
            )

    def _region_indicators(self) -> list[tuple[dolfinx.fem.Function, BalloonFilm]]:
        Q = dolfinx.fem.functionspace(self.mesh, ("DG", 0))
        out = []
        for rname, film in self.films.items():
            chi = dolfinx.fem.Function(Q)
            cells = self._cell_tags.find(self._regions[rname])
            chi.x.array[Q.dofmap.list[cells, 0]] = 1.0
            chi.x.scatter_forward()
            out.append((chi, film))
        return out

    def _assemble(self, form) -> float:
        return self.comm.allreduce(dolfinx.fem.assemble_scalar(form), op=MPI.SUM)

    def reference_diameter_mm(self) -> float:
        """Mean reference diameter of the nodes in the mid-plane slab."""
        r = np.hypot(self._slab_X[:, 0], self._slab_X[:, 1])
        s = self.comm.allreduce(float(r.sum()), op=MPI.SUM)
        n = self.comm.allreduce(len(r), op=MPI.SUM)
        return 2.0 * s / n

    def measure(self) -> MembraneState:
        """Diameter, stresses and contact at the current state."""
        bs = 3
        u = self.u.x.array.reshape(-1, bs)[self._slab_dofs]
        xx = self._slab_X + u
        r = np.hypot(xx[:, 0], xx[:, 1])
        comm = self.comm
        n = comm.allreduce(len(r), op=MPI.SUM)
        d_mean = 2.0 * comm.allreduce(float(r.sum()), op=MPI.SUM) / n
        d_min = 2.0 * comm.allreduce(float(r.min()) if len(r) else math.inf, op=MPI.MIN)
        d_max = 2.0 * comm.allreduce(float(r.max()) if len(r) else -math.inf, op=MPI.MAX)
        area = self._assemble(self._f_area)
        hoop = self._assemble(self._f_hoop) / area
        axial = self._assemble(self._f_axial) / area
        thick = self._assemble(self._f_thick) / area
        self._hoop_dg.interpolate(self._hoop_expr)
        nloc = self._hoop_dg.function_space.dofmap.index_map.size_local
        local_max = float(self._hoop_dg.x.array[:nloc].max()) if nloc else -math.inf
        hoop_max = comm.allreduce(local_max, op=MPI.MAX)
        principal = self.max_principal()
        if self.contact is not None:
            pc = self._assemble(self._f_contact_p) / area
            fc = self._assemble(self._f_contact_F)
        else:
            pc, fc = 0.0, 0.0
        return MembraneState(
            pressure_atm=float(self.pressure.value) / ATM_MPA,
            diameter_mm=d_mean,
            diameter_min_mm=d_min,
            diameter_max_mm=d_max,
            hoop_stress_MPa=hoop,
            axial_stress_MPa=axial,
            hoop_tension_N_per_mm=hoop * thick,
            thickness_mm=thick,
            max_hoop_stress_MPa=hoop_max,
            contact_pressure_MPa=pc,
            contact_force_N=fc,
            **principal,
        )

    def max_principal(self) -> dict:
        """The largest in-plane principal Cauchy stress at the current state: value, reference
        ``z``, deformed radius and region of the cell midpoint, and the maximum per region
        (keys as :class:`MembraneState`'s ``max_principal_*`` fields)."""
        self._principal_dg.interpolate(self._principal_expr)
        self._radius_dg.interpolate(self._radius_expr)
        n = len(self._cell_z)
        # DG0: one dof per cell, in cell order
        dofs = self._principal_dg.function_space.dofmap.list[:n, 0]
        vals = self._principal_dg.x.array[dofs]
        radii = self._radius_dg.x.array[dofs]
        best = (-math.inf, math.nan, math.nan, "")
        per_region: dict[str, float] = {}
        if n:
            i = int(np.argmax(vals))
            best = (float(vals[i]), float(self._cell_z[i]), float(radii[i]),
                    str(self._cell_region[i]))
            for rname in self._regions:
                sel = self._cell_region == rname
                if np.any(sel):
                    per_region[rname] = float(vals[sel].max())
        everyone = self.comm.allgather((best, per_region))
        value, z, radius, region = max((b for b, _ in everyone), key=lambda b: b[0])
        merged: dict[str, float] = {}
        for _, pr in everyone:
            for k, v in pr.items():
                merged[k] = max(merged.get(k, -math.inf), v)
        return {"max_principal_stress_MPa": value, "max_principal_z_mm": z,
                "max_principal_radius_mm": radius, "max_principal_region": region,
                "region_max_principal_MPa": dict(sorted(merged.items()))}

    def _set_initial_guess(self) -> None:
        eps = self.stepping.initial_prestretch
        rc = self._clamp_radius

        def guess(xx: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
            r = np.hypot(xx[0], xx[1])
            scale = eps * np.maximum(r - rc, 0.0) / np.maximum(r, 1e-300)
            return np.vstack([scale * xx[0], scale * xx[1], np.zeros_like(r)])

        self.u.interpolate(guess)
        for bc in self.bcs:
            bc.set(self.u.x.array)
        self.u.x.scatter_forward()

    def _max_area_stretch(self) -> float:
        # cheap runaway check on the nodal radii in the slab (the largest stretch sits there)
        u = self.u.x.array.reshape(-1, 3)[self._slab_dofs]
        r0 = np.hypot(self._slab_X[:, 0], self._slab_X[:, 1])
        r = np.hypot(self._slab_X[:, 0] + u[:, 0], self._slab_X[:, 1] + u[:, 1])
        loc = float(np.max(r / np.maximum(r0, 1e-300))) if len(r) else 0.0
        return self.comm.allreduce(loc, op=MPI.MAX)

    def _mean_slab_radius(self) -> float:
        u = self.u.x.array.reshape(-1, 3)[self._slab_dofs]
        r = np.hypot(self._slab_X[:, 0] + u[:, 0], self._slab_X[:, 1] + u[:, 1])
        total = self.comm.allreduce(float(r.sum()), op=MPI.SUM)
        return total / self.comm.allreduce(len(r), op=MPI.SUM)

    def _solve_step(self) -> tuple[int, int, float]:
        snes = self.problem.solver
        try:
            self.problem.solve()
        except PETSc.Error:  # a factorisation error is a failed step, not a crash
            return -100, snes.getIterationNumber(), math.nan
        reason = snes.getConvergedReason()
        its = snes.getIterationNumber()
        fnorm = snes.getFunctionNorm()
        local_ok = bool(np.all(np.isfinite(self.u.x.array)))
        if not self.comm.allreduce(local_ok, op=MPI.LAND):
            reason = min(reason, -101) if reason <= 0 else -101
        return reason, its, float(fnorm)

    def start(self) -> MembraneResult:
        """Reset to the ramp's start (Newton's initial guess at :attr:`start_pressure_atm`) and
        return an empty result record for :meth:`advance` to fill."""
        st = self.stepping
        result = MembraneResult(converged=False, reference_diameter_mm=self.reference_diameter_mm())
        result.info = {
            "degree": self.options.degree,
            "num_dofs": self.V.dofmap.index_map.size_global * 3,
            "num_ranks": self.comm.size,
            "initial_prestretch": st.initial_prestretch,
            "start_pressure_atm": self.start_pressure_atm,
            "films": {k: asdict(f) for k, f in self.films.items()},
            "contact": asdict(self.contact) if self.contact else None,
        }
        self._set_initial_guess()
        self._p_done = self.start_pressure_atm
        self._radius_done = 0.0
        self._step = st.initial_step_atm
        self._attempts = 0
        self.pressure.value = self._p_done * ATM_MPA
        return result

    @property
    def pressure_atm(self) -> float:
        """The pressure of the current converged state."""
        return self._p_done

    def advance(self, target_atm: float, result: MembraneResult) -> bool:
        """Ramp from the current state to ``target_atm`` with adaptive steps (after
        :meth:`start`); the steps go to ``result.steps``. Returns False with
        ``result.failure`` set (and the last converged state kept) when the ramp stops."""
        st = self.stepping
        t0 = time.perf_counter()
        target = float(target_atm)
        self._attempts = 0  # max_steps bounds each call
        try:
            while self._p_done < target - 1e-12:
                if self._attempts >= st.max_steps:
                    result.failure = MembraneFailure("max_steps", 0, self._p_done, self._step,
                                                     math.nan, self._p_done)
                    return False
                self._attempts += 1
                dp = min(self._step, target - self._p_done)
                # do not leave a sliver smaller than the minimum step before the target
                if target - (self._p_done + dp) < st.min_step_atm:
                    dp = target - self._p_done
                self._u_saved.x.array[:] = self.u.x.array
                p_try = self._p_done + dp
                self.pressure.value = p_try * ATM_MPA
                reason, its, fnorm = self._solve_step()
                ok = reason > 0
                why = "snes_diverged"
                if ok and self._max_area_stretch() > self.options.max_stretch:
                    ok, why = False, "stretch_limit"
                radius = self._mean_slab_radius() if ok else math.nan
                if ok and radius < self._radius_done * (1.0 - 1e-7):
                    # more pressure, smaller balloon: Newton jumped off the loading branch
                    # (past a limit point it can converge to an inverted, compressed film)
                    ok, why = False, "left_loading_branch"
                result.steps.append(MembraneStep(p_try, dp, ok, int(reason), int(its), fnorm))
                if ok:
                    self._p_done, self._radius_done = p_try, radius
                    if its <= st.easy_iterations:
                        self._step = min(self._step * st.grow, st.max_step_atm)
                else:
                    self.u.x.array[:] = self._u_saved.x.array
                    self.u.x.scatter_forward()
                    self._step = dp * st.shrink
                    if self._step < st.min_step_atm:
                        self.pressure.value = self._p_done * ATM_MPA
                        result.failure = MembraneFailure(why, int(reason), p_try, dp, fnorm,
                                                         self._p_done)
                        return False
            self.pressure.value = target * ATM_MPA
            return True
        finally:
            result.wall_time_s += time.perf_counter() - t0

    def snapshot(self) -> tuple:
        """The current state (displacement, pressure, step, radius) for :meth:`restore`."""
        return self.u.x.array.copy(), self._p_done, self._step, self._radius_done

    def restore(self, state: tuple) -> None:
        """Go back to a :meth:`snapshot`."""
        u, p, step, radius = state
        self.u.x.array[:] = u
        self.u.x.scatter_forward()
        self._p_done, self._step, self._radius_done = p, step, radius
        self.pressure.value = p * ATM_MPA

    def solve(self, pressures_atm: Sequence[float]) -> MembraneResult:
        """Ramp the pressure through ``pressures_atm`` (increasing, above
        :attr:`start_pressure_atm`) and measure at each.

        Returns:
            A :class:`MembraneResult`; ``converged`` is False with ``failure`` filled in when
            the ramp could not reach every pressure.
        """
        targets = [float(p) for p in pressures_atm]
        p0 = self.start_pressure_atm
        if not targets or any(p <= p0 for p in targets) or any(
            b <= a for a, b in zip(targets, targets[1:], strict=False)
        ):
            raise ValueError(f"pressures_atm = {targets} must be increasing and above the start "
                             f"pressure {p0:.4g} atm (0, or the pre-load of an elastic channel "
                             "narrower than the film)")
        result = self.start()
        for target in targets:
            if not self.advance(target, result):
                return result
            result.states.append(self.measure())
        result.converged = True
        return result


# --------------------------------------------------------------------------------------------
# Convenience: rated balloon
# --------------------------------------------------------------------------------------------


@dataclass(slots=True)
class RatingCheck:
    """How a computed balloon meets its label."""

    nominal_diameter_mm: float
    computed_nominal_diameter_mm: float
    compliance_pct_per_atm_stated: float
    compliance_pct_per_atm_computed: float
    rated_burst_pressure_atm: float
    hoop_stress_at_burst_MPa: float
    laplace_hoop_stress_at_burst_MPa: float
    film_strength_MPa: float
    burst_safety_factor: float

    def to_dict(self) -> dict:
        """JSON-ready dict."""
        return asdict(self)


def check_rating(result: MembraneResult, rating: BalloonRating, film: BalloonFilm) -> RatingCheck:
    """Compare a free-inflation ramp (with p_nom and p_rbp as output points) with the label."""
    p, d = result.curve()
    i_nom = int(np.argmin(np.abs(p - rating.nominal_pressure_atm)))
    i_rbp = int(np.argmin(np.abs(p - rating.rated_burst_pressure_atm)))
    if abs(p[i_rbp] - rating.rated_burst_pressure_atm) > 1e-9 or \
            abs(p[i_nom] - rating.nominal_pressure_atm) > 1e-9:
        raise ValueError("the ramp must have the nominal and rated burst pressures as outputs")
    st = result.states[i_rbp]
    laplace = rating.rated_burst_pressure_atm * ATM_MPA * (st.diameter_mm / 2) / st.thickness_mm
    strength = film.material.hoop_strength_MPa
    return RatingCheck(
        nominal_diameter_mm=rating.nominal_diameter_mm,
        computed_nominal_diameter_mm=float(d[i_nom]),
        compliance_pct_per_atm_stated=rating.compliance_pct_per_atm,
        compliance_pct_per_atm_computed=result.compliance_pct_per_atm(
            rating.nominal_pressure_atm, rating.rated_burst_pressure_atm,
            rating.nominal_diameter_mm),
        rated_burst_pressure_atm=rating.rated_burst_pressure_atm,
        hoop_stress_at_burst_MPa=st.hoop_stress_MPa,
        laplace_hoop_stress_at_burst_MPa=laplace,
        film_strength_MPa=strength,
        burst_safety_factor=strength / st.hoop_stress_MPa,
    )


def calibrate_reference_diameter(
    solve_at: Callable[[float], MembraneResult],
    rating: BalloonRating,
    reference_diameter_guess_mm: float,
    tol_mm: float = 1e-4,
    max_iterations: int = 8,
) -> tuple[float, MembraneResult]:
    """Find the stress-free diameter whose FE balloon reaches ``D_nom`` at ``p_nom``.

    ``solve_at(D_ref)`` builds the balloon with reference diameter ``D_ref`` and ramps it to
    (at least) the nominal pressure, returning the result whose state at ``p_nom`` is used.
    ``D(p_nom)`` is close to proportional to ``D_ref`` (the stretch depends on ``p R / mu H``
    only weakly), so the update ``D_ref <- D_ref D_nom / D(p_nom)`` converges in a few steps.

    Returns:
        ``(reference_diameter_mm, result)``; raises ValueError when a solve fails or the
        iteration does not reach ``tol_mm``.
    """
    d_ref = reference_diameter_guess_mm
    for _ in range(max_iterations):
        result = solve_at(d_ref)
        if not result.converged:
            raise ValueError(f"calibration solve at D_ref = {d_ref} mm failed: {result.failure}")
        p, d = result.curve()
        i = int(np.argmin(np.abs(p - rating.nominal_pressure_atm)))
        if abs(p[i] - rating.nominal_pressure_atm) > 1e-9:
            raise ValueError("solve_at must have the nominal pressure as an output point")
        if abs(d[i] - rating.nominal_diameter_mm) <= tol_mm:
            return d_ref, result
        d_ref *= rating.nominal_diameter_mm / d[i]
    raise ValueError(f"reference diameter did not converge to {tol_mm} mm in {max_iterations} "
                     f"iterations (last D_ref = {d_ref} mm)")


def balloon_film_report(
    free: MembraneResult,
    rating: BalloonRating,
    film: BalloonFilm,
    confined: MembraneResult | None = None,
) -> dict:
    """One JSON-ready record: the free compliance curve, how the label is met, and (if given)
    the confined curve with the contact pressure the balloon puts on the channel wall."""
    p, d = free.curve()
    record: dict = {
        "film": asdict(film),
        "rating": asdict(rating),
        "free": {
            "converged": free.converged,
            "pressure_atm": p.tolist(),
            "diameter_mm": d.tolist(),
            "hoop_stress_MPa": [s.hoop_stress_MPa for s in free.states],
            "axial_stress_MPa": [s.axial_stress_MPa for s in free.states],
            "thickness_mm": [s.thickness_mm for s in free.states],
            "reference_diameter_mm": free.reference_diameter_mm,
            "failure": asdict(free.failure) if free.failure else None,
        },
    }
    try:
        record["rating_check"] = check_rating(free, rating, film).to_dict()
    except ValueError as err:  # the ramp stopped before p_nom or p_rbp
        record["rating_check"] = {"error": str(err)}
    if confined is not None:
        pc, dc = confined.curve()
        record["confined"] = {
            "converged": confined.converged,
            "channel": confined.info.get("contact"),
            "pressure_atm": pc.tolist(),
            "diameter_mm": dc.tolist(),
            "contact_pressure_MPa": [s.contact_pressure_MPa for s in confined.states],
            "contact_force_N": [s.contact_force_N for s in confined.states],
            "hoop_stress_MPa": [s.hoop_stress_MPa for s in confined.states],
            "failure": asdict(confined.failure) if confined.failure else None,
        }
    return MembraneResult(converged=True, info=record).to_dict()["info"]
