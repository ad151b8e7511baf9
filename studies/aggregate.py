"""Status and aggregation of a study's results folder.

:func:`case_rows` gives one row per case of the study snapshot (state, reason, axis values,
scalar results as ``"<kind>:<key>"`` columns, provenance summary); :func:`aggregate` writes them as
``aggregate/cases.parquet`` and ``aggregate/cases.csv``, and the grid part of the sweep as a
labelled N-dimensional array ``aggregate/sweep.nc`` (xarray, one dimension per grid axis, one
variable per result, ``status`` and ``case_id`` included so failed cases are marked on maps).

``python -m studies.aggregate RESULTS_DIR`` does the same (the Slurm aggregation job runs it).
"""

from __future__ import annotations

import math
import os
import sys
import uuid
from pathlib import Path

from studies.store import ResultStore

__all__ = ["aggregate", "case_rows", "status_counts"]

#: Columns before the axes and results.
BASE_COLUMNS = ("case_id", "index", "source", "status", "reason")


def case_rows(results_dir: str | os.PathLike, expected: list[dict] | None = None) -> list[dict]:
    """One row per case of the study snapshot in ``results_dir`` (see the module docstring).

    Args:
        results_dir: The study's results folder.
        expected: The cases to report (``case_id``, ``index``, ``source``, ``axes``), default
            the snapshot ``study.json``.
    """
    store = ResultStore(results_dir)
    rows = []
    for entry in store.expected_cases() if expected is None else expected:
        cid = entry["case_id"]
        # state() vets the record (studies.store.record_problem): a damaged one is a
        # "damaged" row with the reason, never a crash.
        state, record, note = store.state(cid)
        row: dict = {"case_id": cid, "index": entry.get("index"), "source": entry.get("source"),
                     "status": str(state), "reason": note or None}
        row.update(entry["axes"])
        if record is not None:
            for kind, values in record["results"].items():
                for key, value in values.items():
                    row[f"{kind}:{key}"] = value
            prov = record.get("provenance", {})
            slurm = prov.get("slurm") or {}
            row["ranks"] = prov.get("ranks")
            row["wall_s"] = prov.get("wall_s")
            row["host"] = prov.get("host")
            row["slurm_job"] = "_".join(str(slurm[k]) for k in ("array_job_id", "array_task_id")
                                        if slurm.get(k)) or None
            row["end"] = prov.get("end")
        rows.append(row)
    return rows


def status_counts(rows: list[dict]) -> dict[str, int]:
    """Cases per state."""
    counts: dict[str, int] = {}
    for row in rows:
        counts[row["status"]] = counts.get(row["status"], 0) + 1
    return counts


def _replace_into(path: Path, write) -> None:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _sweep_dataset(rows: list[dict], grid: dict[str, list], axes: list[str],
                   result_cols: list[str]):
    import numpy as np
    import xarray as xr

    if grid:
        dims = [a for a in axes if a in grid]  # file order (study.json sorts keys)
        shape = tuple(len(grid[d]) for d in dims)
        coords = {d: list(grid[d]) for d in dims}
        position = {}
        for row in rows:
            if row["source"] != "grid":
                continue
            position[row["case_id"]] = tuple(grid[d].index(row[d]) for d in dims)
    else:  # listed cases only: a 1-D array over the cases
        dims = ["case"]
        shape = (len(rows),)
        coords = {"case": [r["case_id"] for r in rows]}
        position = {r["case_id"]: (i,) for i, r in enumerate(rows)}
    status = np.full(shape, "missing", dtype=object)
    ids = np.full(shape, "", dtype=object)
    data = {}
    for col in result_cols:
        values = [r.get(col) for r in rows if r["case_id"] in position]
        numeric = all(v is None or isinstance(v, bool | int | float) for v in values)
        data[col] = np.full(shape, math.nan) if numeric else np.full(shape, "", dtype=object)
    for row in rows:
        pos = position.get(row["case_id"])
        if pos is None:
            continue
        status[pos] = row["status"]
        ids[pos] = row["case_id"]
        for col in result_cols:
            value = row.get(col)
            if value is not None:
                data[col][pos] = float(value) if data[col].dtype != object else str(value)
    variables = {"status": (dims, status), "case_id": (dims, ids)}
    variables.update({col: (dims, arr) for col, arr in data.items()})
    ds = xr.Dataset(variables, coords=coords)
    ds.attrs["description"] = "nre study sweep; status marks failed/missing cases (values NaN)"
    return ds


def aggregate(results_dir: str | os.PathLike) -> dict[str, Path]:
    """Write the table (Parquet, CSV) and the sweep array (netCDF) of ``results_dir``.

    Returns:
        ``{"parquet": path, "csv": path, "netcdf": path}``.
    """
    import pandas as pd

    store = ResultStore(results_dir)
    meta = store.read_snapshot()
    rows = case_rows(store.root)
    axes = list(meta["axes"])
    result_cols = sorted({k for r in rows for k in r if ":" in k})
    extra = ["ranks", "wall_s", "host", "slurm_job", "end"]
    columns = [*BASE_COLUMNS, *axes, *result_cols, *extra]
    frame = pd.DataFrame([{c: r.get(c) for c in columns} for r in rows], columns=columns)
    outdir = store.root / "aggregate"
    outdir.mkdir(parents=True, exist_ok=True)
    paths = {"parquet": outdir / "cases.parquet", "csv": outdir / "cases.csv",
             "netcdf": outdir / "sweep.nc"}
    _replace_into(paths["parquet"], lambda p: frame.to_parquet(p, engine="pyarrow", index=False))
    _replace_into(paths["csv"], lambda p: frame.to_csv(p, index=False))
    ds = _sweep_dataset(rows, meta.get("grid", {}), axes, result_cols)
    ds.attrs["study"] = meta["name"]
    _replace_into(paths["netcdf"], lambda p: ds.to_netcdf(p, engine="netcdf4"))
    return paths


def main(argv: list[str] | None = None) -> int:
    """``python -m studies.aggregate RESULTS_DIR``: aggregate and print the state counts."""
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print("usage: python -m studies.aggregate RESULTS_DIR", file=sys.stderr)
        return 2
    paths = aggregate(argv[0])
    counts = status_counts(case_rows(argv[0]))
    print("aggregated", ", ".join(f"{v} {k}" for k, v in sorted(counts.items())))
    for path in paths.values():
        print(f"  {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
