"""Needle geometry and axisymmetric needle contact: Sneddon/Hertz, enforcement, ranks.

Closed forms (DOMAIN.md section 7), E* = E / (1 - nu^2):
flat punch radius a: F = 2 E* a d; cone half-angle alpha: F = (2/pi) E* tan(alpha) d^2;
sphere radius R: F = (4/3) E* sqrt(R) d^(3/2). The block (radius = height = 30 a, roller
bottom, free outer edge) stands in for the half-space; depths are small (strains ~ 1-10 %).
"""

from __future__ import annotations

import math

import hpc.stack  # noqa: F401  (orders MPI before DOLFINx; keep first)

import numpy as np
import pytest
from matplotlib.path import Path
from mpi4py import MPI
from scipy.spatial import cKDTree

from fem.needle.contact import AxisymmetricNeedleProblem, ContactSettings
from fem.needle.geometry import NUMPY_OPS, Needle
from fem.solid.hyperelastic import DisplacementBC, SolverOptions
from fem.solid.materials import CompressibleNeoHookean, NearlyIncompressibleNeoHookean
from meshes.disc import LayeredDiscSpec, load_layered_disc

# ----------------------------------------------------------------------------- geometry


def _profile_points(needle: Needle, n: int = 4000) -> np.ndarray:
    """Densely sampled right half of the tip profile plus 5 mm of shaft, (rho, s)."""
    R = needle.radius_mm
    if needle.tip == "flat":
        parts = [np.c_[np.linspace(0, R, n), np.zeros(n)]]
    elif needle.tip == "spherical":
        Rs = needle.sphere_radius_mm or R
        th = np.linspace(0, math.asin(R / Rs), n)
        parts = [np.c_[Rs * np.sin(th), Rs - Rs * np.cos(th)]]
    else:
        al, rt = math.radians(needle.tip_angle_deg), needle.tip_radius_mm
        th = np.linspace(0, math.pi / 2 - al, n)
        arc = np.c_[rt * np.sin(th), rt - rt * np.cos(th)]
        L = (R - arc[-1, 0]) / math.sin(al)
        t = np.linspace(0, L, n)
        parts = [arc, np.c_[arc[-1, 0] + t * math.sin(al), arc[-1, 1] + t * math.cos(al)]]
    top = parts[-1][-1, 1]
    parts.append(np.c_[np.full(n, R), np.linspace(top, top + 5.0, n)])
    return np.vstack(parts)


@pytest.mark.parametrize("needle", [
    Needle(1.0, tip="flat"),
    Needle(1.0, tip="spherical"),
    Needle(1.0, tip="spherical", sphere_radius_mm=2.0),
    Needle(1.0, tip="conical", tip_angle_deg=30.0),
    Needle(1.0, tip="conical", tip_angle_deg=15.0, tip_radius_mm=0.05),
], ids=["flat", "hemisphere", "sphere", "cone", "rounded-cone"])
def test_profile_distance_is_exact(needle):
    rng = np.random.default_rng(1)
    rho, s = rng.uniform(0, 1.5, 2000), rng.uniform(-0.7, 2.5, 2000)
    d = needle.profile_distance(rho, s, NUMPY_OPS)
    P = _profile_points(needle)
    brute = np.min(np.hypot(rho[:, None] - P[None, :, 0], s[:, None] - P[None, :, 1]), axis=1)
    # brute-force sampling spacing is ~1e-3 mm
    assert np.max(np.abs(np.abs(d) - brute)) < 2e-3
    closed = np.vstack([P, [[0.0, P[-1, 1]]]])
    inside = Path(closed).contains_points(np.c_[rho, s])
    far = brute > 2e-3
    assert np.array_equal((d < 0)[far], inside[far])


