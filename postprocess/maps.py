"""Maps of a study over two axes (by default calcification grade x balloon pressure), as PNGs.

Three kinds of map, each drawn one figure per *panel* (a combination of values of the panel
axes, by default one per needle gauge):

* :func:`plot_value_maps` - a numeric result (puncture force, channel diameter) per cell, the value
  printed in the cell, one colour scale shared by every panel of the same result (a 9 N cell has
  the same colour for every gauge);
* :func:`plot_rupture_maps` - the balloon's rupture mode (pinhole / tear / none), with the
  pinhole-to-tear boundary drawn between cells;
* :func:`plot_feasibility_maps` - where the percutaneous needle punctures the flap and where a
  from-inside re-entry device cannot;
* :func:`plot_first_failure_maps` - which fails first as the balloon pressure rises (the balloon
  bursts, the wall perforates, or none up to the rated burst pressure) and at what pressure
  (:func:`first_failure`).

Every cell collects the cases of the table that fall in it. When other axes vary inside a cell
(an uncertain parameter such as the calcium modulus or the fracture energy is swept), the cell
shows the median and the min-max over those cases, and a category map shows the counts, so the
spread the uncertainty causes is visible; :func:`plot_small_multiples` draws one panel per value of
such an axis instead. A cell with no finished value is never drawn as a number: it is grey and
hatched with the label ``failed`` (a case of it failed), ``missing`` (not run yet, running,
interrupted or absent from the table) or ``no value`` (done, but the result is empty).

Column names are arguments (defaults follow :mod:`studies.aggregate`: axes by their path relative
to ``base``, results as ``<kind>:<key>``). Every function returns the grids it drew (cell values,
states and case ids) and the colour normalisation, and :func:`write_maps_json` writes them as
``maps.json`` so that every number on a map can be traced to its case record.
"""

from __future__ import annotations

import itertools
import json
import math
import os
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from postprocess.table import axis_values, is_missing_value

__all__ = [
    "CATEGORY_COLOURS",
    "MapGrid",
    "MapSet",
    "category_grid",
    "column_label",
    "feasibility_category",
    "first_failure",
    "plot_first_failure_maps",
    "plot_feasibility_maps",
    "plot_rupture_maps",
    "plot_small_multiples",
    "plot_value_maps",
    "value_grid",
    "write_maps_json",
]

#: Default axes and result columns (the naming convention of the case kinds).
GRADE = "calcification.grade"
PRESSURE = "balloon.pressure_atm"
GAUGE = "needle.gauge"
FILM = "balloon.film_thickness_mm"
RUPTURE = "puncture:balloon_rupture_mode"
NEEDLE_OK = "puncture:feasible_needle_18G"
DEVICE_OK = "puncture:feasible_reentry_device"
WALL_RUPTURE_P = "balloon:outer_wall_rupture_pressure_atm"  # media or adventitia: perforation
OUTER_LAYERS = ("media", "adventitia")
BURST_P = "puncture:balloon_burst_atm"
RBP = "puncture:balloon_rated_burst_atm"
SEARCH_END = "balloon:wall_failure_search_end"
SEARCH_END_P = "balloon:wall_failure_search_end_atm"
#: Derived column: the pressure of the first failure (:func:`first_failure`).
FIRST_FAILURE_P = "first_failure_pressure_atm"

#: Cell states; only "ok" cells carry a value.
OK, FAILED, MISSING, NO_VALUE = "ok", "failed", "missing", "no value"

#: Category colours (rupture modes, feasibility classes; "mixed" when cases of a cell disagree).
CATEGORY_COLOURS = {
    "pinhole": "#4daf4a",
    "tear": "#e41a1c",
    "none": "#377eb8",
    "NRE only": "#1b9e77",
    "both": "#a6d96a",
    "device only": "#fdae61",
    "neither": "#d7191c",
    "mixed": "#984ea3",
    "balloon bursts": "#ff7f00",
    "none up to RBP": "#377eb8",
    "wall: intima": "#fb9a99",
    "wall: calcium": "#bdbdbd",
    "wall: media": "#e31a1c",
    "wall: adventitia": "#67000d",
}
_EXTRA_COLOURS = ("#a65628", "#f781bf", "#999933", "#66c2a5", "#8da0cb")
_BLANK = "#d0d0d0"
_UNITS = {"N", "mm", "MPa", "kPa", "atm", "deg", "s", "mm2", "mm3", "J", "Jm2", "um"}


def column_label(column: str) -> str:
    """Readable label of a column: ``puncture:flap_puncture_force_N`` -> ``flap force [N]``."""
    key = column.split(":", 1)[-1].rsplit(".", 1)[-1]
    parts = key.split("_")
    unit = ""
    if len(parts) > 1 and parts[-1] in _UNITS:
        unit = f" [{parts.pop()}]"
    return " ".join(parts) + unit


