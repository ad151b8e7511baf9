"""``nre study check`` beyond the schema: every case resolved into the inputs its kinds build.

:func:`check_study` runs each case's kinds' ``check`` hooks (:class:`studies.kinds.CaseInputs`):
the input dataclasses of the solvers are built as a run would build them (no meshing, no
DOLFINx), so every error a case would raise when it starts is reported now, with the case id,
the study key at fault (and its line) and the allowed range. The meshes the cases will build
are estimated (:func:`meshes.estimate.estimate_cells`) and refused above ``max_cells``. The
same error in many cases is reported once, with the number of cases.

It also returns warnings that do not stop a study: the estimated cost above
:data:`COST_WARN_CORE_H`, cases estimated to outlast the Slurm time limit, and sweeps of more
than :data:`hpc.slurm.LARGE_SWEEP_CASES` cases and sweeps split into several Slurm arrays.

What it does not see: failures that depend on the solution (a wall that cannot carry the
balloon, a Newton solve that does not converge, a state handed from one kind to the next),
and the running environment (disk space, MPI, Slurm).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from studies.kinds import CaseInputs, get_kind
from studies.schema import Issue
from studies.tomllines import KeyLines

__all__ = ["COST_WARN_CORE_H", "CheckReport", "check_study"]

#: A study estimated above this many core-hours in total gets a warning (1000 core-h: a
#: week of a 6-node, 24-core allocation share; the default study is ~0.2 core-h).
COST_WARN_CORE_H = 1000.0


@dataclass
class CheckReport:
    """What :func:`check_study` found.

    Attributes:
        issues: errors (raise them as :class:`studies.schema.StudyError`); empty when the study
            is runnable as far as its inputs go.
        warnings: one line each, for the person (cost, time limit, size).
        cases: cases checked.
        meshes: distinct meshes the cases build -> estimated cells.
        largest: ``(what, cells)`` of the largest mesh, or None.
        seconds: time the check took.
    """

    issues: list[Issue] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    cases: int = 0
    meshes: dict = field(default_factory=dict)
    largest: tuple[str, int] | None = None
    seconds: float = 0.0


def check_study(study, *, max_cells: int | None = None) -> CheckReport:
    """Resolve every case of ``study`` into its inputs; see the module docstring.

    Args:
        study: a loaded :class:`studies.study.Study` (schema-valid).
        max_cells: largest estimated cell count of a mesh a case may build (default
            :data:`meshes.estimate.DEFAULT_MAX_CELLS`).
    """
    from meshes.estimate import DEFAULT_MAX_CELLS, estimate_cells, format_cells

    t0 = time.perf_counter()
    limit = DEFAULT_MAX_CELLS if max_cells is None else int(max_cells)
    report = CheckReport(cases=len(study.cases))
    found: dict[tuple[str, str], list] = {}  # (key, message) -> [first case, count]
    hooks: list[tuple[str, Callable[[dict], CaseInputs]]] = [
        (k, get_kind(k).check) for k in study.solve if get_kind(k).check is not None]
    for case in study.cases:
        for kind, hook in hooks:
            try:
                inputs = hook(case.params)
            except Exception as err:  # a hook's own bug must not pass for an OK
                inputs = CaseInputs(issues=(("", f"the {kind} kind's check failed: "
                                                 f"{type(err).__name__}: {err}"),))
            for key, message in inputs.issues:
                _note(found, key, message, case)
            for key, what, spec in inputs.meshes:
                cells = report.meshes.get(spec)  # specs are frozen dataclasses (hashable)
                if cells is None:
                    cells = spec if isinstance(spec, int) else estimate_cells(spec)
                    report.meshes[spec] = cells
                if report.largest is None or cells > report.largest[1]:
                    report.largest = (what, cells)
                if cells > limit:
                    _note(found, key, f"{what} would have about {format_cells(cells)} cells, above "
                          f"the limit of {format_cells(limit)} (--max-cells): coarsen it", case)
    lines = KeyLines(study.text)
    for (key, message), (case, count) in found.items():
        more = f" (and {count - 1} more case{'s' if count > 2 else ''})" if count > 1 else ""
        report.issues.append(Issue(
            f"base.{key}" if key else "study.solve",
            f"case {case.case_id} ({case.label()}){more}: {message}",
            _line(lines, study, case, key)))
    report.warnings = _warnings(study)
    report.seconds = time.perf_counter() - t0
    return report


def _note(found: dict, key: str, message: str, case) -> None:
    entry = found.get((key, message))
    if entry is None:
        found[(key, message)] = [case, 1]
    else:
        entry[1] += 1


def _duration(seconds: float) -> str:
    return f"{seconds / 3600:.1f} h" if seconds >= 360 else f"{seconds:.0f} s"


def _line(lines: KeyLines, study, case, key: str) -> int | None:
    """The line that sets ``key`` for ``case``: its sweep axis, else its ``base`` entry."""
    if not key:
        return lines.line_of(("study", "solve"))
    parts = tuple(key.split("."))
    if key in case.axes:  # written as a.b = or "a.b" = (line_of falls back to the table)
        head = ("sweep", "cases", int(case.source[6:-1])) if case.source.startswith("cases[") \
            else ("sweep", "grid")
        found = [lines.line_of((*head, key)), lines.line_of((*head, *parts))]
    else:
        found = [lines.line_of(("base", *parts))]
    return max((f for f in found if f), default=None)


def _warnings(study) -> list[str]:
    from studies.fields import parse_slurm_time_min

    out = []
    n = len(study.cases)
    costs = [study.case_cost_core_s(c) for c in study.cases]
    total_h = sum(costs) / 3600.0
    if total_h > COST_WARN_CORE_H:
        out.append(f"estimated cost {total_h:,.0f} core-h is above {COST_WARN_CORE_H:,.0f} "
                   f"core-h ({n} cases): check the sweep and the mesh levels before running it")
    ranks = study.slurm_ranks()
    limit_s = 60.0 * parse_slurm_time_min(study.slurm["time"])
    slow = [c for c, cost in zip(study.cases, costs, strict=True) if cost / ranks > limit_s]
    if slow:
        worst = max(costs) / ranks
        out.append(f"{len(slow)} case(s) are estimated at up to {_duration(worst)} on "
                   f"{ranks} rank(s), beyond slurm.time = {study.slurm['time']}: Slurm would "
                   f"stop them (e.g. case {slow[0].case_id}, {slow[0].label()})")
    from hpc.slurm import sweep_warnings  # size of the sweep, arrays split by MaxArraySize

    out.extend(sweep_warnings(study))
    return out
