"""Studies: study files, case expansion, the resumable case runner and the CLI.

Public face::

    from studies import load_study, run_study, aggregate, register_kind, SCHEMA, Field

- :func:`load_study` reads and validates a TOML study (errors name the key and the file line)
  and expands its sweep into :class:`Case` objects with stable ids (:func:`case_id`).
- :func:`register_kind` plugs in what a case solves: ``run_case(params, comm, workdir) -> dict``;
  ``SCHEMA.add_section("base.balloon", [Field(...), ...])`` declares its inputs.
- :func:`run_study` runs the pending cases locally under MPI (resumable, safe to run twice at
  once); :mod:`hpc.slurm` does the same as a Slurm job array.
- :func:`aggregate` writes the case table (Parquet, CSV) and the sweep array (netCDF);
  :mod:`studies.regression` compares results with stored references.

Command line: ``nre study check|run|status|aggregate|bless|compare`` and
``nre slurm submit|status|resubmit`` (see ``nre study --help``).
"""

import hpc.stack  # noqa: F401  (orders MPI before DOLFINx; keep first)

from studies.caseid import case_id  # noqa: E402
from studies.kinds import CaseFailed, register_kind  # noqa: E402
from studies.schema import SCHEMA, Field, StudyError  # noqa: E402
from studies.study import Case, Study, load_study  # noqa: E402


def run_study(*args, **kwargs):
    """See :func:`studies.runner.run_study` (imported on use: it pulls in the worker)."""
    from studies.runner import run_study as _run

    return _run(*args, **kwargs)


def aggregate(results_dir):
    """See :func:`studies.aggregate.aggregate` (imported on use: pandas, xarray)."""
    from studies.aggregate import aggregate as _aggregate

    return _aggregate(results_dir)


__all__ = ["SCHEMA", "Case", "CaseFailed", "Field", "Study", "StudyError", "aggregate",
           "case_id", "load_study", "register_kind", "run_study"]