def _plain(value: Any) -> Any:
    """JSON-ready scalar (numpy -> Python, NaN -> None)."""
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9.=-]+", "_", text).strip("_") or "map"


@dataclass(slots=True)
class MapGrid:
    """What one map panel shows, cell by cell (arrays are ``[iy, ix]``).

    Attributes:
        column: The result column (or a name for a derived category).
        x_axis, y_axis: Axis columns along x (columns of the map) and y (rows).
        x_values, y_values: The axis values, in drawing order.
        panel: Panel axis -> value selecting this panel's cases.
        spread_axes: Other axes that vary inside cells (uncertain parameters).
        state: ``"ok" | "failed" | "missing" | "no value"`` per cell.
        value: Median of the finished values (numeric maps, NaN where not ok) or the category
            (category maps: one category, ``"mixed"``, or ``""`` where not ok).
        low, high: Min and max over the cell's finished values (numeric maps).
        counts: Category -> number of cases per cell (category maps).
        cases: Per cell, one dict per case: ``case_id``, ``status``, ``value``, ``reason`` and
            the spread-axis values.
    """

    column: str
    x_axis: str
    y_axis: str
    x_values: list
    y_values: list
    panel: dict
    spread_axes: list[str]
    state: np.ndarray
    value: np.ndarray
    low: np.ndarray
    high: np.ndarray
    counts: np.ndarray
    cases: np.ndarray

    def index(self, x: Any, y: Any) -> tuple[int, int]:
        """``(iy, ix)`` of the cell at axis values ``x``, ``y``."""
        return self.y_values.index(y), self.x_values.index(x)

    def cell(self, x: Any, y: Any) -> dict:
        """The JSON record of the cell at ``x``, ``y`` (see :meth:`cells`)."""
        iy, ix = self.index(x, y)
        return self._cell(iy, ix)

    def _cell(self, iy: int, ix: int) -> dict:
        cases = self.cases[iy, ix]
        out = {"x": _plain(self.x_values[ix]), "y": _plain(self.y_values[iy]),
               "state": str(self.state[iy, ix]), "value": _plain(self.value[iy, ix])}
        if self.value.dtype != object:
            out["min"] = _plain(self.low[iy, ix])
            out["max"] = _plain(self.high[iy, ix])
        else:
            out["counts"] = dict(self.counts[iy, ix])
        if out["value"] == "":
            out["value"] = None
        out["case_ids"] = [c["case_id"] for c in cases]
        if len(cases) == 1:
            out["case_id"] = cases[0]["case_id"]
        out["cases"] = cases
        return out

    def cells(self) -> list[dict]:
        """Every cell as a JSON-ready dict: axis values, state, value, min/max or counts, and
        the cases behind it (id, status, value, failure reason, spread-axis values)."""
        return [self._cell(iy, ix) for iy in range(len(self.y_values))
                for ix in range(len(self.x_values))]


@dataclass(slots=True)
class MapSet:
    """The figures of one map (one file per panel) and what they show.

    Attributes:
        name: Short name (file stem).
        title: Title printed on the figures.
        kind: ``"value"`` or ``"category"``.
        grids: One :class:`MapGrid` per panel.
        paths: The PNG of each panel.
        norm: The colour normalisation shared by all panels (value maps).
        artists: The ``QuadMesh`` drawn for each panel (value maps), for checks.
        boundaries: Per panel, the boundary segments drawn ``((x0, y0), (x1, y1))`` in cell
            index coordinates (rupture maps).
    """

    name: str
    title: str
    kind: str
    grids: list[MapGrid]
    paths: list[Path]
    norm: Any = None
    artists: list = field(default_factory=list)
    boundaries: list[list] = field(default_factory=list)

    def to_json(self) -> dict:
        """The map as JSON: per panel its file, axes, colour limits and cells."""
        panels = []
        for i, grid in enumerate(self.grids):
            entry = {"file": self.paths[i].name if i < len(self.paths) else None,
                     "panel": {k: _plain(v) for k, v in grid.panel.items()},
                     "x_axis": grid.x_axis, "y_axis": grid.y_axis,
                     "spread_axes": grid.spread_axes, "cells": grid.cells()}
            if self.boundaries:
                entry["boundary"] = [[list(a), list(b)] for a, b in self.boundaries[i]]
            panels.append(entry)
        out = {"title": self.title, "kind": self.kind, "column": self.grids[0].column
               if self.grids else None, "panels": panels}
        if self.norm is not None:
            out["vmin"], out["vmax"] = _plain(self.norm.vmin), _plain(self.norm.vmax)
        return out


# -- grids ------------------------------------------------------------------------------------


