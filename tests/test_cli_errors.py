"""Every CLI error is one line on stderr, ``nre <cmd>: error: <file>[:<line>]: <what>; ...``,
exit status 2, printed once (by rank 0) under ``mpirun -n 2``; ``--debug`` adds the traceback;
a closed stdout pipe ends the command quietly.

The ``mpi``-marked test runs each error in-process on every rank: rank 0 prints the line, the
other ranks print nothing (serially it is the one-line check).
"""

from __future__ import annotations

import errno
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import hpc.stack  # noqa: F401  (orders MPI before DOLFINx; keep first)

import pytest
from mpi4py import MPI

import studies.store
from studies.cli import main

ROOT = Path(__file__).resolve().parent.parent

STUDY = """\
[study]
name = "e"
solve = ["selftest"]
[run]
ranks = 1
parallel_cases = 1
[sweep.grid]
selftest.edge_mm = [1.0]
"""


def _study(tmp: Path, text: str = STUDY) -> Path:
    path = tmp / "e.toml"
    path.write_text(text)
    return path


def _enospc(name: str):
    """``studies.store.write_json_atomic`` failing like a full disk when writing ``name``."""
    real = studies.store.write_json_atomic

    def write(path, data, **kw):
        if Path(path).name == name:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
        return real(path, data, **kw)
    return write


def _unwritable(tmp: Path) -> Path:
    """A folder this process cannot create anything in (root ignores permission bits: /sys)."""
    if os.geteuid() == 0:
        return Path("/sys/nre-test-results")
    folder = tmp / "ro"
    folder.mkdir()
    folder.chmod(stat.S_IRUSR | stat.S_IXUSR)
    return folder / "results"


def _case_missing_spec(tmp, mp):
    return ["mesh", "--spec", str(tmp / "nope.toml")], "mesh", "nope.toml: No such file"


def _case_missing_params(tmp, mp):
    return (["solve", "balloon", "--params", str(tmp / "nope.toml")], "solve balloon",
            "nope.toml: No such file")


def _case_non_utf8_study(tmp, mp):
    path = tmp / "latin1.toml"
    path.write_bytes(STUDY.replace('"e"', '"e"\ndescription = "Zürich"').encode("latin-1"))
    return ["study", "check", str(path)], "study check", f"{path}:3: not UTF-8 text"


def _case_params_syntax(tmp, mp):
    path = tmp / "p.toml"
    path.write_text("[balloon]\npressure_atm = = 3\n")
    return (["solve", "balloon", "--params", str(path)], "solve balloon",
            f"{path}:2: --params: invalid TOML")


def _case_results_not_writable(tmp, mp):
    return (["study", "run", str(_study(tmp)), "--results", str(_unwritable(tmp))], "study run",
            "nre-test-results" if os.geteuid() == 0 else "Permission denied")


def _case_disk_full(tmp, mp):
    mp.setattr(studies.store, "write_json_atomic", _enospc("study.json"))
    return (["study", "run", str(_study(tmp))], "study run",
            "study.json: No space left on device; allowed: free space")


def _case_no_sbatch(tmp, mp):
    empty = tmp / "bin"
    empty.mkdir()
    mp.setenv("PATH", str(empty))
    return (["slurm", "submit", str(_study(tmp))], "slurm submit",
            "sbatch: not found on PATH; allowed: run on a Slurm login node, or --dry-run")


def _case_usage(tmp, mp):
    return ["study", "chek", "x"], "study", "invalid choice: 'chek'"


ERRORS = [_case_missing_spec, _case_missing_params, _case_non_utf8_study, _case_params_syntax,
          _case_results_not_writable, _case_disk_full, _case_no_sbatch, _case_usage]


@pytest.mark.mpi
@pytest.mark.parametrize("case", ERRORS, ids=[c.__name__[6:] for c in ERRORS])
def test_error_is_one_line_printed_once(case, tmp_path, monkeypatch, capsys):
    argv, cmd, words = case(tmp_path, monkeypatch)
    try:
        code = main(argv)
    except SystemExit as stop:  # argparse's usage errors
        code = stop.code
    err = capsys.readouterr().err
    assert code == 2
    lines = err.splitlines()
    if MPI.COMM_WORLD.rank == 0:
        assert len(lines) == 1, err
        assert lines[0].startswith(f"nre {cmd}: error: ") and words in lines[0], err
        assert "Traceback" not in err
    else:
        assert lines == [], err
    assert not (tmp_path / "results").exists() or not list((tmp_path / "results").rglob(
        "sub-*"))


