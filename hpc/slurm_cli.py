"""``nre slurm ...``: submit a study as a job array, follow it, resubmit what is left."""

from __future__ import annotations

import argparse
from pathlib import Path

__all__ = ["register"]


def _resource_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--partition", help="override slurm.partition")
    p.add_argument("--account", help="override slurm.account")
    p.add_argument("--qos", help="override slurm.qos")
    p.add_argument("--time", help="override slurm.time (e.g. 02:00:00)")
    p.add_argument("--mem", help="override slurm.mem (e.g. 8G)")
    p.add_argument("--ranks", type=int, help="override the MPI ranks per case")
    p.add_argument("--throttle", type=int, help="override slurm.throttle (array %%K)")
    p.add_argument("--launcher", choices=("srun", "mpirun"), help="override slurm.launcher")
    p.add_argument("--force", action="store_true", help="also resubmit cases that are done")
    p.add_argument("--dry-run", action="store_true", help="write the scripts, submit nothing")
    p.add_argument("--max-array-size", type=int, help="tasks per array at most (default: the "
                   "cluster's MaxArraySize from scontrol, else 1001); larger sweeps are split")


def register(subparsers) -> None:
    """Add ``nre slurm`` and its subcommands."""
    slurm = subparsers.add_parser("slurm", help="run studies as Slurm job arrays")
    sub = slurm.add_subparsers(dest="slurm_command", metavar="ACTION")
    sub.required = True

    p = sub.add_parser("submit", help="submit the missing/failed cases of a study file")
    p.add_argument("file")
    p.add_argument("--results", help="results folder (default: study.results_dir)")
    _resource_args(p)
    _allow_outside(p)
    p.set_defaults(handler=_submit)

    p = sub.add_parser("resubmit", help="submit again what is failed/missing/interrupted")
    p.add_argument("target", metavar="DIR_OR_FILE", help="results folder (or the study file)")
    p.add_argument("--results", help="results folder when giving a study file")
    _resource_args(p)
    _allow_outside(p)
    p.set_defaults(handler=_submit)

    p = sub.add_parser("status", help="Slurm states of the last submission and case states")
    p.add_argument("target", metavar="DIR_OR_FILE")
    p.add_argument("--results", help="results folder when giving a study file")
    p.add_argument("--all", action="store_true", help="every submission, not only the last")
    _allow_outside(p)
    p.set_defaults(handler=_status)


def _allow_outside(p: argparse.ArgumentParser) -> None:
    p.add_argument("--allow-outside", action="store_true",
                   help="accept a study.results_dir outside the study file's folder")


def _load(target: str, results: str | None, allow_outside: bool = False):
    from studies.study import load_study

    path = Path(target)
    if path.is_dir():
        snapshot = path / "study.toml"
        if not snapshot.exists():
            raise ValueError(f"{path}: not a study results folder (no study.toml); allowed: a "
                             "results folder, or the study file")
        return load_study(snapshot, results_dir=path.resolve())
    return load_study(path, results_dir=results, allow_outside=allow_outside)


def _submit(args: argparse.Namespace) -> int:
    from hpc.slurm import SlurmOptions, submit_study

    study = _load(getattr(args, "file", None) or args.target, args.results, args.allow_outside)
    opts = SlurmOptions.from_study(
        study, partition=args.partition, account=args.account, qos=args.qos, time=args.time,
        mem=args.mem, ranks=args.ranks, throttle=args.throttle, launcher=args.launcher)
    sub = submit_study(study, opts, force=args.force, dry_run=args.dry_run,
                       max_array_size=args.max_array_size)
    if sub is None:
        print(f"study {study.name}: nothing to submit (every case is done or running)")
        return 0
    print(f"study {study.name}: {len(sub.case_ids)} case(s) in {sub.folder}")
    if len(sub.sizes) > 1:
        print(f"split into {len(sub.sizes)} arrays ({' + '.join(map(str, sub.sizes))} cases): "
              f"MaxArraySize {sub.max_array_size} ({sub.max_array_size_from})"
              + ("; each array waits for the one before it (throttle)"
                 if opts.throttle else ""))
    if args.dry_run:
        print(f"dry run: submit with {sub.folder / 'submit.sh'}")
    else:
        print(f"array job(s) {', '.join(sub.array_job_ids)}, aggregation job "
              f"{sub.aggregate_job_id} (afterany)")
    return 0


def _status(args: argparse.Namespace) -> int:
    from hpc.slurm import slurm_task_states, submissions
    from studies.aggregate import case_rows, status_counts

    study = _load(args.target, args.results, args.allow_outside)
    root = study.results_dir
    subs = submissions(root)
    for sub in subs if args.all else subs[-1:]:
        arrays = sub.get("array_job_ids") or [sub.get("array_job_id")]
        print(f"submission {sub['tag']}: {len(sub['case_ids'])} case(s), array(s) "
              f"{', '.join(map(str, arrays))}, aggregation {sub['aggregate_job_id']}")
        jobs = [("array", job) for job in arrays] + [("aggregate", sub["aggregate_job_id"])]
        for label, job in jobs:
            if job is None:
                continue
            states = slurm_task_states(job)
            if not states:
                print(f"  {label} {job}: no longer known to slurmctld")
            for task, (state, code) in sorted(states.items()):
                print(f"  {label} {job} task {task}: {state} exit {code}")
    if not subs:
        print(f"{root}: no Slurm submission recorded")
    expected = [{"case_id": c.case_id, "index": c.index, "source": c.source, "axes": c.axes}
                for c in study.cases]
    rows = case_rows(root, expected)
    counts = status_counts(rows)
    print(f"cases: {len(rows)}: " + ", ".join(f"{v} {k}" for k, v in sorted(counts.items())))
    for row in rows:
        if row["status"] != "done":
            print(f"  {row['case_id']}  {row['status']:<11}  {row.get('reason') or ''}")
    return 0 if counts.get("done", 0) == len(rows) else 1
