"""The balloon's own failure: burst of the FE membrane, free and confined, against closed forms.

Numbers used (stated so a failure can be checked by hand): the PTA balloon of
tests/test_membrane.py (D_nom 5.0 mm at 6 atm, 1.5 %/atm to a 14 atm RBP, 25 um film, fitted
neo-Hookean mu 260.7 MPa, rest diameter 4.705 mm), film strength 240 MPa [est]. The closed-end
body then bursts at 15.89 atm free (strength) and its pressure peaks at 20.51 atm (limit point).
"""

from __future__ import annotations

import json
import math

import hpc.stack  # noqa: F401  (orders MPI before DOLFINx; keep first)

import numpy as np
import pytest
from mpi4py import MPI

from fem.balloon.burst import BalloonBurstCase, BurstSearch, find_burst, solve_balloon_burst
from fem.balloon.film import (
    ATM_MPA,
    BalloonFilm,
    BalloonRating,
    closed_end_burst,
    closed_end_confined_contact_pressure,
    closed_end_cylinder_pressure,
    fit_film_to_compliance,
    strength_quantile,
    tolerance_factor,
)
from fem.balloon.membrane import ChannelContact, MembraneOptions, MembraneProblem
from tests.membrane_meshes import balloon, quarter_cylinder

RATING = BalloonRating(5.0, 6.0, 14.0, 1.5)
H = 0.025
STRENGTH = 240.0
# quarter of a closed-end cylinder: symmetry plane at z = 0, the cap's load on the top edge
CAP = {"end_bottom": (2,), "sym_y0": (1,), "sym_x0": (0,)}


@pytest.fixture(scope="module")
def fitted():
    material, d_ref = fit_film_to_compliance(RATING, H, hoop_strength_MPa=STRENGTH)
    return material, d_ref


def _cylinder(comm, material, radius, contact=None, n_arc=4, n_axial=2):
    m = quarter_cylinder(comm, radius, 2.0, n_arc, n_axial, order=2)
    return MembraneProblem(m.mesh, m.cell_tags, m.facet_tags, m.regions, m.boundaries,
                           BalloonFilm(material, H), clamped=(), fixed_components=CAP,
                           end_caps={"end_top": 1}, contact=contact,
                           options=MembraneOptions(midplane_halfwidth_mm=1.0))


# ------------------------------------------------------------------------------ unit (serial)


def test_free_burst_is_barlow_at_the_deformed_state(fitted):
    material, d_ref = fitted
    b = closed_end_burst(material, H, d_ref / 2)
    st = b.state
    assert b.mode == "strength" and b.pressure_atm == pytest.approx(15.893, abs=1e-3)
    r, h = st.hoop_stretch * d_ref / 2, H / (st.hoop_stretch * st.axial_stretch)
    assert b.pressure_MPa * r / h == pytest.approx(STRENGTH, rel=1e-9)  # Barlow, deformed
    assert st.hoop_stress_MPa == pytest.approx(2.0 * st.axial_stress_MPa, rel=1e-9)
    # the small-strain Barlow formula at the rest geometry is far off for this compliant film
    assert STRENGTH * H / (d_ref / 2) / ATM_MPA > 1.5 * b.pressure_atm


def test_limit_point_when_the_film_is_strong(fitted):
    material, d_ref = fitted
    b = closed_end_burst(material, H, d_ref / 2, strength_MPa=1e4)
    peak = max(closed_end_cylinder_pressure(material, H, d_ref / 2, lt)
               for lt in np.linspace(1.0, 3.0, 20001))
    assert b.mode == "limit_point" and b.pressure_MPa == pytest.approx(peak, rel=1e-7)
    assert b.pressure_atm == pytest.approx(20.506, abs=1e-3)


