"""Shared fixtures. `make test` runs the suite serially, then the `mpi`-marked tests on 2 ranks."""

from __future__ import annotations

import os
import pathlib
import shutil
import tempfile

import hpc.stack  # noqa: F401  (orders MPI before DOLFINx; keep first)

import pytest
from mpi4py import MPI


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