def _values_of(frame: pd.DataFrame, axis: str, order: dict | None) -> list:
    known = list((order or {}).get(axis, []))
    if axis in frame:
        known += [v for v in axis_values(frame[axis]) if v not in known]
    return known


def _panel_rows(frame: pd.DataFrame, panel: dict) -> pd.DataFrame:
    mask = pd.Series(True, index=frame.index)
    for axis, value in panel.items():
        mask &= frame[axis].map(lambda v, want=value: not is_missing_value(v) and v == want)
    return frame[mask]


def _spread_axes(rows: pd.DataFrame, skip: Sequence[str], axes: Sequence[str] | None) -> list[str]:
    candidates = axes if axes is not None else [c for c in rows.columns
                                                if c not in _NON_AXIS and ":" not in c]
    return [a for a in candidates if a not in skip and a in rows
            and len(axis_values(rows[a])) > 1]


_NON_AXIS = {"case_id", "index", "source", "status", "reason", "ranks", "wall_s", "host",
             "slurm_job", "end"}


def _buckets(frame: pd.DataFrame, x_axis: str, y_axis: str, panel: dict, order: dict | None,
             axes: Sequence[str] | None):
    for axis in (x_axis, y_axis):
        if axis not in frame:
            raise ValueError(f"axis = {axis!r} is not a column of the table; columns: "
                             f"{[c for c in frame.columns if ':' not in c]}")
    xs, ys = _values_of(frame, x_axis, order), _values_of(frame, y_axis, order)
    rows = _panel_rows(frame, panel)
    spread = _spread_axes(rows, [x_axis, y_axis, *panel], axes)
    buckets: dict[tuple[int, int], list] = {}
    for _, row in rows.iterrows():
        x, y = row[x_axis], row[y_axis]
        if is_missing_value(x) or is_missing_value(y) or x not in xs or y not in ys:
            continue
        buckets.setdefault((ys.index(y), xs.index(x)), []).append(row)
    return xs, ys, spread, buckets


def _case_entry(row: pd.Series, value: Any, spread: list[str]) -> dict:
    entry = {"case_id": row["case_id"], "status": row["status"], "value": _plain(value)}
    if row["status"] != "done" and not is_missing_value(row.get("reason")):
        entry["reason"] = row["reason"]
    for axis in spread:
        entry[axis] = _plain(row[axis])
    return entry


def _empty_state(ny: int, nx: int) -> dict:
    return {"state": np.full((ny, nx), MISSING, dtype=object),
            "low": np.full((ny, nx), math.nan), "high": np.full((ny, nx), math.nan),
            "counts": np.empty((ny, nx), dtype=object),
            "cases": np.empty((ny, nx), dtype=object)}


def _not_ok_state(rows: list) -> str:
    statuses = [r["status"] for r in rows]
    if "failed" in statuses:
        return FAILED
    if "done" in statuses:
        return NO_VALUE
    return MISSING


def _numeric(value: Any) -> float:
    if is_missing_value(value) or isinstance(value, str):
        return math.nan
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def value_grid(frame: pd.DataFrame, column: str, *, x_axis: str = PRESSURE,
               y_axis: str = GRADE, panel: dict | None = None, order: dict | None = None,
               axes: Sequence[str] | None = None) -> MapGrid:
    """The numeric map of ``column`` over ``x_axis`` x ``y_axis`` for the cases of ``panel``.

    Args:
        frame: The case table (:attr:`postprocess.table.StudyTable.frame`).
        column: The result column, e.g. ``"puncture:flap_puncture_force_N"`` (absent: every finished
            case has "no value").
        x_axis, y_axis: Axis columns.
        panel: Axis -> value restricting the cases (e.g. ``{"needle.gauge": 18}``).
        order: Axis -> values in drawing order (default: numbers ascending, then strings);
            values of the table not listed are appended.
        axes: The study's axes (to find those varying inside a cell); default every column
            that is neither a result nor bookkeeping.
    """
    panel = dict(panel or {})
    xs, ys, spread, buckets = _buckets(frame, x_axis, y_axis, panel, order, axes)
    ny, nx = len(ys), len(xs)
    st = _empty_state(ny, nx)
    value = np.full((ny, nx), math.nan)
    for iy, ix in itertools.product(range(ny), range(nx)):
        rows = buckets.get((iy, ix), [])
        vals = [_numeric(r[column]) if column in r else math.nan for r in rows]
        st["cases"][iy, ix] = [_case_entry(r, v, spread) for r, v in zip(rows, vals,
                                                                          strict=True)]
        st["counts"][iy, ix] = {}
        done = [v for r, v in zip(rows, vals, strict=True) if r["status"] == "done"
                and math.isfinite(v)]
        if done:
            st["state"][iy, ix] = OK
            value[iy, ix] = float(np.median(done))
            st["low"][iy, ix], st["high"][iy, ix] = min(done), max(done)
        else:
            st["state"][iy, ix] = _not_ok_state(rows)
    return MapGrid(column, x_axis, y_axis, xs, ys, panel, spread, st["state"], value,
                   st["low"], st["high"], st["counts"], st["cases"])


