"""The verification plugin (tests/verification_plugin.py): merging runs into the file, failures,
a new commit, and real pytest runs (serial, then ``mpirun -n 2``) read back by ``nre report``.

Serial only: the end-to-end test starts pytest itself, under mpirun for the 2-rank run.
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

from postprocess.verification import FORMAT, load_verification
from studies.cli import main as nre
from tests import synthetic_study as S
from tests.verification_plugin import VerificationRecorder, merge_checks, write_verification

REPO = Path(__file__).resolve().parent.parent


def _record(records: list, **kw) -> bool:
    figures = {"solver": "fem.x", "name": "law", "reference": "closed form", "expected": 1.0,
               "computed": 1.001, "error": 1e-3, "tolerance": 1e-2} | kw
    return VerificationRecorder(records, "tests/test_x.py::test_law").record(**figures)


def _run(path: Path, records: list, ranks: int, commit: str | None = "abc") -> dict:
    return write_verification(path, records, ranks=ranks, command=f"run on {ranks}",
                              commit=commit)


def test_serial_then_two_ranks_gives_ranks_1_2(tmp_path):
    path = tmp_path / "verification.json"
    for ranks in (1, 2):
        records: list = []
        assert _record(records, computed=1.0 + 1e-3 * ranks, error=1e-3 * ranks)
        _run(path, records, ranks)
    data = json.loads(path.read_text())
    assert data["format"] == FORMAT and data["git_commit"] == "abc"
    assert data["command"] == "run on 1; run on 2"
    (check,) = data["checks"]
    assert check["ranks"] == [1, 2] and check["passed"] is True
    assert set(check["runs"]) == {"1", "2"}
    assert check["error"] == pytest.approx(2e-3)  # the worst run's figures
    assert check["test"] == "tests/test_x.py::test_law"
    # a rerun on one rank replaces that run, it does not add a rank count
    records = []
    _record(records, error=5e-4)
    _run(path, records, 1)
    (check,) = json.loads(path.read_text())["checks"]
    assert check["ranks"] == [1, 2] and check["runs"]["1"]["error"] == 5e-4
    ver = load_verification(tmp_path, path)
    assert ver.available and ver.meta["git_commit"] == "abc"
    assert ver.summary() == "1/1 checks passed (fem.x)"


def test_failed_check_is_stored_as_failed(tmp_path):
    path = tmp_path / "verification.json"
    records: list = []
    assert not _record(records, error=0.02)  # above the 1e-2 tolerance
    assert not _record(records, name="inequality", error=None, tolerance=None, passed=False)
    assert [r["passed"] for r in records] == [False, False]
    _run(path, records, 1)
    records = []
    _record(records)  # the law passes on 2 ranks: still failed, as the 1-rank run failed
    _run(path, records, 2)
    checks = {c["name"]: c for c in json.loads(path.read_text())["checks"]}
    assert checks["law"]["passed"] is False and checks["law"]["ranks"] == [1, 2]
    assert checks["law"]["error"] == 0.02  # the failed run is the one shown
    assert checks["inequality"]["passed"] is False and "error" not in checks["inequality"]
    ver = load_verification(tmp_path, path)
    assert ver.summary() == "0/2 checks passed (fem.x); 2 FAILED"
    # the fixed code passes on 1 rank again: the new run replaces the failed one
    records = []
    _record(records)
    _run(path, records, 1)
    checks = {c["name"]: c for c in json.loads(path.read_text())["checks"]}
    assert checks["law"]["passed"] is True and checks["inequality"]["passed"] is False


def test_worst_record_of_a_run_is_kept():
    """Records of one key from several ranks (or a loop over cases) keep the worst."""
    records: list = []
    for err in (1e-3, -4e-3, 2e-3):
        _record(records, error=err, computed=1.0 + err)
    (check,) = merge_checks([], records, 2)
    assert check["error"] == -4e-3 and check["computed"] == pytest.approx(0.996)
    assert check["ranks"] == [2] and check["passed"]
    _record(records, error=1e-4, passed=False)
    (check,) = merge_checks([], records, 2)
    assert check["error"] == 1e-4 and not check["passed"]  # a failure beats a larger error


def test_other_commit_starts_fresh_same_commit_merges(tmp_path):
    path = tmp_path / "verification.json"
    records: list = []
    _record(records, name="old check")
    _run(path, records, 1, commit="abc")
    records = []
    _record(records, name="new check")
    _run(path, records, 2, commit="abc")
    names = [c["name"] for c in json.loads(path.read_text())["checks"]]
    assert names == ["old check", "new check"]  # never drops a check of the same code
    _run(path, records, 1, commit="def")
    data = json.loads(path.read_text())
    assert [c["name"] for c in data["checks"]] == ["new check"]
    assert data["checks"][0]["ranks"] == [1] and data["command"] == "run on 1"
    _run(path, records, 1, commit=None)  # no git: no git_commit key, a fresh file
    assert "git_commit" not in json.loads(path.read_text())


def test_nothing_recorded_writes_nothing(tmp_path):
    assert _run(tmp_path / "v.json", [], 1) is None
    assert not (tmp_path / "v.json").exists()


def test_recorder_needs_error_and_tolerance_or_passed():
    records: list = []
    with pytest.raises(ValueError, match="error and tolerance, or passed"):
        _record(records, error=None)
    assert not _record(records, error=math.nan)  # NaN fails, and is not written as NaN
    assert records[-1]["passed"] is False and "error" not in records[-1]
    assert _record(records, error=-5e-3)  # signed errors are compared by magnitude


_TESTS = '''
import os
import pytest

def test_closed_form(verification, comm):
    verification.record(solver="fem.demo", name="square root of 2", reference="math.sqrt",
                        expected=2**0.5, computed=1.4142, error=1.4142 / 2**0.5 - 1,
                        tolerance=1e-4)

@pytest.mark.skipif(os.environ.get("DEMO_FAIL") != "1", reason="serial run only")
def test_failing(verification):
    verification.record(solver="fem.demo", name="pi", reference="math.pi", expected=3.14159,
                        computed=3.0, error=3.0 / 3.14159 - 1, tolerance=1e-3)
    assert False, "recorded first, then failed"

def test_unrelated():
    assert True
'''


def _pytest(tmp_path: Path, env: dict, *args: str, ranks: int = 1) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args]
    if ranks > 1:
        cmd = [str(Path(sys.executable).with_name("mpirun")), "-n", str(ranks), *cmd]
    return subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=300)


@pytest.mark.skipif(not Path(sys.executable).with_name("mpirun").exists(),
                    reason="no mpirun beside this Python")
def test_pytest_runs_write_the_file_and_the_report_shows_it(tmp_path, capsys):
    """Serial run (one check fails), then 2 ranks: the file says ranks [1, 2] and the failure;
    an unrelated test file writes nothing; ``nre report --verification`` lists the checks."""
    (tmp_path / "conftest.py").write_text(
        "import hpc.stack  # noqa: F401\n"
        "import pytest\nfrom mpi4py import MPI\n\n"
        "pytest_plugins = ('tests.verification_plugin',)\n\n\n"
        "@pytest.fixture\ndef comm():\n    return MPI.COMM_WORLD\n")
    (tmp_path / "test_demo.py").write_text(_TESTS)
    out = tmp_path / "out" / "verification.json"
    # a clean environment for the child runs: nothing of an outer mpirun leaks into them
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PMI_", "HYDRA_", "MPIR_", "PMIX_", "OMPI_"))}
    env.update(PYTHONPATH=os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")]),
               NRE_VERIFICATION_FILE=str(out))

    run = _pytest(tmp_path, env, "test_demo.py::test_unrelated")
    assert run.returncode == 0, run.stdout + run.stderr
    assert not out.exists()  # no check recorded: no file

    run = _pytest(tmp_path, env | {"DEMO_FAIL": "1"}, "test_demo.py")
    assert run.returncode == 1, run.stdout + run.stderr  # test_failing fails
    run = _pytest(tmp_path, env, "test_demo.py", ranks=2)
    assert run.returncode == 0, run.stdout + run.stderr

    data = json.loads(out.read_text())
    checks = {c["name"]: c for c in data["checks"]}
    assert checks["square root of 2"]["ranks"] == [1, 2]
    assert checks["square root of 2"]["passed"] is True
    assert checks["square root of 2"]["test"] == "test_demo.py::test_closed_form"
    assert checks["pi"]["ranks"] == [1] and checks["pi"]["passed"] is False
    assert data["command"].startswith("pytest -q -p no:cacheprovider test_demo.py; mpirun -n 2")
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True,
                          text=True)
    if head.returncode == 0:
        assert data["git_commit"].startswith(head.stdout.strip())

    root = S.write_results_folder(tmp_path / "study")
    assert nre(["report", str(root), "--no-renders", "--verification", str(out)]) == 0
    capsys.readouterr()
    page = (root / "report" / "index.html").read_text()
    assert "1/2 checks passed (fem.demo); 1 FAILED" in page
    assert "square root of 2" in page and "test_demo.py::test_closed_form" in page
    assert "[1, 2]" in page  # the ranks column
