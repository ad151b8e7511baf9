"""Study files: load, validate (with file lines in every error) and expand into cases.

A study file (TOML) has the sections

- ``[study]``: ``name``, ``solve`` (case kinds each case runs), ``results_dir`` (relative to
  the file's folder, ``{name}`` its only placeholder; a folder outside the file's folder needs
  ``allow_outside = true``), ``plugins``;
- ``[run]``: ``ranks`` per case, ``parallel_cases``, ``case_timeout_s`` for local runs;
- ``[slurm]``: ``partition``, ``time``, ``mem``, ``ranks``, ``throttle``, ``launcher``, ...;
- ``[base.*]``: the base case, every field typed in :data:`studies.schema.SCHEMA`;
- ``[sweep.grid]``: axis -> list of values, expanded as the full grid (axes are ``base``
  paths, written with or without the ``base.`` prefix: ``balloon.pressure_atm = [2, 6, 10]``);
- ``[[sweep.cases]]``: listed combinations (each a table of axis -> value), added after the grid.

Every case is the base with its axis values set, validated like the base, and identified by
:func:`studies.caseid.case_id` of ``{"solve": [...], "params": <resolved base>}``.
"""

from __future__ import annotations

import itertools
import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from studies import fields as _fields  # noqa: F401  (registers the study/run/slurm schema)
from studies.caseid import CaseIds
from studies.kinds import get_kind, kind_names, load_kind_modules
from studies.schema import SCHEMA, Issue, StudyError, control_character_error
from studies.tomllines import KeyLines

__all__ = ["Case", "Study", "load_study", "load_study_text"]


@dataclass(frozen=True, slots=True, eq=False)
class Case:
    """One case of a study.

    Attributes:
        case_id: Stable hash of ``solve`` and ``params``.
        index: Position in the study's case list (grid first, then listed cases).
        solve: Case kinds run, in order.
        params: The fully resolved ``base`` table (what each kind receives).
        axes: Axis path (relative to ``base``) -> value for this case.
        source: ``"grid"`` or ``"cases[i]"``.
    """

    case_id: str
    index: int
    solve: tuple[str, ...]
    params: dict
    axes: dict
    source: str

    def identity(self) -> dict:
        """What the id hashes: the kinds and the resolved parameters."""
        return {"solve": list(self.solve), "params": self.params}

    def label(self) -> str:
        """Short human label, e.g. ``balloon.pressure_atm=6.0 needle.gauge=18``."""
        return " ".join(f"{k}={v}" for k, v in self.axes.items()) or "base"


