"""The study report: one self-contained HTML page from a study's results folder.

:func:`write_report` reads the study snapshot and every case record as they are now (a rerun
after more cases finished shows them), draws the maps, curves and field renders into
``<out>/maps``, ``<out>/curves`` and ``<out>/renders`` (replacing what an earlier run drew there),
writes ``<out>/maps/maps.json`` (per map cell its value and the case ids behind it) and
``<out>/index.html`` with every image embedded (base64), so the page can be mailed alone.

The page holds: the study definition (``study.toml``, axes, kinds), the state of its cases, the
verification status of the solvers (:mod:`postprocess.verification`), the maps
(:mod:`postprocess.maps`: numeric results, rupture behaviour, feasibility, and small multiples
over every other swept axis), the curves (:mod:`postprocess.curves`), renders of fields of chosen
cases (:func:`postprocess.render.render_field`), the table of cases (id, state, axes, results),
the failures with their reasons and the provenance (code versions, libraries, hosts, ranks).
"""

from __future__ import annotations

import base64
import html
import json
import os
import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from postprocess import maps as M
from postprocess.curves import (
    DEFAULT_CURVES,
    CurveSpec,
    load_case_curves,
    plot_case_curves,
    plot_overlays,
)
from postprocess.table import StudyTable, axis_values, is_missing_value, load_study_table
from postprocess.verification import Verification, load_verification
from studies.store import ResultStore

__all__ = ["ReportOptions", "ReportResult", "options_from_file", "write_report"]

#: Numeric results mapped by default (column, title), when the study has them.
DEFAULT_VALUE_MAPS: tuple[tuple[str, str], ...] = (
    ("puncture:outer_wall_puncture_force_N", "puncture force, outer wall"),
    ("puncture:flap_puncture_force_N", "puncture force, flap"),
    ("puncture:outer_wall_puncture_displacement_mm", "puncture depth, outer wall"),
    ("puncture:flap_puncture_displacement_mm", "puncture depth, flap"),
    ("balloon:channel_diameter_mm", "balloon diameter in the channel"),
    ("balloon:wall_damage_pressure_atm", "balloon pressure at the wall's damage onset (atm)"),
    ("balloon:wall_rupture_pressure_atm",
     "balloon pressure at the first layer's rupture, intima and calcium included (atm)"),
    ("balloon:outer_wall_rupture_pressure_atm",
     "balloon pressure at the outer wall's rupture: perforation (atm)"),
    ("puncture:balloon_burst_atm", "balloon burst pressure in the channel (atm)"),
)
#: Fields rendered for the chosen cases, when their files have them.
DEFAULT_RENDER_FIELDS = ("von_mises_stress_MPa", "max_principal_stress_MPa",
                         "contact_pressure_MPa")
_FIELD_SUFFIXES = (".xdmf", ".vtu", ".pvtu", ".pvd")


@dataclass(frozen=True, slots=True)
class ReportOptions:
    """What the report draws; column names follow :mod:`studies.aggregate`.

    Attributes:
        x_axis, y_axis: Map axes (balloon pressure along x, calcification grade along y). When
            the study lacks either, the maps use its first two swept axes and every numeric
            result instead.
        panel_axes: One map per combination of their values (the needle gauge).
        film_axis: Extra panel axis of the rupture map (balloon film thickness).
        value_maps: ``(column, title)`` of numeric results to map.
        rupture_column: Rupture mode column (``pinhole`` / ``tear`` / ``none``).
        needle_column, device_column: Feasibility flags (needle / re-entry device punctures
            the flap).
        curves: Curve plots (:class:`postprocess.curves.CurveSpec`).
        render_fields: Field names to render from the chosen cases' field files.
        max_render_cases: At most this many cases get renders (one per ``y_axis`` value, the
            case at the highest ``x_axis`` value: the highest pressure).
        verification: A verification JSON to use (default: looked up, see
            :mod:`postprocess.verification`).
    """

    x_axis: str = M.PRESSURE
    y_axis: str = M.GRADE
    panel_axes: tuple[str, ...] = (M.GAUGE,)
    film_axis: str = M.FILM
    value_maps: tuple[tuple[str, str], ...] = DEFAULT_VALUE_MAPS
    rupture_column: str = M.RUPTURE
    needle_column: str = M.NEEDLE_OK
    device_column: str = M.DEVICE_OK
    curves: tuple[CurveSpec, ...] = DEFAULT_CURVES
    render_fields: tuple[str, ...] = DEFAULT_RENDER_FIELDS
    max_render_cases: int = 4
    verification: str | None = None

    def __post_init__(self) -> None:
        if self.max_render_cases < 0:
            raise ValueError(f"max_render_cases = {self.max_render_cases}: must be >= 0")
        if self.x_axis == self.y_axis:
            raise ValueError(f"x_axis = y_axis = {self.x_axis!r}: the map axes must differ")


