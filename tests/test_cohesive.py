"""The cohesive crack (fem.needle.fracture): the law itself, a homogeneous 3-D pull-off that
must follow the law exactly (loading, softening, unloading, reloading), and the double
cantilever beam against linear-elastic fracture mechanics (DOMAIN.md section 8)."""

from __future__ import annotations

import hpc.stack  # noqa: F401  (orders MPI before DOLFINx; keep first)

import numpy as np
import pytest
from mpi4py import MPI

from fem.needle.fracture.law import (
    CohesiveLaw,
    cohesive_damage,
    cohesive_stored_energy,
    cohesive_traction,
)

LAW = CohesiveLaw(strength_MPa=1.0, fracture_energy_N_per_mm=0.1)
K0 = 1.0e3


def _t(delta, kappa, lag=1.0, k0=K0):
    """``(t, dt, damage after the step)`` of the law."""
    delta = np.asarray(delta, dtype=float)
    kappa = np.broadcast_to(np.asarray(kappa, dtype=float), delta.shape)
    t, dt, k_new = cohesive_traction(delta, kappa, LAW.strength_MPa, LAW.failure_opening_mm,
                                     k0, lag)
    return t, dt, cohesive_damage(k_new, LAW.strength_MPa, LAW.failure_opening_mm, k0)[0]


def test_envelope_area_is_the_fracture_energy_and_peak_is_the_strength():
    d = np.linspace(0.0, 1.2 * LAW.failure_opening_mm, 200001)
    t, _, _ = _t(d, d)  # monotonic loading: the history is the opening itself
    area = float(np.sum(0.5 * (t[1:] + t[:-1]) * np.diff(d)))
    assert area == pytest.approx(LAW.fracture_energy_N_per_mm, rel=1e-6)
    delta0 = LAW.strength_MPa / K0
    assert t.max() <= LAW.strength_MPa * (1 + 1e-12)
    assert _t([delta0], delta0)[0][0] == pytest.approx(LAW.strength_MPa, rel=1e-12)
    assert t[-1] == 0.0


def test_unloading_is_secant_and_closing_is_penalised():
    kappa = 0.5 * LAW.failure_opening_mm
    t_peak, _, _ = _t([kappa], kappa)
    t_half, dt_half, _ = _t([0.5 * kappa], kappa)
    assert t_half[0] == pytest.approx(0.5 * t_peak[0], rel=1e-12)
    assert dt_half[0] == pytest.approx(t_peak[0] / kappa, rel=1e-12)
    t_closed, dt_closed, _ = _t([-1e-3], kappa)
    assert t_closed[0] == pytest.approx(-K0 * 1e-3) and dt_closed[0] == K0


@pytest.mark.parametrize("kappa_frac", [0.0, 0.3, 0.7])
def test_consistent_tangent_matches_finite_differences(kappa_frac):
    kappa = kappa_frac * LAW.failure_opening_mm
    for frac in (0.2, 0.45, 0.8, 0.95):
        delta = frac * LAW.failure_opening_mm
        if abs(delta - kappa) < 1e-3 * LAW.failure_opening_mm:
            continue
        h = 1e-7 * LAW.failure_opening_mm
        tp, _, _ = _t([delta + h], kappa)
        tm, _, _ = _t([delta - h], kappa)
        _, dt, _ = _t([delta], kappa)
        assert dt[0] == pytest.approx((tp[0] - tm[0]) / (2 * h), rel=1e-5, abs=1e-6)


def test_energy_of_a_separation_path_is_stored_plus_dissipated():
    """Open to kappa, then close half way: the work of the traction equals the energy stored
    at the end plus what the damage dissipated (``G_c`` once separated)."""
    df = LAW.failure_opening_mm
    for kappa in (0.3 * df, 0.8 * df, 1.5 * df):
        path = np.concatenate([np.linspace(0.0, kappa, 20001), np.linspace(kappa, 0.5 * kappa,
                                                                              10001)])
        hist = np.maximum.accumulate(path)
        t, _, d = _t(path, hist)  # the history before each point is the max so far
        work = float(np.sum(0.5 * (t[1:] + t[:-1]) * np.diff(path)))
        stored = float(cohesive_stored_energy(path[-1:], d[-1:], K0)[0])
        delta0 = LAW.strength_MPa / K0
        t_k = _t([kappa], kappa)[0][0]
        phi = (LAW.fracture_energy_N_per_mm if kappa >= df else
               0.5 * LAW.strength_MPa * delta0 + LAW.strength_MPa / (df - delta0)
               * (df * (kappa - delta0) - 0.5 * (kappa**2 - delta0**2)))
        dissipated = phi - 0.5 * t_k * kappa
        assert work == pytest.approx(stored + dissipated, rel=1e-5)


