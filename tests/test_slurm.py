"""Studies as Slurm job arrays: script generation, and runs against a REAL local Slurm.

The cluster tests install Debian's slurmctld/slurmd/slurm-client/munge when missing (as root),
start them on loopback, submit study arrays with 2-rank MPI tasks plus the aggregation job, wait
with their own timeout and shut the daemons down by PID whatever happens. Where Slurm cannot be
installed or started they are skipped with the reason; with ``CI=true`` they fail instead.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import hpc.stack  # noqa: F401  (orders MPI before DOLFINx; keep first)

import pandas as pd
import pytest

from hpc.slurm import SlurmOptions, submissions, write_submission
from studies.store import ResultStore
from studies.study import load_study
from tests.slurm_cluster import LocalSlurm, ensure_installed
from tests.study_cli import nre

#: Overall limit for one array plus its aggregation job.
JOB_TIMEOUT_S = 240


def _study(tmp: Path, name: str, grid: str, *, launcher: str = "srun", solve: str = '"selftest"',
           extra: str = "") -> Path:
    path = tmp / f"{name}.toml"
    path.write_text(f"""\
[study]
name = "{name}"
solve = [{solve}]
plugins = ["tests.study_kinds"]
results_dir = "{tmp / 'results' / name}"
[slurm]
ranks = 2
time = "5"
mem = "1G"
throttle = 2
launcher = "{launcher}"
{extra}
[sweep.grid]
{grid}
""")
    return path


def test_generated_scripts_are_readable(tmp_path):
    path = _study(tmp_path, "gen", "selftest.edge_mm = [1.0, 2.0, 3.0]",
                  extra='partition = "debug"\naccount = "proj1"\nqos = "short"\n'
                  'extra = ["--exclusive"]')
    study = load_study(path)
    sub = write_submission(study, [c.case_id for c in study.cases],
                           SlurmOptions.from_study(study, time="00:30:00"))
    array = (sub.folder / "array.sbatch").read_text()
    for line in ("#SBATCH --array=0-2%2", "#SBATCH --ntasks=2", "#SBATCH --time=00:30:00",
                 "#SBATCH --mem=1G", "#SBATCH --partition=debug", "#SBATCH --account=proj1",
                 "#SBATCH --qos=short", "#SBATCH --exclusive",
                 "#SBATCH --output=logs/case-%A_%a.out", "--launcher srun --ranks 2",
                 '"$SLURM_ARRAY_TASK_ID"'):
        assert line in array, line
    assert (sub.folder / "logs").is_dir()
    assert (sub.folder / "cases.txt").read_text().split() == [c.case_id for c in study.cases]
    submit = (sub.folder / "submit.sh").read_text()
    assert "--dependency=afterany:" in submit and os.access(sub.folder / "submit.sh", os.X_OK)
    assert "studies.aggregate" in (sub.folder / "aggregate.sbatch").read_text()
    with pytest.raises(ValueError, match="slurm time"):
        SlurmOptions(time="1:2:3:4")


def _stub_bin(folder: Path, max_array_size: int | None = None) -> Path:
    """Stub ``sbatch`` (logs its arguments and the script's --array line, prints job ids 101,
    102, ...) and, when ``max_array_size`` is given, ``scontrol show config``."""
    folder.mkdir()
    (folder / "sbatch").write_text(f"""#!/bin/bash