@dataclass(slots=True)
class ReportResult:
    """What :func:`write_report` wrote."""

    html: Path
    maps_json: Path | None
    maps: list[M.MapSet] = field(default_factory=list)
    images: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)


# -- HTML helpers -----------------------------------------------------------------------------


def _e(value) -> str:
    return html.escape(str(value))


def _img(path: Path, alt: str) -> str:
    data = base64.b64encode(Path(path).read_bytes()).decode("ascii")
    return (f'<figure><img src="data:image/png;base64,{data}" alt="{_e(alt)}">'
            f"<figcaption>{_e(alt)}</figcaption></figure>")


def _cell(value) -> str:
    if is_missing_value(value):
        return ""
    if isinstance(value, float):
        return f"{value:.4g}"
    if hasattr(value, "item"):
        return _cell(value.item())
    return _e(value)


def _table(frame: pd.DataFrame, columns: Sequence[str], *, cls: str = "") -> str:
    head = "".join(f"<th>{_e(c)}</th>" for c in columns)
    body = []
    for _, row in frame.iterrows():
        status = row.get("status", "")
        tds = "".join(f"<td>{_cell(row.get(c))}</td>" for c in columns)
        body.append(f'<tr class="st-{_e(status)}">{tds}</tr>')
    return (f'<table class="{cls}"><thead><tr>{head}</tr></thead><tbody>'
            + "".join(body) + "</tbody></table>")


_CSS = """
body{font-family:system-ui,sans-serif;margin:1.5em;max-width:1400px;color:#222}
h1{font-size:1.5em}h2{border-bottom:1px solid #ccc;margin-top:1.6em}
figure{display:inline-block;margin:.4em;vertical-align:top}
figure img{max-width:640px;border:1px solid #ddd}
figcaption{font-size:.8em;color:#555}
table{border-collapse:collapse;font-size:.8em;margin:.5em 0}
td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}
th{background:#eee;position:sticky;top:0}
tr.st-failed td{background:#fde0e0}tr.st-missing td,tr.st-running td{background:#eee}
tr.st-interrupted td,tr.st-damaged td{background:#fff2cc}
pre{background:#f6f6f6;padding:.6em;overflow:auto;font-size:.85em}
.note{color:#555;font-style:italic}.bad{color:#b00;font-weight:bold}.good{color:#070}
details{margin:.5em 0}
"""


# -- sections ---------------------------------------------------------------------------------


def _present(frame: pd.DataFrame, column: str) -> bool:
    return column in frame and any(not is_missing_value(v) for v in frame[column])


def _numeric_results(table: StudyTable) -> list[str]:
    out = []
    for col in table.result_columns:
        vals = [v for v in table.frame[col] if not is_missing_value(v)]
        if vals and all(isinstance(v, int | float) and not isinstance(v, bool) for v in vals):
            out.append(col)
    return out


def _swept(table: StudyTable) -> list[str]:
    return [a for a in table.axes if a in table.frame and len(axis_values(table.frame[a])) > 1]


