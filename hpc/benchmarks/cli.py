"""``nre bench``: the benchmark suite (thin wrapper over :mod:`hpc.benchmarks.suite`)."""

from __future__ import annotations

import argparse

__all__ = ["register"]


def register(subparsers) -> None:
    """Add ``nre bench``."""
    from hpc.benchmarks.suite import add_arguments

    p = subparsers.add_parser(
        "bench", help="benchmark our solvers beside plain DOLFINx; table + JSON",
        description="Runs every benchmark under mpirun at each rank count, prints one table "
        "and the target verdicts, writes JSON (see the README, 'Benchmarks').")
    add_arguments(p)
    p.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    from hpc.benchmarks.suite import run_from_args

    return run_from_args(args)
