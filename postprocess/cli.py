"""``nre report STUDY_DIR``: the HTML report of a study (thin CLI over postprocess.report)."""

from __future__ import annotations

import argparse

__all__ = ["register"]


def register(subparsers) -> None:
    """Add ``nre report``."""
    p = subparsers.add_parser(
        "report", help="write the HTML report of a study (maps, curves, renders, cases)",
        description="Write a self-contained HTML report of a study's results folder (or study "
                    "file): maps over calcification grade x balloon pressure, curves, field "
                    "renders, the cases with their state, failures, provenance and the "
                    "verification status. Rerun it when more cases have finished.")
    p.add_argument("target", metavar="STUDY_DIR", help="results folder (or the study file)")
    p.add_argument("--results", help="results folder when giving a study file")
    p.add_argument("--out", help="report folder (default: STUDY_DIR/report)")
    p.add_argument("--options", help="JSON/TOML file of report options (column names, axes, "
                   "curves; see postprocess.report.ReportOptions)")
    p.add_argument("--verification", help="verification JSON (default: STUDY_DIR/"
                   "verification.json, then tests/verification.json)")
    p.add_argument("--x-axis", help="map x axis (default balloon.pressure_atm)")
    p.add_argument("--y-axis", help="map y axis (default calcification.grade)")
    p.add_argument("--no-renders", action="store_true", help="skip the field renders")
    p.add_argument("--allow-outside", action="store_true",
                   help="accept a study.results_dir outside the study file's folder")
    p.set_defaults(handler=_report)


def _report(args: argparse.Namespace) -> int:
    import dataclasses

    from postprocess.report import ReportOptions, options_from_file, write_report
    from studies.commands import resolve_target

    root, _study = resolve_target(args.target, args.results,
                                  allow_outside=args.allow_outside)
    opts = options_from_file(args.options) if args.options else ReportOptions()
    changes = {}
    if args.verification:
        changes["verification"] = args.verification
    if args.x_axis:
        changes["x_axis"] = args.x_axis
    if args.y_axis:
        changes["y_axis"] = args.y_axis
    if args.no_renders:
        changes["max_render_cases"] = 0
    opts = dataclasses.replace(opts, **changes)
    result = write_report(root, args.out, options=opts)
    state = ", ".join(f"{v} {k}" for k, v in sorted(result.counts.items()))
    print(f"report: {result.html} ({state}; {len(result.maps)} maps, "
          f"{len(result.images)} images)")
    if result.maps_json:
        print(f"maps.json: {result.maps_json}")
    for note in result.notes:
        print(f"  note: {note}")
    return 0