def _draw_maps(table: StudyTable, opts: ReportOptions, outdir: Path, notes: list[str]
               ) -> tuple[list[M.MapSet], list[tuple[str, list[M.MapSet]]]]:
    frame, order = table.frame, table.order()
    x, y = opts.x_axis, opts.y_axis
    if x in frame and y in frame:
        value_maps = [(c, t) for c, t in opts.value_maps if _present(frame, c)]
        absent = [c for c, _ in opts.value_maps if not _present(frame, c)]
        if absent:
            notes.append("no values (yet) for: " + ", ".join(absent))
        panels = tuple(opts.panel_axes)
    else:
        swept = _swept(table)
        swept += [a for a in table.axes if a in frame and a not in swept]
        if len(swept) < 2:
            notes.append(f"maps need two axes; this study's axes: {table.axes or 'none'}")
            return [], []
        notes.append(f"the study has no {x!r} x {y!r} sweep: maps of every numeric result over "
                     f"{swept[1]!r} x {swept[0]!r}")
        x, y = swept[1], swept[0]
        value_maps = [(c, M.column_label(c)) for c in _numeric_results(table)]
        panels = tuple(a for a in swept[2:3])
    common = {"x_axis": x, "y_axis": y, "order": order, "axes": table.axes}
    sections: list[tuple[str, list[M.MapSet]]] = []
    everything: list[M.MapSet] = []
    used = {x, y, *panels}
    uncertain = [a for a in _swept(table) if a not in used and a != opts.film_axis]
    for column, title in value_maps:
        group = [M.plot_value_maps(frame, column, outdir, panel_axes=panels, title=title,
                                   **common)]
        for axis in uncertain:  # one panel per value of each other swept axis, same scale
            group.append(M.plot_small_multiples(
                frame, column, outdir, row_axis=axis, col_axis=panels[0] if panels else None,
                norm=group[0].norm, title=f"{title} by {axis}", **common))
        sections.append((title, group))
        everything += group
    if _present(frame, opts.rupture_column):
        rupture = M.plot_rupture_maps(frame, outdir, column=opts.rupture_column,
                                      panel_axes=(*panels, opts.film_axis), **common)
        sections.append(("balloon rupture behaviour", [rupture]))
        everything.append(rupture)
    if _present(frame, opts.needle_column) or _present(frame, opts.device_column):
        feas = M.plot_feasibility_maps(frame, outdir, needle_column=opts.needle_column,
                                       device_column=opts.device_column, panel_axes=panels,
                                       **common)
        sections.append(("feasibility: percutaneous needle vs re-entry device", [feas]))
        everything.append(feas)
    if any(_present(frame, c) for c in (M.WALL_RUPTURE_P, M.BURST_P, M.SEARCH_END)):
        first = M.plot_first_failure_maps(frame, outdir, panel_axes=panels, **common)
        sections.append(("which fails first as the pressure rises: the balloon bursts or the "
                         "wall perforates", first))
        everything += first
    return everything, sections


def _load_curves(table: StudyTable) -> dict[str, dict[str, np.ndarray]]:
    out = {}
    store = ResultStore(table.root)
    for cid in table.frame.loc[table.frame["status"] == "done", "case_id"]:
        rdir = table.root / "cases" / cid / "result"
        record = store.read_record(cid)  # None when missing or damaged (since the table)
        if record is None:
            continue
        listed = record.get("curves")
        curves = load_case_curves(rdir, listed)
        if curves:
            out[cid] = curves
    return out


def _case_label(row: pd.Series, axes: Sequence[str]) -> str:
    return ", ".join(f"{a}={_cell(row[a])}" for a in axes if a in row
                     and not is_missing_value(row[a]))