def category_grid(frame: pd.DataFrame, classify: Callable[[pd.Series], str | None], *,
                  name: str, x_axis: str = PRESSURE, y_axis: str = GRADE,
                  panel: dict | None = None, order: dict | None = None,
                  axes: Sequence[str] | None = None) -> MapGrid:
    """A category map: ``classify(row)`` gives each finished case's category (``None``: no
    value); a cell shows its one category, or ``"mixed"`` with the counts when its cases
    disagree. Arguments as :func:`value_grid`; ``name`` labels the map in JSON."""
    panel = dict(panel or {})
    xs, ys, spread, buckets = _buckets(frame, x_axis, y_axis, panel, order, axes)
    ny, nx = len(ys), len(xs)
    st = _empty_state(ny, nx)
    value = np.full((ny, nx), "", dtype=object)
    for iy, ix in itertools.product(range(ny), range(nx)):
        rows = buckets.get((iy, ix), [])
        cats = [classify(r) if r["status"] == "done" else None for r in rows]
        st["cases"][iy, ix] = [_case_entry(r, c, spread) for r, c in zip(rows, cats,
                                                                          strict=True)]
        counts = Counter(c for c in cats if c is not None)
        st["counts"][iy, ix] = dict(counts)
        if counts:
            st["state"][iy, ix] = OK
            value[iy, ix] = next(iter(counts)) if len(counts) == 1 else "mixed"
        else:
            st["state"][iy, ix] = _not_ok_state(rows)
    return MapGrid(name, x_axis, y_axis, xs, ys, panel, spread, st["state"], value,
                   st["low"], st["high"], st["counts"], st["cases"])


def _panels(frame: pd.DataFrame, panel_axes: Sequence[str], order: dict | None) -> list[dict]:
    present = [a for a in panel_axes if a in frame and axis_values(frame[a])]
    if not present:
        return [{}]
    values = [_values_of(frame, a, order) for a in present]
    return [dict(zip(present, combo, strict=True)) for combo in itertools.product(*values)]


# -- drawing ----------------------------------------------------------------------------------


def _fmt(value: float) -> str:
    if value == 0 or 1e-2 <= abs(value) < 1e4:
        return f"{value:.3g}"
    return f"{value:.2e}"


def _axis_ticks(ax, grid: MapGrid) -> None:
    ax.set_xticks(range(len(grid.x_values)), [str(v) for v in grid.x_values])
    ax.set_yticks(range(len(grid.y_values)), [str(v) for v in grid.y_values])
    ax.set_xlabel(grid.x_axis)
    ax.set_ylabel(grid.y_axis)
    ax.set_xlim(-0.5, len(grid.x_values) - 0.5)
    ax.set_ylim(-0.5, len(grid.y_values) - 0.5)


def _blank_cell(ax, ix: int, iy: int, state: str) -> None:
    from matplotlib.patches import Rectangle

    # Grey and hatched, with the state written out: a failed case must never read as a value.
    ax.add_patch(Rectangle((ix - 0.5, iy - 0.5), 1, 1, facecolor=_BLANK, edgecolor="#707070",
                           hatch="///" if state == FAILED else "..", linewidth=0.5))
    ax.text(ix, iy, state, ha="center", va="center", fontsize=8, color="#202020",
            bbox={"boxstyle": "round,pad=0.15", "facecolor": "white", "alpha": 0.8,
                  "linewidth": 0})


def _text_colour(rgba) -> str:
    r, g, b = rgba[:3]
    return "black" if 0.299 * r + 0.587 * g + 0.114 * b > 0.5 else "white"


def _panel_title(title: str, grid: MapGrid) -> str:
    panel = ", ".join(f"{k} = {v}" for k, v in grid.panel.items())
    out = f"{title}\n{panel}" if panel else title
    if grid.spread_axes:
        out += f"\nmedian, [min-max] over {', '.join(grid.spread_axes)}"
    return out


