"""The balloon problem's state on the needle path (``fem.balloon.prestress``), checked in closed
form.

A homogeneous deformation ``x = (a X, b Y)`` imposed on the balloon problem's section has hoop
stretch ``b`` along the needle path (the +x axis, hoop = y there) and thickness stretch ``a``
for every layer; the P2 displacement holds it exactly, so the measured stretches must match to
rounding, on 1 and 2 ranks.
"""

from __future__ import annotations

import dataclasses
import math

import hpc.stack  # noqa: F401  (orders MPI before DOLFINx; keep first)

import numpy as np
import pytest

from fem.balloon.prestress import PathState, path_state, read_path_state, write_path_state


@pytest.mark.mpi
def test_path_state_of_a_homogeneous_deformation(comm, shared_tmp, verification):
    from fem.balloon.problem import BalloonProblem
    from studies.kinds.balloon import case_from_params

    case = case_from_params({"calcification": {"grade": "pacss-2"}, "mesh": {"level": 0},
                             "balloon": {"pressure_atm": 2.0}})
    bp = BalloonProblem(case, comm)
    a, b = 0.8, 1.15
    p = bp.problem
    import dolfinx

    f = dolfinx.fem.Function(p.V)
    f.interpolate(lambda x: np.vstack([(a - 1.0) * x[0], (b - 1.0) * x[1]]))
    p.w.x.array[p._u_to_w] = f.x.array
    p.w.x.scatter_forward()
    state = path_state(bp, 2.0)
    for event in ("outer_wall", "flap"):
        hoop = getattr(state, f"{event}_hoop_stretch")
        thick = getattr(state, f"{event}_thickness_stretch")
        verification.record(solver="fem.balloon.prestress",
                            name=f"path state: {event} hoop stretch",
                            reference="homogeneous deformation (closed form)", expected=b,
                            computed=hoop, error=hoop / b - 1.0, tolerance=1e-10)
        assert hoop == pytest.approx(b, rel=1e-10)
        assert thick == pytest.approx(a, rel=1e-10)
        assert state.in_plane_stretch(event) == pytest.approx(math.sqrt(b * state.axial_stretch))
    assert state.axial_stretch == 1.0 and state.pressure_atm == 2.0
    # relative to an in-situ state: the stretch the balloon adds
    rel = path_state(bp, 2.0, in_situ=dataclasses.replace(state, outer_wall_hoop_stretch=1.1))
    assert rel.in_plane_stretch("outer_wall") == pytest.approx(math.sqrt(b / 1.1), rel=1e-10)
    assert rel.in_plane_stretch("flap") == pytest.approx(1.0, rel=1e-10)
    if comm.rank == 0:
        write_path_state(state, shared_tmp / "state.json")
    comm.barrier()
    assert read_path_state(shared_tmp / "state.json") == state


def test_path_state_round_trip(tmp_path):
    s = PathState(pressure_atm=6.0, axial_stretch=1.29, outer_wall_hoop_stretch=1.1,
                  outer_wall_thickness_stretch=0.8, flap_hoop_stretch=0.93,
                  flap_thickness_stretch=0.9, channel_diameter_mm=4.9)
    write_path_state(s, tmp_path / "s.json")
    assert read_path_state(tmp_path / "s.json") == s
    assert not list(tmp_path.glob("*.tmp"))