def test_lancet_distance_exact_inside():
    needle = Needle.from_gauge(18, tip="lancet", tip_angle_deg=15.0, axis=(0.0, 0.0, -1.0))
    R, beta = needle.radius_mm, math.radians(15.0)
    # Apex at the origin on the shaft wall; the cylinder axis is the line x = -R, y = 0.
    rng = np.random.default_rng(2)
    x = rng.uniform([-2 * R, -2 * R, -0.5], [2 * R, 2 * R, 6.0], size=(20000, 3)).T
    d = needle.distance(x, 0.0, NUMPY_OPS)
    inside = d < 0
    assert inside.sum() > 500
    # Brute force: sample the needle surface (shaft above the bevel, bevel ellipse face).
    e1 = np.array([1.0, 0.0, 0.0])  # _normal_to((0, 0, -1))
    centre = -R * e1
    th = np.linspace(0, 2 * np.pi, 400)
    zs = np.linspace(0, 8.0, 800)
    tt, zz = np.meshgrid(th, zs)
    cyl = np.c_[centre[0] + R * np.cos(tt.ravel()), centre[1] + R * np.sin(tt.ravel()),
                zz.ravel()]
    n = np.cos(beta) * (-e1) + np.sin(beta) * np.array([0, 0, -1.0])
    n /= np.linalg.norm(n)
    cyl = cyl[cyl @ n <= 0]
    uu, vv = np.meshgrid(np.linspace(-R, R, 120),
                         np.linspace(-2 * R / np.sin(beta) - 0.05, 0.05, 600))
    t1 = np.cross(n, [0, 1.0, 0])
    t1 /= np.linalg.norm(t1)
    plane = uu.ravel()[:, None] * np.array([0, 1.0, 0]) + vv.ravel()[:, None] * t1
    rr = np.hypot(plane[:, 0] - centre[0], plane[:, 1] - centre[1])
    plane = plane[rr <= R]
    surface = np.vstack([cyl, plane])
    pts = x[:, inside].T[:400]
    brute = cKDTree(surface).query(pts)[0]
    assert np.max(np.abs(-d[inside][:400] - brute)) < 0.02


def test_needle_validation_names_field():
    with pytest.raises(ValueError, match="tip_angle_deg"):
        Needle(1.0, tip="conical", tip_angle_deg=95.0)
    with pytest.raises(ValueError, match="gauge"):
        Needle.from_gauge(19)
    with pytest.raises(ValueError, match="inner_diameter_mm"):
        Needle(1.0, inner_diameter_mm=1.2)
    assert Needle.from_gauge(18).outer_diameter_mm == pytest.approx(1.27)


# ----------------------------------------------------------------------------- punches

A = 0.5  # punch radius / length unit, mm


def _block(comm, fine: float = A / 10):
    L = 30 * A
    spec = LayeredDiscSpec(layers=(("block", L),), radius_mm=L, fine_size_mm=fine,
                           fine_radius_mm=2 * A, coarse_size_mm=3 * A, coarse_radius_mm=L)
    return load_layered_disc(spec, comm)


def _punch_problem(comm, needle, depth, *, material=None, contact=None, fine=A / 10,
                   formulation="displacement"):
    dm = _block(comm, fine)
    mat = material or CompressibleNeoHookean.from_young(1.0, 0.3)
    return AxisymmetricNeedleProblem(
        dm.mesh, dm.cell_tags, dm.facet_tags, regions=dm.regions, boundaries=dm.boundaries,
        materials={"block": mat}, needle=needle, contact_boundary="contact_surface",
        displacement_bcs=[DisplacementBC("axis", 0), DisplacementBC("far_surface", 1)],
        options=SolverOptions(formulation=formulation, displacement_degree=2),
        contact=contact or ContactSettings(initial_step_mm=depth / 2, max_step_mm=depth / 2),
    )


E_STAR = 1.0 / (1 - 0.3**2)
CASES = {
    "flat": (Needle(2 * A, tip="flat"), 0.01 * A, lambda d: 2 * E_STAR * A * d),
    "cone": (Needle(8 * A, tip="conical", tip_angle_deg=80.0), 0.05 * A,
             lambda d: 2 / math.pi * E_STAR * math.tan(math.radians(80.0)) * d**2),
    "sphere": (Needle(2 * A, tip="spherical", sphere_radius_mm=5 * A), 0.01 * A,
               lambda d: 4 / 3 * E_STAR * math.sqrt(5 * A) * d**1.5),
}


