"""Synthetic study tables and results folders for the post-processing tests (no solver runs).

The values follow closed formulas of the axes, so a test can say which number belongs in which
map cell: ``force(grade, p, gauge, E) = 1 + grade_index + p / 10 + (gauge == 18) * 2 + E / 1000``.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pandas as pd

GRADES = ["pacss-1", "pacss-2", "pacss-3"]
PRESSURES = [2.0, 6.0, 10.0]
GAUGES = [18, 21]
MODULI = [100.0, 1000.0]
AXES = ["calcification.grade", "balloon.pressure_atm", "needle.gauge", "calcium.modulus_MPa"]
#: (grade, pressure, gauge, modulus) of cases that failed / were never run.
FAILED = {("pacss-2", 6.0, 18, 100.0), ("pacss-2", 6.0, 18, 1000.0), ("pacss-1", 10.0, 21, 100.0)}
MISSING = {("pacss-3", 2.0, 21, 100.0), ("pacss-3", 2.0, 21, 1000.0)}


def outer_force(grade: str, p: float, gauge: int, modulus: float) -> float:
    return 1.0 + GRADES.index(grade) + p / 10.0 + (2.0 if gauge == 18 else 0.0) + modulus / 1000


def flap_force(grade: str, p: float, gauge: int, modulus: float) -> float:
    return 10.0 * outer_force(grade, p, gauge, modulus)


def rupture(grade: str, p: float, gauge: int) -> str:
    if grade == "pacss-1" and p == 2.0:
        return "none"
    return "tear" if p >= 10.0 or (p >= 6.0 and gauge == 18) else "pinhole"


def case_id(combo: tuple) -> str:
    grade, p, gauge, modulus = combo
    return f"{grade}-{p:g}-{gauge}-{modulus:g}".replace(".", "p")


def rows() -> list[dict]:
    """One row per case, shaped like ``postprocess.table.load_study_table(...).frame``."""
    out = []
    for i, combo in enumerate(itertools.product(GRADES, PRESSURES, GAUGES, MODULI)):
        grade, p, gauge, modulus = combo
        row = {"case_id": case_id(combo), "index": i, "source": "grid", "status": "done",
               "reason": None, "calcification.grade": grade, "balloon.pressure_atm": p,
               "needle.gauge": gauge, "calcium.modulus_MPa": modulus}
        if combo in FAILED:
            row.update(status="failed", reason="puncture: SNES diverged (DIVERGED_LINE_SEARCH)")
        elif combo in MISSING:
            row.update(status="missing")
        else:
            row.update({
                "puncture:outer_wall_puncture_force_N": outer_force(*combo),
                "puncture:flap_puncture_force_N": flap_force(*combo),
                "puncture:balloon_rupture_mode": rupture(grade, p, gauge),
                # the needle gets through the flap unless grade 3 at low pressure; the device
                # only for grade 1
                "puncture:feasible_needle_18G": not (grade == "pacss-3" and p == 2.0),
                "puncture:feasible_reentry_device": grade == "pacss-1",
                "balloon:channel_diameter_mm": 4.0 + p / 10.0,
            })
        out.append(row)
    return out


def frame() -> pd.DataFrame:
    return pd.DataFrame(rows())


def write_results_folder(root: Path, *, fields: dict[str, str] | None = None) -> Path:
    """A study results folder with these cases as records (``study.json``, ``params.json``,
    ``result/record.json`` with curves), as the runner leaves it. ``fields``: case id -> a field
    file (relative to the case's ``result/``) to list in its record."""
    root = Path(root)
    grid = {"calcification.grade": GRADES, "balloon.pressure_atm": PRESSURES,
            "needle.gauge": GAUGES, "calcium.modulus_MPa": MODULI}
    cases = []
    for row in rows():
        axes = {a: row[a] for a in AXES}
        cases.append({"case_id": row["case_id"], "index": row["index"], "source": "grid",
                      "axes": axes})
        cdir = root / "cases" / row["case_id"]
        cdir.mkdir(parents=True, exist_ok=True)
        (cdir / "params.json").write_text(json.dumps({"case_id": row["case_id"], "axes": axes}))
        if row["status"] == "missing":
            continue
        res = cdir / "result"
        (res / "curves").mkdir(parents=True, exist_ok=True)
        results = {k.split(":")[0]: {} for k in row if ":" in k}
        for key, value in row.items():
            if ":" in key:
                kind, name = key.split(":")
                results[kind][name] = value
        curves = []
        if row["status"] == "done":
            f = row["puncture:outer_wall_puncture_force_N"]
            d = [0.0, 0.1, 0.2, 0.3, 0.4]
            for event, scale in (("outer_wall", 1.0), ("flap", 10.0)):
                for key, vals in ((f"{event}_force_curve_d_mm", d),
                                  (f"{event}_force_curve_F_N",
                                   [scale * f * (x / 0.4) ** 2 for x in d])):
                    (res / "curves" / f"puncture.{key}.json").write_text(json.dumps(vals))
                    curves.append(f"curves/puncture.{key}.json")
            p = [0.0, 2.0, 4.0, 6.0, 8.0, 10.0]
            for key, vals in (("pressure_curve_atm", p),
                              ("free_diameter_curve_mm", [4.0 + 0.1 * x for x in p]),
                              ("confined_diameter_curve_mm", [min(4.0 + 0.1 * x, 4.5)
                                                              for x in p])):
                (res / "curves" / f"balloon.{key}.json").write_text(json.dumps(vals))
                curves.append(f"curves/balloon.{key}.json")
        record = {"case_id": row["case_id"], "status": row["status"], "reason": row["reason"],
                  "solve": ["balloon", "puncture"], "axes": axes, "params": {},
                  "results": results if row["status"] == "done" else {}, "curves": curves,
                  "fields": [fields[row["case_id"]]] if fields and row["case_id"] in fields
                  else [],
                  "provenance": {"git_commit": "0123abcd" * 5, "git_dirty": False,
                                 "versions": {"dolfinx": "0.11.0", "petsc": "3.25.0"},
                                 "ranks": 2, "host": "node1", "slurm": {},
                                 "start": "2026-01-01T00:00:00+00:00",
                                 "end": "2026-01-01T00:01:00+00:00", "wall_s": 60.0}}
        (res / "record.json").write_text(json.dumps(record))
    (root / "study.json").write_text(json.dumps({"name": "synthetic", "solve": ["balloon",
                                                 "puncture"], "axes": AXES, "grid": grid,
                                                 "cases": cases}))
    (root / "study.toml").write_text('[study]\nname = "synthetic"\nsolve = ["balloon", '
                                     '"puncture"]\n[sweep.grid]\n' + "\n".join(
                                         f"{a} = {json.dumps(v)}" for a, v in grid.items()))
    return root
