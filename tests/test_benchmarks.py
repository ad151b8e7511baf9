"""The benchmark suite: benchmarks, not timed tests (nothing here asserts a speed).

* unit: the exponent fit, the parallel efficiency, the target logic and the table;
* system (serial and ``mpirun -n 2``): the PETSc event split adds up to the solve time, and the
  two Hertz benchmarks (plain penalty, our contact solver) agree with Hertz;
* end-to-end (serial: the suite launches ``mpirun`` itself): ``python -m hpc.benchmarks`` at
  its tiny size on 1 rank, and the contact group on 1 and 2 ranks.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import hpc.stack  # noqa: F401  (orders MPI before DOLFINx; keep first)

import pytest
from mpi4py import MPI

from hpc.benchmarks.analysis import (
    EFFICIENCY_MIN_DOFS,
    evaluate_targets,
    fit_exponent,
    format_table,
    parallel_efficiency,
)

REPO = Path(__file__).resolve().parents[1]

# ----------------------------------------------------------------------------- unit


def test_fit_exponent_recovers_a_power_law():
    dofs = [1e3, 4e3, 1.6e4, 6.4e4]
    assert fit_exponent(dofs, [3.0 * d**1.5 for d in dofs]) == pytest.approx(1.5)
    # iterations growing 25 % over a 16x range of DOFs: exponent log(1.25) / log(16)
    its = [20, 25]
    assert fit_exponent([1e4, 1.6e5], its) == pytest.approx(math.log(1.25) / math.log(16))
    # least squares, not the end points: a middle outlier moves it
    assert fit_exponent(dofs, [1.0, 10.0, 1.0, 1.0]) != pytest.approx(0.0)


def test_fit_exponent_ignores_points_without_a_logarithm():
    assert fit_exponent([1e3, 2e3, 4e3], [0.0, 2.0, 4.0]) == pytest.approx(1.0)
    assert math.isnan(fit_exponent([1e3], [1.0]))
    assert math.isnan(fit_exponent([1e3, 1e3], [1.0, 2.0]))


def test_parallel_efficiency():
    assert parallel_efficiency(10.0, 5.0, 2) == pytest.approx(1.0)
    assert parallel_efficiency(10.0, 10.0, 2) == pytest.approx(0.5)
    assert parallel_efficiency(10.0, 2.0, 4) == pytest.approx(1.25)
    assert math.isnan(parallel_efficiency(10.0, 0.0, 2))
    with pytest.raises(ValueError, match="ranks"):
        parallel_efficiency(1.0, 1.0, 0)


def _rec(dofs, time_s, its=10, **kw):
    return {"dofs": dofs, "time_s": time_s, "assembly_s": 0.1 * time_s, "pc_setup_s": 0.1,
            "krylov_s": 0.1, "krylov_iterations": its, "newton_iterations": 1, **kw}


def test_targets_without_measurements_are_not_evaluated():
    verdicts = evaluate_targets({"benchmarks": {}})
    assert len(verdicts) == 8
    assert {v.status for v in verdicts} == {"not evaluated"}


def test_target_verdicts_follow_the_numbers():
    bench = {
        "artery_linear": {"kind": "ours", "runs": {"1": [_rec(1e4, 1.0, 20), _rec(4e4, 4.0, 21)],
                                                   "2": [_rec(1e4, 0.6), _rec(4e4, 2.5)]}},
        "elasticity_box": {"kind": "baseline", "runs": {"1": [_rec(1e4, 1.0, 15),
                                                              _rec(4e4, 4.2, 18)]}},
    }
    results = {"benchmarks": bench, "efficiency": [
        {"benchmark": "artery_linear", "kind": "ours", "ranks": 2, "dofs": EFFICIENCY_MIN_DOFS,
         "efficiency": 0.65}],
        "calcium": {"records": [{"calcium_modulus_MPa": None, "krylov_iterations": 10},
                                {"calcium_modulus_MPa": 2e4, "krylov_iterations": 25}]}}
    v = {x.target.split(" ")[0] + x.target.split(" ")[1]: x for x in evaluate_targets(results)}
    assert v["linearsolve"].status == "holds"  # 1e4 DOFs/s vs 0.95e4
    assert v["Kryloviterations"].status == "holds"  # 20 -> 21 grows slower than 15 -> 18
    assert v["calciumup"].status == "misses" and v["calciumup"].ratio == pytest.approx(2.5)
    assert "MPa" in v["calciumup"].reason
    assert v["2-rankparallel"].status == "misses"
    assert v["2-rankparallel"].ratio == pytest.approx(0.65)
    assert v["warmcase:"].status == "not evaluated"
    # a level that did not converge is left out of the comparison (its time means nothing)
    bench["artery_linear"]["runs"]["1"].append(_rec(8e4, 100.0, 90, converged=False))
    bench["elasticity_box"]["runs"]["1"].append(_rec(8e4, 8.0, 19))
    v = {x.target: x for x in evaluate_targets(results)}
    lin = next(x for t, x in v.items() if t.startswith("linear solve"))
    assert lin.status == "holds" and "40000" in lin.measured
    results["efficiency"][0]["dofs"] = EFFICIENCY_MIN_DOFS - 1
    v = {x.target: x for x in evaluate_targets(results)}
    eff = next(x for t, x in v.items() if t.startswith("2-rank"))
    assert eff.status == "not evaluated" and "200k" in eff.measured


def test_contact3d_verdict():
    """The 3-D check's target: the speed-up and the forces of the two solver paths."""
    def rec(time_s, forces, **kw):
        return {"dofs": 11459, "cells": 2016, "tip": "spherical", "time_s": time_s,
                "forces_N": forces, "assembly_s": 0.4 * time_s, "pc_setup_s": 0.5 * time_s,
                "krylov_s": 0.05 * time_s, "factorisations": 10, "krylov_iterations": 300,
                "newton_iterations": 60, **kw}

    def verdict(ours, direct):
        results = {"benchmarks": {"contact3d": {"runs": {"1": [ours]}},
                                  "contact3d_direct": {"runs": {"1": [direct]}}}}
        return next(v for v in evaluate_targets(results) if v.target.startswith("3-D"))

    forces = [0.0131, 0.0387, 0.1191]
    v = verdict(rec(2.0, forces), rec(25.0, forces))
    assert v.status == "holds" and v.ratio == pytest.approx(12.5)
    v = verdict(rec(10.0, forces), rec(25.0, forces))
    assert v.status == "misses" and "Newton" in v.reason and "2.5x" in v.measured
    v = verdict(rec(2.0, [f * (1 + 1e-4) for f in forces]), rec(25.0, forces))
    assert v.status == "misses" and "forces differ" in v.reason
    assert verdict(rec(2.0, forces), rec(25.0, forces) | {"dofs": 1}).status == "not evaluated"


