"""Verification status of the solvers, as the study report shows it.

The report reads one JSON file of verification figures, the first found of: the path given
(``nre report --verification FILE``), ``<results_dir>/verification.json``, and
``tests/verification.json`` of the toolkit's source tree. When none exists, the report says
"not available": it never claims a verification that was not recorded.

Format (``"format": "nre-verification/1"``)::

    {
      "format": "nre-verification/1",
      "generated": "2026-01-01T12:00:00+00:00",      # when the figures were produced
      "git_commit": "0123abcd...",                    # code they were produced with
      "command": "make test",                          # how (optional)
      "checks": [
        {
          "solver": "fem.solid.hyperelastic",               # module / solver checked
          "name": "Lame thick cylinder, hoop stress at r_i",
          "reference": "closed form, DOMAIN.md sec. 7",  # what it is compared with
          "expected": 1.234,                          # reference value (optional)
          "computed": 1.236,                          # solver value (optional)
          "error": 1.6e-3,                            # measured error (relative unless
          "tolerance": 1e-2,                          #   "error_kind" says otherwise)
          "error_kind": "relative",                   # optional: relative | absolute | rate
          "ranks": [1, 2],                            # MPI rank counts run (passed: all)
          "passed": true,                             # required
          "test": "tests/test_solid_lame.py::test_hoop"   # optional
        }
      ]
    }

The test suite writes ``tests/verification.json`` (``tests/verification_plugin.py``, with a
``runs`` entry per rank count). Only ``solver``, ``name`` and ``passed`` are required per check;
a check whose ``error`` exceeds its ``tolerance`` is shown as failed whatever ``passed`` says.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["FORMAT", "Verification", "find_verification", "load_verification"]

FORMAT = "nre-verification/1"
_REPO = Path(__file__).resolve().parent.parent


@dataclass(slots=True)
class Verification:
    """What the report shows about verification.

    Attributes:
        source: The file read, ``None`` when none was found.
        available: Whether usable figures were read.
        problem: Why not (missing file, unreadable, wrong format), "" when available.
        meta: ``generated``, ``git_commit``, ``command`` of the file.
        checks: The checks, each with ``passed`` recomputed against its tolerance.
    """

    source: Path | None
    available: bool
    problem: str = ""
    meta: dict = field(default_factory=dict)
    checks: list[dict] = field(default_factory=list)

    def summary(self) -> str:
        if not self.available:
            return f"not available ({self.problem})"
        failed = sum(1 for c in self.checks if not c["passed"])
        solvers = sorted({c["solver"] for c in self.checks})
        return (f"{len(self.checks) - failed}/{len(self.checks)} checks passed "
                f"({', '.join(solvers)})" + (f"; {failed} FAILED" if failed else ""))


def find_verification(results_dir: str | os.PathLike, explicit: str | os.PathLike | None = None
                      ) -> Path | None:
    """The verification file the report uses (see the module docstring), or ``None``."""
    candidates = [Path(explicit)] if explicit else []
    candidates += [Path(results_dir) / "verification.json", _REPO / "tests" / "verification.json"]
    return next((p for p in candidates if p.is_file()), None)


def load_verification(results_dir: str | os.PathLike, explicit: str | os.PathLike | None = None
                      ) -> Verification:
    """Read and check the verification figures for a study's report."""
    if explicit and not Path(explicit).is_file():
        return Verification(Path(explicit), False, f"{explicit} does not exist")
    path = find_verification(results_dir, explicit)
    if path is None:
        return Verification(None, False, "no verification.json in the study folder or tests/")
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as err:
        return Verification(path, False, f"cannot read {path}: {err}")
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        return Verification(path, False, f"{path}: format is not {FORMAT!r}")
    checks = []
    for i, raw in enumerate(data.get("checks", [])):
        if not isinstance(raw, dict) or not {"solver", "name", "passed"} <= set(raw):
            return Verification(path, False, f"{path}: checks[{i}] needs solver, name, passed")
        check = dict(raw)
        err, tol = check.get("error"), check.get("tolerance")
        within = True
        if isinstance(err, int | float) and isinstance(tol, int | float):
            within = abs(err) <= tol
        check["passed"] = bool(raw["passed"]) and within
        checks.append(check)
    if not checks:
        return Verification(path, False, f"{path}: no checks")
    meta = {k: data.get(k) for k in ("generated", "git_commit", "command") if data.get(k)}
    return Verification(path, True, "", meta, checks)
