"""Validation against the seed's clinical case (DOMAIN.md section 9): a severely calcified
grade (PACSS-4), a 5.0 mm balloon at 6 atm in the subintimal plane, an 18 G lancet needle.

What happened in the patient, and what the model must not contradict:

* the balloon at 6 atm did not perforate the vessel: the outer wall (media, adventitia) does not
  reach its rupture strength at 6 atm;
* the needle punctured the outer wall, ruptured the balloon and crossed the flap, within what an
  18 G needle carries (its Euler load);
* the re-entry devices had failed: the flap needs more than the device's force limit.

Which of these rest on data and which on ``[est]`` inputs is in the README ("The clinical case
as a validation check"). The whole chain runs as a study would (balloon problem, its state handed
to the puncture, FE film puncture, closed-form rupture mode and feasibility), serially, mesh
level 0 (about 1.5 min here).
"""

from __future__ import annotations

import math
from pathlib import Path

import hpc.stack  # noqa: F401  (orders MPI before DOLFINx; keep first)

import pytest

from studies.runner import run_study
from studies.store import ResultStore
from studies.study import load_study

HERE = Path(__file__).resolve().parent


@pytest.fixture(scope="module")
def clinical(tmp_path_factory):
    study = load_study(HERE / "studies" / "clinical_case.toml",
                       results_dir=tmp_path_factory.mktemp("clinical") / "r")
    summary = run_study(study)
    assert summary.ok, summary
    (case,) = study.cases
    record = ResultStore(study.results_dir).read_record(case.case_id)
    return record["results"]["balloon"], record["results"]["puncture"]


def test_the_balloon_at_6_atm_does_not_perforate_the_wall(clinical):
    balloon, _ = clinical
    assert balloon["converged"] and balloon["reached_pressure_atm"] == pytest.approx(6.0)
    perforation = balloon["outer_wall_rupture_pressure_atm"]
    assert perforation is None or perforation > 6.0, perforation
    for layer in ("media", "adventitia"):
        assert balloon[f"{layer}_rupture_indicator"] < 1.0, layer
    # the search went on past the case's pressure, to the balloon's burst or its cap
    assert balloon["wall_failure_search_end_atm"] > 6.0


def test_the_needle_crosses_wall_balloon_and_flap_the_device_cannot(clinical):
    _, p = clinical
    assert p["prestress_source"] == "balloon"  # from the balloon problem's state
    assert p["outer_wall_status"] == "punctured"
    assert p["balloon_puncture_status"] == "punctured"
    assert p["flap_status"] == "punctured"
    forces = [p["outer_wall_puncture_force_N"], p["balloon_puncture_force_N"],
              p["flap_puncture_force_N"]]
    assert all(math.isfinite(f) and f > 0.0 for f in forces)
    assert max(forces) < p["needle_euler_load_N"]
    assert p["feasible_needle_18G"] is True
    assert p["feasible_reentry_device"] is False
    assert p["flap_puncture_force_N"] > p["reentry_device_limit_N"]
    assert p["flap_punctured_by"] == "needle"
    # after the needle's rupture the flap starts from the state the rupture mode leaves
    assert p["flap_start_state"] == ("residual" if p["balloon_deflated"] else "balloon")