def test_regularised_history_lags_and_tends_to_the_law():
    """The history moves a fraction ``lag`` of the way to the opening: a tenth of the opening
    in softening gives a smaller damage and a traction above the envelope; lag 1 is the law."""
    df = LAW.failure_opening_mm
    delta = np.array([0.5 * df])
    t_law, _, d_law = _t(delta, [0.0], lag=1.0)
    t_lag, _, d_lag = _t(delta, [0.0], lag=0.1)
    assert d_law[0] > d_lag[0] > 0.0
    assert t_law[0] == pytest.approx(0.5 * LAW.strength_MPa, rel=1e-2)
    assert t_lag[0] > t_law[0]
    _, _, k_new = cohesive_traction(delta, np.zeros(1), LAW.strength_MPa, df, K0, 0.1)
    assert k_new[0] == pytest.approx(0.05 * df)


def test_law_rejects_bad_inputs_and_gives_its_lengths():
    with pytest.raises(ValueError, match="strength_MPa"):
        CohesiveLaw(strength_MPa=0.0, fracture_energy_N_per_mm=0.1)
    with pytest.raises(ValueError, match="fracture_energy_N_per_mm"):
        CohesiveLaw(strength_MPa=1.0, fracture_energy_N_per_mm=-1.0)
    assert LAW.failure_opening_mm == pytest.approx(0.2)
    assert LAW.cohesive_length_mm(100.0) == pytest.approx(10.0)


def _pull_off(comm, degree=2, cells=3):
    """A stiff bar (E 100 MPa, 1 x 1 x 1 mm) pulled off the plane y = 0, whose cohesive law
    carries it: the traction of the plane and the bar's stress are the same uniform value,
    so the force per area must follow the law exactly along loading, softening, unloading
    and reloading. Returns (opening, force per area, law's traction) per converged step."""
    import dolfinx
    import dolfinx.fem.petsc
    from petsc4py import PETSc

    from fem.needle.fracture.interface import CohesivePlane, CohesiveSettings
    from fem.solid.hyperelastic import DisplacementBC, HyperelasticProblem, SolverOptions
    from fem.solid.materials import CompressibleNeoHookean

    mesh = dolfinx.mesh.create_box(comm, [[0.0, 0.0, 0.0], [1.0, 1.0, 1.0]],
                                   [cells, cells, cells])
    fdim = 2
    marks = {1: lambda x: np.isclose(x[1], 0.0), 2: lambda x: np.isclose(x[1], 1.0),
             3: lambda x: np.isclose(x[0], 0.0), 4: lambda x: np.isclose(x[2], 0.0)}
    facets, values = [], []
    for tag, where in marks.items():
        f = dolfinx.mesh.locate_entities_boundary(mesh, fdim, where)
        facets.append(f)
        values.append(np.full(len(f), tag, dtype=np.int32))
    facets, values = np.concatenate(facets), np.concatenate(values)
    order = np.argsort(facets)
    ftags = dolfinx.mesh.meshtags(mesh, fdim, facets[order], values[order])
    tdim = 3
    ncell = mesh.topology.index_map(tdim).size_local + mesh.topology.index_map(tdim).num_ghosts
    ctags = dolfinx.mesh.meshtags(mesh, tdim, np.arange(ncell, dtype=np.int32),
                                  np.ones(ncell, dtype=np.int32))
    E, nu = 100.0, 0.3
    mat = CompressibleNeoHookean(mu_MPa=E / (2 * (1 + nu)),
                                 lambda_MPa=E * nu / ((1 + nu) * (1 - 2 * nu)))
    problem = HyperelasticProblem(
        mesh, ctags, ftags, regions={"bar": 1},
        boundaries={"plane": 1, "top": 2, "x0": 3, "z0": 4}, materials={"bar": mat},
        displacement_bcs=(DisplacementBC("top", 1, 0.0), DisplacementBC("x0", 0, 0.0),
                          DisplacementBC("z0", 2, 0.0)),
        options=SolverOptions(formulation="displacement", displacement_degree=degree,
                              quadrature_degree=2 * degree), name="pulloff")
    plane = CohesivePlane(problem, "plane", {"bar": LAW}, normal_axis=1,
                          settings=CohesiveSettings(penalty_factor=50.0))
    k0 = comm.allreduce(float(plane.k0.max()) if plane.k0.size else 0.0, op=MPI.MAX)
    top_bc = problem.bcs[0]
    dofs = top_bc.dof_indices()
    owned = dofs[0][: dofs[1]]

    def force() -> float:
        b = dolfinx.fem.petsc.assemble_vector(problem._problem.F)
        b.ghostUpdate(addv=PETSc.InsertMode.ADD, mode=PETSc.ScatterMode.REVERSE)
        with b.localForm() as loc:
            local = float(np.sum(loc.array[owned]))
        b.destroy()
        return comm.allreduce(local, op=MPI.SUM)

    df = LAW.failure_opening_mm
    # bar strain at peak ~ 1/100: the top moves ~ opening/2 + 0.01
    legs = ((0.0, 0.25, 6), (0.25, 0.1, 4), (0.1, 0.45, 8), (0.45, 0.7, 6))
    tops = np.concatenate([np.linspace(a * df, b * df, n)[1:] for a, b, n in legs])
    out = []
    kappa = 0.0
    for v in tops:
        top_bc.g.x.array[:] = v
        rec = problem._solve_once(0, 0.0, 0.0, 1.0)
        assert rec.converged, rec
        delta_q = plane._delta()
        local = (float(delta_q.sum()), delta_q.size)
        total = comm.allreduce(local[0], op=MPI.SUM) / comm.allreduce(local[1], op=MPI.SUM)
        plane.commit()
        expected = _t([total], kappa, k0=k0)[0][0]
        kappa = max(kappa, total)
        out.append((total, force(), expected))
    return out


