"""The selftest kind and the MPI worker, in-process on 1 and 2 ranks."""

from __future__ import annotations

import json

import hpc.stack  # noqa: F401  (orders MPI before DOLFINx; keep first)

import pytest

from studies.kinds.selftest import run_selftest
from studies.store import ResultStore
from studies.study import load_study_text
from studies.worker import run_worker

STUDY = """\
[study]
name = "w"
solve = ["selftest"]
plugins = ["tests.study_kinds"]
[base.selftest]
cells_per_side = 3
edge_mm = 2.0
[sweep.grid]
fault.mode = ["ok", "raise", "return_failed"]
"""


@pytest.mark.mpi
def test_selftest_closed_form(comm, shared_tmp):
    out = run_selftest({"selftest": {"cells_per_side": 3, "edge_mm": 2.0}}, comm, shared_tmp)
    assert out["volume_mm3"] == pytest.approx(8.0, rel=1e-12)
    assert out["area_mm2"] == pytest.approx(24.0, rel=1e-12)
    assert out["cells"] == 27
    assert out["ranks"] == comm.size


@pytest.mark.mpi
def test_worker_outcomes(comm, shared_tmp):
    study = load_study_text(STUDY.replace('solve = ["selftest"]', 'solve = ["selftest", "fault"]'),
                            results_dir=shared_tmp / "r")
    store = ResultStore(study.results_dir)
    if comm.rank == 0:
        for case in study.cases:
            store.write_params(case, study.plugins)
    comm.barrier()
    outcomes = {}
    for case in study.cases:
        work = shared_tmp / case.case_id
        if comm.rank == 0:
            work.mkdir()
        comm.barrier()
        out = run_worker(store.root, case.case_id, work, comm)
        if comm.rank == 0:
            assert json.loads((work / "outcome.json").read_text()) == out
            outcomes[case.axes["fault.mode"]] = out
        else:
            assert out is None
    if comm.rank == 0:
        ok = outcomes["ok"]
        assert ok["status"] == "done" and ok["ranks"] == comm.size
        assert ok["results"]["selftest"]["volume_mm3"] == pytest.approx(8.0)
        assert ok["results"]["fault"] == {"value": 0.0, "ranks": comm.size}
        assert ok["versions"]["dolfinx"].startswith("0.11")
        raised = outcomes["raise"]
        assert raised["status"] == "failed"
        assert "fault: RuntimeError: deliberate failure" in raised["reason"]
        assert "Traceback" in raised["traceback"]
        returned = outcomes["return_failed"]
        assert returned["status"] == "failed" and "diverged" in returned["reason"]
        assert returned["results"]["fault"]["step"] == 3
        # the selftest part ran before the fault kind failed
        assert returned["results"]["selftest"]["cells"] == 27
