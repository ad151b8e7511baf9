"""Unit tests of fem.solid.materials: validation, named sets, and stresses at a homogeneous F."""

from __future__ import annotations

import math

import hpc.stack  # noqa: F401  (orders MPI before DOLFINx; keep first)

import dolfinx
import numpy as np
import pytest
import ufl
from mpi4py import MPI

from fem.solid.materials import (
    ATM_MPa,
    CompressibleNeoHookean,
    HolzapfelGasserOgden,
    NearlyIncompressibleNeoHookean,
    StiffLinearSolid,
    calcium,
    material_by_name,
)


def _at_point(expr_of_F_X, F_value: np.ndarray, X_point=(1.0, 0.0, 0.0)) -> np.ndarray:
    """Evaluate ``expr(F, X)`` for a constant F and a constant reference position X."""
    mesh = dolfinx.mesh.create_unit_cube(MPI.COMM_SELF, 1, 1, 1)
    F = dolfinx.fem.Constant(mesh, np.asarray(F_value, dtype=np.float64))
    X = dolfinx.fem.Constant(mesh, np.asarray(X_point, dtype=np.float64))
    Fv = ufl.variable(F)
    expr = expr_of_F_X(Fv, X)
    e = dolfinx.fem.Expression(expr, np.array([[0.25, 0.25, 0.25]]))
    return e.eval(mesh, np.array([0], dtype=np.int32))[0, 0]


def _cauchy(mat, F_value, X_point=(1.0, 0.0, 0.0)) -> np.ndarray:
    def sigma(Fv, X):
        psi = mat.strain_energy(Fv, X)
        return ufl.diff(psi, Fv) * Fv.T / ufl.det(Fv)

    return np.asarray(_at_point(sigma, F_value, X_point)).reshape(3, 3)


@pytest.mark.parametrize(
    ("factory", "field"),
    [
        (lambda: CompressibleNeoHookean(mu_MPa=-1.0, lambda_MPa=1.0), "mu_MPa"),
        (lambda: NearlyIncompressibleNeoHookean(mu_MPa=0.24, bulk_modulus_MPa=0.0),
         "bulk_modulus_MPa"),
        (lambda: HolzapfelGasserOgden(c_MPa=1e-3, k1_MPa=1e-3, k2=1.0, beta_deg=95.0),
         "beta_deg"),
        (lambda: HolzapfelGasserOgden(c_MPa=1e-3, k1_MPa=1e-3, k2=1.0, beta_deg=30.0,
                                      dispersion_kappa=0.4), "dispersion_kappa"),
        (lambda: StiffLinearSolid(young_modulus_MPa=2e4, poisson_ratio=0.5), "poisson_ratio"),
        (lambda: StiffLinearSolid(young_modulus_MPa=float("nan")), "young_modulus_MPa"),
    ],
)
def test_validation_names_field(factory, field):
    with pytest.raises(ValueError, match=field):
        factory()


def test_named_sets_units_and_lookup():
    media = material_by_name("hgo-2000-media")
    adv = material_by_name("hgo-2000-adventitia")
    # HGO 2000 (J Elasticity 61:1) values, converted kPa -> MPa
    assert media.c_MPa == pytest.approx(3.0e-3) and media.k1_MPa == pytest.approx(2.3632e-3)
    assert media.k2 == pytest.approx(0.8393) and media.beta_deg == 29.0
    assert adv.c_MPa == pytest.approx(0.3e-3) and adv.k1_MPa == pytest.approx(0.562e-3)
    assert adv.k2 == pytest.approx(0.7112) and adv.beta_deg == 62.0
    assert material_by_name("femoral-wall-neohookean").mu_MPa == pytest.approx(0.24)
    assert isinstance(material_by_name("calcium"), StiffLinearSolid)
    assert ATM_MPa == pytest.approx(0.101325)
    with pytest.raises(ValueError, match="unknown"):
        material_by_name("steel")


