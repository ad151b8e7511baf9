"""Regression: small studies' scalar results against stored references, within tolerances.

Re-bless after an intended change (keeps the tolerances stated in the file):

    NRE_BLESS=1 PYTHONPATH=$PWD python -m pytest tests/test_regression.py

or, from a finished run, ``nre study bless RESULTS_DIR --reference tests/references/NAME.json``.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import hpc.stack  # noqa: F401  (orders MPI before DOLFINx; keep first)

import pytest

from studies.regression import bless, compare
from studies.runner import run_study
from studies.store import ResultStore, write_json_atomic
from studies.study import load_study

HERE = Path(__file__).resolve().parent
#: (study file, reference file) pairs; the physics studies are added here.
REGRESSIONS = [("studies/regression_selftest.toml", "references/regression_selftest.json"),
               ("studies/regression_physics.toml", "references/regression_physics.json")]


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """Run every regression study once (module scope: shared by the tests below)."""
    out = {}
    for study_file, _ref in REGRESSIONS:
        study = load_study(HERE / study_file,
                           results_dir=tmp_path_factory.mktemp("regression") / "r")
        summary = run_study(study)
        assert summary.ok, summary
        out[study_file] = study
    return out


@pytest.mark.parametrize(("study_file", "reference"), REGRESSIONS)
def test_matches_reference(finished, study_file, reference):
    study = finished[study_file]
    if os.environ.get("NRE_BLESS") == "1":
        bless(study.results_dir, HERE / reference, study=f"tests/{study_file}")
    problems = compare(study.results_dir, HERE / reference)
    assert not problems, "\n".join(problems)


def test_compare_catches_changes(finished, tmp_path):
    study_file, reference = REGRESSIONS[0]
    study = finished[study_file]
    copy = tmp_path / "copy"
    shutil.copytree(study.results_dir, copy)
    store = ResultStore(copy)
    cid = study.cases[1].case_id
    record = store.read_record(cid)
    record["results"]["selftest"]["volume_mm3"] *= 1 + 1e-6
    write_json_atomic(store.record_path(cid), record)
    problems = compare(copy, HERE / reference)
    assert len(problems) == 1 and "selftest:volume_mm3" in problems[0]
    # a failed case is reported as such
    record["status"], record["reason"] = "failed", "diverged"
    write_json_atomic(store.record_path(cid), record)
    assert "is failed: diverged" in compare(copy, HERE / reference)[0]
    # blessing refuses failures, and a fresh bless keeps the stated tolerances
    with pytest.raises(ValueError, match="is failed"):
        bless(copy, tmp_path / "ref.json")
    ref = json.loads((HERE / reference).read_text())
    (tmp_path / "ref2.json").write_text(json.dumps({**ref, "cases": []}))
    bless(study.results_dir, tmp_path / "ref2.json")
    assert json.loads((tmp_path / "ref2.json").read_text())["tolerances"] == ref["tolerances"]