@pytest.mark.mpi
@pytest.mark.parametrize("case", list(CASES))
def test_punch_matches_sneddon_hertz(case, verification):
    needle, depth, exact = CASES[case]
    problem = _punch_problem(MPI.COMM_WORLD, needle, depth)
    result = problem.insert(depth)
    assert result.converged, result.failure
    d, force = result.curve[-1]
    assert d == pytest.approx(depth)
    law = "Hertz" if case == "sphere" else "Sneddon"
    verification.record(solver="fem.needle.contact",
                        name=f"{law} {case} punch: force at {depth:g} mm",
                        reference=f"{law} closed form (DOMAIN.md sec. 7)", expected=exact(depth),
                        computed=force, error=force / exact(depth) - 1.0, tolerance=0.05)
    assert force == pytest.approx(exact(depth), rel=0.05)
    tol = min(problem.contact.penetration_tol_mm, problem.contact.penetration_rel_tol * depth)
    verification.record(solver="fem.needle.contact", name=f"{law} {case} punch: penetration",
                        reference="contact penetration tolerance", expected=0.0,
                        computed=problem.penetration(), error=problem.penetration(),
                        tolerance=tol, error_kind="absolute (mm)")
    assert result.steps[-1].penetration_mm <= tol
    assert problem.penetration() <= tol
    assert result.steps[-1].al_iterations >= 0


@pytest.mark.mpi
def test_incompressible_flat_punch_mixed(verification):
    """Mixed u-p, neo-Hookean nu = 0.5 limit (E* = 4 mu): no locking."""
    mu = 0.3
    depth = 0.01 * A
    problem = _punch_problem(MPI.COMM_WORLD, Needle(2 * A, tip="flat"), depth,
                             material=NearlyIncompressibleNeoHookean(mu_MPa=mu),
                             formulation="mixed", fine=A / 8)
    result = problem.insert(depth)
    assert result.converged, result.failure
    force, exact = result.curve[-1][1], 2 * 4 * mu * A * depth
    verification.record(solver="fem.needle.contact",
                        name="Sneddon flat punch, incompressible (mixed u-p): force",
                        reference="Sneddon closed form, E* = 4 mu", expected=exact,
                        computed=force, error=force / exact - 1.0, tolerance=0.05)
    assert force == pytest.approx(exact, rel=0.05)


@pytest.mark.mpi
def test_enforcement_converges(verification):
    """Pure penalty: growing eps lowers the penetration ~1/eps and the force converges to the
    augmented-Lagrangian answer; Uzawa drives the penetration below the tolerance."""
    needle, depth, _ = CASES["sphere"]
    comm = MPI.COMM_WORLD
    forces, pens = [], []
    for c in (1.0, 10.0, 100.0):
        settings = ContactSettings(penalty_factor=c, augmented_lagrangian=False,
                                   initial_step_mm=depth / 2, max_step_mm=depth / 2)
        p = _punch_problem(comm, needle, depth, contact=settings)
        r = p.insert(depth)
        assert r.converged
        forces.append(r.curve[-1][1])
        pens.append(p.penetration())
    # smoothing_mm / 2 is Uzawa's penetration floor: keep it below the tolerance
    settings = ContactSettings(penalty_factor=1.0, penetration_rel_tol=1e-4,
                               penetration_tol_mm=1e-6, smoothing_mm=1e-8,
                               initial_step_mm=depth / 2,
                               max_step_mm=depth / 2, max_al_iterations=60)
    p_al = _punch_problem(comm, needle, depth, contact=settings)
    r_al = p_al.insert(depth)
    assert r_al.converged
    f_al = r_al.curve[-1][1]
    err = [abs(f - f_al) / f_al for f in forces]
    verification.record(solver="fem.needle.contact", name="augmented Lagrangian: penetration",
                        reference="penetration tolerance 1e-4 x depth", expected=0.0,
                        computed=p_al.penetration(), error=p_al.penetration(),
                        tolerance=1e-4 * depth, error_kind="absolute (mm)")
    verification.record(solver="fem.needle.contact",
                        name="pure penalty: penetration falls ~1/eps (eps 1, 10, 100)",
                        reference="> 5x per tenfold penalty", expected=10.0,
                        computed=min(pens[0] / pens[1], pens[1] / pens[2]),
                        passed=pens[0] > 5 * pens[1] > 25 * pens[2])
    verification.record(solver="fem.needle.contact", name="pure penalty eps = 100: force vs AL",
                        reference="augmented-Lagrangian force", expected=f_al,
                        computed=forces[2], error=forces[2] / f_al - 1.0, tolerance=0.01,
                        passed=err[0] > err[1] > err[2] and err[2] < 0.01)
    assert p_al.penetration() <= 1e-4 * depth
    # penetration falls about tenfold per tenfold penalty
    assert pens[0] > 5 * pens[1] > 25 * pens[2]
    assert err[0] > err[1] > err[2]
    assert err[2] < 0.01  # c = 100: within 1 % of the converged (AL) force
    print("penalty forces", forces, "AL", f_al, "penetrations", pens)