def _render_cases(table: StudyTable, opts: ReportOptions, outdir: Path, notes: list[str]
                  ) -> list[tuple[str, Path]]:
    from postprocess.render import field_names, render_field

    frame = table.frame[table.frame["status"] == "done"]
    records = {}
    store = ResultStore(table.root)
    for cid in frame["case_id"]:
        rec = store.read_record(cid)
        if rec is None:
            continue
        files = [f for f in rec.get("fields", []) if Path(f).suffix.lower() in _FIELD_SUFFIXES]
        if files:
            records[cid] = files
    if not records:
        notes.append("no case wrote field files (XDMF/VTU/PVD): nothing to render")
        return []
    rows = frame[frame["case_id"].isin(records)]
    chosen: list[str] = []
    y, x = opts.y_axis, opts.x_axis
    if y in rows and x in rows:
        for yv in table.order().get(y, []):
            sel = rows[rows[y] == yv]
            if len(sel):
                top = max(axis_values(sel[x]), key=lambda v: (isinstance(v, str), v))
                chosen.append(sel[sel[x] == top]["case_id"].iloc[0])
    else:
        chosen = list(rows["case_id"])
    chosen = chosen[: opts.max_render_cases]
    out = []
    for cid in chosen:
        row = rows[rows["case_id"] == cid].iloc[0]
        for rel in records[cid]:
            path = table.root / "cases" / cid / "result" / rel
            try:
                available = field_names(path)
            except (OSError, ValueError) as err:
                notes.append(f"case {cid}: cannot read {rel}: {err}")
                continue
            wanted = [f for f in opts.render_fields if f in available]
            if not wanted:
                notes.append(f"case {cid}: {rel} has none of {list(opts.render_fields)} "
                             f"(it has {available})")
            for name in wanted:
                title = f"{name}  case {cid}\n{_case_label(row, table.axes)}"
                png = outdir / f"{cid}__{Path(rel).stem}__{name}.png"
                try:
                    out.append((title, render_field(path, name, png, title=title)))
                except (OSError, ValueError) as err:
                    notes.append(f"case {cid}: render of {name} failed: {err}")
    return out


def _provenance(table: StudyTable) -> str:
    commits: dict[str, int] = {}
    versions: dict[str, set] = {}
    hosts: dict[str, int] = {}
    ranks: set = set()
    starts, ends, wall = [], [], 0.0
    store = ResultStore(table.root)
    for cid in table.frame.loc[table.frame["status"].isin(["done", "failed", "interrupted"]),
                               "case_id"]:
        record = store.read_record(cid)
        if record is None:
            continue
        prov = record.get("provenance", {})
        commit = prov.get("git_commit") or f"package {prov.get('package_version')}"
        if prov.get("git_dirty"):
            commit += " (with uncommitted changes)"
        commits[commit] = commits.get(commit, 0) + 1
        for lib, ver in (prov.get("versions") or {}).items():
            versions.setdefault(lib, set()).add(str(ver))
        hosts[str(prov.get("host"))] = hosts.get(str(prov.get("host")), 0) + 1
        if prov.get("ranks") is not None:
            ranks.add(prov["ranks"])
        if prov.get("start"):
            starts.append(prov["start"])
        if prov.get("end"):
            ends.append(prov["end"])
        wall += float(prov.get("wall_s") or 0.0)
    if not commits:
        return '<p class="note">no finished case yet: no provenance</p>'
    items = ["<li>code: " + "; ".join(f"<code>{_e(c)}</code> ({n} cases)"
                                      for c, n in commits.items()) + "</li>"]
    if len(commits) > 1:
        items.append('<li class="bad">cases were computed with different code versions</li>')
    items.append("<li>libraries: " + ", ".join(f"{_e(k)} {_e('/'.join(sorted(v)))}"
                                               for k, v in sorted(versions.items())) + "</li>")
    items.append("<li>hosts: " + ", ".join(f"{_e(h)} ({n})" for h, n in hosts.items())
                 + "</li>")
    items.append(f"<li>MPI ranks per case: {_e(sorted(ranks))}</li>")
    if starts and ends:
        items.append(f"<li>computed {_e(min(starts))} to {_e(max(ends))}; total case wall "
                     f"time {wall / 3600:.2f} h</li>")
    return "<ul>" + "".join(items) + "</ul>"


