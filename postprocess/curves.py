"""Curves of a study's cases: force-displacement per case and overlaid per grade, balloon
pressure-diameter (free and confined).

A case kind stores a curve either as a list result (the worker writes it to
``result/curves/<kind>.<key>.json``, named here ``<kind>.<key>``) or as its own JSON file of
named lists (``result/curves/<stem>.json`` with ``{"a": [...], "b": [...]}``, named here
``<stem>.a``, ``<stem>.b``). A :class:`CurveSpec` names the series to draw by those names; the
defaults follow the convention of the physics kinds (``puncture.outer_wall_force_curve_F_N``
against ``puncture.outer_wall_force_curve_d_mm``, ...) and every name is an argument.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from postprocess.maps import GRADE, PRESSURE, column_label
from postprocess.table import axis_values, is_missing_value

__all__ = ["DEFAULT_CURVES", "CurveSpec", "load_case_curves", "plot_case_curves",
           "plot_overlays", "unclaimed_groups"]


@dataclass(frozen=True, slots=True)
class CurveSpec:
    """A plot of one or more ``(x name, y name, label)`` series of a case's curves.

    Attributes:
        name: File stem.
        title: Plot title.
        series: ``(x, y, label)`` curve names per series (line style tells them apart).
        xlabel, ylabel: Axis labels (default from the first series' names).
    """

    name: str
    title: str
    series: tuple[tuple[str, str, str], ...]
    xlabel: str = ""
    ylabel: str = ""

    def __post_init__(self) -> None:
        if not self.series:
            raise ValueError(f"series = {self.series!r}: give at least one (x, y, label)")

    def labels(self) -> tuple[str, str]:
        x, y, _ = self.series[0]
        return self.xlabel or column_label(x), self.ylabel or column_label(y)


DEFAULT_CURVES: tuple[CurveSpec, ...] = (
    CurveSpec("outer_wall_force_displacement", "needle through the outer wall",
              (("puncture.outer_wall_force_curve_d_mm", "puncture.outer_wall_force_curve_F_N",
                "outer wall"),), "needle displacement [mm]", "force [N]"),
    CurveSpec("flap_force_displacement", "needle through the flap",
              (("puncture.flap_force_curve_d_mm", "puncture.flap_force_curve_F_N", "flap"),),
              "needle displacement [mm]", "force [N]"),
    CurveSpec("balloon_pressure_diameter", "balloon pressure-diameter",
              (("balloon.pressure_curve_atm", "balloon.free_diameter_curve_mm", "free"),
               ("balloon.pressure_curve_atm", "balloon.confined_diameter_curve_mm", "confined")),
              "pressure [atm]", "diameter [mm]"),
)

_STYLES = ("-", "--", ":", "-.")


def load_case_curves(result_dir: str | os.PathLike, listed: Sequence[str] | None = None
                     ) -> dict[str, np.ndarray]:
    """The curves of one case's ``result/`` folder as name -> 1-D array (see the module
    docstring for the names). ``listed``: the record's ``curves`` entries (default: every
    ``curves/*.json``). Unreadable or non-numeric files are skipped."""
    result_dir = Path(result_dir)
    paths = [result_dir / p for p in listed] if listed is not None else \
        sorted((result_dir / "curves").glob("*.json"))
    out: dict[str, np.ndarray] = {}
    for path in paths:
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        items = data.items() if isinstance(data, dict) else [(None, data)]
        for key, values in items:
            try:
                arr = np.asarray(values, dtype=float)
            except (TypeError, ValueError):
                continue
            if arr.ndim == 1 and arr.size:
                out[path.stem if key is None else f"{path.stem}.{key}"] = arr
    return out


def _series(curves: dict[str, np.ndarray], spec: CurveSpec):
    for k, (x, y, label) in enumerate(spec.series):
        if x in curves and y in curves and len(curves[x]) == len(curves[y]):
            yield k, curves[x], curves[y], label


def unclaimed_groups(curves: dict[str, np.ndarray], specs: Sequence[CurveSpec]
                     ) -> dict[str, list[str]]:
    """Curves of named-list files that no spec draws, grouped by file stem (first name of a
    group is its x), e.g. the ``selftest`` kind's ``volume_scaling.t``/``.volume_mm3``."""
    used = {n for s in specs for x, y, _ in s.series for n in (x, y)}
    groups: dict[str, list[str]] = {}
    for name in curves:
        if name in used or "." not in name:
            continue
        stem = name.rsplit(".", 1)[0]
        if stem.count(".") == 0:  # <stem>.<key>: a named-list file, not <kind>.<key>
            groups.setdefault(stem, []).append(name)
    return {k: v for k, v in groups.items() if len(v) > 1}


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_case_curves(curves: dict[str, np.ndarray], png: str | os.PathLike, *,
                     specs: Sequence[CurveSpec] = DEFAULT_CURVES, title: str = "") -> Path | None:
    """One figure with a panel per spec that has data in ``curves`` (plus one per named-list
    file no spec draws). Returns the PNG, or ``None`` when the case has no curve to draw."""
    panels = [s for s in specs if any(True for _ in _series(curves, s))]
    for stem, names in unclaimed_groups(curves, specs).items():
        panels.append(CurveSpec(stem, stem, tuple((names[0], n, n.rsplit(".", 1)[1])
                                                  for n in names[1:])))
    if not panels:
        return None
    plt = _pyplot()
    fig, axs = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 3.4), squeeze=False)
    for ax, spec in zip(axs[0], panels, strict=True):
        for k, x, y, label in _series(curves, spec):
            ax.plot(x, y, _STYLES[k % len(_STYLES)], marker=".", label=label)
        xl, yl = spec.labels()
        ax.set_xlabel(xl)
        ax.set_ylabel(yl)
        ax.set_title(spec.title, fontsize=9)
        ax.grid(alpha=0.3)
        if len(spec.series) > 1:
            ax.legend(fontsize=8)
    if title:
        fig.suptitle(title, fontsize=9)
    png = Path(png)
    png.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(png, dpi=80)
    plt.close(fig)
    return png


def plot_overlays(frame: pd.DataFrame, curves: dict[str, dict[str, np.ndarray]],
                  spec: CurveSpec, png: str | os.PathLike, *, group_by: str = GRADE,
                  colour_by: str = PRESSURE, order: dict | None = None) -> Path | None:
    """The curves of ``spec`` of every finished case, one panel per value of ``group_by``
    (the calcification grade), lines coloured by ``colour_by`` (the balloon pressure).

    Args:
        frame: The case table (``case_id`` and the axes).
        curves: Case id -> its curves (:func:`load_case_curves`).
        spec: What to draw.
        png: Output file.
        group_by, colour_by: Axis columns (ignored when absent from the table).
        order: Axis -> values in drawing order.

    Returns:
        The PNG, or ``None`` when no case has these curves.
    """
    has = [cid for cid in frame["case_id"] if any(True for _ in _series(curves.get(cid, {}),
                                                                        spec))]
    if not has:
        return None
    rows = frame[frame["case_id"].isin(has)]

    def values(axis: str) -> list:
        if axis not in rows:
            return [None]
        known = [v for v in (order or {}).get(axis, []) if v in set(axis_values(rows[axis]))]
        return known + [v for v in axis_values(rows[axis]) if v not in known] or [None]

    groups, colours = values(group_by), values(colour_by)
    plt = _pyplot()
    import matplotlib

    cmap = matplotlib.colormaps["plasma"]
    fig, axs = plt.subplots(1, len(groups), figsize=(4.2 * len(groups), 3.6), squeeze=False,
                            sharey=True)
    for ax, group in zip(axs[0], groups, strict=True):
        sel = rows if group is None else rows[rows[group_by] == group]
        seen: set = set()
        for _, row in sel.iterrows():
            cval = row[colour_by] if colour_by in row else None
            ci = colours.index(cval) if not is_missing_value(cval) and cval in colours else 0
            colour = cmap(0.85 * ci / max(1, len(colours) - 1))
            for k, x, y, _label in _series(curves[row["case_id"]], spec):
                label = None
                if cval not in seen and k == 0 and not is_missing_value(cval):
                    label = f"{cval:g}" if isinstance(cval, float) else str(cval)
                    seen.add(cval)
                ax.plot(x, y, _STYLES[k % len(_STYLES)], color=colour, lw=1.2, label=label)
        xl, yl = spec.labels()
        ax.set_xlabel(xl)
        ax.set_title(spec.title if group is None else f"{group_by} = {group}", fontsize=9)
        ax.grid(alpha=0.3)
        if seen:
            ax.legend(title=colour_by, fontsize=7, title_fontsize=7)
    axs[0, 0].set_ylabel(yl)
    styles = ", ".join(f"{_STYLES[k]} {lab}" for k, (_x, _y, lab) in enumerate(spec.series)) \
        if len(spec.series) > 1 else ""
    fig.suptitle(f"{spec.title}" + (f" ({styles})" if styles else ""), fontsize=10)
    png = Path(png)
    png.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(png, dpi=80)
    plt.close(fig)
    return png

