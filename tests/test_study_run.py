"""The local runner end to end (real mpirun subprocesses) and its fault behaviour.

Serial tests only: they start their own ``mpirun -n R`` per case.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import hpc.stack  # noqa: F401  (orders MPI before DOLFINx; keep first)

import pandas as pd
import pytest
import xarray as xr

from studies.lock import CaseLock, lock_state
from studies.store import ResultStore
from studies.study import load_study
from tests.study_cli import nre

ROOT = Path(__file__).resolve().parent.parent


def _study(tmp: Path, name: str, grid: str, *, ranks: int = 1, parallel: int = 1,
           solve: str = '"fault"', extra: str = "") -> Path:
    path = tmp / f"{name}.toml"
    path.write_text(f"""\
[study]
name = "{name}"
solve = [{solve}]
plugins = ["tests.study_kinds"]
results_dir = "{tmp / 'results' / name}"
[run]
ranks = {ranks}
parallel_cases = {parallel}
{extra}
[sweep.grid]
{grid}
""")
    return path


def _cli_process(*args, env_extra: dict | None = None) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT), **(env_extra or {})}
    return subprocess.Popen([sys.executable, "-m", "tests.study_cli", *map(str, args)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _ledger(path: Path) -> list[tuple[str, float, str]]:
    if not path.exists():
        return []
    return [(e, float(v), run) for e, v, run, _pid in
            (line.split() for line in path.read_text().splitlines())]


def test_selftest_study_on_two_ranks(tmp_path, capsys):
    path = _study(tmp_path, "st", "selftest.edge_mm = [1.0, 2.0]\nselftest.cells_per_side = [2]",
                  ranks=2, solve='"selftest"')
    study = load_study(path)
    assert nre(["study", "run", path]) == 0
    out = capsys.readouterr().out
    assert "[2/2] 100%" in out and "eta" in out
    store = ResultStore(study.results_dir)
    for case in study.cases:
        rec = store.read_record(case.case_id)
        assert rec["status"] == "done"
        edge = case.axes["selftest.edge_mm"]
        assert rec["results"]["selftest"]["volume_mm3"] == pytest.approx(edge**3, rel=1e-12)
        assert rec["results"]["selftest"]["ranks"] == 2
        prov = rec["provenance"]
        assert prov["ranks"] == 2 and prov["host"] == socket.gethostname()
        assert prov["git_commit"] and prov["versions"]["petsc"] and prov["versions"]["gmsh"]
        assert prov["start"] <= prov["end"] and prov["slurm"] == {}
        assert rec["curves"] == ["curves/volume_scaling.json"]
        assert (store.result_dir(case.case_id) / "curves" / "volume_scaling.json").exists()
        assert json.loads((store.case_dir(case.case_id) / "params.json").read_text())[
            "params"] == case.params
    # the forms were compiled into the study's shared cache
    assert list((Path(os.environ["NRE_CACHE_DIR"]) / "fenics").glob("*.so"))
    table = pd.read_parquet(study.results_dir / "aggregate" / "cases.parquet")
    assert list(table["status"]) == ["done", "done"]
    assert list(table["selftest:volume_mm3"].round(9)) == [1.0, 8.0]
    # a rerun does nothing; --force reruns everything
    assert nre(["study", "run", path]) == 0
    assert "2 cases, 0 to run" in capsys.readouterr().out
    before = store.read_record(study.cases[0].case_id)["provenance"]["end"]
    time.sleep(1.0)
    assert nre(["study", "run", path, "--force", "--no-aggregate"]) == 0
    assert store.read_record(study.cases[0].case_id)["provenance"]["end"] > before


def test_failing_cases_are_recorded_and_the_sweep_goes_on(tmp_path, capsys):
    path = _study(tmp_path, "fail",
                  'fault.mode = ["ok", "raise", "return_failed", "raise_rank1"]\n'
                  "fault.value = [1.0, 2.0]", ranks=2, parallel=2)
    study = load_study(path)
    assert nre(["study", "run", path]) == 1
    out = capsys.readouterr().out
    assert "2 done, 6 failed" in out
    table = pd.read_csv(study.results_dir / "aggregate" / "cases.csv")
    by_mode = {m: g for m, g in table.groupby("fault.mode")}
    assert set(by_mode["ok"]["status"]) == {"done"}
    assert list(by_mode["ok"]["fault:value"]) == [1.0, 2.0]
    for mode, text in (("raise", "RuntimeError: deliberate failure"),
                       ("return_failed", "diverged (deliberately)"),
                       ("raise_rank1", "rank 1: fault: RuntimeError: deliberate failure on rank")):
        rows = by_mode[mode]
        assert set(rows["status"]) == {"failed"}, mode
        assert all(text in r for r in rows["reason"]), (mode, list(rows["reason"]))
    # the sweep array marks them too
    ds = xr.open_dataset(study.results_dir / "aggregate" / "sweep.nc")
    assert ds["status"].sel({"fault.mode": "raise", "fault.value": 2.0}).item() == "failed"
    assert ds["fault:value"].sel({"fault.mode": "ok", "fault.value": 2.0}).item() == 2.0
    assert pd.isna(ds["fault:value"].sel({"fault.mode": "raise", "fault.value": 1.0}).item())
    # status lists them, and a rerun retries only the failed ones
    assert nre(["study", "status", study.results_dir]) == 1
    out = capsys.readouterr().out
    assert "8 cases: 2 done, 6 failed" in out and out.count("failed") >= 6
    assert nre(["study", "run", path, "--no-aggregate"]) == 1
    assert "8 cases, 6 to run" in capsys.readouterr().out


def test_kill_9_mid_sweep_then_rerun(tmp_path):
    ledger = tmp_path / "ledger.txt"
    n = 6
    path = _study(tmp_path, "kill", f"fault.value = {[float(i) for i in range(n)]}\n"
                  'fault.mode = ["sleep"]', parallel=2,
                  extra="[base.fault]\nsleep_s = 1.5")
    study = load_study(path)
    store = ResultStore(study.results_dir)
    env = {"NRE_TEST_LEDGER": str(ledger)}
    proc = _cli_process("study", "run", path, env_extra={**env, "NRE_TEST_RUN": "first"})
    deadline = time.monotonic() + 60
    # kill once some cases are done and others are running
    while time.monotonic() < deadline:
        done = [c for c in study.cases if (store.read_record(c.case_id) or {}).get("status")
                == "done"]
        running = {v for e, v, _ in _ledger(ledger) if e == "start"} - \
            {v for e, v, _ in _ledger(ledger) if e == "finish"}
        if len(done) >= 2 and running:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    time.sleep(0.5)  # PR_SET_PDEATHSIG: mpirun and its ranks go down with the runner
    done_first = {c.case_id for c in study.cases
                  if (store.read_record(c.case_id) or {}).get("status") == "done"}
    assert 2 <= len(done_first) < n
    # no partial result is counted: unfinished cases have no result, only attempt folders
    for case in study.cases:
        if case.case_id not in done_first:
            assert not store.result_dir(case.case_id).exists()
            assert store.state(case.case_id)[0] == "missing"
    assert any(store.case_dir(c.case_id).glob(".work-*") for c in study.cases)
    rerun = _cli_process("study", "run", path, env_extra={**env, "NRE_TEST_RUN": "second"})
    out = rerun.communicate(timeout=120)[0]
    assert rerun.returncode == 0, out
    assert f"{n} cases, {n - len(done_first)} to run" in out
    values_done_first = {c.axes["fault.value"] for c in study.cases if c.case_id in done_first}
    second = [v for e, v, run in _ledger(ledger) if run == "second" and e == "start"]
    assert not values_done_first & set(second)  # nothing done was done again
    assert sorted(second) == sorted(set(second))  # and each missing case ran once
    for case in study.cases:
        assert store.read_record(case.case_id)["status"] == "done"
        assert not list(store.case_dir(case.case_id).glob(".work-*"))
        assert not store.lock_path(case.case_id).exists()
    table = pd.read_parquet(study.results_dir / "aggregate" / "cases.parquet")
    assert len(table) == n and set(table["status"]) == {"done"}


def test_two_runners_at_once(tmp_path):
    ledger = tmp_path / "ledger.txt"
    n = 8
    path = _study(tmp_path, "two", f"fault.value = {[float(i) for i in range(n)]}\n"
                  'fault.mode = ["sleep"]', extra="[base.fault]\nsleep_s = 0.3")
    env = {"NRE_TEST_LEDGER": str(ledger)}
    procs = [_cli_process("study", "run", path, "--no-aggregate",
                          env_extra={**env, "NRE_TEST_RUN": f"r{i}"}) for i in range(2)]
    outs = [p.communicate(timeout=180)[0] for p in procs]
    assert all(p.returncode == 0 for p in procs), outs
    starts = [v for e, v, _ in _ledger(ledger) if e == "start"]
    assert sorted(starts) == [float(i) for i in range(n)]  # every case ran exactly once
    runs = {run for e, _v, run in _ledger(ledger) if e == "start"}
    assert runs == {"r0", "r1"}, outs  # both runners did work
    study = load_study(path)
    store = ResultStore(study.results_dir)
    for case in study.cases:
        assert store.read_record(case.case_id)["status"] == "done"


def test_sigterm_records_interrupted_then_rerun_completes(tmp_path):
    path = _study(tmp_path, "term", 'fault.mode = ["sleep"]', ranks=2,
                  extra="[base.fault]\nsleep_s = 60")
    study = load_study(path)
    store = ResultStore(study.results_dir)
    store.write_snapshot(study)
    (case,) = study.cases
    store.write_params(case, study.plugins)
    ledger = tmp_path / "ledger.txt"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "NRE_TEST_LEDGER": str(ledger)}
    sup = subprocess.Popen([sys.executable, "-m", "studies.worker", "supervise", "--results",
                            str(store.root), "--case", case.case_id, "--launcher", "mpirun",
                            "--ranks", "2"], env=env, stdout=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not _ledger(ledger) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert store.state(case.case_id)[0] == "running"
    sup.send_signal(signal.SIGTERM)
    out = sup.communicate(timeout=60)[0]
    assert sup.returncode == 143, out
    rec = store.read_record(case.case_id)
    assert rec["status"] == "interrupted" and "SIGTERM" in rec["reason"]
    assert "worker.log" in os.listdir(store.result_dir(case.case_id))
    # the rerun (here without the sleep) completes it
    rerun = _cli_process("study", "run", path, "--no-aggregate",
                         env_extra={"NRE_TEST_NO_SLEEP": "1"})
    out = rerun.communicate(timeout=120)[0]
    assert rerun.returncode == 0, out
    assert store.read_record(case.case_id)["status"] == "done"


def test_case_timeout_is_interrupted(tmp_path, capsys):
    path = _study(tmp_path, "slow", 'fault.mode = ["sleep"]',
                  extra="case_timeout_s = 2.0\n[base.fault]\nsleep_s = 60")
    t0 = time.monotonic()
    assert nre(["study", "run", path, "--no-aggregate"]) == 1
    assert time.monotonic() - t0 < 30
    rec = ResultStore(load_study(path).results_dir).read_record(load_study(path).cases[0].case_id)
    assert rec["status"] == "interrupted" and "case timeout after 2 s" in rec["reason"]


def test_locks_live_stale_and_exclusive(tmp_path):
    path = tmp_path / "lock"
    a = CaseLock(path, "a")
    assert a.acquire()
    assert lock_state(path)[0] == "live"
    assert not CaseLock(path, "b").acquire()
    a.release()
    assert lock_state(path)[0] == "free"
    # a lock whose process has died is stale and taken over
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    path.write_text(json.dumps({"pid": dead.pid, "host": socket.gethostname(), "start": "1",
                                "owner": "dead", "created": 0}))
    assert lock_state(path)[0] == "stale"
    b = CaseLock(path, "b")
    assert b.acquire() and json.loads(path.read_text())["owner"] == "b"
    b.release()
    # another host's lock is live until its heartbeat is old
    path.write_text(json.dumps({"pid": 1, "host": "elsewhere", "owner": "x", "created": 0}))
    assert lock_state(path)[0] == "live"
    old = time.time() - 3600
    os.utime(path, (old, old))
    assert lock_state(path)[0] == "stale"