def test_disk_full_while_recording_leaves_no_attempt(tmp_path, monkeypatch, capsys):
    path = _study(tmp_path)
    monkeypatch.setattr(studies.store, "write_json_atomic", _enospc("record.json"))
    assert main(["study", "run", str(path)]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and "record.json: No space left on device" in err[0], err
    cases = tmp_path / "results" / "e" / "cases"
    (case,) = list(cases.iterdir())
    leftovers = [p.name for p in case.iterdir() if p.name.startswith((".work-", ".trash-"))]
    assert leftovers == [] and not (case / "result").exists() and not (case / "lock").exists()
    assert not list(cases.rglob("*.tmp"))
    monkeypatch.undo()
    assert main(["study", "run", str(path), "--no-aggregate"]) == 0  # the next run completes it


def test_sbatch_refusing_leaves_no_submission_folder(tmp_path, monkeypatch, capsys):
    stubs = tmp_path / "bin"
    stubs.mkdir()
    (stubs / "sbatch").write_text("#!/bin/sh\necho 'sbatch: error: Invalid account' >&2\nexit 1\n")
    (stubs / "sbatch").chmod(0o755)
    monkeypatch.setenv("PATH", f"{stubs}{os.pathsep}{os.environ['PATH']}")
    assert main(["slurm", "submit", str(_study(tmp_path)), "--max-array-size", "10"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and "sbatch: error: Invalid account" in err[0], err
    assert not list((tmp_path / "results" / "e" / "slurm").glob("sub-*"))


def test_debug_adds_the_traceback(tmp_path, capsys):
    assert main(["study", "check", str(tmp_path / "nope.toml"), "--debug"]) == 2
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err and "StudyError" in err
    assert err.splitlines()[-1].startswith("nre study check: error: ")


def test_internal_error_is_one_line_with_a_hint(monkeypatch, capsys, tmp_path):
    import studies.commands

    def boom(args):
        raise KeyError("oops")

    monkeypatch.setattr(studies.commands, "_check", boom)
    path = _study(tmp_path)
    assert main(["study", "check", str(path)]) == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith("nre study check: error: KeyError: 'oops'") and "--debug" in line


def test_broken_pipe_exits_quietly(tmp_path):
    grid = ", ".join(f"{1 + i / 1000:.3f}" for i in range(2000))
    path = _study(tmp_path, STUDY.replace("[1.0]", f"[{grid}]"))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "studies.cli", "study", "status", str(path),
                             "-v"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    first = proc.stdout.readline()
    proc.stdout.close()  # as `| head -1` does
    err = proc.stderr.read().decode()
    proc.wait(timeout=120)
    assert b"2000 cases: 2000 missing" in first
    assert err == "" and proc.returncode == 141, (proc.returncode, err)


def test_version_with_commit_and_outside_a_checkout(tmp_path):
    out = subprocess.run([sys.executable, "-m", "studies.cli", "--version"], capture_output=True,
                         text=True, env={**os.environ, "PYTHONPATH": str(ROOT)}, cwd=tmp_path)
    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True,
                            text=True).stdout.strip()
    assert out.returncode == 0 and out.stdout.startswith("nre 0.1.0 (git ")
    assert commit and commit in out.stdout
    # a copy of the sources that is not a git checkout
    for pkg in ("studies", "hpc", "meshes", "fem", "postprocess"):
        shutil.copytree(ROOT / pkg, tmp_path / "src" / pkg,
                        ignore=shutil.ignore_patterns("__pycache__"))
    out = subprocess.run([sys.executable, "-c", "import sys; sys.path.insert(0, sys.argv[1]); "
                          "from studies.cli import main; main(['--version'])",
                          str(tmp_path / "src")], capture_output=True, text=True, cwd=tmp_path)
    assert out.stdout.strip() == "nre 0.1.0 (git commit unknown: not a git checkout)", out