def _verification_html(ver: Verification) -> str:
    if not ver.available:
        where = f" ({_e(ver.source)})" if ver.source else ""
        return (f'<p class="bad">Verification status: not available{where}: '
                f"{_e(ver.problem)}</p>")
    meta = ", ".join(f"{k}: {_e(v)}" for k, v in ver.meta.items())
    cols = ["solver", "name", "reference", "expected", "computed", "error", "tolerance",
            "error_kind", "ranks", "passed", "test"]
    frame = pd.DataFrame(ver.checks)
    frame["passed"] = ["yes" if p else "NO" for p in frame["passed"]]
    frame["status"] = ["done" if p == "yes" else "failed" for p in frame["passed"]]
    cls = "good" if all(c["passed"] for c in ver.checks) else "bad"
    return (f'<p class="{cls}">{_e(ver.summary())}</p><p class="note">from {_e(ver.source)}'
            f"{'; ' + meta if meta else ''}</p>"
            + _table(frame, [c for c in cols if c in frame]))


def _definition(table: StudyTable) -> str:
    items = [f"<li>case kinds: {_e(', '.join(table.solve) or '-')}</li>"]
    for axis in table.axes:
        values = table.order().get(axis, [])
        items.append(f"<li>axis <code>{_e(axis)}</code>: {_e(', '.join(map(str, values)))}"
                     "</li>")
    text = f"<pre>{_e(table.study_text)}</pre>" if table.study_text else \
        '<p class="note">no study.toml snapshot</p>'
    return "<ul>" + "".join(items) + "</ul><details open><summary>study.toml</summary>" + \
        text + "</details>"


def _clear(out: Path) -> None:
    for sub in ("maps", "curves", "renders"):
        shutil.rmtree(out / sub, ignore_errors=True)


