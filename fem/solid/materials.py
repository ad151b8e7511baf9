"""Hyperelastic materials of the artery wall, as validated frozen dataclasses.

Units: stresses and moduli in MPa (= N/mm^2), lengths in mm, angles in degrees.

Every material writes its strain energy per unit reference volume as

    Psi(F) = W(F) + (K_v / 2) g(J)^2,                                           (1)

with a "shape" part ``W`` (:meth:`shape_energy`), a volumetric measure ``g`` with
``g(1) = 0`` and ``g'(1) = 1`` (:meth:`volume_measure`) and a volumetric modulus ``K_v``
(:attr:`volumetric_modulus_MPa`, possibly ``inf`` for an incompressible material). This
split serves both formulations in :mod:`fem.solid.hyperelastic` without changing the model:

* displacement formulation: ``Psi(F)`` as written in (1) (:meth:`strain_energy`);
* mixed u-p (perturbed Lagrangian) formulation:
  ``Pi(F, p) = W(F) + p g(J) - p^2 / (2 K_v)`` (:meth:`mixed_strain_energy`).
  Making ``Pi`` stationary in ``p`` gives ``p = K_v g(J)`` and gives back (1) exactly, so the
  mixed form is the same material; for ``K_v = inf`` it enforces ``g(J) = 0`` (``J = 1``).

Strain energies are UFL expressions of the 3x3 deformation gradient ``F`` (plane-strain
problems pass the 3x3 ``F`` with ``F33`` = axial stretch).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np
import ufl

ATM_MPa = 0.101325
"""One standard atmosphere in MPa (pressures typed by people are in atm)."""

KPA_MPa = 1.0e-3
"""One kPa in MPa."""


def check_range(name: str, value: float, low: float, high: float, *, low_open: bool = False,
                 high_open: bool = False, unit: str = "") -> None:
    """Raise ``ValueError`` naming the field, the value and the allowed range.

    ``inf`` passes only where ``high`` is ``inf`` and the upper bound is closed.
    """
    try:
        v = float(value)
    except (TypeError, ValueError):
        v = math.nan
    ok = not math.isnan(v) and (v > low if low_open else v >= low) and (
        v < high if high_open else v <= high
    )
    if not ok:
        lb, rb = ("(" if low_open else "["), (")" if high_open else "]")
        raise ValueError(f"{name} = {value!r}{' ' + unit if unit else ''} is outside the "
                         f"allowed range {lb}{low}, {high}{rb}")


def _isochoric_invariants(F: ufl.core.expr.Expr) -> tuple[ufl.core.expr.Expr, ufl.core.expr.Expr]:
    """Return ``(J, Ibar1)``: the volume ratio and the isochoric first invariant of ``C``."""
    J = ufl.det(F)
    C = F.T * F
    return J, J ** (-2.0 / 3.0) * ufl.tr(C)


@runtime_checkable
class Material(Protocol):
    """What :mod:`fem.solid.hyperelastic` needs from a material (see the module docstring)."""

    @property
    def volumetric_modulus_MPa(self) -> float: ...

    @property
    def reference_modulus_MPa(self) -> float: ...

    def shape_energy(self, F, X=None): ...

    def volume_measure(self, J): ...


class _EnergyMixin:
    """Shared assembly of the displacement and mixed energies from (1)."""

    __slots__ = ()

    def strain_energy(self, F: ufl.core.expr.Expr, X: ufl.core.expr.Expr | None = None):
        """Strain energy per reference volume (MPa) for the displacement formulation.

        Args:
            F: 3x3 deformation gradient (UFL).
            X: reference coordinates (UFL vector), needed by anisotropic materials.

        Raises:
            ValueError: for an incompressible material (needs the mixed formulation).
        """
        kv = self.volumetric_modulus_MPa
        if math.isinf(kv):
            raise ValueError(
                f"{type(self).__name__} is incompressible (volumetric modulus inf): "
                "use the mixed u-p formulation"
            )
        g = self.volume_measure(ufl.det(F))
        return self.shape_energy(F, X) + 0.5 * kv * g**2

    def mixed_strain_energy(self, F, p, X=None):
        """Perturbed-Lagrangian energy ``W(F) + p g(J) - p^2/(2 K_v)`` (MPa).

        Args:
            F: 3x3 deformation gradient (UFL).
            p: pressure-like field in MPa (UFL); at the solution ``p = K_v g(J)``, which is
                the mean (hydrostatic) Cauchy stress at small strain, positive in tension.
            X: reference coordinates (UFL vector), needed by anisotropic materials.
        """
        kv = self.volumetric_modulus_MPa
        energy = self.shape_energy(F, X) + p * self.volume_measure(ufl.det(F))
        if not math.isinf(kv):
            energy = energy - p**2 / (2.0 * kv)
        return energy


@dataclass(frozen=True, slots=True)
class CompressibleNeoHookean(_EnergyMixin):
    """Compressible neo-Hookean solid (Ciarlet / Simo-Pister form).

    ``Psi = mu/2 (I1 - 3 - 2 ln J) + lambda/2 (ln J)^2``; in the split (1):
    ``W = mu/2 (I1 - 3 - 2 ln J)``, ``g(J) = ln J``, ``K_v = lambda``. At small strain it is
    exactly Hooke's law with Lame constants ``(lambda, mu)``, which is what the Lame
    thick-cylinder check relies on. Source: Ciarlet (1988) Mathematical Elasticity I;
    Simo & Pister (1984) CMAME 46:201.

    Attributes:
        mu_MPa: shear modulus in MPa, > 0.
        lambda_MPa: first Lame constant in MPa, >= 0 (finite).
    """

    mu_MPa: float
    lambda_MPa: float

    def __post_init__(self) -> None:
        check_range("mu_MPa", self.mu_MPa, 0.0, 1e6, low_open=True, unit="MPa")
        check_range("lambda_MPa", self.lambda_MPa, 0.0, 1e9, unit="MPa")

    @classmethod
    def from_young(cls, young_modulus_MPa: float, poisson_ratio: float) -> CompressibleNeoHookean:
        """Build from Young's modulus (MPa, > 0) and Poisson's ratio in (-1, 0.5)."""
        check_range("young_modulus_MPa", young_modulus_MPa, 0.0, 1e6, low_open=True, unit="MPa")
        check_range("poisson_ratio", poisson_ratio, -1.0, 0.5, low_open=True, high_open=True)
        E, nu = young_modulus_MPa, poisson_ratio
        return cls(mu_MPa=E / (2 * (1 + nu)), lambda_MPa=E * nu / ((1 + nu) * (1 - 2 * nu)))

    @property
    def volumetric_modulus_MPa(self) -> float:
        return self.lambda_MPa

    @property
    def reference_modulus_MPa(self) -> float:
        return self.mu_MPa

    @property
    def young_modulus_MPa(self) -> float:
        mu, lam = self.mu_MPa, self.lambda_MPa
        return mu * (3 * lam + 2 * mu) / (lam + mu)

    @property
    def poisson_ratio(self) -> float:
        return self.lambda_MPa / (2 * (self.lambda_MPa + self.mu_MPa))

    def shape_energy(self, F, X=None):
        J = ufl.det(F)
        return 0.5 * self.mu_MPa * (ufl.tr(F.T * F) - 3.0 - 2.0 * ufl.ln(J))

    def volume_measure(self, J):
        return ufl.ln(J)


@dataclass(frozen=True, slots=True)
class NearlyIncompressibleNeoHookean(_EnergyMixin):
    """Neo-Hookean solid with the isochoric/volumetric split, for soft tissue.

    ``Psi = mu/2 (Ibar1 - 3) + kappa/2 (J - 1)^2`` with ``Ibar1 = J^(-2/3) I1``: ``W`` is the
    isochoric part, ``g(J) = J - 1``, ``K_v = kappa`` (bulk modulus; ``inf`` = incompressible,
    which then needs the mixed formulation). Source: Simo & Taylor (1991) CMAME 85:273;
    Holzapfel (2000) Nonlinear Solid Mechanics, sec. 6.5.

    Attributes:
        mu_MPa: shear modulus in MPa, > 0.
        bulk_modulus_MPa: bulk modulus in MPa, > 0 (``math.inf`` allowed).
    """

    mu_MPa: float
    bulk_modulus_MPa: float = math.inf

    def __post_init__(self) -> None:
        check_range("mu_MPa", self.mu_MPa, 0.0, 1e6, low_open=True, unit="MPa")
        check_range("bulk_modulus_MPa", self.bulk_modulus_MPa, 0.0, math.inf, low_open=True,
                     unit="MPa")

    @classmethod
    def from_poisson(cls, mu_MPa: float, poisson_ratio: float) -> NearlyIncompressibleNeoHookean:
        """Build from the shear modulus (MPa) and a small-strain Poisson ratio in (-1, 0.5]."""
        check_range("poisson_ratio", poisson_ratio, -1.0, 0.5, low_open=True)
        if poisson_ratio == 0.5:
            return cls(mu_MPa=mu_MPa, bulk_modulus_MPa=math.inf)
        nu = poisson_ratio
        return cls(mu_MPa=mu_MPa, bulk_modulus_MPa=2 * mu_MPa * (1 + nu) / (3 * (1 - 2 * nu)))

    @property
    def volumetric_modulus_MPa(self) -> float:
        return self.bulk_modulus_MPa

    @property
    def reference_modulus_MPa(self) -> float:
        return self.mu_MPa

    def shape_energy(self, F, X=None):
        _, ibar1 = _isochoric_invariants(F)
        return 0.5 * self.mu_MPa * (ibar1 - 3.0)

    def volume_measure(self, J):
        return J - 1.0


@dataclass(frozen=True, slots=True)
class HolzapfelGasserOgden(_EnergyMixin):
    """Holzapfel-Gasser-Ogden (HGO) arterial layer with two symmetric fibre families.

    ``W = c/2 (Ibar1 - 3) + k1/(2 k2) sum_{i=4,6} [exp(k2 E_i^2) - 1]``, with
    ``E_i = kappa (Ibar1 - 3) + (1 - 3 kappa)(Ibar_i - 1)``, ``Ibar_i = a_i . Cbar a_i``;
    ``g(J) = J - 1``; ``K_v`` = bulk modulus (default ``inf``: incompressible, as in the
    source). The fibre directions ``a_{4,6} = cos(beta) e_theta +- sin(beta) e_z`` lie in the
    local circumferential-axial plane of a vessel whose axis is the z axis through
    ``axis_origin_mm``; a fibre family contributes only in tension (``Ibar_i > 1``), since
    collagen buckles under compression. ``kappa = 0`` is the original model
    (Holzapfel, Gasser, Ogden 2000, J Elasticity 61:1); ``kappa in (0, 1/3]`` adds the
    fibre dispersion of Gasser, Ogden, Holzapfel (2006), J R Soc Interface 3:15
    (``kappa = 1/3``: isotropic).

    The fibre invariants use the isochoric ``Cbar`` as in the 2000 paper; with a large bulk
    modulus the difference from the anisotropic-volumetric variant (Sansour 2008) is of the
    order of ``p / K_v``.

    Attributes:
        c_MPa: neo-Hookean (matrix) parameter in MPa, > 0 (``mu = c``).
        k1_MPa: fibre stiffness in MPa, >= 0.
        k2: fibre exponential coefficient, dimensionless, >= 0.
        beta_deg: fibre angle from the circumferential direction, degrees, [0, 90].
        dispersion_kappa: fibre dispersion in [0, 1/3].
        bulk_modulus_MPa: bulk modulus in MPa, > 0 or ``math.inf``.
        axis_origin_mm: (x, y) of the vessel axis in mm.
    """

    c_MPa: float
    k1_MPa: float
    k2: float
    beta_deg: float
    dispersion_kappa: float = 0.0
    bulk_modulus_MPa: float = math.inf
    axis_origin_mm: tuple[float, float] = (0.0, 0.0)

    def __post_init__(self) -> None:
        check_range("c_MPa", self.c_MPa, 0.0, 1e6, low_open=True, unit="MPa")
        check_range("k1_MPa", self.k1_MPa, 0.0, 1e6, unit="MPa")
        check_range("k2", self.k2, 0.0, 1e3)
        check_range("beta_deg", self.beta_deg, 0.0, 90.0, unit="deg")
        check_range("dispersion_kappa", self.dispersion_kappa, 0.0, 1.0 / 3.0)
        check_range("bulk_modulus_MPa", self.bulk_modulus_MPa, 0.0, math.inf, low_open=True,
                     unit="MPa")
        if len(self.axis_origin_mm) != 2:
            raise ValueError(f"axis_origin_mm = {self.axis_origin_mm!r} must be a pair (x, y)")

    @property
    def volumetric_modulus_MPa(self) -> float:
        return self.bulk_modulus_MPa

    @property
    def reference_modulus_MPa(self) -> float:
        return self.c_MPa

    def fibre_directions(self, X) -> tuple[ufl.core.expr.Expr, ufl.core.expr.Expr]:
        """Unit fibre directions (3-vectors, UFL) at reference coordinates ``X`` (2-D or 3-D)."""
        x0, y0 = self.axis_origin_mm
        dx, dy = X[0] - x0, X[1] - y0
        r = ufl.sqrt(dx**2 + dy**2)
        e_theta = ufl.as_vector([-dy / r, dx / r, 0.0])
        e_z = ufl.as_vector([0.0, 0.0, 1.0])
        b = math.radians(self.beta_deg)
        return math.cos(b) * e_theta + math.sin(b) * e_z, math.cos(b) * e_theta - math.sin(b) * e_z

    def shape_energy(self, F, X=None):
        if X is None:
            raise ValueError("HolzapfelGasserOgden needs the reference coordinates X")
        J, ibar1 = _isochoric_invariants(F)
        Cbar = J ** (-2.0 / 3.0) * F.T * F
        kap = self.dispersion_kappa
        W = 0.5 * self.c_MPa * (ibar1 - 3.0)
        if self.k1_MPa == 0.0:
            return W
        for a in self.fibre_directions(X):
            ibar4 = ufl.dot(a, Cbar * a)
            E = kap * (ibar1 - 3.0) + (1.0 - 3.0 * kap) * (ibar4 - 1.0)
            if self.k2 > 0.0:
                fibre = self.k1_MPa / (2.0 * self.k2) * (ufl.exp(self.k2 * E**2) - 1.0)
            else:  # k2 -> 0 limit: quadratic fibres
                fibre = 0.5 * self.k1_MPa * E**2
            W = W + ufl.conditional(ufl.gt(ibar4, 1.0), fibre, 0.0)
        return W

    def volume_measure(self, J):
        return J - 1.0


@dataclass(frozen=True, slots=True)
class StiffLinearSolid(_EnergyMixin):
    """Stiff, near-linear solid for calcium: compressible neo-Hookean from (E, nu).

    Why this model: calcium fails at a stretch of about 1.02 (Holzapfel 2004 JBME;
    Cahalane 2018 Acta Biomater: 0.18 +- 0.06 MPa), so it only ever sees small strains,
    where the Ciarlet/Simo-Pister neo-Hookean energy (see :class:`CompressibleNeoHookean`)
    is Hooke's law with (E, nu) to first order. It is preferred to St Venant-Kirchhoff
    because SVK softens and loses ellipticity in compression (it admits J -> 0 at finite
    energy), which a stiff inclusion squeezed by the soft wall can reach during Newton
    iterations, while the ln J term keeps the energy infinite as J -> 0.

    Why 20 GPa costs no accuracy or conditioning:
    * Accuracy: the stress ``mu (F - F^-T) + lambda ln(J) F^-T`` is formed from differences of
      O(1) quantities; with strains ~ p/E >= 1e-7 the absolute rounding error 1e-16 is still
      a relative 1e-9 of the strain, far below discretisation error. Nothing is formed as
      (I1 - 3) and then divided by a small number.
    * Conditioning: a modulus contrast of 20 GPa / 0.24 MPa ~ 1e5 raises the condition number
      of the tangent by the same factor (to ~1e9-1e10 on our meshes). The direct solver
      (MUMPS, pivoting LU) loses at most log10(cond) ~ 10 of 16 digits, so the Newton update
      is still accurate to ~1e-6 relative, and Newton converges quadratically because the
      residual test is relative. In the mixed formulation each region has its own pressure
      field scaled by its own modulus (see :mod:`fem.solid.hyperelastic`), so the calcium's tiny
      ``1/K_v`` block neither unbalances the tissue's equations nor is forced continuous
      across the interface where the mean stress jumps. Checked in
      ``tests/test_solid_lame.py`` (compound cylinder at 10 MPa and 20 GPa, error ~1e-7) and
      ``tests/test_solid_materials.py`` (Hooke's law to 1e-5 at a 1e-7 strain).
      Iterative AMG does degrade with such contrast; use MUMPS (the default) for calcium.

    Attributes:
        young_modulus_MPa: Young's modulus in MPa, in [1, 1e5] (1 MPa .. 100 GPa).
        poisson_ratio: Poisson's ratio in (-1, 0.5).
    """

    young_modulus_MPa: float
    poisson_ratio: float = 0.3

    def __post_init__(self) -> None:
        check_range("young_modulus_MPa", self.young_modulus_MPa, 1.0, 1e5, unit="MPa")
        check_range("poisson_ratio", self.poisson_ratio, -1.0, 0.5, low_open=True,
                     high_open=True)

    @property
    def _lame(self) -> tuple[float, float]:
        E, nu = self.young_modulus_MPa, self.poisson_ratio
        return E / (2 * (1 + nu)), E * nu / ((1 + nu) * (1 - 2 * nu))

    @property
    def mu_MPa(self) -> float:
        return self._lame[0]

    @property
    def lambda_MPa(self) -> float:
        return self._lame[1]

    @property
    def volumetric_modulus_MPa(self) -> float:
        return self._lame[1]

    @property
    def reference_modulus_MPa(self) -> float:
        return self._lame[0]

    def shape_energy(self, F, X=None):
        J = ufl.det(F)
        return 0.5 * self.mu_MPa * (ufl.tr(F.T * F) - 3.0 - 2.0 * ufl.ln(J))

    def volume_measure(self, J):
        return ufl.ln(J)


def _matrix3(value, name: str) -> tuple[tuple[float, float, float], ...]:
    rows = tuple(tuple(float(x) for x in row) for row in value)
    if len(rows) != 3 or any(len(r) != 3 for r in rows):
        raise ValueError(f"{name} = {value!r} must be a 3x3 matrix")
    if not all(math.isfinite(x) for r in rows for x in r):
        raise ValueError(f"{name} = {value!r} must be finite")
    return rows


def _det3(m) -> float:
    return (m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1])
            - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0])
            + m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0]))


@dataclass(frozen=True, slots=True)
class StressFreeState:
    """A region's material whose stress-free state is not the mesh's: reached from it by ``F0``.

    The mesh is one configuration of the body (for the artery: the vessel excised, without its
    axial pre-stretch); a region may be stress-free in another one, e.g. calcium formed in the
    vessel *in situ*, axially stretched by ``lambda_z``: ``F0 = diag(1, 1, lambda_z)``. The
    deformation gradient ``F`` (from the mesh) splits multiplicatively,

        F = F_el F0,    F_el = F F0^-1,

    the material responds to ``F_el`` only, and its energy per unit volume of its stress-free
    state is ``Psi_m(F_el)``, so per unit mesh volume (what the problem integrates)

        Psi(F) = J0 Psi_m(F F0^-1),       J0 = det F0,

    and the mixed form is ``J0 [W(F_el) + p g(J_el) - p^2 / (2 K_v)]`` with ``J_el = J / J0``
    (``p = K_v g(J_el)``: the region's mean stress). First Piola stress (mesh configuration)
    ``P = J0 P_m(F_el) F0^-T``; Cauchy stress ``J^-1 P F^T = J_el^-1 P_m(F_el) F_el^T``, the
    material's own at ``F_el`` (:func:`fem.solid.output.cauchy_stress` differentiates ``Psi`` and
    gets it); the tangent is ``J0`` times the material's tangent at ``F_el`` mapped by ``F0^-1``
    on both sides. At ``F = F0`` the region is stress-free. An anisotropic material's fibre
    directions are those of its stress-free state, evaluated at the mesh point ``X``.

    ``F0`` is a constant 3x3 matrix in the problem's component order (plane strain and 3-D:
    x, y, z with z the vessel axis; an axisymmetric problem: its own (r, z, theta) order).
    It works with every :class:`fem.solid.hyperelastic.HyperelasticProblem` (the balloon wall,
    the needle's discs), which only ever call :meth:`strain_energy` or
    :meth:`mixed_strain_energy`.

    Attributes:
        material: the region's material (in its stress-free state).
        F0: deformation gradient from the mesh to the stress-free state, det in [0.1, 10].
    """

    material: Material
    F0: tuple[tuple[float, float, float], ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "F0", _matrix3(self.F0, "F0"))
        if not isinstance(self.material, Material):
            raise ValueError(f"material = {self.material!r} is not a material")
        check_range("det(F0)", _det3(self.F0), 0.1, 10.0)

    @property
    def J0(self) -> float:
        return _det3(self.F0)

    @property
    def volumetric_modulus_MPa(self) -> float:
        return self.material.volumetric_modulus_MPa

    @property
    def reference_modulus_MPa(self) -> float:
        return self.material.reference_modulus_MPa

    def elastic_deformation(self, F):
        """``F_el = F F0^-1`` (UFL)."""
        return F * ufl.as_matrix(np.linalg.inv(np.array(self.F0)).tolist())

    def shape_energy(self, F, X=None):
        """``J0 W(F_el)`` per unit mesh volume."""
        return self.J0 * self.material.shape_energy(self.elastic_deformation(F), X)

    def volume_measure(self, J):
        """``g(J / J0)``: the material's volume measure of ``J_el``."""
        return self.material.volume_measure(J / self.J0)

    def strain_energy(self, F, X=None):
        """``J0 Psi_m(F F0^-1)`` (MPa per unit mesh volume), displacement formulation."""
        return self.J0 * self.material.strain_energy(self.elastic_deformation(F), X)

    def mixed_strain_energy(self, F, p, X=None):
        """``J0 [W(F_el) + p g(J_el) - p^2 / (2 K_v)]`` (MPa per unit mesh volume)."""
        return self.J0 * self.material.mixed_strain_energy(self.elastic_deformation(F), p, X)


def axial_reference_state(material: Material, axial_stretch: float) -> Material:
    """``material`` stress-free when stretched by ``axial_stretch`` along z (formed in situ);
    ``material`` itself when the stretch is 1."""
    check_range("axial_stretch", axial_stretch, 0.5, 3.0)
    if axial_stretch == 1.0:
        return material
    return StressFreeState(material, ((1.0, 0.0, 0.0), (0.0, 1.0, 0.0),
                                      (0.0, 0.0, float(axial_stretch))))


# ---------------------------------------------------------------------------------------------
# Named parameter sets
# ---------------------------------------------------------------------------------------------

def _named() -> dict[str, object]:
    return {
        # Holzapfel, Gasser, Ogden (2000) J Elasticity 61:1, Table/sec. 5 (rabbit carotid);
        # kPa -> MPa. Incompressible, as in the paper.
        "hgo-2000-media": HolzapfelGasserOgden(
            c_MPa=3.0 * KPA_MPa, k1_MPa=2.3632 * KPA_MPa, k2=0.8393, beta_deg=29.0
        ),
        "hgo-2000-adventitia": HolzapfelGasserOgden(
            c_MPa=0.3 * KPA_MPa, k1_MPa=0.562 * KPA_MPa, k2=0.7112, beta_deg=62.0
        ),
        # Human femoropopliteal wall, DOMAIN.md sec. 5: physiological circumferential stiffness
        # ~0.72 MPa -> neo-Hookean mu ~ 0.24 MPa [est] (Kamenskiy group 2024). Tissue is
        # nearly incompressible: nu = 0.49 small-strain equivalent, bulk = 50 mu [est].
        "femoral-wall-neohookean": NearlyIncompressibleNeoHookean(
            mu_MPa=0.24, bulk_modulus_MPa=50 * 0.24
        ),
        # Human femoropopliteal media/adventitia with collagen stiffening [est]: matrix
        # c ~ 0.05 MPa and fibres k1 = 0.1 MPa, k2 = 5 at +-40 deg (media) / +-55 deg
        # (adventitia), chosen so that the circumferential tangent stiffness at the in-situ
        # state (axial pre-stretch 1.29, DOMAIN.md sec. 5) is of the order of the measured
        # 0.72 MPa (Kamenskiy group 2024) and the wall stiffens steeply towards the damage-onset
        # stretch 1.26-1.51 (Anttila 2019); unlike a neo-Hookean wall it has no limit point
        # under a balloon's pressure. Nearly incompressible (bulk 50 c) [est].
        "femoral-media-hgo": HolzapfelGasserOgden(
            c_MPa=0.05, k1_MPa=0.1, k2=5.0, beta_deg=40.0, bulk_modulus_MPa=2.5
        ),
        "femoral-adventitia-hgo": HolzapfelGasserOgden(
            c_MPa=0.03, k1_MPa=0.1, k2=5.0, beta_deg=55.0, bulk_modulus_MPa=1.5
        ),
        # Fibrous intima / cap, DOMAIN.md sec. 5 (Teng 2015 J Biomech: neo-Hookean or Ogden,
        # UTS ~0.16 MPa). mu = 0.1 MPa [est] (softer than the healthy wall).
        "fibrous-intima": NearlyIncompressibleNeoHookean(mu_MPa=0.1, bulk_modulus_MPa=50 * 0.1),
        # Calcium, DOMAIN.md sec. 5: stiffness poorly known (1 MPa plaque composite .. tens of
        # GPa mineral); default 1 GPa [est], sweep 10 MPa .. 20 GPa. nu = 0.3 [est].
        "calcium": StiffLinearSolid(young_modulus_MPa=1.0e3, poisson_ratio=0.3),
        "calcium-soft": StiffLinearSolid(young_modulus_MPa=10.0, poisson_ratio=0.3),
        "calcium-stiff": StiffLinearSolid(young_modulus_MPa=2.0e4, poisson_ratio=0.3),
    }


MATERIAL_NAMES: tuple[str, ...] = tuple(_named())
"""Names accepted by :func:`material_by_name`."""


def material_by_name(name: str) -> Material:
    """Return a named parameter set (see :data:`MATERIAL_NAMES`).

    Raises:
        ValueError: for an unknown name (the message lists the known ones).
    """
    table = _named()
    if name not in table:
        raise ValueError(f"material name = {name!r} is unknown; known: {sorted(table)}")
    return table[name]  # type: ignore[return-value]


def calcium(young_modulus_MPa: float, poisson_ratio: float = 0.3) -> StiffLinearSolid:
    """Calcium with a given modulus (for the 10 MPa .. 20 GPa sweep of DOMAIN.md sec. 5)."""
    return StiffLinearSolid(young_modulus_MPa=young_modulus_MPa, poisson_ratio=poisson_ratio)