def test_wall_raises_the_burst_at_most_to_the_axial_stress(fitted):
    material, d_ref = fitted
    free = closed_end_burst(material, H, d_ref / 2)
    rigid = closed_end_burst(material, H, d_ref / 2, wall_radius_mm=2.5)
    # the wall takes hoop load, never axial load: sigma_z = p r / (2 h) governs on it
    assert rigid.state.axial_stress_MPa == pytest.approx(STRENGTH, rel=1e-9)
    assert free.pressure_MPa < rigid.pressure_MPa < 2.0 * free.pressure_MPa * 1.3
    # contact pressure on the rigid wall: the existing closed form of the confined body
    pc = closed_end_confined_contact_pressure(material, H, d_ref / 2, 2.5, rigid.pressure_MPa)
    assert rigid.state.contact_pressure_MPa == pytest.approx(pc, rel=1e-9)
    # a Winkler wall: soft -> near free, stiff -> near rigid; oversized (R_w < R) pre-loads it
    soft = closed_end_burst(material, H, d_ref / 2, wall_radius_mm=2.0,
                            wall_stiffness_MPa_per_mm=0.3)
    stiff = closed_end_burst(material, H, d_ref / 2, wall_radius_mm=2.5,
                             wall_stiffness_MPa_per_mm=1e4)
    assert free.pressure_MPa < soft.pressure_MPa < 1.2 * free.pressure_MPa
    assert stiff.pressure_MPa == pytest.approx(rigid.pressure_MPa, rel=2e-3)
    with pytest.raises(ValueError, match="rigid wall cannot be pre-loaded"):
        closed_end_burst(material, H, d_ref / 2, wall_radius_mm=2.0)


def test_rated_burst_statistics():
    # one-sided normal tolerance factor, 99.9 % coverage at 95 % confidence: the z quantile
    # for a very large sample, the tabulated 4.022 for n = 30 (Natrella, NBS Handbook 91)
    assert tolerance_factor(10**7) == pytest.approx(3.0902, abs=2e-3)
    assert tolerance_factor(30) == pytest.approx(4.022, abs=2e-3)
    assert strength_quantile(240.0, 0.05, 0.001) == pytest.approx(240 * (1 - 3.0902 * 0.05),
                                                                   rel=1e-4)


def test_inputs_are_validated():
    with pytest.raises(ValueError, match="oversizing"):
        BalloonBurstCase(oversizing=3.0)
    with pytest.raises(ValueError, match="wall_stiffness_MPa_per_mm"):
        BalloonBurstCase(wall_stiffness_MPa_per_mm=-1.0)
    with pytest.raises(ValueError, match="tolerance_atm"):
        BurstSearch(step_atm=0.5, tolerance_atm=1.0)
    with pytest.raises(ValueError, match="gaps_z_mm"):
        ChannelContact(2.5, gaps_z_mm=((1.0, -1.0),))


# ------------------------------------------------------------------------------ system (mpi)


@pytest.mark.mpi
def test_fe_free_cylinder_burst_matches_thin_wall_closed_form(comm, fitted, verification):
    """The cap-loaded quarter cylinder is the closed-end body: burst (strength) and limit
    point within 1 % (measured: 6e-5 and -2e-5 at 4 x 2 P2 cells)."""
    material, d_ref = fitted
    search = BurstSearch(step_atm=2.0, tolerance_atm=1e-3)
    fe = find_burst(_cylinder(comm, material, d_ref / 2), STRENGTH, search)
    cf = closed_end_burst(material, H, d_ref / 2)
    verification.record(solver="fem.balloon.burst", name="free cylinder burst (strength)",
                        reference="closed-end thin-wall cylinder (Barlow at the deformed state)",
                        expected=cf.pressure_atm, computed=fe.burst_pressure_atm,
                        error=fe.burst_pressure_atm / cf.pressure_atm - 1.0, tolerance=0.01)
    assert fe.mode == "strength"
    assert fe.burst_pressure_atm == pytest.approx(cf.pressure_atm, rel=0.01)
    assert fe.state.max_principal_stress_MPa == pytest.approx(STRENGTH, rel=0.01)
    # a film strong enough (900 MPa) that the pressure peaks first (at 573 MPa)
    strong = find_burst(_cylinder(comm, material, d_ref / 2), 900.0,
                        BurstSearch(step_atm=2.0, tolerance_atm=1e-3, max_pressure_atm=30.0))
    lim = closed_end_burst(material, H, d_ref / 2, strength_MPa=900.0)
    assert lim.mode == "limit_point"
    verification.record(solver="fem.balloon.burst", name="free cylinder limit point",
                        reference="closed-end thin-wall cylinder", expected=lim.pressure_atm,
                        computed=strong.burst_pressure_atm,
                        error=strong.burst_pressure_atm / lim.pressure_atm - 1.0,
                        tolerance=0.01)
    assert strong.mode == "ramp_stopped"
    assert strong.failure.reason in ("snes_diverged", "left_loading_branch", "stretch_limit")
    assert strong.burst_pressure_atm == pytest.approx(lim.pressure_atm, rel=0.01)