def write_report(results_dir: str | os.PathLike, out: str | os.PathLike | None = None, *,
                 options: ReportOptions | None = None) -> ReportResult:
    """Write the HTML report of a study (see the module docstring).

    Args:
        results_dir: The study's results folder (with ``study.json``).
        out: Report folder (default ``<results_dir>/report``); its ``maps/``, ``curves/`` and
            ``renders/`` are replaced.
        options: What to draw (:class:`ReportOptions`).

    Returns:
        The :class:`ReportResult` (page, ``maps.json``, the maps drawn, the images, notes).
    """
    opts = options or ReportOptions()
    started = time.time()
    table = load_study_table(results_dir)
    out = Path(out) if out is not None else table.root / "report"
    out.mkdir(parents=True, exist_ok=True)
    _clear(out)
    notes: list[str] = []
    frame = table.frame
    counts = frame["status"].value_counts().to_dict()
    result = ReportResult(out / "index.html", None, counts={str(k): int(v)
                                                            for k, v in counts.items()})
    parts: list[str] = []

    # maps
    maps, sections = _draw_maps(table, opts, out / "maps", notes)
    result.maps = maps
    if maps:
        result.maps_json = M.write_maps_json(out / "maps" / "maps.json", maps)
    map_html = []
    for title, group in sections:
        imgs = []
        for mset in group:
            for path in dict.fromkeys(mset.paths):
                imgs.append(_img(path, f"{mset.title}: {path.name}"))
                result.images.append(path)
        map_html.append(f"<h3>{_e(title)}</h3>" + "".join(imgs))
    # curves
    curves = _load_curves(table)
    curve_html, case_curve_html = [], []
    for spec in opts.curves:
        png = plot_overlays(frame, curves, spec, out / "curves" / f"{spec.name}__overlay.png",
                            group_by=opts.y_axis, colour_by=opts.x_axis, order=table.order())
        if png is not None:
            curve_html.append(_img(png, f"{spec.title}, all cases by {opts.y_axis}"))
            result.images.append(png)
    for cid, case_curves in curves.items():
        row = frame[frame["case_id"] == cid].iloc[0]
        label = f"case {cid}: {_case_label(row, table.axes)}"
        png = plot_case_curves(case_curves, out / "curves" / "cases" / f"{cid}.png",
                               specs=opts.curves, title=label)
        if png is not None:
            case_curve_html.append(_img(png, label))
            result.images.append(png)
    # renders
    renders = _render_cases(table, opts, out / "renders", notes) \
        if opts.max_render_cases else []
    result.images += [p for _, p in renders]
    ver = load_verification(table.root, opts.verification)

    n = len(frame)
    state = ", ".join(f"{v} {k}" for k, v in sorted(result.counts.items()))
    parts.append(f"<h1>Study report: {_e(table.name)}</h1>"
                 f"<p>results folder <code>{_e(table.root)}</code>; {n} cases: {_e(state)}; "
                 f"generated {_e(time.strftime('%Y-%m-%d %H:%M:%S %Z'))}</p>")
    if result.counts.get("done", 0) < n:
        parts.append(f'<p class="bad">{n - result.counts.get("done", 0)} of {n} cases are not '
                     "done: maps mark them failed / missing</p>")
    parts.append("<h2>Verification of the solvers</h2>" + _verification_html(ver))
    parts.append("<h2>Study definition</h2>" + _definition(table))
    parts.append("<h2>Maps</h2>")
    if result.maps_json is not None:
        parts.append('<p class="note">every cell\'s value and the case ids behind it: '
                     f'<code>{_e(result.maps_json.relative_to(out))}</code>; grey hatched cells '
                     "are failed or missing cases, never zero</p>")
    parts.append("".join(map_html) or '<p class="note">no maps</p>')
    parts.append("<h2>Curves</h2>" + ("".join(curve_html) or
                                      '<p class="note">no curves in the finished cases</p>'))
    if case_curve_html:
        parts.append(f"<details><summary>curves of each case ({len(case_curve_html)})"
                     "</summary>" + "".join(case_curve_html) + "</details>")
    parts.append("<h2>Fields</h2>" + ("".join(_img(p, t) for t, p in renders) or
                                      '<p class="note">no renders</p>'))
    cols = ["case_id", "status", *[a for a in table.axes if a in frame],
            *table.result_columns, "wall_s", "host", "reason"]
    parts.append("<h2>Cases</h2>" + _table(frame, cols, cls="cases"))
    bad = frame[~frame["status"].isin(["done"])]
    parts.append("<h2>Failures</h2>" + (
        _table(bad, ["case_id", "status", *[a for a in table.axes if a in frame], "reason"])
        if len(bad) else "<p>none: every case is done</p>"))
    parts.append("<h2>Provenance</h2>" + _provenance(table))
    if notes:
        parts.append("<h2>Notes</h2><ul>" + "".join(f"<li>{_e(t)}</li>" for t in notes)
                     + "</ul>")
    result.notes = notes
    parts.append(f'<p class="note">report written in {time.time() - started:.1f} s by '
                 "<code>nre report</code></p>")
    page = ("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>nre study {_e(table.name)}</title><style>{_CSS}</style></head><body>"
            + "\n".join(parts) + "</body></html>\n")
    tmp = out / ".index.html.tmp"
    tmp.write_text(page)
    os.replace(tmp, result.html)
    return result


def options_from_file(path: str | os.PathLike) -> ReportOptions:
    """:class:`ReportOptions` from a JSON or TOML file of its fields (``curves`` as a list of
    ``{name, title, series: [[x, y, label], ...]}``)."""
    import tomllib

    path = Path(path)
    text = path.read_text()
    data = tomllib.loads(text) if path.suffix == ".toml" else json.loads(text)
    known = set(ReportOptions.__dataclass_fields__)
    unknown = sorted(set(data) - known)
    if unknown:
        raise ValueError(f"{path}: unknown report option(s) {unknown}; known: {sorted(known)}")
    if "curves" in data:
        data["curves"] = tuple(CurveSpec(c["name"], c.get("title", c["name"]),
                                         tuple(tuple(s) for s in c["series"]),
                                         c.get("xlabel", ""), c.get("ylabel", ""))
                               for c in data["curves"])
    for key in ("panel_axes", "render_fields"):
        if key in data:
            data[key] = tuple(data[key])
    if "value_maps" in data:
        data["value_maps"] = tuple(tuple(v) for v in data["value_maps"])
    return ReportOptions(**data)