@pytest.mark.mpi
def test_pull_off_follows_the_law_in_3d(verification):
    rows = _pull_off(MPI.COMM_WORLD)
    err = max(abs(f - t) for _, f, t in rows) / LAW.strength_MPa
    verification.record(solver="fem.needle.fracture", name="3-D pull-off: force/area vs law",
                        reference="cohesive law (homogeneous state)", expected=0.0,
                        computed=err, error=err, tolerance=1e-6)
    assert err < 1e-6, rows
    openings = [d for d, _, _ in rows]
    # it went into softening, came back down (secant) and loaded again past the old maximum
    assert max(openings) > 0.6 * LAW.failure_opening_mm
    assert any(b < a for a, b in zip(openings[:-1], openings[1:], strict=True))


def _dcb(fine=0.1, viscosity=1e-4, opening=1.5, steps=20, penalty=200.0):
    from fem.needle.fracture.dcb import DCBSpec, solve_dcb
    from fem.needle.fracture.interface import CohesiveSettings

    spec = DCBSpec(law=CohesiveLaw(40.0, 0.1, "DCB check"), fine_size_mm=fine,
                   coarse_size_mm=0.25)
    res = solve_dcb(spec, MPI.COMM_WORLD, max_opening_mm=opening, steps=steps,
                    settings=CohesiveSettings(viscosity_mm=viscosity, penalty_factor=penalty))
    return spec, res


def _lefm(spec, opening):
    from fem.closed_form.dcb import dcb_curve

    return dcb_curve(opening, modulus_MPa=spec.modulus_MPa, poisson_ratio=spec.poisson_ratio,
                     arm_height_mm=spec.arm_height_mm, width_mm=1.0,
                     initial_crack_mm=spec.initial_crack_mm,
                     fracture_energy_N_per_mm=spec.law.fracture_energy_N_per_mm)