def _draw_value_panel(ax, grid: MapGrid, norm, cmap):
    ny, nx = grid.value.shape
    data = np.ma.masked_invalid(grid.value)
    mesh = ax.pcolormesh(np.arange(nx + 1) - 0.5, np.arange(ny + 1) - 0.5, data, norm=norm,
                         cmap=cmap, shading="flat", edgecolors="white", linewidth=0.5)
    for iy, ix in itertools.product(range(ny), range(nx)):
        state = grid.state[iy, ix]
        if state != OK:
            _blank_cell(ax, ix, iy, state)
            continue
        lines = [_fmt(grid.value[iy, ix])]
        n_ok = sum(1 for c in grid.cases[iy, ix] if c["status"] == "done"
                   and c["value"] is not None)
        if n_ok > 1:
            lines.append(f"[{_fmt(grid.low[iy, ix])}-{_fmt(grid.high[iy, ix])}]")
        n_bad = sum(1 for c in grid.cases[iy, ix] if c["status"] != "done")
        if n_bad:
            lines.append(f"+{n_bad} not done")
        ax.text(ix, iy, "\n".join(lines), ha="center", va="center", fontsize=8,
                color=_text_colour(cmap(norm(grid.value[iy, ix]))))
    _axis_ticks(ax, grid)
    return mesh


def _figure(nx: int, ny: int, ncols: int = 1, nrows: int = 1):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    w = max(4.5, 1.0 * nx + 2.5) * ncols
    h = max(3.5, 0.7 * ny + 2.2) * nrows
    fig, axes = plt.subplots(nrows, ncols, figsize=(w, h), squeeze=False)
    return fig, axes


def _save(fig, path: Path) -> Path:
    import matplotlib.pyplot as plt

    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90, bbox_inches="tight")
    plt.close(fig)
    return path


def _file_name(name: str, panel: dict) -> str:
    tail = "__".join(f"{k}={v}" for k, v in panel.items())
    return _slug(f"{name}__{tail}" if tail else name) + ".png"


def _shared_norm(grids: list[MapGrid]):
    from matplotlib.colors import Normalize

    lows = [g.low[np.isfinite(g.low)] for g in grids]
    highs = [g.high[np.isfinite(g.high)] for g in grids]
    lows = np.concatenate(lows) if lows else np.array([])
    highs = np.concatenate(highs) if highs else np.array([])
    if lows.size == 0:
        return Normalize(0.0, 1.0)
    vmin, vmax = float(lows.min()), float(highs.max())
    if vmin == vmax:  # a flat map still needs a non-empty range
        pad = abs(vmin) * 0.05 or 1.0
        vmin, vmax = vmin - pad, vmax + pad
    return Normalize(vmin, vmax)


def plot_value_maps(frame: pd.DataFrame, column: str, outdir: str | os.PathLike, *,
                    x_axis: str = PRESSURE, y_axis: str = GRADE,
                    panel_axes: Sequence[str] = (GAUGE,), order: dict | None = None,
                    axes: Sequence[str] | None = None, name: str | None = None,
                    title: str | None = None, cmap: str = "viridis", norm=None) -> MapSet:
    """One PNG per panel of the numeric result ``column``, colour scale shared by all panels.

    Args:
        frame: The case table.
        column: Result column, e.g. ``"puncture:outer_wall_puncture_force_N"``.
        outdir: Folder for the PNGs.
        x_axis, y_axis: Map axes (default balloon pressure along x, calcification grade along y).
        panel_axes: One figure per combination of their values (axes absent from the table are
            ignored), e.g. ``("needle.gauge",)``.
        order: Axis -> values in drawing order.
        axes: The study's axes (see :func:`value_grid`).
        name: File stem (default from ``column``).
        title: Figure title (default from ``column``).
        cmap: Matplotlib colour map.
        norm: A ``matplotlib.colors.Normalize`` to use instead of the shared min-max of all
            panels (e.g. to share it with other figures).

    Returns:
        The :class:`MapSet` (grids, files, the shared ``norm``, the drawn meshes).
    """
    import matplotlib

    matplotlib.use("Agg")
    name = name or _slug(column.replace(":", "-"))
    title = title or column_label(column)
    grids = [value_grid(frame, column, x_axis=x_axis, y_axis=y_axis, panel=p, order=order,
                        axes=axes) for p in _panels(frame, panel_axes, order)]
    norm = norm or _shared_norm(grids)
    colours = matplotlib.colormaps[cmap]
    out = MapSet(name, title, "value", grids, [], norm)
    for grid in grids:
        fig, axs = _figure(len(grid.x_values), len(grid.y_values))
        ax = axs[0, 0]
        mesh = _draw_value_panel(ax, grid, norm, colours)
        fig.colorbar(mesh, ax=ax, label=column_label(column))
        ax.set_title(_panel_title(title, grid), fontsize=9)
        out.artists.append(mesh)
        out.paths.append(_save(fig, Path(outdir) / _file_name(name, grid.panel)))
    return out


