"""What a measurement process reads off PETSc and the OS: event times, iterations, memory.

Used inside the MPI processes the suite launches (:mod:`hpc.benchmarks.measure`). Times are
PETSc log events (enabled with :func:`start_logging`), differenced between two snapshots and
maximised over ranks, so they are wall-clock times of the slowest rank:

* ``SNESFunctionEval`` + ``SNESJacobianEval``: residual and Jacobian assembly (DOLFINx's
  Python callbacks run inside these events, so they hold the whole assembly);
* ``PCSetUp``: preconditioner set-up (AMG hierarchy, or the LU factorisation of MUMPS);
* ``PCSetUp`` and ``PCApply`` counts: set-ups (LU factorisations) and applications, whence
  the Krylov iterations of a one-level preconditioner (``Split.krylov_iterations``);
* ``KSPSolve``: the Krylov iterations (or the triangular solves of LU). In PETSc 3.25 the
  ``PCSetUp`` a solve triggers runs before the ``KSPSolve`` event starts, so the two do not
  overlap: ``SNESSolve`` = assembly + ``PCSetUp`` + ``KSPSolve`` + a little vector work
  (checked by ``tests/test_benchmarks.py``).
"""

from __future__ import annotations

import resource
import time
from dataclasses import dataclass

import hpc.stack  # noqa: F401  (orders MPI before DOLFINx; keep first)

from mpi4py import MPI
from petsc4py import PETSc

#: PETSc events read by :class:`EventClock`.
EVENTS = ("SNESSolve", "SNESFunctionEval", "SNESJacobianEval", "KSPSolve", "PCSetUp", "PCApply")


def start_logging() -> None:
    """Turn PETSc's default event logging on (once per process; cheap)."""
    PETSc.Log.begin()


@dataclass
class Split:
    """Seconds spent per phase between two snapshots (max over ranks)."""

    snes_s: float
    assembly_s: float
    pc_setup_s: float
    krylov_s: float
    ksp_solves: int
    residual_evals: int
    jacobian_evals: int
    pc_setups: int = 0
    krylov_iterations: int = 0


class EventClock:
    """Snapshots of PETSc event times; :meth:`split` gives the phases since the last mark."""

    def __init__(self, comm: MPI.Comm) -> None:
        self.comm = comm
        self._events = {name: PETSc.Log.Event(name) for name in EVENTS}
        self._mark = self._read()

    def _read(self) -> dict[str, tuple[float, int]]:
        out = {}
        for name, ev in self._events.items():
            info = ev.getPerfInfo()
            out[name] = (float(info["time"]), int(info["count"]))
        return out

    def mark(self) -> None:
        self._mark = self._read()

    def split(self) -> Split:
        now = self._read()
        d = {k: (now[k][0] - self._mark[k][0], now[k][1] - self._mark[k][1]) for k in now}
        times = {k: self.comm.allreduce(v[0], op=MPI.MAX) for k, v in d.items()}
        return Split(
            snes_s=times["SNESSolve"],
            assembly_s=times["SNESFunctionEval"] + times["SNESJacobianEval"],
            pc_setup_s=times["PCSetUp"],
            krylov_s=times["KSPSolve"],
            ksp_solves=d["KSPSolve"][1],
            residual_evals=d["SNESFunctionEval"][1],
            jacobian_evals=d["SNESJacobianEval"][1],
            pc_setups=d["PCSetUp"][1],
            # a one-level preconditioner is applied once per Krylov iteration and once per
            # solve (GMRES: its + 1; preonly: 1)
            krylov_iterations=max(0, d["PCApply"][1] - d["KSPSolve"][1]),
        )


def peak_rss_mb(comm: MPI.Comm) -> float:
    """Largest peak resident set size over the ranks of ``comm``, in MiB (Linux: KiB units)."""
    kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return comm.allreduce(kib, op=MPI.MAX) / 1024.0


class Stopwatch:
    """``with Stopwatch(comm) as sw: ...`` then ``sw.s``: wall seconds, max over ranks."""

    def __init__(self, comm: MPI.Comm) -> None:
        self.comm = comm
        self.s = 0.0

    def __enter__(self) -> Stopwatch:
        self.comm.barrier()
        self._t0 = time.perf_counter()
        return self

    def __exit__(self, *exc) -> None:
        self.s = self.comm.allreduce(time.perf_counter() - self._t0, op=MPI.MAX)