@pytest.mark.mpi
def test_dcb_matches_lefm_peak_post_peak_and_energy(verification):
    """Plane-strain DCB (E 10 GPa, h 1 mm, a0 10 mm, G_c 0.1 N/mm, sigma_c 40 MPa: l_cz 0.63 mm
    over 6 elements): the peak load and the post-peak curve (4 mm of crack growth) against
    LEFM (Kanninen's root-rotation correction), within 3 %; the work of the load equals
    strain energy plus cohesive stored plus dissipated energy."""
    from fem.closed_form.dcb import dcb_propagation_load_N

    spec, res = _dcb()
    assert res.converged, res.failure
    peak_lefm = dcb_propagation_load_N(modulus_MPa=spec.modulus_MPa,
                                       poisson_ratio=spec.poisson_ratio, arm_height_mm=1.0,
                                       width_mm=1.0, crack_length_mm=spec.initial_crack_mm,
                                       fracture_energy_N_per_mm=spec.law.fracture_energy_N_per_mm)
    err_peak = res.peak_N / peak_lefm - 1.0
    verification.record(solver="fem.needle.fracture", name="DCB peak load vs LEFM",
                        reference="Kanninen corrected beam theory", expected=peak_lefm,
                        computed=res.peak_N, error=err_peak, tolerance=0.03)
    assert abs(err_peak) < 0.03
    i_peak = max(range(len(res.curve)), key=lambda i: res.curve[i][1])
    post = [(d, p) for d, p in res.curve[i_peak + 1:] if d >= 1.05 * res.curve[i_peak][0]]
    assert len(post) >= 3, res.curve
    err_post = max(abs(p / _lefm(spec, d) - 1.0) for d, p in post)
    verification.record(solver="fem.needle.fracture", name="DCB post-peak load vs LEFM (max)",
                        reference="LEFM P(Delta) after the peak", expected=0.0,
                        computed=err_post, error=err_post, tolerance=0.03)
    assert err_post < 0.03
    work, strain, stored, dissipated = res.energy[-1]
    balance = (strain + stored + dissipated) / work - 1.0
    verification.record(solver="fem.needle.fracture", name="DCB energy balance",
                        reference="W = U + stored + dissipated", expected=work,
                        computed=strain + stored + dissipated, error=balance, tolerance=1e-3)
    assert abs(balance) < 1e-3
    # the crack ran: about G_c per unit of crack growth was dissipated
    growth = res.crack_tip_mm[-1] - spec.initial_crack_mm
    assert growth > 1.0
    assert dissipated == pytest.approx(spec.law.fracture_energy_N_per_mm * growth, rel=0.15)


def test_dcb_peak_converges_and_does_not_depend_on_regularisation(verification):
    """Peak load on two meshes (6 and 12 elements per cohesive length), with the history
    regularisation divided by 10 and with 4x the penalty: each changes it by less than 1 %."""
    spec, base = _dcb(fine=0.1, opening=0.95, steps=12)
    runs = {"mesh h -> h/2": _dcb(fine=0.05, opening=0.95, steps=12)[1],
            "regularisation / 10": _dcb(viscosity=1e-5, opening=0.95, steps=12)[1],
            "penalty x 4": _dcb(penalty=800.0, opening=0.95, steps=12)[1]}
    for what, res in runs.items():
        change = abs(res.peak_N / base.peak_N - 1.0)
        verification.record(solver="fem.needle.fracture", name=f"DCB peak: {what}",
                            reference="numerical independence", expected=res.peak_N,
                            computed=base.peak_N, error=change, tolerance=0.01)
        assert change < 0.01, (what, res.peak_N, base.peak_N)


def test_too_coarse_a_mesh_is_refused_naming_layer_length_and_size():
    from fem.needle.fracture.dcb import DCBSpec, solve_dcb
    from fem.needle.fracture.interface import ResolutionError

    spec = DCBSpec(law=CohesiveLaw(400.0, 0.1), fine_size_mm=0.2, coarse_size_mm=0.25,
                   initial_crack_mm=5.0, ligament_mm=3.0)
    with pytest.raises(ResolutionError, match=r"layer 'arm': cohesive length l_cz .* 0\.00625"
                                              r" mm .* elements of 0\.2\d* mm"):
        solve_dcb(spec, MPI.COMM_WORLD, max_opening_mm=0.1, steps=2)