def plot_small_multiples(frame: pd.DataFrame, column: str, outdir: str | os.PathLike, *,
                         row_axis: str, col_axis: str | None = GAUGE, x_axis: str = PRESSURE,
                         y_axis: str = GRADE, order: dict | None = None,
                         axes: Sequence[str] | None = None, name: str | None = None,
                         title: str | None = None, cmap: str = "viridis",
                         norm=None) -> MapSet:
    """One figure of panels: a row per value of ``row_axis`` (an uncertain parameter), a column
    per value of ``col_axis`` (e.g. the gauge), one shared colour scale and colour bar.

    Returns:
        The :class:`MapSet`; its single path is the figure.
    """
    import matplotlib

    matplotlib.use("Agg")
    name = name or _slug(f"{column.replace(':', '-')}__by__{row_axis}")
    title = title or f"{column_label(column)} by {row_axis}"
    rows = _values_of(frame, row_axis, order)
    cols = _values_of(frame, col_axis, order) if col_axis and col_axis in frame else [None]
    grids = []
    for rv, cv in itertools.product(rows, cols):
        panel = {row_axis: rv} if cv is None else {row_axis: rv, col_axis: cv}
        grids.append(value_grid(frame, column, x_axis=x_axis, y_axis=y_axis, panel=panel,
                                order=order, axes=axes))
    norm = norm or _shared_norm(grids)
    colours = matplotlib.colormaps[cmap]
    fig, axs = _figure(len(grids[0].x_values), len(grids[0].y_values), len(cols), len(rows))
    out = MapSet(name, title, "value", grids, [], norm)
    for k, grid in enumerate(grids):
        ax = axs[k // len(cols), k % len(cols)]
        out.artists.append(_draw_value_panel(ax, grid, norm, colours))
        if k % len(cols):
            ax.set_ylabel("")
        if k // len(cols) < len(rows) - 1:
            ax.set_xlabel("")
        ax.set_title(", ".join(f"{a} = {v}" for a, v in grid.panel.items()), fontsize=9)
    fig.colorbar(out.artists[0], ax=axs, label=column_label(column), shrink=0.8)
    fig.suptitle(title)
    path = _save(fig, Path(outdir) / (_slug(name) + ".png"))
    out.paths = [path] * len(grids)
    return out


def _colour_of(category: str, extra: dict) -> str:
    if category in CATEGORY_COLOURS:
        return CATEGORY_COLOURS[category]
    if category not in extra:
        extra[category] = _EXTRA_COLOURS[len(extra) % len(_EXTRA_COLOURS)]
    return extra[category]


def _draw_category_panel(ax, grid: MapGrid, extra: dict) -> set[str]:
    from matplotlib.patches import Rectangle

    used = set()
    ny, nx = grid.value.shape
    for iy, ix in itertools.product(range(ny), range(nx)):
        state = grid.state[iy, ix]
        if state != OK:
            _blank_cell(ax, ix, iy, state)
            continue
        cat = grid.value[iy, ix]
        used.add(cat)
        ax.add_patch(Rectangle((ix - 0.5, iy - 0.5), 1, 1, facecolor=_colour_of(cat, extra),
                               edgecolor="white", linewidth=0.5))
        counts = grid.counts[iy, ix]
        n_ok = sum(counts.values())
        if cat == "mixed":
            lines = [f"{n} {c}" for c, n in sorted(counts.items())]
        else:
            lines = [cat if n_ok == 1 else f"{cat} ({n_ok})"]
        n_bad = sum(1 for c in grid.cases[iy, ix] if c["status"] != "done")
        if n_bad:
            lines.append(f"+{n_bad} not done")
        ax.text(ix, iy, "\n".join(lines), ha="center", va="center", fontsize=7,
                bbox={"boxstyle": "round,pad=0.1", "facecolor": "white", "alpha": 0.7,
                      "linewidth": 0})
    _axis_ticks(ax, grid)
    return used


def _legend(ax, used: set[str], extra: dict, *, boundary: bool = False) -> None:
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    handles = [Patch(facecolor=_colour_of(c, extra), label=c) for c in sorted(used)]
    handles += [Patch(facecolor=_BLANK, hatch="///", label="failed"),
                Patch(facecolor=_BLANK, hatch="..", label="missing / no value")]
    if boundary:
        handles.append(Line2D([], [], color="black", linewidth=3.0,
                              label="pinhole / tear boundary"))
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize=8)


