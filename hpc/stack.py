"""The one place that orders MPI ahead of DOLFINx and PETSc.

The pip wheel ``dolfinx-solver-real`` ships its own MPICH and PETSc; its package
``dolfinx_solver`` must be imported before ``dolfinx`` or ``petsc4py`` so that
``mpi4py.MPI`` is loaded first and the vendored libraries are found. A conda-forge
install has no such package and needs nothing: the import is then skipped.

Every package of the toolkit imports this module in its ``__init__`` before anything
else, so no module has to remember the rule (ruff's isort keeps it in its own first
section, see ``pyproject.toml``).
"""

from __future__ import annotations

try:  # pip wheel: must run before dolfinx/petsc4py are imported anywhere
    import dolfinx_solver  # noqa: F401

    STACK = "pip:dolfinx-solver-real"
except ImportError:  # conda-forge fenics-dolfinx: nothing to order
    STACK = "conda-forge"

from mpi4py import MPI  # noqa: E402

__all__ = ["MPI", "STACK"]
