"""A 3-D full-ring segment with the lead's region/boundary names, rigid-motion pins, stress
summaries and XDMF output.

Two regions ("media" R in [2.5, 2.95], "adventitia" R in [2.95, 3.45] mm) of the same
incompressible neo-Hookean solid (mu = 0.24 MPa) so that the plane-strain closed form holds:
plane ends (u_z = 0 on both ends), lumen pressure 0.02 MPa, in-plane rigid motions removed by
three point pins (no symmetry planes). Closed form (incompressible, plane strain): radius from
P(r_i) (tests.test_solid_neohookean_tube), sigma_tt - sigma_rr = mu (l^2 - l^-2),
d sigma_rr / dr = (sigma_tt - sigma_rr) / r, sigma_rr(r_i) = -P.
"""

from __future__ import annotations

import json
import math

import hpc.stack  # noqa: F401  (orders MPI before DOLFINx; keep first)

import numpy as np
import pytest
from mpi4py import MPI
from scipy.integrate import quad
from scipy.optimize import brentq

from fem.solid.hyperelastic import HyperelasticProblem, SolverOptions
from fem.solid.materials import NearlyIncompressibleNeoHookean
from fem.solid.output import region_stress_summary, stress_fields, write_fields
from tests.tube_meshes import quarter_tube

MU = 0.24
RADII = (2.5, 2.95, 3.45)
PRESSURE = 0.02


def closed_form_state(pressure: float):
    """(r_i, mean hoop stress per layer over the deformed area) of the incompressible tube."""
    Ri, Ro = RADII[0], RADII[-1]

    def p_of(ri):
        ro = math.sqrt(ri**2 + Ro**2 - Ri**2)
        la, lb = ri / Ri, ro / Ro
        return MU / 2 * (math.log(la**2 / lb**2) + lb**-2 - la**-2)

    ri = brentq(lambda r: p_of(r) - pressure, Ri, 2 * Ro, xtol=1e-13)
    shift = ri**2 - Ri**2

    def diff(r):  # sigma_tt - sigma_rr at deformed radius r
        lam = r / math.sqrt(r**2 - shift)
        return MU * (lam**2 - lam**-2)

    def hoop(r):
        return -pressure + quad(lambda s: diff(s) / s, ri, r, epsabs=1e-14)[0] + diff(r)

    means = []
    for R0, R1 in zip(RADII[:-1], RADII[1:], strict=True):
        r0, r1 = math.sqrt(R0**2 + shift), math.sqrt(R1**2 + shift)
        means.append(quad(lambda r: hoop(r) * r, r0, r1)[0] / (0.5 * (r1**2 - r0**2)))
    return ri, means


@pytest.fixture(scope="module")
def solved():
    comm = MPI.COMM_WORLD
    tm = quarter_tube(comm, RADII, 0.3, dim=3, length_mm=0.3, axial_layers=1, order=2, full=True)
    regions = {"media": tm.regions["layer0"], "adventitia": tm.regions["layer1"]}
    boundaries = {"lumen_surface": tm.boundaries["inner"], "outer_wall": tm.boundaries["outer"],
                  "end_proximal": tm.boundaries["end_proximal"],
                  "end_distal": tm.boundaries["end_distal"]}
    mat = NearlyIncompressibleNeoHookean(mu_MPa=MU)
    problem = HyperelasticProblem(
        tm.mesh, tm.cell_tags, tm.facet_tags, regions=regions, boundaries=boundaries,
        materials={"media": mat, "adventitia": mat}, pressure_boundaries=("lumen_surface",),
        axial_ends=("end_proximal", "end_distal"), rigid_motion="pin",
        options=SolverOptions(), name="ring",
    )
    result = problem.ramp(pressure_MPa=PRESSURE)
    return problem, result


@pytest.mark.mpi
def test_pinned_ring_matches_closed_form(solved):
    """Radius within 1 % of the displacement, region mean hoop stresses within 2 %."""
    problem, result = solved
    assert result.converged, result.failure
    ri_exact, hoop_exact = closed_form_state(PRESSURE)
    ri = RADII[0] + problem.mean_radial_displacement("lumen_surface")
    assert abs(ri - ri_exact) < 1e-2 * (ri_exact - RADII[0])
    summary = region_stress_summary(problem, ["media", "adventitia"])
    for name, exact in zip(("media", "adventitia"), hoop_exact, strict=True):
        s = summary[name]
        assert s.mean_hoop_MPa == pytest.approx(exact, rel=2e-2), (name, s, exact)
        assert s.peak_hoop_MPa >= s.mean_hoop_MPa
        assert s.peak_max_principal_MPa >= s.peak_hoop_MPa - 1e-12
        assert s.peak_von_mises_MPa >= s.mean_von_mises_MPa > 0.0
    # deformed volume of an incompressible solid = reference volume
    ref_volume = math.pi * (RADII[-1] ** 2 - RADII[0] ** 2) * 0.3
    total = sum(s.volume_mm3 for s in summary.values())
    assert total == pytest.approx(ref_volume, rel=1e-2)
    json.dumps({k: v.to_dict() for k, v in summary.items()})
    json.dumps(result.to_dict())


@pytest.mark.mpi
def test_pins_are_three_point_constraints(solved):
    """Exactly three constrained scalar dofs (statically determinate: no reactions), and a
    near-axisymmetric lumen: its deformed radius about the moved centre varies < 1 % of u_r."""
    problem, _ = solved
    owned = sum(bc.dof_indices()[1] for bc in problem.pin_bcs)
    assert len(problem.pin_bcs) == 3
    assert problem.comm.allreduce(owned, op=MPI.SUM) == 3
    u = problem.displacement
    x = u.function_space.tabulate_dof_coordinates()
    n_owned = u.function_space.dofmap.index_map.size_local
    vals = u.x.array.reshape(-1, 3)[:n_owned]
    x = x[:n_owned]
    on_lumen = np.abs(np.hypot(x[:, 0], x[:, 1]) - RADII[0]) < 1e-6
    deformed = (x + vals)[on_lumen, :2]
    all_pts = np.vstack(problem.comm.allgather(deformed))
    centre = all_pts.mean(axis=0)
    radius = np.hypot(*(all_pts - centre).T)
    u_r = problem.mean_radial_displacement("lumen_surface")
    assert radius.max() - radius.min() < 1e-2 * u_r, (radius.min(), radius.max())


@pytest.mark.mpi
def test_write_fields_xdmf(solved, shared_tmp):
    problem, _ = solved
    fields = stress_fields(problem)
    assert set(fields) == {"cauchy_stress", "hoop", "max_principal", "von_mises"}
    path = shared_tmp / "ring.xdmf"
    write_fields(problem, path)
    problem.comm.barrier()
    if problem.comm.rank == 0:
        text = path.read_text()
        for name in ("displacement_mm", "hoop_stress_MPa", "max_principal_stress_MPa",
                     "cauchy_stress_MPa", "von_mises_stress_MPa", "regions"):
            assert name in text
        assert path.with_suffix(".h5").stat().st_size > 0