def _category_maps(frame, classify, outdir, *, name, title, x_axis, y_axis, panel_axes, order,
                   axes, boundary_sides: Callable[[MapGrid, int, int], str | None] | None):
    import matplotlib

    matplotlib.use("Agg")
    grids = [category_grid(frame, classify, name=name, x_axis=x_axis, y_axis=y_axis, panel=p,
                           order=order, axes=axes) for p in _panels(frame, panel_axes, order)]
    out = MapSet(name, title, "category", grids, [])
    extra: dict = {}
    for grid in grids:
        fig, axs = _figure(len(grid.x_values), len(grid.y_values))
        ax = axs[0, 0]
        used = _draw_category_panel(ax, grid, extra)
        segments = _boundary(grid, boundary_sides) if boundary_sides is not None else []
        for (x0, y0), (x1, y1) in segments:
            ax.plot([x0, x1], [y0, y1], color="black", linewidth=3.0, solid_capstyle="round")
        if boundary_sides is not None:
            out.boundaries.append(segments)
        _legend(ax, used, extra, boundary=bool(segments))
        ax.set_title(_panel_title(title, grid).replace("median, [min-max]", "counts"),
                     fontsize=9)
        ax.set_aspect("auto")
        out.paths.append(_save(fig, Path(outdir) / _file_name(name, grid.panel)))
    return out


def _boundary(grid: MapGrid, side: Callable[[MapGrid, int, int], str | None]) -> list:
    """Cell edges between cells on different sides (``side`` gives None off the boundary)."""
    segments = []
    ny, nx = grid.value.shape
    for iy, ix in itertools.product(range(ny), range(nx)):
        a = side(grid, iy, ix)
        if a is None:
            continue
        if ix + 1 < nx:
            b = side(grid, iy, ix + 1)
            if b is not None and b != a:
                segments.append(((ix + 0.5, iy - 0.5), (ix + 0.5, iy + 0.5)))
        if iy + 1 < ny:
            b = side(grid, iy + 1, ix)
            if b is not None and b != a:
                segments.append(((ix - 0.5, iy + 0.5), (ix + 0.5, iy + 0.5)))
    return segments


def _rupture_mode(value: Any) -> str | None:
    if is_missing_value(value):
        return None
    text = str(value).strip().lower()
    if "tear" in text or text == "burst":
        return "tear"
    if text in ("none", "no puncture", "no_puncture", "intact"):
        return "none"
    return text


def _pinhole_tear_side(grid: MapGrid, iy: int, ix: int) -> str | None:
    if grid.state[iy, ix] != OK:
        return None
    counts = grid.counts[iy, ix]
    has_p, has_t = counts.get("pinhole", 0) > 0, counts.get("tear", 0) > 0
    if has_p and has_t:
        return "mixed"
    return "pinhole" if has_p else "tear" if has_t else None


def plot_rupture_maps(frame: pd.DataFrame, outdir: str | os.PathLike, *,
                      column: str = RUPTURE, x_axis: str = PRESSURE, y_axis: str = GRADE,
                      panel_axes: Sequence[str] = (GAUGE, FILM), order: dict | None = None,
                      axes: Sequence[str] | None = None, name: str = "rupture_mode",
                      title: str = "balloon rupture behaviour") -> MapSet:
    """Rupture mode per cell (``"pinhole"`` / ``"tear"`` / ``"none"``; text containing "tear"
    counts as tear), one PNG per panel (gauge and film thickness where swept), with the
    pinhole-to-tear boundary drawn along the cell edges between pinhole and tear cells (a
    "mixed" cell, whose cases disagree, lies on the boundary). Other arguments as
    :func:`plot_value_maps`; the drawn segments are in ``MapSet.boundaries``."""
    if column not in frame:
        frame = frame.assign(**{column: None})
    return _category_maps(frame, lambda r: _rupture_mode(r[column]), outdir, name=name,
                          title=title, x_axis=x_axis, y_axis=y_axis, panel_axes=panel_axes,
                          order=order, axes=axes, boundary_sides=_pinhole_tear_side)


def _flag(value: Any) -> bool | None:
    if is_missing_value(value):
        return None
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "yes")
    return bool(value)


def feasibility_category(needle_punctures: bool | None, device_punctures: bool | None
                         ) -> str | None:
    """``"NRE only"`` (the needle punctures the flap, the device cannot), ``"both"``,
    ``"device only"``, ``"neither"``; ``None`` when either is unknown."""
    if needle_punctures is None or device_punctures is None:
        return None
    if needle_punctures:
        return "both" if device_punctures else "NRE only"
    return "device only" if device_punctures else "neither"


def plot_feasibility_maps(frame: pd.DataFrame, outdir: str | os.PathLike, *,
                          needle_column: str = NEEDLE_OK, device_column: str = DEVICE_OK,
                          x_axis: str = PRESSURE, y_axis: str = GRADE,
                          panel_axes: Sequence[str] = (GAUGE,), order: dict | None = None,
                          axes: Sequence[str] | None = None, name: str = "feasibility",
                          title: str | None = None) -> MapSet:
    """Where the percutaneous needle punctures the flap (``needle_column`` true) and where the
    from-inside re-entry device cannot (``device_column`` false): classes of
    :func:`feasibility_category` per cell. Other arguments as :func:`plot_value_maps`."""
    for col in (needle_column, device_column):
        if col not in frame:
            frame = frame.assign(**{col: None})
    title = title or f"feasibility: {needle_column} vs {device_column}"
    return _category_maps(frame, lambda r: feasibility_category(_flag(r[needle_column]),
                                                                _flag(r[device_column])),
                          outdir, name=name, title=title, x_axis=x_axis, y_axis=y_axis,
                          panel_axes=panel_axes, order=order, axes=axes, boundary_sides=None)


