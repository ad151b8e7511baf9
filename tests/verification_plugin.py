"""The test suite writes the solvers' verification figures (``tests/verification.json``).

A closed-form or convergence test records what it compares beside its assertion::

    def test_lame(comm, verification):
        ...
        verification.record(solver="fem.solid.hyperelastic", name="Lame: u_r at r_i",
                            reference="closed form (DOMAIN.md sec. 7)", expected=u_a,
                            computed=u_fe, error=u_fe / u_a - 1.0, tolerance=1e-2)
        assert u_fe == pytest.approx(u_a, rel=1e-2)

Record first, then assert, so a check that fails is written down as failed. At the end of the
session rank 0 gathers the records of every rank and merges them into the file (format
``nre-verification/1``, :mod:`postprocess.verification`), which ``nre report`` shows:

* checks are keyed by (solver, name); each keeps one entry per MPI rank count in ``runs``, and a
  rerun on the same rank count replaces that entry. ``ranks`` lists the rank counts run,
  ``passed`` is true only if every one passed, and ``error``/``computed``/``test`` are those of
  the worst run (largest ``|error| / tolerance``). So the serial ``make test`` run, then the
  ``mpirun -n 2`` run, end with ``ranks: [1, 2]``.
* a file written by other code (its ``git_commit`` differs from this checkout's) is replaced,
  not merged: the figures always describe the code that produced them. ``git_commit`` is
  ``git rev-parse HEAD``, with ``-dirty`` when tracked files differ from it.
* nothing is written when no check was recorded (e.g. an unrelated test file was run).
* ``NRE_VERIFICATION_FILE`` redirects the output (the plugin's own tests use it).

Under ``mpirun`` a failing test aborts the whole run (``tests/conftest.py``); just before that,
the failing rank merges its own records, so the failure is still in the file.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import subprocess
from collections.abc import Iterable
from pathlib import Path

import pytest
from mpi4py import MPI

__all__ = ["VerificationRecorder", "merge_checks", "write_verification"]

FILE_ENV = "NRE_VERIFICATION_FILE"
_REPO = Path(__file__).resolve().parent.parent
_SESSION = pytest.StashKey["_Session"]()
#: the figures kept per rank count (``runs``); the worst run's are shown at the top level
_PER_RUN = ("expected", "computed", "error", "tolerance", "test")


def default_path() -> Path:
    """``$NRE_VERIFICATION_FILE``, else ``tests/verification.json`` of this source tree."""
    return Path(os.environ.get(FILE_ENV) or _REPO / "tests" / "verification.json")


def _number(value: float | None) -> float | None:
    """A JSON-safe float; NaN/inf become ``None`` (the check then fails on ``passed``)."""
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


class VerificationRecorder:
    """What the ``verification`` fixture hands a test: ``record`` one check at a time."""

    def __init__(self, records: list[dict], test: str) -> None:
        self._records = records
        self._test = test

    def record(self, *, solver: str, name: str, reference: str,
               error: float | None = None, tolerance: float | None = None,
               expected: float | None = None, computed: float | None = None,
               error_kind: str = "relative", passed: bool | None = None) -> bool:
        """Record one comparison of a solver with its reference.

        Args:
            solver: Module checked (``fem.solid.hyperelastic``, ``meshes.build``...).
            name: What is checked, unique per solver (include the parameters of a case).
            reference: What the value is compared with (closed form, converged answer...).
            error: Measured error, signed or not (relative unless ``error_kind`` says else).
            tolerance: Largest ``|error|`` accepted.
            expected: Reference value.
            computed: Solver value.
            error_kind: ``relative``, ``absolute``, ``rate``... (shown in the report).
            passed: Default ``|error| <= tolerance``; give it for checks that are not an
                error against a tolerance (e.g. an inequality), then ``error`` may be absent.

        Returns:
            Whether the check passed (the test still makes its own assertion).

        Raises:
            ValueError: ``passed`` not given and ``error`` or ``tolerance`` missing.
        """
        err, tol = _number(error), _number(tolerance)
        if passed is None:
            if error is None or tolerance is None:
                raise ValueError(f"verification check {name!r}: give error and tolerance, "
                                 "or passed")
            passed = err is not None and tol is not None and abs(err) <= tol
        check = {"solver": solver, "name": name, "reference": reference,
                 "expected": _number(expected), "computed": _number(computed), "error": err,
                 "tolerance": tol, "error_kind": error_kind, "passed": bool(passed),
                 "test": self._test}
        self._records.append({k: v for k, v in check.items() if v is not None})
        return bool(passed)


def _badness(check: dict) -> tuple[bool, float]:
    """Sort key: failed before passed, then by |error| / tolerance."""
    err, tol = check.get("error"), check.get("tolerance")
    ratio = abs(err) / tol if err is not None and tol else abs(err or 0.0)
    return (not check["passed"], ratio)


def _worst(checks: Iterable[dict]) -> dict:
    checks = list(checks)
    worst = dict(max(checks, key=_badness))
    worst["passed"] = all(c["passed"] for c in checks)
    return worst


def merge_checks(old: list[dict], new: list[dict], ranks: int) -> list[dict]:
    """Merge the records of one run on ``ranks`` MPI ranks into the checks of a file.

    Args:
        old: Checks already in the file (same code), each with its ``runs``.
        new: Records of this run (every rank's), possibly several per (solver, name): the
            worst is kept.
        ranks: MPI size of this run.

    Returns:
        The checks, old order first then new keys; ``runs[str(ranks)]`` replaced by this run,
        ``ranks`` and ``passed`` derived from ``runs``, the figures those of the worst run.
    """
    merged = {(c["solver"], c["name"]): dict(c) for c in old}
    grouped: dict[tuple[str, str], list[dict]] = {}
    for rec in new:
        grouped.setdefault((rec["solver"], rec["name"]), []).append(rec)
    for key, recs in grouped.items():
        this_run = _worst(recs)
        runs = dict(merged.get(key, {}).get("runs", {}))
        runs[str(ranks)] = {k: this_run[k] for k in (*_PER_RUN, "passed") if k in this_run}
        runs = dict(sorted(runs.items(), key=lambda kv: int(kv[0])))
        worst = _worst(runs.values())
        check = {"solver": key[0], "name": key[1]}
        check.update({k: this_run[k] for k in ("reference", "error_kind") if k in this_run})
        check.update({k: worst[k] for k in _PER_RUN if k in worst})
        check.update(ranks=[int(n) for n in runs], passed=worst["passed"], runs=runs)
        merged[key] = check
    return list(merged.values())


def git_commit(repo: Path = _REPO) -> str | None:
    """HEAD of the source tree, ``-dirty`` when tracked files differ; ``None`` without git."""
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True,
                              text=True, timeout=30, check=True).stdout.strip()
        dirty = subprocess.run(["git", "diff", "--quiet", "HEAD", "--"], cwd=repo,
                               capture_output=True, timeout=30).returncode != 0
    except (OSError, subprocess.SubprocessError):
        return None
    return head + ("-dirty" if dirty else "") if head else None


def write_verification(path: Path, records: list[dict], *, ranks: int, command: str,
                       commit: str | None) -> dict | None:
    """Merge ``records`` into the file at ``path`` (atomically) and return what was written.

    An existing file of another ``git_commit`` (or unreadable, or of another format) is
    replaced. Nothing is written, and ``None`` returned, when ``records`` is empty.
    """
    from postprocess.verification import FORMAT  # imported on use: pandas

    if not records:
        return None
    try:
        old = json.loads(path.read_text())
    except (OSError, ValueError):
        old = None
    same = (isinstance(old, dict) and old.get("format") == FORMAT
            and old.get("git_commit") == commit)
    commands = [c for c in (old.get("command", "").split("; ") if same else []) if c]
    data = {"format": FORMAT,
            "generated": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "git_commit": commit,
            "command": "; ".join([*commands, *([command] if command not in commands else [])]),
            "checks": merge_checks(old.get("checks", []) if same else [], records, ranks)}
    if commit is None:
        del data["git_commit"]
    path.parent.mkdir(parents=True, exist_ok=True)
    # a per-process name beside the target (same file system, so os.replace is atomic);
    # plain open() keeps the umask's permissions, unlike mkstemp's 0600
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "w") as out:
            json.dump(data, out, indent=1)
            out.write("\n")
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return data


def _command(config: pytest.Config, size: int) -> str:
    args = " ".join(str(a) for a in config.invocation_params.args)
    launcher = f"mpirun -n {size} " if size > 1 else ""
    return f"{launcher}pytest {args}".rstrip()


@pytest.fixture
def verification(request: pytest.FixtureRequest) -> VerificationRecorder:
    """Records this test's comparisons with closed forms for ``tests/verification.json``."""
    return VerificationRecorder(request.config.stash[_SESSION].records, request.node.nodeid)


class _Session:
    """The records of one pytest session (one rank) and the hooks that write them."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.records: list[dict] = []

    def write(self, records: list[dict], size: int) -> None:
        write_verification(default_path(), records, ranks=size,
                           command=_command(self.config, size), commit=git_commit())

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """Under mpirun a failure aborts every rank (conftest.py): merge this rank's records
        first, so the failed check is in the file (the other ranks' records are lost)."""
        if MPI.COMM_WORLD.size > 1 and report.failed and self.records:
            self.write(self.records, MPI.COMM_WORLD.size)

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        """Rank 0 merges every rank's records into the verification file."""
        comm = MPI.COMM_WORLD
        gathered = comm.gather(self.records, root=0) if comm.size > 1 else [self.records]
        if comm.rank == 0:
            self.write([r for part in gathered for r in part], comm.size)


def pytest_configure(config: pytest.Config) -> None:
    session = _Session(config)
    config.stash[_SESSION] = session
    config.pluginmanager.register(session, "nre-verification-session")