@pytest.mark.mpi
def test_fe_cylinder_on_preloaded_wall_matches_closed_form(comm, fitted, verification):
    """An oversized balloon in an elastic channel (rest radius 0.85 R, k 3 MPa/mm): the ramp
    starts at the wall's pre-load and the burst matches the supported closed form (1 %)."""
    material, d_ref = fitted
    R = d_ref / 2
    wall = ChannelContact(0.85 * R, 3.0, kind="elastic")
    problem = _cylinder(comm, material, R, contact=wall)
    assert problem.start_pressure_atm == pytest.approx(3.0 * 0.15 * R / ATM_MPA, rel=1e-6)
    fe = find_burst(problem, STRENGTH, BurstSearch(step_atm=2.0, tolerance_atm=1e-3))
    cf = closed_end_burst(material, H, R, wall_radius_mm=0.85 * R, wall_stiffness_MPa_per_mm=3.0)
    verification.record(solver="fem.balloon.burst", name="cylinder on a pre-loaded elastic wall",
                        reference="closed-end cylinder on a Winkler wall", expected=cf.pressure_atm,
                        computed=fe.burst_pressure_atm,
                        error=fe.burst_pressure_atm / cf.pressure_atm - 1.0, tolerance=0.01)
    assert fe.mode == "strength"
    assert fe.burst_pressure_atm == pytest.approx(cf.pressure_atm, rel=0.01)
    assert fe.state.contact_pressure_MPa == pytest.approx(cf.state.contact_pressure_MPa,
                                                          rel=0.02)


@pytest.mark.mpi
def test_confined_balloon_bursts_above_the_free_one(comm, verification):
    """The PTA balloon with its cones: free it bursts in the body near the closed form; in a
    rigid 4.9 mm channel the body is held and it bursts later, in a cone; a gap in the channel
    over the body's middle lets it burst there, in between."""
    search = BurstSearch(step_atm=2.0, tolerance_atm=0.05)
    case = BalloonBurstCase(oversizing=5.0 / 4.9, wall_stiffness_MPa_per_mm=math.inf)
    res = solve_balloon_burst(case, comm, search=search)
    assert json.loads(json.dumps(res)) == res
    free, conf = res["free_burst_atm"], res["confined_burst_atm"]
    verification.record(solver="fem.balloon.burst", name="balloon: free burst vs closed-end body",
                        reference="closed-end cylinder (necks clamped in the FE)",
                        expected=res["closed_form_free_atm"], computed=free,
                        error=free / res["closed_form_free_atm"] - 1.0, tolerance=0.03)
    verification.record(solver="fem.balloon.burst", name="balloon: confined burst above free",
                        reference="free FE balloon", expected=free, computed=conf,
                        error=conf / free - 1.0, error_kind="relative (must be > 0)",
                        passed=conf > free)
    assert res["free_burst_mode"] == "strength" and res["free_burst_region"] == "film_body"
    assert free == pytest.approx(res["closed_form_free_atm"], rel=0.03)
    assert res["confined_burst_mode"] == "strength" and conf > 1.2 * free
    assert res["confined_burst_region"].startswith("film_cone")
    assert res["free_burst_p999_atm"] < free and res["confined_burst_p999_atm"] < conf
    assert res["rbp_consistent"] == (res["free_burst_p999_atm"] >= 14.0)
    # a gap in the wall over the body's middle: the film bulges there and bursts first
    material, d_ref = fit_film_to_compliance(RATING, H, hoop_strength_MPa=STRENGTH)
    m = balloon(comm, diameter_mm=d_ref, body_length_mm=10.0, cone_length_mm=3.0,
                neck_diameter_mm=1.0, size_mm=1.0, order=2)
    gap = ChannelContact(2.45, 1e3, gaps_z_mm=((-1.5, 1.5),))
    gapped = find_burst(MembraneProblem.from_tagged(m, BalloonFilm(material, H), contact=gap,
                                                    options=MembraneOptions()),
                        STRENGTH, search)
    assert gapped.mode == "strength" and gapped.region == "film_body"
    assert abs(gapped.state.max_principal_z_mm) < 1.5
    assert free < gapped.burst_pressure_atm < conf
    assert MPI.COMM_WORLD.allreduce(gapped.burst_pressure_atm, op=MPI.MAX) == \
        gapped.burst_pressure_atm