def test_format_table_aligns_numbers_right_and_text_left():
    text = format_table(["name", "value"], [["a", 1.5], ["longer", 12345.0], ["c", None]])
    lines = text.splitlines()
    assert lines[0].startswith("name") and lines[2].startswith("a ")
    assert lines[2].endswith("1.5") and lines[3].endswith("1.23e+04") and lines[4].endswith("-")


# ----------------------------------------------------------------------------- system


@pytest.mark.mpi
def test_event_split_adds_up_to_the_snes_time(comm):
    """Assembly + PC set-up + Krylov (PETSc events) account for the SNES solve: no phase is
    counted twice (KSPSolve does not contain the PCSetUp) and none is missing."""
    from hpc.benchmarks import baselines
    from hpc.benchmarks.probe import start_logging

    start_logging()
    for solver in ("mumps", "gamg"):
        rec = baselines.neohookean_box(comm, 3000, solver=solver)
        assert rec["converged"]
        parts = rec["assembly_s"] + rec["pc_setup_s"] + rec["krylov_s"]
        assert min(rec["assembly_s"], rec["pc_setup_s"], rec["krylov_s"]) > 0.0
        # each phase is a maximum over ranks, so on 2 ranks their sum may pass the slowest
        # rank's total a little; counting PCSetUp twice would add its whole share (>= 20 %
        # with LU here)
        assert rec["pc_setup_s"] > 0.2 * rec["time_s"] or solver == "gamg"
        assert parts <= rec["time_s"] * (1.001 if comm.size == 1 else 1.1), rec
        assert parts >= 0.8 * rec["time_s"], rec
        assert rec["newton_iterations"] >= 3  # three load steps, each at least one iteration
    lin = baselines.elasticity_box(comm, 3000, repeats=1)
    assert lin["converged"] and lin["krylov_iterations"] > 0 and lin["time_s"] > 0


@pytest.mark.mpi
def test_hertz_benchmarks_agree_with_hertz(comm):
    """Both contact benchmarks solve the Hertz problem: forces within 3 % of
    F = 4/3 E* sqrt(R) d^1.5 on a coarse mesh (1.5 % measured at fine_mm 0.05)."""
    from hpc.benchmarks import baselines, ours
    from hpc.benchmarks.probe import start_logging
    from hpc.benchmarks.suite import HERTZ

    start_logging()
    plain = baselines.hertz_penalty(comm, 0.07, **HERTZ)
    mine = ours.hertz_contact(comm, 0.07, **HERTZ)
    for rec in (plain, mine):
        assert rec["converged"]
        assert rec["force_N"] == pytest.approx(rec["hertz_force_N"], rel=0.03)
    assert plain["dofs"] == mine["dofs"]  # same mesh, same P2 space
    assert plain["krylov_iterations"] > 0 and mine["krylov_iterations"] == 0


# ----------------------------------------------------------------------------- end to end


