"""Regression references: stored scalar results of small studies, compared within tolerances.

A reference is a JSON file (kept under ``tests/references/``)::

    {"study": "tests/studies/regression_selftest.toml",
     "default_tolerance": {"rtol": 1e-9, "atol": 0.0},
     "tolerances": {"selftest:volume_mm3": {"rtol": 1e-12, "atol": 0.0}},
     "cases": [{"axes": {...}, "case_id": "...", "results": {"selftest:volume_mm3": 1.0}}]}

Cases are matched by their axis values (not their id, which changes whenever a default of the
base case does), results by their ``"<kind>:<key>"`` column. Numbers agree when
``|got - want| <= atol + rtol * |want|``; anything else must be equal.

Re-bless after an intended change with ``nre study bless RESULTS_DIR --reference FILE`` (keeps the
file's stated tolerances), or for the test suite ``NRE_BLESS=1 pytest tests/test_regression.py``.
"""

from __future__ import annotations

import fnmatch
import json
import os
from pathlib import Path

from studies.aggregate import case_rows
from studies.caseid import canonical_json
from studies.store import write_json_atomic

__all__ = ["bless", "compare"]

_DEFAULT_TOL = {"rtol": 1e-9, "atol": 0.0}


def _done_rows(results_dir) -> dict[str, dict]:
    return {canonical_json(_axes(r)): r for r in case_rows(results_dir)}


def _axes(row: dict) -> dict:
    return {k: v for k, v in row.items()
            if "." in k and ":" not in k and k not in ("case_id",)}


def bless(
    results_dir: str | os.PathLike,
    reference: str | os.PathLike,
    *,
    study: str = "",
    default_tolerance: dict | None = None,
) -> dict:
    """Store the results of every case of ``results_dir`` as the reference ``reference``.

    Tolerances and ignored columns (``ignore``: fnmatch patterns, e.g. timings) already stated
    in an existing reference file are kept.

    Raises:
        ValueError: if a case is not done (a reference of failures is no reference).
    """
    reference = Path(reference)
    old = json.loads(reference.read_text()) if reference.exists() else {}
    cases = []
    for row in case_rows(results_dir):
        if row["status"] != "done":
            raise ValueError(f"case {row['case_id']} is {row['status']}: run the study until "
                             "every case is done before blessing")
        cases.append({"axes": _axes(row), "case_id": row["case_id"],
                      "results": {k: v for k, v in row.items() if ":" in k}})
    data = {
        "study": study or old.get("study", ""),
        "default_tolerance": default_tolerance or old.get("default_tolerance", _DEFAULT_TOL),
        "tolerances": old.get("tolerances", {}),
        "ignore": old.get("ignore", []),
        "cases": cases,
    }
    reference.parent.mkdir(parents=True, exist_ok=True)
    write_json_atomic(reference, data)
    return data


def compare(results_dir: str | os.PathLike, reference: str | os.PathLike) -> list[str]:
    """Differences between ``results_dir`` and the reference file; empty when they agree."""
    ref = json.loads(Path(reference).read_text())
    default = ref.get("default_tolerance", _DEFAULT_TOL)
    tolerances = ref.get("tolerances", {})
    ignore = ref.get("ignore", [])  # fnmatch patterns: timings and iteration counts
    rows = _done_rows(results_dir)
    problems = []
    seen = set()
    for case in ref["cases"]:
        key = canonical_json(case["axes"])
        seen.add(key)
        row = rows.get(key)
        where = " ".join(f"{k}={v}" for k, v in case["axes"].items()) or "base"
        if row is None:
            problems.append(f"[{where}] in the reference but not in the study")
            continue
        if row["status"] != "done":
            problems.append(f"[{where}] case {row['case_id']} is {row['status']}: "
                            f"{row.get('reason')}")
            continue
        for col, want in case["results"].items():
            if _ignored(col, ignore):
                continue
            got = row.get(col)
            tol = {**default, **tolerances.get(col, {})}
            if isinstance(want, bool) or not isinstance(want, int | float) or \
                    not isinstance(got, int | float) or isinstance(got, bool):
                if got != want:
                    problems.append(f"[{where}] {col}: got {got!r}, reference {want!r}")
            elif abs(got - want) > tol["atol"] + tol["rtol"] * abs(want):
                problems.append(f"[{where}] {col}: got {got!r}, reference {want!r} "
                                f"(rtol {tol['rtol']:g}, atol {tol['atol']:g})")
        for col in sorted(k for k in row if ":" in k and k not in case["results"]
                          and not _ignored(k, ignore)):
            problems.append(f"[{where}] {col}: new result not in the reference (re-bless)")
    for key, row in rows.items():
        if key not in seen:
            problems.append(f"case {row['case_id']} ({key}) not in the reference (re-bless)")
    return problems


def _ignored(column: str, patterns: list[str]) -> bool:
    return any(fnmatch.fnmatchcase(column, pat) for pat in patterns)