@dataclass(frozen=True, slots=True, eq=False)
class Study:
    """A validated study (see the module docstring for the file format)."""

    name: str
    path: Path | None
    text: str
    solve: tuple[str, ...]
    results_dir: Path
    plugins: tuple[str, ...]
    run: dict
    slurm: dict
    base: dict
    grid: dict[str, list]
    listed: list[dict]
    cases: list[Case] = field(default_factory=list)

    @property
    def axes(self) -> list[str]:
        """Axis paths of the grid and of the listed cases, in file order."""
        names = list(self.grid)
        for entry in self.listed:
            names += [k for k in entry if k not in names]
        return names

    def slurm_ranks(self) -> int:
        """MPI ranks of a Slurm array task."""
        return self.slurm["ranks"] or self.run["ranks"]

    def case_cost_core_s(self, case: Case) -> float:
        """Estimated core-seconds of ``case`` (sum over its kinds)."""
        return sum(get_kind(k).cost_core_s(case.params) for k in case.solve)

    def parallel_cases(self, cores: int | None = None, ranks: int | None = None) -> int:
        """Cases run at once locally: ``run.parallel_cases`` or what the cores allow."""
        if self.run["parallel_cases"]:
            return self.run["parallel_cases"]
        cores = cores or os.cpu_count() or 1
        return max(1, cores // (ranks or self.run["ranks"]))


def load_study(path: str | os.PathLike, *, results_dir: str | os.PathLike | None = None,
               allow_outside: bool = False) -> Study:
    """Read, validate and expand a study file.

    Args:
        path: The TOML file.
        results_dir: Overrides ``study.results_dir`` (a folder a person typed: relative to the
            working directory, anywhere).
        allow_outside: Accept a ``study.results_dir`` outside the file's folder (as
            ``study.allow_outside = true`` does).

    Raises:
        StudyError: listing every problem with its key and file line; nothing is written.
    """
    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8")
    except OSError as err:
        raise StudyError(str(path), [Issue("(file)", f"cannot read: {err.strerror}")]) from None
    except UnicodeDecodeError as err:
        line = path.read_bytes()[: err.start].count(b"\n") + 1
        raise StudyError(str(path), [Issue(
            "(file)", f"not UTF-8 text: byte 0x{err.object[err.start]:02x} at offset "
            f"{err.start}; allowed: a TOML file saved as UTF-8", line)]) from None
    return load_study_text(text, source=str(path), path=path, results_dir=results_dir,
                           allow_outside=allow_outside)


def load_study_text(
    text: str,
    *,
    source: str = "<text>",
    path: Path | None = None,
    results_dir: str | os.PathLike | None = None,
    allow_outside: bool = False,
) -> Study:
    """Validate and expand a study given as TOML text (see :func:`load_study`); a relative
    ``study.results_dir`` is taken from ``path``'s folder, or the working directory without one.
    """
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        m = re.search(r"line (\d+)", str(err))
        raise StudyError(source, [Issue("(syntax)", str(err), int(m.group(1)) if m else None)]) \
            from None
    lines = KeyLines(text)
    issues: list[Issue] = []

    def line(*paths: tuple) -> int | None:
        found = [lines.line_of(p) for p in paths]
        return max((f for f in found if f), default=None)

    # Plugins register kinds and schema fields, so they are imported before validating.
    plugins = data.get("study", {}).get("plugins", []) if isinstance(data.get("study"), dict) \
        else []
    # Only well-formed module names are imported (the schema reports the others).
    plugins = [p for p in plugins if isinstance(p, str) and _fields.is_module_name(p)] \
        if isinstance(plugins, list) else []
    try:
        load_kind_modules(plugins)
    except ImportError as err:
        issues.append(Issue("study.plugins", f"cannot import: {err}", line(("study", "plugins"))))

    resolved = SCHEMA.resolve(data, "", issues, lines)
    for section in ("study",):
        if section not in data:
            issues.append(Issue(section, "missing section [study]", None))

    known = kind_names()
    for i, kind in enumerate(resolved.get("study", {}).get("solve", []) or []):
        if isinstance(kind, str) and kind not in known:
            issues.append(Issue(f"study.solve[{i}]",
                                f"unknown case kind {kind!r}; registered: {', '.join(known)}",
                                line(("study", "solve"))))

    base = resolved.get("base", {})
    grid, listed = _validate_sweep(data.get("sweep", {}), base, issues, line)
    meta = resolved.get("study", {})
    results = None
    if not any(i.key in ("study.name", "study.results_dir", "study.allow_outside", "study")
               for i in issues):
        results = _results_folder(meta, path, results_dir, allow_outside, issues, line)
    if issues:
        raise StudyError(source, issues)

    name = meta["name"]
    solve = tuple(meta["solve"])
    study = Study(
        name=name, path=path, text=text, solve=solve, results_dir=results,
        plugins=tuple(meta["plugins"]), run=resolved["run"], slurm=resolved["slurm"],
        base=base, grid=grid, listed=listed,
    )
    study.cases.extend(_expand(study))
    return study


def _results_folder(meta: dict, path: Path | None, override, allow_outside: bool,
                    issues: list[Issue], line) -> Path | None:
    """The absolute results folder; a problem is appended to ``issues`` (then ``None``).

    ``override`` (``--results``) is relative to the working directory and may be anywhere; the
    file's ``study.results_dir`` is relative to the file's folder and must stay inside it unless
    ``study.allow_outside`` or ``allow_outside``.
    """
    if override is not None:
        key, where = "--results", None
        results = Path(os.path.abspath(override))
    else:
        key, where = "study.results_dir", line(("study", "results_dir"))
        folder = Path(os.path.abspath(path.parent if path is not None else Path.cwd()))
        # results_dir_error() admitted {name} as the only placeholder: format() is safe here.
        text = meta["results_dir"].format(name=meta["name"])
        results = Path(os.path.abspath(folder / text))
        inside = results.resolve().is_relative_to(folder.resolve())
        if not (inside or allow_outside or meta["allow_outside"]):
            issues.append(Issue(key, f"{meta['results_dir']!r} is {results}, outside the study "
                                f"file's folder {folder}; allowed: a folder inside it, or "
                                "study.allow_outside = true (or --allow-outside)", where))
            return None
    err = control_character_error(str(results))
    if err:
        issues.append(Issue(key, f"results folder {err}", where))
        return None
    return results


def _flatten(table: dict, prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in table.items():
        path = f"{prefix}.{key}" if prefix else key
        if isinstance(value, dict):
            out.update(_flatten(value, path))
        else:
            out[path] = value
    return out


def _axis_field(axis: str):
    rel = axis.removeprefix("base.")
    return rel, SCHEMA.fields.get(f"base.{rel}")


def _validate_sweep(sweep: Any, base: dict, issues: list[Issue], line) -> tuple[dict, list]:
    grid: dict[str, list] = {}
    listed: list[dict] = []
    if not isinstance(sweep, dict):
        issues.append(Issue("sweep", "expected a table", line(("sweep",))))
        return grid, listed
    for key in sweep:
        if key not in ("grid", "cases"):
            issues.append(Issue(f"sweep.{key}", "unknown key (known here: cases, grid)",
                                line(("sweep", key))))
    raw_grid = sweep.get("grid", {})
    if not isinstance(raw_grid, dict):
        issues.append(Issue("sweep.grid", "expected a table of axis = [values]",
                            line(("sweep", "grid"))))
        raw_grid = {}
    for axis, values in _flatten(raw_grid).items():
        where = line(("sweep", "grid", axis), ("sweep", "grid", *axis.split(".")))
        rel, fld = _axis_field(axis)
        key = f"sweep.grid.{axis}"
        if fld is None:
            issues.append(Issue(key, f"axis 'base.{rel}' is not a field of the base case", where))
            continue
        if not isinstance(values, list):
            issues.append(Issue(key, "an axis needs a list of values", where))
            continue
        if not values:
            issues.append(Issue(key, "empty axis: give at least one value", where))
            continue
        if rel in grid:
            issues.append(Issue(key, f"axis 'base.{rel}' given twice", where))
            continue
        converted = []
        for i, value in enumerate(values):
            conv, err = fld.convert(value)
            if err:
                issues.append(Issue(f"{key}[{i}]", err, where))
            converted.append(conv)
        if len({repr(v) for v in converted}) != len(converted):
            issues.append(Issue(key, "axis repeats a value", where))
        grid[rel] = converted
    raw_cases = sweep.get("cases", None)
    if raw_cases is not None:
        if not isinstance(raw_cases, list) or not all(isinstance(c, dict) for c in raw_cases):
            issues.append(Issue("sweep.cases", "expected a list of tables ([[sweep.cases]])",
                                line(("sweep", "cases"))))
        elif not raw_cases:
            issues.append(Issue("sweep.cases", "empty list of cases", line(("sweep", "cases"))))
        else:
            for i, entry in enumerate(raw_cases):
                flat = _flatten(entry)
                if not flat:
                    issues.append(Issue(f"sweep.cases[{i}]", "empty case",
                                        line(("sweep", "cases", i))))
                case: dict = {}
                for axis, value in flat.items():
                    where = line(("sweep", "cases", i, axis),
                                 ("sweep", "cases", i, *axis.split(".")))
                    rel, fld = _axis_field(axis)
                    key = f"sweep.cases[{i}].{axis}"
                    if fld is None:
                        issues.append(Issue(key, f"'base.{rel}' is not a field of the base case",
                                            where))
                        continue
                    conv, err = fld.convert(value)
                    if err:
                        issues.append(Issue(key, err, where))
                    case[rel] = conv
                listed.append(case)
    return grid, listed


def _set_path(params: dict, rel: str, value: Any) -> None:
    node = params
    parts = rel.split(".")
    for part in parts[:-1]:
        node = node.setdefault(part, {})
    node[parts[-1]] = value


def _copy_tree(value: Any) -> Any:
    """A deep copy of parsed TOML data (tables and lists copied, scalars shared), 3x faster
    than ``copy.deepcopy``."""
    if isinstance(value, dict):
        return {k: _copy_tree(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy_tree(v) for v in value]
    return value


def _expand(study: Study) -> list[Case]:
    combos: list[tuple[dict, str]] = []
    if study.grid:
        names = list(study.grid)
        for values in itertools.product(*(study.grid[n] for n in names)):
            combos.append((dict(zip(names, values, strict=True)), "grid"))
    combos += [(dict(entry), f"cases[{i}]") for i, entry in enumerate(study.listed)]
    if not combos:
        combos.append(({}, "base"))
    cases: list[Case] = []
    seen: set[str] = set()
    # The ids of case_id({"solve", "params"}), without re-normalising the base for every case.
    ids = CaseIds(list(study.solve), study.base, study.axes)
    for axes, source in combos:
        params = _copy_tree(study.base)
        for rel, value in axes.items():
            _set_path(params, rel, _copy_tree(value))
        cid = ids(axes)
        if cid in seen:  # a listed case that is also a grid point runs once
            continue
        seen.add(cid)
        cases.append(Case(cid, len(cases), study.solve, params, axes, source))
    return cases
