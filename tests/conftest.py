"""Shared fixtures. `make test` runs the suite serially, then the `mpi`-marked tests on 2 ranks;
the closed-form checks of both runs end in `tests/verification.json` (verification_plugin.py)."""

from __future__ import annotations

import os
import pathlib
import shutil
import tempfile

import hpc.stack  # noqa: F401  (orders MPI before DOLFINx; keep first)

import pytest
from mpi4py import MPI

#: the `verification` fixture; writes tests/verification.json at the end of the session
pytest_plugins = ("tests.verification_plugin",)


@pytest.fixture
def comm() -> MPI.Intracomm:
    return MPI.COMM_WORLD


@pytest.fixture
def shared_tmp(request) -> pathlib.Path:
    """A temporary folder that every rank sees (pytest's tmp_path differs per rank)."""
    comm = MPI.COMM_WORLD
    path = tempfile.mkdtemp(prefix="nre-test-") if comm.rank == 0 else None
    path = pathlib.Path(comm.bcast(path, root=0))
    yield path
    comm.barrier()
    if comm.rank == 0:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(autouse=True)
def _isolated_cache(monkeypatch, shared_tmp):
    """Each test gets its own mesh/form cache unless it asks for another one."""
    monkeypatch.setenv("NRE_CACHE_DIR", os.fspath(shared_tmp / "cache"))


@pytest.fixture(autouse=True)
def _collect_garbage_together():
    """Under mpirun the cyclic collector is off (:mod:`hpc.stack`): free each test's garbage
    cycles (solvers, whose destruction is collective) on every rank after the test."""
    yield
    if MPI.COMM_WORLD.size > 1:
        import hpc.stack

        hpc.stack.collect()


@pytest.fixture(scope="session")
def session_cache() -> pathlib.Path:
    """A mesh cache shared by every test of one run (and every rank): a temporary folder, or
    ``$NRE_TEST_MESH_CACHE`` when set (kept: ``make test`` empties it, the serial run fills it
    and the 2-rank run reads it back; the cache checks every entry it loads)."""
    comm = MPI.COMM_WORLD
    keep = os.environ.get("NRE_TEST_MESH_CACHE", "")
    if keep:
        path = pathlib.Path(keep)
        if comm.rank == 0:
            path.mkdir(parents=True, exist_ok=True)
        comm.barrier()
        yield path
        return
    path = tempfile.mkdtemp(prefix="nre-session-") if comm.rank == 0 else None
    path = pathlib.Path(comm.bcast(path, root=0))
    yield path
    comm.barrier()
    if comm.rank == 0:
        shutil.rmtree(path, ignore_errors=True)


def pytest_runtest_logreport(report):
    """Under mpirun, a test that fails on one rank would leave the others waiting in a
    collective forever: print the failure on that rank and abort the whole run at once."""
    comm = MPI.COMM_WORLD
    if comm.size > 1 and report.failed:
        print(f"\n[rank {comm.rank}] FAILED {report.nodeid}\n{report.longreprtext}", flush=True)
        comm.Abort(1)