def _num_or_nan(row: pd.Series, column: str) -> float:
    value = row.get(column) if column in row else None
    if is_missing_value(value) or isinstance(value, bool | str):
        return math.nan
    return float(value)


def first_failure(row: pd.Series) -> tuple[str | None, float]:
    """Which fails first as the balloon pressure rises, and at what pressure (atm).

    Candidates: the wall's perforation, the first of the outer layers (media, adventitia) to
    reach its rupture strength (``balloon:outer_wall_rupture_pressure_atm`` and the per-layer
    ``balloon:<layer>_rupture_pressure_atm`` of the balloon problem's failure search; the
    intima, the dissected flap, and the calcium crack at far lower pressures in the default
    study and are mapped apart), and the balloon's burst in its channel
    (``puncture:balloon_burst_atm``; without it, the free film's limit point where the failure
    search ended on it). The lower pressure wins: ``"wall: <layer>"`` or ``"balloon bursts"``;
    ``"none up to RBP"`` when neither comes at or below the catheter's rated burst pressure
    (``puncture:balloon_rated_burst_atm``; without it, when neither came before the search's
    end). ``(None, nan)`` when the case holds neither result."""
    wall = _num_or_nan(row, WALL_RUPTURE_P)
    layers = {name: _num_or_nan(row, f"balloon:{name}_rupture_pressure_atm")
              for name in OUTER_LAYERS}
    known = {k: v for k, v in layers.items() if math.isfinite(v)}
    layer = min(known, key=known.get) if known else None
    burst = _num_or_nan(row, BURST_P)
    if not math.isfinite(burst) and str(row.get(SEARCH_END, "")) == "balloon_burst":
        burst = _num_or_nan(row, SEARCH_END_P)
    rbp = _num_or_nan(row, RBP)
    searched = _num_or_nan(row, SEARCH_END_P)
    if not (math.isfinite(wall) or math.isfinite(burst) or math.isfinite(searched)):
        return None, math.nan
    first, what = math.inf, None
    if math.isfinite(wall):
        first, what = wall, f"wall: {layer}" if layer else "wall"
    if math.isfinite(burst) and burst < first:
        first, what = burst, "balloon bursts"
    limit = rbp if math.isfinite(rbp) else math.inf
    if what is None or first > limit:
        return "none up to RBP", math.nan
    return what, first


def plot_first_failure_maps(frame: pd.DataFrame, outdir: str | os.PathLike, *,
                            x_axis: str = PRESSURE, y_axis: str = GRADE,
                            panel_axes: Sequence[str] = (GAUGE,), order: dict | None = None,
                            axes: Sequence[str] | None = None, name: str = "first_failure",
                            title: str = "which fails first as the pressure rises"
                            ) -> list[MapSet]:
    """The category of :func:`first_failure` per cell, and a value map of its pressure
    (the derived column :data:`FIRST_FAILURE_P`). Other arguments as :func:`plot_value_maps`.
    Returns the category map set and the pressure map set (absent when no case has one)."""
    cats, pressures = [], []
    for _, row in frame.iterrows():
        c, p = first_failure(row) if row.get("status") == "done" else (None, math.nan)
        cats.append(c)
        pressures.append(p if math.isfinite(p) else None)
    frame = frame.assign(**{"first_failure": cats, FIRST_FAILURE_P: pressures})
    out = [_category_maps(frame, lambda r: r["first_failure"], outdir, name=name, title=title,
                          x_axis=x_axis, y_axis=y_axis, panel_axes=panel_axes, order=order,
                          axes=axes, boundary_sides=None)]
    if any(p is not None for p in pressures):
        out.append(plot_value_maps(frame, FIRST_FAILURE_P, outdir, x_axis=x_axis,
                                   y_axis=y_axis, panel_axes=panel_axes, order=order, axes=axes,
                                   title="pressure of the first failure (atm)"))
    return out


def write_maps_json(path: str | os.PathLike, maps: Sequence[MapSet]) -> Path:
    """Write ``maps.json``: per map its title, kind, colour limits and, per panel and cell, the
    value, state and the case ids (with each case's own value) behind it."""
    path = Path(path)
    data = {"format": "nre-maps/1", "maps": {m.name: m.to_json() for m in maps}}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1, default=_plain) + "\n")
    return path
