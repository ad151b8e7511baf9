"""The case table of a study results folder, as the maps, curves and report read it.

:func:`load_study_table` reads the study snapshot and every case record *now* (through
:func:`studies.aggregate.case_rows`), so a report made after more cases finished shows them; it
does not need ``nre study aggregate`` to have run. Columns follow :mod:`studies.aggregate`:
``case_id``, ``index``, ``source``, ``status``, ``reason``, one column per axis named by its path
relative to ``base`` (``balloon.pressure_atm``), one per scalar result named ``<kind>:<key>``
(``puncture:flap_puncture_force_N``), then provenance (``ranks``, ``wall_s``, ``host``,
``slurm_job``, ``end``).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

__all__ = ["StudyTable", "axis_values", "is_missing_value", "load_study_table"]

PROVENANCE_COLUMNS = ("ranks", "wall_s", "host", "slurm_job", "end")


@dataclass(frozen=True, slots=True)
class StudyTable:
    """A study's cases and its snapshot.

    Attributes:
        root: The results folder.
        name: Study name.
        solve: Case kinds each case runs.
        axes: Axis paths in file order.
        grid: Grid axis -> values in file order (the order maps use).
        frame: One row per case (see the module docstring).
        study_text: The study file snapshot (``study.toml``), "" when absent.
    """

    root: Path
    name: str
    solve: list[str]
    axes: list[str]
    grid: dict[str, list]
    frame: pd.DataFrame
    study_text: str = ""
    result_columns: list[str] = field(default_factory=list)

    def order(self) -> dict[str, list]:
        """Axis -> values in the order to draw them: grid order, listed values after it."""
        out: dict[str, list] = {}
        for axis in self.axes:
            known = list(self.grid.get(axis, []))
            if axis in self.frame:
                known += [v for v in axis_values(self.frame[axis]) if v not in known]
            out[axis] = known
        return out


def is_missing_value(value: Any) -> bool:
    """``None``, NaN and pandas' missing markers: a result that is not there."""
    if value is None:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _sort_key(value: Any) -> tuple:
    if isinstance(value, bool | int | float) and not (isinstance(value, float)
                                                      and math.isnan(value)):
        return (0, float(value), "")
    return (1, 0.0, str(value))


def axis_values(series: pd.Series) -> list:
    """Distinct non-missing values of an axis column, numbers ascending then strings."""
    seen: list = []
    for value in series:
        if is_missing_value(value):
            continue
        value = value.item() if hasattr(value, "item") else value
        if value not in seen:
            seen.append(value)
    return sorted(seen, key=_sort_key)


def load_study_table(results_dir: str | os.PathLike) -> StudyTable:
    """Read the study snapshot and case records of ``results_dir`` into a :class:`StudyTable`.

    Raises:
        ValueError: ``results_dir`` is not a study results folder (no ``study.json``).
    """
    from studies.aggregate import BASE_COLUMNS, case_rows
    from studies.store import ResultStore

    root = Path(results_dir).resolve()
    meta_path = root / "study.json"
    if not meta_path.exists():
        raise ValueError(f"{root}: not a study results folder (no study.json); allowed: a "
                         "results folder (run the study first)")
    meta = ResultStore(root).read_snapshot()
    rows = case_rows(root)
    axes = list(meta.get("axes", []))
    result_cols = sorted({k for r in rows for k in r if ":" in k})
    columns = [*BASE_COLUMNS, *axes, *result_cols, *PROVENANCE_COLUMNS]
    frame = pd.DataFrame([{c: r.get(c) for c in columns} for r in rows], columns=columns)
    text_path = root / "study.toml"
    return StudyTable(root=root, name=meta.get("name", root.name), solve=list(meta.get("solve",
                      [])), axes=axes, grid=dict(meta.get("grid", {})), frame=frame,
                      study_text=text_path.read_text() if text_path.exists() else "",
                      result_columns=result_cols)