def _suite(args: list[str], tmp_path: Path) -> tuple[subprocess.CompletedProcess, dict]:
    out = tmp_path / "bench.json"
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH")) if p)
    proc = subprocess.run([sys.executable, "-m", "hpc.benchmarks", *args, "--json", str(out),
                           "--out-dir", str(tmp_path)], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc, json.loads(out.read_text())


@pytest.mark.skipif(MPI.COMM_WORLD.size > 1, reason="launches mpirun itself")
def test_suite_tiny_runs_every_benchmark(tmp_path):
    from hpc.benchmarks.suite import DESCRIPTIONS

    proc, res = _suite(["--size", "tiny", "--ranks", "1"], tmp_path)
    assert not res["errors"]
    assert set(res["benchmarks"]) == set(DESCRIPTIONS)
    for name, entry in res["benchmarks"].items():
        recs = entry["runs"]["1"]
        levels = 1 if name.startswith("contact3d") else 3
        assert len(recs) == levels, name  # three mesh levels each (the 3-D check: one)
        for r in recs:
            assert r["dofs"] > 0 and r["time_s"] > 0 and r["peak_rss_mb"] > 0, (name, r)
            assert r["converged"], (name, r)
            # CPU time / wall of the level: > 1 when BLAS/MUMPS threads help one rank
            assert r["cpu_share"] > 0.0, (name, r)
        assert [r["dofs"] for r in recs] == sorted(r["dofs"] for r in recs), name
        assert levels == 1 or math.isfinite(res["exponents"][name]["1"]["time_vs_dofs"])
    # the 3-D check: both solver paths give the same forces
    c3, c3d = (res["benchmarks"][n]["runs"]["1"][0] for n in ("contact3d", "contact3d_direct"))
    assert c3["forces_N"] == pytest.approx(c3d["forces_N"], rel=1e-6)
    assert c3["factorisations"] <= c3d["factorisations"]
    # the baselines are sized to ours: within 25 % of the same DOFs level by level
    for ours_name, base in (("artery_linear", "elasticity_box"),
                            ("balloon_newton", "neohookean_box")):
        for a, b in zip(res["benchmarks"][ours_name]["runs"]["1"],
                        res["benchmarks"][base]["runs"]["1"], strict=True):
            assert b["dofs"] == pytest.approx(a["dofs"], rel=0.25)
    cal = res["calcium"]["records"]
    assert cal[0]["calcium_modulus_MPa"] is None and all(r["krylov_iterations"] > 0 for r in cal)
    assert len(res["artery_variants"]) == 4
    case = res["case"]
    for name in ("cold", "second", "warm"):
        assert case[name]["wall_s"] > 0 and case[name]["work_s"] > 0
        assert 0.0 <= case[name]["overhead_fraction"] <= 1.0
    assert case["cold"]["compiled_modules"] > 0  # an empty form cache
    assert case["warm"]["phases_s"]["disc mesh"] > 0  # the puncture case meshes its disc
    mg = res["mesh_generation"]
    assert mg["build_s"] > 0 and mg["default_mesh_s"] > 0 and mg["hxt_mesh_s"] > 0
    assert mg["default_repeatable"]  # the default 3-D algorithm is deterministic
    sweep = res["sweep"]
    assert sweep["done"] == sweep["cases"] == 2 and sweep["cases_per_hour"] > 0
    assert sweep["default_study"]["modelled_cases_per_hour"] > 0
    assert len(res["targets"]) == 8
    assert {t["status"] for t in res["targets"]} <= {"holds", "misses", "not evaluated"}
    for t in res["targets"]:
        if t["status"] == "misses":
            assert t["reason"] and t["measured"], t
    text = proc.stdout
    assert "DOFs/s/rank" in text and "Targets:" in text and "Fitted exponents" in text


@pytest.mark.skipif(MPI.COMM_WORLD.size > 1, reason="launches mpirun itself")
def test_suite_contact_on_one_and_two_ranks(tmp_path):
    """Two rank counts: parallel efficiency is computed, and the answers do not depend on the
    rank count beyond solver tolerance."""
    _proc, res = _suite(["--size", "tiny", "--ranks", "1,2", "--only", "contact"], tmp_path)
    assert set(res["benchmarks"]) == {"hertz_contact", "hertz_penalty", "hertz_contact_gamg"}
    for name in ("hertz_contact", "hertz_penalty"):
        one, two = (res["benchmarks"][name]["runs"][r] for r in ("1", "2"))
        for a, b in zip(one, two, strict=True):
            assert a["dofs"] == b["dofs"]
            assert b["force_N"] == pytest.approx(a["force_N"], rel=1e-5)
    eff = [e for e in res["efficiency"] if e["ranks"] == 2]
    assert {e["benchmark"] for e in eff} == {"hertz_contact", "hertz_penalty"}
    assert all(e["efficiency"] > 0 for e in eff)
    verdict = next(t for t in res["targets"] if t["target"].startswith("2-rank"))
    assert verdict["status"] == "not evaluated" and "200k" in verdict["measured"]
