"""``nre study ...``: check, run, status, aggregate, bless and compare (thin CLI over studies)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

__all__ = ["register", "resolve_target"]


def register(subparsers) -> None:
    """Add ``nre study`` and its subcommands."""
    study = subparsers.add_parser("study", help="define, check, run and inspect parameter sweeps")
    sub = study.add_subparsers(dest="study_command", metavar="ACTION")
    sub.required = True

    p = sub.add_parser(
        "check", help="validate a study file and every case's inputs; print cases and cost",
        description="Validate a study file (keys, types, ranges), then build every case's "
        "inputs as its run would (mesh specs, materials, needle, criterion; no meshing, no "
        "DOLFINx), estimate the cells of every mesh it will build, and print the cases and "
        "their estimated cost. Errors name the case, the key, its line and the allowed range "
        "(exit 2); warnings (cost, Slurm time limit, very large sweeps) go to stderr.")
    p.add_argument("file")
    _allow_outside(p)
    p.add_argument("-v", "--verbose", action="store_true", help="list every case")
    p.add_argument("--max-cells", type=int, metavar="N",
                   help="largest estimated cell count of a mesh a case may build "
                   "(default 5000000)")
    p.set_defaults(handler=_check)

    p = sub.add_parser("run", help="run the missing/failed/interrupted/damaged cases locally")
    p.add_argument("file")
    p.add_argument("--results", help="results folder (default: study.results_dir)")
    p.add_argument("--force", action="store_true", help="rerun cases that are done")
    p.add_argument("--parallel", type=int, help="cases at once (default: run.parallel_cases)")
    p.add_argument("--ranks", type=int, help="MPI ranks per case (default: run.ranks)")
    p.add_argument("--no-aggregate", action="store_true", help="skip the table at the end")
    _allow_outside(p)
    p.set_defaults(handler=_run)

    p = sub.add_parser("status", help="list done/failed/interrupted/damaged/running/missing cases")
    p.add_argument("target", metavar="DIR_OR_FILE")
    p.add_argument("--results", help="results folder when giving a study file")
    p.add_argument("-v", "--verbose", action="store_true", help="list every case")
    _allow_outside(p)
    p.set_defaults(handler=_status)

    p = sub.add_parser("aggregate", help="write the case table (Parquet, CSV) and sweep.nc")
    p.add_argument("target", metavar="DIR_OR_FILE")
    p.add_argument("--results", help="results folder when giving a study file")
    _allow_outside(p)
    p.set_defaults(handler=_aggregate)

    p = sub.add_parser("bless", help="store a finished study's results as a regression reference")
    p.add_argument("target", metavar="DIR_OR_FILE")
    p.add_argument("--reference", required=True, help="reference JSON (tests/references/...)")
    p.add_argument("--results", help="results folder when giving a study file")
    _allow_outside(p)
    p.set_defaults(handler=_bless)

    p = sub.add_parser("compare", help="compare a study's results with a regression reference")
    p.add_argument("target", metavar="DIR_OR_FILE")
    p.add_argument("--reference", required=True)
    p.add_argument("--results", help="results folder when giving a study file")
    _allow_outside(p)
    p.set_defaults(handler=_compare)


def _allow_outside(p: argparse.ArgumentParser) -> None:
    p.add_argument("--allow-outside", action="store_true",
                   help="accept a study.results_dir outside the study file's folder")


def resolve_target(target: str, results: str | None = None, *,
                   allow_outside: bool = False) -> tuple[Path, object | None]:
    """``(results folder, study or None)`` for a results folder or a study file."""
    path = Path(target)
    if path.is_dir():
        if not (path / "study.json").exists():
            raise ValueError(f"{path}: not a study results folder (no study.json); allowed: "
                             "a results folder, or the study file (run it first)")
        return path.resolve(), None
    from studies.study import load_study

    study = load_study(path, results_dir=results, allow_outside=allow_outside)
    return study.results_dir, study


def _hours(seconds: float) -> str:
    return f"{seconds / 3600:.2f} h" if seconds >= 360 else f"{seconds:.0f} s"


def _check(args: argparse.Namespace) -> int:
    from studies.check import check_study
    from studies.schema import StudyError
    from studies.study import load_study

    study = load_study(args.file, allow_outside=args.allow_outside)
    report = check_study(study, max_cells=args.max_cells)
    if report.issues:
        raise StudyError(str(study.path or args.file), report.issues)
    costs = [study.case_cost_core_s(c) for c in study.cases]
    total = sum(costs)
    ranks, par = study.run["ranks"], study.parallel_cases()
    cores = os.cpu_count() or 1
    local_wall = total / max(1, min(cores, ranks * par))
    print(f"study {study.name}: OK")
    print(f"  solve: {', '.join(study.solve)}")
    print("  grid: " + (" x ".join(f"{k} ({len(v)})" for k, v in study.grid.items()) or "-"))
    print(f"  listed cases: {len(study.listed)}")
    print(f"  cases: {len(study.cases)}")
    print(f"  estimated cost: {_hours(total)} core time ({_hours(total / max(1, len(costs)))} "
          f"per case); locally ~{_hours(local_wall)} with {par} x {ranks} rank(s) on {cores} "
          f"core(s)")
    print(f"  slurm: {len(study.cases)} array tasks x {study.slurm_ranks()} rank(s), "
          f"time {study.slurm['time']}, mem {study.slurm['mem']}")
    largest = (f"; largest: {report.largest[0]}, ~{report.largest[1]:,} cells"
               if report.largest else "")
    print(f"  inputs: every case's inputs built ({len(report.meshes)} distinct mesh(es)"
          f"{largest}) in {report.seconds:.1f} s")
    print(f"  results: {study.results_dir}")
    for line in report.warnings:
        print(f"nre study check: warning: {line}", file=sys.stderr)
    if args.verbose:
        for case, cost in zip(study.cases, costs, strict=True):
            print(f"    {case.case_id}  {cost:8.1f} core-s  {case.label()}")
    return 0


def _run(args: argparse.Namespace) -> int:
    from studies.aggregate import aggregate
    from studies.runner import run_study
    from studies.study import load_study

    study = load_study(args.file, results_dir=args.results, allow_outside=args.allow_outside)
    summary = run_study(study, force=args.force, parallel=args.parallel, ranks=args.ranks)
    if not args.no_aggregate:
        paths = aggregate(study.results_dir)
        print(f"table: {paths['parquet']} (+ .csv), sweep: {paths['netcdf']}")
    return 0 if summary.ok else 1


def _status(args: argparse.Namespace) -> int:
    from studies.aggregate import case_rows, status_counts
    root, study = resolve_target(args.target, args.results,
                                 allow_outside=args.allow_outside)
    expected = None
    if study is not None:  # the cases of the file as it is now
        expected = [{"case_id": c.case_id, "index": c.index, "source": c.source, "axes": c.axes}
                    for c in study.cases]
    rows = case_rows(root, expected)
    counts = status_counts(rows)
    print(f"{root}: {len(rows)} cases: " + ", ".join(f"{v} {k}" for k, v in sorted(counts.items())))
    for row in rows:
        if args.verbose or row["status"] != "done":
            reason = f"  {row['reason']}" if row.get("reason") else ""
            print(f"  {row['case_id']}  {row['status']:<11}{reason}")
    return 0 if counts.get("done", 0) == len(rows) else 1


def _aggregate(args: argparse.Namespace) -> int:
    from studies.aggregate import aggregate

    root, _study = resolve_target(args.target, args.results,
                                 allow_outside=args.allow_outside)
    for kind, path in aggregate(root).items():
        print(f"{kind}: {path}")
    return 0


def _bless(args: argparse.Namespace) -> int:
    from studies.regression import bless

    root, study = resolve_target(args.target, args.results,
                                 allow_outside=args.allow_outside)
    data = bless(root, args.reference, study=str(study.path) if study else "")
    print(f"blessed {len(data['cases'])} case(s) into {args.reference}")
    return 0


def _compare(args: argparse.Namespace) -> int:
    from studies.regression import compare

    root, _study = resolve_target(args.target, args.results,
                                 allow_outside=args.allow_outside)
    problems = compare(root, args.reference)
    for line in problems:
        print(line)
    print("agrees with the reference" if not problems else f"{len(problems)} difference(s)")
    return 0 if not problems else 1