@pytest.mark.mpi
def test_ranks_agree_with_serial(verification):
    """The distributed solve equals a serial solve of the same problem on each rank."""
    needle, depth, _ = CASES["sphere"]
    comm = MPI.COMM_WORLD
    f_world = _punch_problem(comm, needle, depth, fine=A / 6).insert(depth).curve[-1][1]
    f_self = _punch_problem(MPI.COMM_SELF, needle, depth, fine=A / 6).insert(depth).curve[-1][1]
    if comm.size > 1:  # on one rank both solves are the same: nothing is verified
        verification.record(solver="fem.needle.contact",
                            name="Hertz sphere force: ranks vs one rank",
                            reference="same problem on COMM_SELF", expected=f_self,
                            computed=f_world, error=f_world / f_self - 1.0, tolerance=1e-6)
    assert f_world == pytest.approx(f_self, rel=1e-6)


@pytest.mark.mpi
def test_friction_work_balance(verification):
    """Regularised Coulomb friction (cone 20 deg into the block, mu = 0.5): the needle's work
    equals the change of the stored energy plus the dissipated energy, W = dPi + D, to 0.1 %
    (trapezoidal W; measured 0.06 %, frictionless 0.02 %), while friction raises the force
    (measured +14 %: the tissue sticks to the flanks and is dragged along, so most of the extra
    work is stored) and dissipates D ~ 0.3 % of W, which the 0.1 % balance would miss."""
    needle = Needle(4 * A, tip="conical", tip_angle_deg=20.0, tip_radius_mm=0.1 * A)
    depth = 1.0 * A
    out = {}
    for mu in (0.0, 0.5):
        settings = ContactSettings(initial_step_mm=depth / 20, max_step_mm=depth / 20,
                                   augmented_lagrangian=False, penalty_factor=10.0,
                                   penalty_growth=4.0, friction_coefficient=mu)
        p = _punch_problem(MPI.COMM_WORLD, needle, depth, contact=settings)
        e0 = p.energy()
        r = p.insert(depth)
        assert r.converged, r.failure
        work = sum(0.5 * (f0 + f1) * (d1 - d0)
                   for (d0, f0), (d1, f1) in zip(r.curve[:-1], r.curve[1:], strict=True))
        out[mu] = (r.curve[-1][1], work, p.energy() - e0, r.dissipation[-1])
    f0, w0, dpi0, d0 = out[0.0]
    f1, w1, dpi1, d1 = out[0.5]
    assert d0 == 0.0 and w0 == pytest.approx(dpi0, rel=1e-3)
    assert d1 > 1e-3 * w1 and f1 > 1.05 * f0
    balance = (dpi1 + d1) / w1 - 1.0
    verification.record(solver="fem.needle.contact",
                        name="friction: W = dPi + D (cone 20 deg, mu 0.5)",
                        reference="energy balance", expected=w1, computed=dpi1 + d1,
                        error=balance, tolerance=1e-3)
    assert abs(balance) < 1e-3
    print("friction: F", f0, f1, "W", w0, w1, "dPi", dpi0, dpi1, "D", d1)


def test_problem_is_freed_after_use():
    """A solved problem is garbage once unreferenced (PETSc holds its convergence test from C;
    a bound method there kept every problem of a test run or a sweep alive)."""
    import gc
    import weakref

    needle, depth, _ = CASES["sphere"]
    p = _punch_problem(MPI.COMM_SELF, needle, depth, fine=A / 4)
    p.set_needle_displacement(depth)
    assert p.solve_contact().converged
    ref = weakref.ref(p)
    del p
    gc.collect()
    assert ref() is None
