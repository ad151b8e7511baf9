"""Records read defensively: a ``record.json`` that is not what the runner writes is ``damaged``
with the reason in ``status``, ``aggregate`` and ``report``; ``run`` does the case again and keeps
the damaged file beside the new record. Nothing reading records crashes on one bad file.

Serial: ``nre study run`` starts its own ``mpirun`` per case.
"""

from __future__ import annotations

import json
from pathlib import Path

import hpc.stack  # noqa: F401  (orders MPI before DOLFINx; keep first)

import pandas as pd
import pytest

from studies.cli import main as nre_all
from studies.store import CaseState, ResultStore, record_problem
from studies.study import load_study
from tests.study_cli import nre

#: (name, what record.json holds, words of the reason)
DAMAGE = [
    ("list", "[]", "record is a list, not a table"),
    ("results-string", None, "results is a string, not a table"),
    ("results-kind-list", None, "results.selftest is a list"),
    ("result-value-table", None, "results.selftest.volume_mm3 is a table, not a scalar"),
    ("truncated", None, "not valid JSON"),
    ("done-no-results", '{"status": "done"}', "results is null"),
    ("done-results-missing", None, "status done without the results of ['selftest']"),
    ("status-unknown", None, "status 'finished' is not done, failed or interrupted"),
    ("provenance-string", None, "provenance is a string"),
    ("slurm-list", None, "provenance.slurm is a list"),
    ("curves-string", None, "curves is a string"),
    ("not-utf8", b"\xff\xfe{}", "not UTF-8"),
    ("empty", "", "not valid JSON"),
    ("other-case", None, "record of case 'x', not of this case"),
]


def _damage(name: str, good: dict, given) -> str | bytes:
    if given is not None:
        return given
    rec = json.loads(json.dumps(good))
    if name == "results-string":
        rec["results"] = "oops"
    elif name == "results-kind-list":
        rec["results"]["selftest"] = [1, 2]
    elif name == "result-value-table":
        rec["results"]["selftest"]["volume_mm3"] = {"a": 1}
    elif name == "truncated":
        return json.dumps(good)[:57]
    elif name == "done-results-missing":
        rec["results"] = {}
    elif name == "status-unknown":
        rec["status"] = "finished"
    elif name == "provenance-string":
        rec["provenance"] = "x"
    elif name == "slurm-list":
        rec["provenance"]["slurm"] = [1]
    elif name == "curves-string":
        rec["curves"] = "curves/x.json"
    elif name == "other-case":
        rec["case_id"] = "x"
    return json.dumps(rec)


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """A selftest study of 3 cases run once; tests copy its results folder."""
    tmp = tmp_path_factory.mktemp("damaged")
    path = tmp / "d.toml"
    path.write_text("""\
[study]
name = "d"
solve = ["selftest"]
[run]
ranks = 1
parallel_cases = 1
[sweep.grid]
selftest.edge_mm = [1.0, 2.0, 3.0]
selftest.cells_per_side = [2]
""")
    assert nre(["study", "run", path]) == 0
    return path


def _copy(finished: Path, tmp_path: Path) -> tuple[Path, object]:
    import shutil

    shutil.copytree(finished.parent, tmp_path / "s")
    path = tmp_path / "s" / finished.name
    return path, load_study(path)


@pytest.mark.parametrize(("name", "given", "reason"), DAMAGE, ids=[d[0] for d in DAMAGE])
def test_damaged_record_in_status_and_aggregate(name, given, reason, finished, tmp_path,
                                                capsys):
    path, study = _copy(finished, tmp_path)
    store = ResultStore(study.results_dir)
    bad = study.cases[1].case_id
    good = store.read_record(bad)
    text = _damage(name, good, given)
    target = store.record_path(bad)
    target.write_bytes(text if isinstance(text, bytes) else text.encode())
    state, record, note = store.state(bad)
    assert state == CaseState.DAMAGED and record is None and reason in note, note
    assert store.read_record(bad) is None
    capsys.readouterr()
    assert nre(["study", "status", study.results_dir]) == 1
    out = capsys.readouterr().out
    assert "3 cases: 1 damaged, 2 done" in out and f"{bad}  damaged" in out and reason in out
    assert nre(["study", "aggregate", study.results_dir]) == 0
    table = pd.read_csv(study.results_dir / "aggregate" / "cases.csv")
    row = table[table["case_id"] == bad].iloc[0]
    assert row["status"] == "damaged" and reason in row["reason"]
    assert pd.isna(row["selftest:volume_mm3"])
    assert list(table["status"]).count("done") == 2


