"""Reference states per region (:class:`fem.solid.materials.StressFreeState`): homogeneous checks.

A square in generalised plane strain (``F33`` = the prescribed axial stretch), free in its
plane (three point pins), one region whose stress-free state is ``F0`` from the mesh. Closed
forms: the deformation is homogeneous, ``F_el = F F0^-1``, the Cauchy stress is the material's
own at ``F_el`` and the energy per mesh area is ``det(F0) Psi(F_el)``.
"""

from __future__ import annotations

import math

import hpc.stack  # noqa: F401  (orders MPI before DOLFINx; keep first)

import dolfinx
import numpy as np
import pytest
import ufl
from mpi4py import MPI
from scipy.optimize import brentq

from fem.solid.hyperelastic import HyperelasticProblem, SolverOptions
from fem.solid.materials import (
    CompressibleNeoHookean,
    NearlyIncompressibleNeoHookean,
    StressFreeState,
    axial_reference_state,
)
from fem.solid.output import cauchy_stress

MU, LAM = 1.0, 2.0  # compressible neo-Hookean (MPa)
LAMBDA0 = 1.29  # the stress-free state's axial stretch (calcium formed in the stretched vessel)


def _square(comm, material, formulation="displacement"):
    mesh = dolfinx.mesh.create_rectangle(comm, [[-1.0, -1.0], [1.0, 1.0]], [4, 4],
                                         dolfinx.mesh.CellType.triangle)
    tdim = mesh.topology.dim
    n = mesh.topology.index_map(tdim).size_local + mesh.topology.index_map(tdim).num_ghosts
    cells = np.arange(n, dtype=np.int32)
    cell_tags = dolfinx.mesh.meshtags(mesh, tdim, cells, np.ones(n, dtype=np.int32))
    facet_tags = dolfinx.mesh.meshtags(mesh, tdim - 1, np.zeros(0, dtype=np.int32),
                                       np.zeros(0, dtype=np.int32))
    degree = 2
    return HyperelasticProblem(mesh, cell_tags, facet_tags, regions={"r": 1}, boundaries={},
                               materials={"r": material}, rigid_motion="pin",
                               options=SolverOptions(formulation=formulation,
                                                     displacement_degree=degree))


def _mean(problem, expr) -> float:
    form = dolfinx.fem.form(expr * ufl.dx(domain=problem.mesh))
    area = problem.comm.allreduce(dolfinx.fem.assemble_scalar(
        dolfinx.fem.form(1.0 * ufl.dx(domain=problem.mesh))), op=MPI.SUM)
    return problem.comm.allreduce(dolfinx.fem.assemble_scalar(form), op=MPI.SUM) / area


def _closed_form(lam_z: float) -> tuple[float, float, float]:
    """In-plane stretch ``a``, axial Cauchy stress and energy per mesh area of the free square
    (compressible neo-Hookean) at ``F = diag(a, a, lam_z)``, ``F0 = diag(1, 1, LAMBDA0)``."""
    le = lam_z / LAMBDA0

    def sigma11(a):  # (mu (b11 - 1) + lam ln J) / J = 0
        return MU * (a * a - 1.0) + LAM * math.log(a * a * le)

    a = brentq(sigma11, 0.2, 5.0, xtol=1e-15)
    J = a * a * le
    s33 = (MU * (le * le - 1.0) + LAM * math.log(J)) / J
    psi = 0.5 * MU * (2 * a * a + le * le - 3.0 - 2.0 * math.log(J)) + 0.5 * LAM * math.log(J) ** 2
    return a, s33, LAMBDA0 * psi


@pytest.mark.mpi
@pytest.mark.parametrize("formulation", ["displacement", "mixed"])
@pytest.mark.parametrize("lam_z", [LAMBDA0, 1.0, 1.5])
def test_axial_reference_state_matches_closed_form(comm, formulation, lam_z, verification):
    """Stress-free at ``lam_z = LAMBDA0`` (calcium in situ); otherwise the closed form of
    ``F_el = F F0^-1``: in-plane stretch, axial stress and energy ``J0 Psi(F_el)`` to 1e-8."""
    material = axial_reference_state(CompressibleNeoHookean(MU, LAM), LAMBDA0)
    problem = _square(comm, material, formulation)
    res = problem.ramp(axial_stretch=lam_z)
    assert res.converged, res.failure
    a, s33, energy = _closed_form(lam_z)
    _, F = problem.kinematics()
    a_fe = math.sqrt(_mean(problem, F[0, 0] * F[1, 1] - F[0, 1] * F[1, 0]))
    sigma = cauchy_stress(problem, "r")
    s33_fe = _mean(problem, sigma[2, 2])
    s11_fe = _mean(problem, sigma[0, 0])
    w_fe = _mean(problem, material.strain_energy(F))
    figures = {"in-plane stretch": (a_fe, a), "axial Cauchy stress": (s33_fe, s33),
               "energy per mesh area": (w_fe, energy)}
    for what, (fe, exact) in figures.items():
        err = abs(fe - exact)
        verification.record(solver="fem.solid.materials.StressFreeState",
                            name=f"F0 = diag(1,1,{LAMBDA0}), lambda_z {lam_z}, {formulation}: "
                                 f"{what}",
                            reference="homogeneous closed form of F_el = F F0^-1",
                            expected=exact, computed=fe, error=err,
                            error_kind="absolute", tolerance=1e-8)
        assert err <= 1e-8, (what, fe, exact)
    assert abs(s11_fe) <= 1e-8
    if lam_z == LAMBDA0:  # stress-free in its own state
        assert a_fe == pytest.approx(1.0, abs=1e-10)
        assert abs(s33_fe) <= 1e-10 and abs(w_fe) <= 1e-12


@pytest.mark.mpi
def test_general_reference_state_is_reached_stress_free(comm):
    """A non-diagonal ``F0`` (in-plane stretch and shear, axial stretch 1.2): the free square
    settles where ``F^T F = F0^T F0`` (a rotation of ``F0``, chosen by the pins), stress-free;
    nearly incompressible neo-Hookean, mixed formulation."""
    F0 = ((1.10, 0.08, 0.0), (0.03, 0.92, 0.0), (0.0, 0.0, 1.2))
    material = StressFreeState(NearlyIncompressibleNeoHookean(mu_MPa=1.0, bulk_modulus_MPa=50.0),
                               F0)
    problem = _square(comm, material, "mixed")
    res = problem.ramp(axial_stretch=1.2)
    assert res.converged, res.failure
    _, F = problem.kinematics()
    C0 = np.array(F0).T @ np.array(F0)
    for i, j in ((0, 0), (0, 1), (1, 1)):
        assert _mean(problem, (F.T * F)[i, j]) == pytest.approx(C0[i, j], abs=1e-9)
    sigma = cauchy_stress(problem, "r")
    assert abs(_mean(problem, ufl.inner(sigma, sigma))) <= 1e-16


def test_reference_state_validation():
    mat = CompressibleNeoHookean(MU, LAM)
    with pytest.raises(ValueError, match="F0"):
        StressFreeState(mat, ((1.0, 0.0), (0.0, 1.0)))
    with pytest.raises(ValueError, match=r"det\(F0\)"):
        StressFreeState(mat, ((1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (0.0, 0.0, -1.0)))
    assert axial_reference_state(mat, 1.0) is mat
    assert axial_reference_state(mat, 1.29).J0 == pytest.approx(1.29)