def test_incompressible_needs_mixed():
    with pytest.raises(ValueError, match="mixed"):
        NearlyIncompressibleNeoHookean(mu_MPa=0.24).strain_energy(ufl.Identity(3))


@pytest.mark.parametrize("young_MPa", [10.0, 2.0e4])
def test_calcium_is_hooke_at_small_strain(young_MPa):
    """At 10 MPa and 20 GPa, a 1e-7 strain state gives Hooke's stress to 1e-5 relative."""
    mat = calcium(young_MPa, 0.3)
    eps = 1e-7 * np.array([[1.0, 0.3, 0.0], [0.3, -0.5, 0.2], [0.0, 0.2, 0.7]])
    sigma = _cauchy(mat, np.eye(3) + eps)
    lam, mu = mat.lambda_MPa, mat.mu_MPa
    hooke = lam * np.trace(eps) * np.eye(3) + 2 * mu * eps
    assert np.max(np.abs(sigma - hooke)) < 1e-5 * np.max(np.abs(hooke))


def test_compressible_neohookean_from_young_roundtrip():
    m = CompressibleNeoHookean.from_young(2.0, 0.3)
    assert m.young_modulus_MPa == pytest.approx(2.0) and m.poisson_ratio == pytest.approx(0.3)


def test_hgo_fibres_only_in_tension():
    """Fibre stress appears for circumferential extension only (at X on the x axis e_theta=e_y).

    Isochoric F = diag(1/l, l, 1): with l = 1.1 the fibres (beta = 29 deg) stretch, Ibar4 > 1;
    with l = 0.9 they shorten and the response equals the neo-Hookean matrix alone.
    """
    hgo = HolzapfelGasserOgden(c_MPa=3e-3, k1_MPa=2.3632e-3, k2=0.8393, beta_deg=29.0,
                               bulk_modulus_MPa=1.0)
    matrix = HolzapfelGasserOgden(c_MPa=3e-3, k1_MPa=0.0, k2=0.8393, beta_deg=29.0,
                                  bulk_modulus_MPa=1.0)
    for stretch, active in ((1.1, True), (0.9, False)):
        F = np.diag([1 / stretch, stretch, 1.0])
        s_full, s_matrix = _cauchy(hgo, F), _cauchy(matrix, F)
        if active:
            # Hand value of the fibre Cauchy stress along e_y: 2 * 2 psi'(I4) * (F a)_y^2
            b = math.radians(29.0)
            i4 = stretch**2 * math.cos(b) ** 2 + math.sin(b) ** 2
            e = i4 - 1.0
            dpsi = 2.3632e-3 * e * math.exp(0.8393 * e**2)
            expected_yy = 2 * 2 * dpsi * (stretch * math.cos(b)) ** 2
            # deviatoric projection of the isochoric fibre stress: (2/3) of the yy term minus
            # (1/3) of the zz term, since the fibre stress tensor is in the y-z plane
            expected_zz = 2 * 2 * dpsi * math.sin(b) ** 2
            fibre = expected_yy - (expected_yy + expected_zz) / 3.0
            assert s_full[1, 1] - s_matrix[1, 1] == pytest.approx(fibre, rel=1e-10)
        else:
            assert np.allclose(s_full, s_matrix, rtol=0, atol=1e-15)


def test_hgo_dispersion_isotropic_limit():
    """kappa = 1/3 makes the fibre term isotropic: no shear from a pure circumferential pull."""
    hgo = HolzapfelGasserOgden(c_MPa=3e-3, k1_MPa=2.3632e-3, k2=0.8393, beta_deg=29.0,
                               dispersion_kappa=1.0 / 3.0, bulk_modulus_MPa=1.0)
    s = _cauchy(hgo, np.diag([1 / 1.2, 1.2, 1.0]))
    assert abs(s[1, 2]) < 1e-14 and abs(s[0, 1]) < 1e-14