n=$(( $(cat {folder}/count 2>/dev/null || echo 100) + 1 )); echo $n > {folder}/count
script="${{@: -1}}"
echo "$* | $(grep '^#SBATCH --array=' "$script" 2>/dev/null) | $(pwd)" >> {folder}/calls
echo $n
""")
    if max_array_size is not None:
        (folder / "scontrol").write_text(
            f"#!/bin/bash\necho 'MaxArraySize            = {max_array_size}'\n")
    for stub in folder.iterdir():
        stub.chmod(0o755)
    return folder


@pytest.mark.parametrize(("max_array_size", "throttle", "sizes"),
                         [(None, 0, [1001, 1001, 498]), (700, 3, [700, 700, 700, 400])])
def test_large_sweep_is_split_into_arrays(tmp_path, monkeypatch, capsys, max_array_size,
                                          throttle, sizes):
    """2 500 cases: 3 arrays of at most 1 001 tasks (Slurm's default MaxArraySize), or the
    cluster's MaxArraySize from scontrol; the aggregation waits for all of them."""
    edges = ", ".join(f"{1 + i / 100:.2f}" for i in range(50))
    path = _study(tmp_path, "big", f"selftest.edge_mm = [{edges}]\n"
                  f"selftest.cells_per_side = {list(range(1, 51))}")
    path.write_text(path.read_text().replace("throttle = 2", f"throttle = {throttle}"))
    stubs = _stub_bin(tmp_path / "bin", max_array_size)
    monkeypatch.setenv("PATH", f"{stubs}{os.pathsep}{os.environ['PATH']}")
    assert nre(["slurm", "submit", path]) == 0
    out = capsys.readouterr().out
    n = len(sizes)
    limit = max_array_size or 1001
    source = "scontrol" if max_array_size else "default"
    assert f"split into {n} arrays ({' + '.join(map(str, sizes))} cases): MaxArraySize " \
        f"{limit} ({source})" in out, out
    calls = (stubs / "calls").read_text().splitlines()
    assert len(calls) == n + 1
    sub = submissions(tmp_path / "results" / "big")[-1]
    folder = Path(sub["folder"])
    ids = [str(101 + k) for k in range(n)]
    assert sub["sizes"] == sizes and sub["array_job_ids"] == ids
    assert sub["aggregate_job_id"] == str(101 + n)
    listed = []
    for k, (call, size) in enumerate(zip(calls, sizes, strict=False)):
        args, array_line, cwd = call.split(" | ")
        assert cwd == str(folder)
        assert args.split()[-1] == f"array-{k + 1}.sbatch"
        assert ("--dependency=afterany:" + ids[k - 1] in args) == bool(throttle and k)
        suffix = f"%{throttle}" if throttle else ""
        assert array_line == f"#SBATCH --array=0-{size - 1}{suffix}"
        listed += (folder / f"cases-{k + 1}.txt").read_text().split()
    assert listed == sub["case_ids"] and len(set(listed)) == 2500
    assert calls[-1].startswith(f"--parsable --dependency=afterany:{':'.join(ids)} "
                                "aggregate.sbatch")
    script = (folder / "array-2.sbatch").read_text()
    assert f"--case-list {folder / 'cases-2.txt'}" in script
    submit = (folder / "submit.sh").read_text()
    assert all(f"array-{k + 1}.sbatch" in submit for k in range(n))


def test_study_check_warns_of_large_sweeps(tmp_path, capsys):
    values = ", ".join(f"{1 + i / 1000:.3f}" for i in range(1000))
    path = _study(tmp_path, "huge", f"selftest.edge_mm = [{values}]\n"
                  "selftest.cells_per_side = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]")
    assert nre(["study", "check", path]) == 0
    captured = capsys.readouterr()
    text = captured.out + captured.err
    assert "10000 cases" in text and "warning" in text
    assert "10 arrays" in text  # split at Slurm's default MaxArraySize


@pytest.fixture(scope="module")
def slurm(tmp_path_factory):
    def unavailable(reason: str):
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true but the real-Slurm tests cannot run: {reason}")
        pytest.skip(f"real Slurm unavailable: {reason}")

    reason = ensure_installed()
    if reason:
        unavailable(reason)
    cluster = LocalSlurm(tmp_path_factory.mktemp("slurm"))
    saved = os.environ.get("SLURM_CONF")
    try:
        try:
            cluster.start()
        except Exception as err:  # noqa: BLE001  (any start failure: report it, tear down)
            unavailable(f"could not start slurmctld/slurmd: {err}")
        os.environ["SLURM_CONF"] = str(cluster.conf)
        yield cluster
    finally:
        cluster.stop()
        if saved is None:
            os.environ.pop("SLURM_CONF", None)
        else:
            os.environ["SLURM_CONF"] = saved


def _last_submission(results: Path) -> dict:
    return submissions(results)[-1]


def _wait_and_check(slurm: LocalSlurm, sub: dict) -> dict[str, tuple[str, str]]:
    slurm.wait_for([sub["array_job_id"], sub["aggregate_job_id"]], JOB_TIMEOUT_S)
    out = slurm.run(["scontrol", "show", "job", "-o", sub["array_job_id"]]).stdout
    tasks = {}
    for line in out.splitlines():
        fields = dict(f.split("=", 1) for f in line.split() if "=" in f)
        tasks[fields["ArrayTaskId"]] = (fields["JobState"], fields["ExitCode"])
    agg = slurm.run(["scontrol", "show", "job", "-o", sub["aggregate_job_id"]]).stdout
    assert "JobState=COMPLETED" in agg and "ExitCode=0:0" in agg, agg
    return tasks


def _logs(results: Path) -> str:
    return "\n".join(f"--- {p.name}\n{p.read_text()}" for p in
                     sorted((results / "slurm").glob("*/logs/*.out")))


def test_array_with_srun_ranks(slurm, tmp_path, capsys):
    path = _study(tmp_path, "arr", "selftest.edge_mm = [1.0, 2.0]\n"
                  "selftest.cells_per_side = [2, 3]")
    study = load_study(path)
    t0 = time.monotonic()
    assert nre(["slurm", "submit", path]) == 0
    sub = _last_submission(study.results_dir)
    assert len(sub["case_ids"]) == 4
    tasks = _wait_and_check(slurm, sub)
    logs = _logs(study.results_dir)
    assert tasks == {str(i): ("COMPLETED", "0:0") for i in range(4)}, logs
    table = pd.read_parquet(study.results_dir / "aggregate" / "cases.parquet")
    assert len(table) == 4 and set(table["status"]) == {"done"}, logs
    assert (table["selftest:volume_mm3"] - table["selftest.edge_mm"] ** 3).abs().max() < 1e-9
    assert set(table["selftest:ranks"]) == {2}
    store = ResultStore(study.results_dir)
    for i, cid in enumerate(sub["case_ids"]):
        prov = store.read_record(cid)["provenance"]
        assert prov["slurm"]["array_job_id"] == sub["array_job_id"]
        assert prov["slurm"]["array_task_id"] == str(i)
        assert prov["command"].startswith("srun --mpi=pmi2")
    print(f"4-task srun array + aggregation: {time.monotonic() - t0:.1f} s")
    capsys.readouterr()
    assert nre(["slurm", "status", study.results_dir]) == 0
    out = capsys.readouterr().out
    assert "task 3: COMPLETED exit 0:0" in out and "cases: 4: 4 done" in out
    # nothing left to resubmit
    assert nre(["slurm", "resubmit", study.results_dir]) == 0
    assert "nothing to submit" in capsys.readouterr().out


def test_mpirun_failed_case_then_resubmit(slurm, tmp_path, capsys):
    path = _study(tmp_path, "mix", 'fault.mode = ["ok", "raise"]\nfault.value = [1.0]',
                  launcher="mpirun", solve='"fault"')
    study = load_study(path)
    assert nre(["slurm", "submit", path]) == 0
    sub = _last_submission(study.results_dir)
    tasks = _wait_and_check(slurm, sub)  # the aggregation ran although a case failed
    logs = _logs(study.results_dir)
    assert tasks["0"] == ("COMPLETED", "0:0") and tasks["1"] == ("FAILED", "1:0"), (tasks, logs)
    table = pd.read_csv(study.results_dir / "aggregate" / "cases.csv")
    assert list(table["status"]) == ["done", "failed"], logs
    assert "deliberate failure" in table["reason"][1]
    assert table["fault:ranks"][0] == 2
    assert nre(["slurm", "resubmit", study.results_dir]) == 0
    again = _last_submission(study.results_dir)
    assert again["case_ids"] == [sub["case_ids"][1]]  # only the failed case
    _wait_and_check(slurm, again)


def test_cancelled_task_is_interrupted_and_resubmit_completes(slurm, tmp_path, capsys):
    ledger = tmp_path / "ledger.txt"
    os.environ["NRE_TEST_LEDGER"] = str(ledger)  # sbatch exports the environment to the job
    try:
        path = _study(tmp_path, "term", 'fault.mode = ["sleep"]', solve='"fault"',
                      extra="[base.fault]\nsleep_s = 120")
        study = load_study(path)
        assert nre(["slurm", "submit", path]) == 0
        sub = _last_submission(study.results_dir)
        deadline = time.monotonic() + JOB_TIMEOUT_S
        while not (ledger.exists() and ledger.read_text()):
            assert time.monotonic() < deadline, _logs(study.results_dir)
            time.sleep(0.5)
        # SIGTERM as at the time limit (scancel: SIGTERM, then SIGKILL after KillWait)
        slurm.run(["scancel", sub["array_job_id"]])
        slurm.wait_for([sub["array_job_id"], sub["aggregate_job_id"]], JOB_TIMEOUT_S)
        (cid,) = sub["case_ids"]
        rec = ResultStore(study.results_dir).read_record(cid)
        logs = _logs(study.results_dir)
        assert rec is not None and rec["status"] == "interrupted", logs
        assert "SIGTERM" in rec["reason"], rec["reason"]
        os.environ["NRE_TEST_NO_SLEEP"] = "1"
        assert nre(["slurm", "resubmit", study.results_dir]) == 0
        again = _last_submission(study.results_dir)
        assert again["case_ids"] == [cid]
        tasks = _wait_and_check(slurm, again)
        assert tasks == {"0": ("COMPLETED", "0:0")}, _logs(study.results_dir)
        rec = ResultStore(study.results_dir).read_record(cid)
        assert rec["status"] == "done"
        table = pd.read_parquet(study.results_dir / "aggregate" / "cases.parquet")
        assert list(table["status"]) == ["done"]
        assert json.loads((study.results_dir / "study.json").read_text())["name"] == "term"
    finally:
        os.environ.pop("NRE_TEST_LEDGER", None)
        os.environ.pop("NRE_TEST_NO_SLEEP", None)


def test_hostile_paths_on_real_slurm(slurm, tmp_path, capsys, monkeypatch):
    """A study in a folder, and with a results folder, full of shell characters and unicode:
    the real array and aggregation jobs run, no injected command runs (their marker files do
    not appear) and nothing is written outside the results folder. ('%' and '\\', which Slurm
    reads as log-name patterns, are refused by submit: tests/test_hostile_inputs.py.)"""
    markers = tmp_path / "markers"
    markers.mkdir()
    monkeypatch.setenv("NRE_MARK", f"{markers}/")  # sbatch exports it to the jobs
    root = tmp_path / "a b $(touch ${NRE_MARK}d) `touch ${NRE_MARK}b` ; x' \" & ü #c"
    root.mkdir()
    path = root / "h.toml"
    path.write_text("""\
[study]
name = "hostile"
solve = ["selftest"]
plugins = ["tests.study_kinds"]
results_dir = "res $(touch $NRE_MARK/r) `touch $NRE_MARK/t` ; 'q\\" ü #/z"
[slurm]
ranks = 1
time = "5"
mem = "1G"
[sweep.grid]
selftest.edge_mm = [1.0, 2.0]
selftest.cells_per_side = [2]
""")
    study = load_study(path)
    results = study.results_dir
    assert results.is_relative_to(root) and results.name == "z"

    def tree() -> set[str]:
        return {str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*")
                if results not in p.parents and p != results and p not in results.parents}

    before = tree()
    assert nre(["slurm", "submit", path]) == 0
    sub = _last_submission(results)
    tasks = _wait_and_check(slurm, sub)
    assert tasks == {"0": ("COMPLETED", "0:0"), "1": ("COMPLETED", "0:0")}, _logs(results)
    table = pd.read_csv(results / "aggregate" / "cases.csv")
    assert list(table["status"]) == ["done", "done"], _logs(results)
    assert len(list((Path(sub["folder"]) / "logs").glob("case-*_[01].out"))) == 2
    assert not list(markers.iterdir())
    assert tree() == before