def test_result_folder_without_record_is_damaged(finished, tmp_path):
    _path, study = _copy(finished, tmp_path)
    store = ResultStore(study.results_dir)
    cid = study.cases[0].case_id
    store.record_path(cid).unlink()
    assert store.state(cid)[0] == CaseState.DAMAGED
    assert "result/ holds no record.json" in store.state(cid)[2]


def test_run_redoes_damaged_and_keeps_the_file(finished, tmp_path, capsys):
    path, study = _copy(finished, tmp_path)
    store = ResultStore(study.results_dir)
    ids = [c.case_id for c in study.cases]
    store.record_path(ids[0]).write_text("[]")
    store.record_path(ids[2]).write_text('{"status": "done"}')
    capsys.readouterr()
    assert nre(["study", "run", path]) == 0
    out = capsys.readouterr().out
    assert "3 cases, 2 to run" in out
    for cid, text in ((ids[0], "[]"), (ids[2], '{"status": "done"}')):
        assert store.state(cid)[0] == CaseState.DONE
        kept = list(store.result_dir(cid).glob("record.json.damaged-*"))
        assert len(kept) == 1 and kept[0].read_text() == text
    assert not list(store.result_dir(ids[1]).glob("record.json.damaged-*"))
    table = pd.read_parquet(study.results_dir / "aggregate" / "cases.parquet")
    assert list(table["status"]) == ["done"] * 3


def test_report_lists_damaged_case(finished, tmp_path, capsys):
    _path, study = _copy(finished, tmp_path)
    store = ResultStore(study.results_dir)
    bad = study.cases[0].case_id
    store.record_path(bad).write_text('{"status": "done", "results": "x"')  # truncated
    assert nre_all(["report", str(study.results_dir), "--no-renders"]) == 0
    out = capsys.readouterr().out
    assert "1 damaged" in out and "2 done" in out
    page = (study.results_dir / "report" / "index.html").read_text()
    assert "st-damaged" in page and "record.json is not valid JSON" in page


def test_damaged_snapshot_is_one_line(finished, tmp_path, capsys):
    _path, study = _copy(finished, tmp_path)
    (study.results_dir / "study.json").write_text('{"cases": 3}')
    for cmd in (["study", "status"], ["study", "aggregate"], ["report"]):
        assert nre_all([*cmd, str(study.results_dir)]) == 2, cmd
        err = capsys.readouterr().err
        assert len(err.splitlines()) == 1 and "study.json: damaged" in err, err


def test_damaged_params_are_written_again(finished, tmp_path, capsys):
    path, study = _copy(finished, tmp_path)
    store = ResultStore(study.results_dir)
    cid = study.cases[0].case_id
    (store.case_dir(cid) / "params.json").write_text("{trunc")
    store.record_path(cid).write_text("[]")
    assert nre(["study", "run", path, "--no-aggregate"]) == 0
    assert store.read_params(cid)["case_id"] == cid
    assert store.state(cid)[0] == CaseState.DONE


def test_record_problem_accepts_what_the_runner_writes(finished):
    study = load_study(finished)
    store = ResultStore(study.results_dir)
    for case in study.cases:
        rec = json.loads(store.record_path(case.case_id).read_text())
        assert record_problem(rec, case.case_id) is None
    failed = {**rec, "status": "failed", "results": {}, "reason": "diverged"}
    assert record_problem(failed) is None
