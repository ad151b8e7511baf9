"""``nre`` restricted to the study and Slurm commands, for tests (in-process or as a script).

Other command modules of ``studies.cli`` belong to other parts of the toolkit; the tests of the
study machinery should not depend on them being present or importable.
"""

from __future__ import annotations

import sys

import hpc.stack  # noqa: F401  (orders MPI before DOLFINx; keep first)

import studies.cli as cli

MODULES = ("studies.commands", "hpc.slurm_cli")


def nre(argv: list[str]) -> int:
    """Run ``nre ARGV`` with only :data:`MODULES` registered; returns the exit code."""
    saved = cli.COMMAND_MODULES
    cli.COMMAND_MODULES = MODULES
    try:
        return cli.main([str(a) for a in argv])
    finally:
        cli.COMMAND_MODULES = saved


if __name__ == "__main__":
    sys.exit(nre(sys.argv[1:]))
