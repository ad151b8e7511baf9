"""The one place that orders MPI ahead of DOLFINx and PETSc.

The pip wheel ``dolfinx-solver-real`` ships its own MPICH and PETSc; its package
``dolfinx_solver`` must be imported before ``dolfinx`` or ``petsc4py`` so that
``mpi4py.MPI`` is loaded first and the vendored libraries are found. A conda-forge
install has no such package and needs nothing: the import is then skipped.

Every package of the toolkit imports this module in its ``__init__`` before anything
else, so no module has to remember the rule (ruff's isort keeps it in its own first
section, see ``pyproject.toml``).

**Garbage collection under MPI.** With more than one rank, Python's cyclic garbage collector
is turned off here, and :func:`collect` frees cycles at points that every rank reaches
together (after each test, after each case kind, when a problem is built). Destroying a
solver is collective (PETSc, MUMPS), and the collector runs whenever a rank happens to
allocate: on rank 0 alone while it compiles a form for all ranks, the other rank waiting in a
broadcast, that deadlocked the 2-rank suite (``NonlinearProblem.__del__`` inside FFCx's code
generation). One rank: nothing changes.
"""

from __future__ import annotations

try:  # pip wheel: must run before dolfinx/petsc4py are imported anywhere
    import dolfinx_solver  # noqa: F401

    STACK = "pip:dolfinx-solver-real"
except ImportError:  # conda-forge fenics-dolfinx: nothing to order
    STACK = "conda-forge"

import gc  # noqa: E402

from mpi4py import MPI  # noqa: E402

__all__ = ["MPI", "STACK", "collect"]

if MPI.COMM_WORLD.size > 1:
    gc.disable()


def collect(comm=None) -> None:
    """Free garbage cycles now, on every rank of ``comm`` (default the world) together: call
    it where all ranks are at the same point. Under one rank it only collects."""
    comm = comm if comm is not None else MPI.COMM_WORLD
    if comm.size > 1:
        comm.barrier()
    gc.collect()
