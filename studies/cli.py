"""The ``nre`` command line: one thin entry point that hands each subcommand to its package.

Each package that owns a subcommand exposes ``register(subparsers)`` in its own ``cli`` module;
this file only lists them. Heavy imports (DOLFINx, Gmsh) happen inside the handlers, so that
``nre --help`` is instant and input errors are reported before anything is meshed or solved.
"""

from __future__ import annotations

import argparse
import importlib
import sys

#: Modules that add subcommands, in the order ``nre --help`` lists them.
COMMAND_MODULES = (
    "meshes.cli",
    "studies.solve_cli",
    "studies.commands",
    "hpc.slurm_cli",
    "postprocess.cli",
    "hpc.benchmarks.cli",
)


class UserInputError(ValueError):
    """Bad input typed by a person: printed as one clear line, exit status 2."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nre",
        description="Needle re-entry study toolkit: meshes, solvers, sweeps, Slurm and reports.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args) or 0)
    except ValueError as err:  # validation errors name field, value and allowed range
        print(f"nre {args.command}: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
