"""Provenance of a case record: code version, library versions, host, ranks, times, Slurm ids."""

from __future__ import annotations

import functools
import os
import platform
import socket
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

__all__ = ["code_version", "library_versions", "now_iso", "package_version", "runtime_provenance",
           "slurm_ids"]

_REPO = Path(__file__).resolve().parent.parent

_SLURM_VARS = {
    "job_id": "SLURM_JOB_ID",
    "array_job_id": "SLURM_ARRAY_JOB_ID",
    "array_task_id": "SLURM_ARRAY_TASK_ID",
    "partition": "SLURM_JOB_PARTITION",
    "cluster": "SLURM_CLUSTER_NAME",
    "nodelist": "SLURM_JOB_NODELIST",
}


def now_iso() -> str:
    """Current UTC time, ISO 8601 with seconds."""
    return datetime.now(UTC).isoformat(timespec="seconds")


def package_version() -> str:
    """The installed distribution's version, ``"unknown"`` when it is not installed."""
    try:
        from importlib.metadata import version

        return version("nre")
    except Exception:  # noqa: BLE001  (no metadata: say so rather than fail)
        return "unknown"


@functools.cache
def code_version() -> dict:
    """Git commit of the toolkit's source tree (with a dirty flag), else the package version.

    Only a checkout whose top level is the toolkit's own folder counts: an installed copy that
    merely lies inside some other repository has no commit.
    """
    try:
        top = subprocess.run(
            ["git", "-C", str(_REPO), "rev-parse", "--show-toplevel"],
            capture_output=True, text=True, timeout=10, check=True,
        ).stdout.strip()
        if Path(top).resolve() != _REPO.resolve():
            raise subprocess.SubprocessError(f"{_REPO} is not the top of a git checkout")
        commit = subprocess.run(
            ["git", "-C", str(_REPO), "rev-parse", "HEAD"],
            capture_output=True, text=True, timeout=10, check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(_REPO), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True, text=True, timeout=10, check=True,
        ).stdout.strip()
        return {"git_commit": commit, "git_dirty": bool(dirty)}
    except (OSError, subprocess.SubprocessError):
        pass
    return {"git_commit": None, "package_version": package_version()}


def library_versions() -> dict:
    """Versions of DOLFINx, PETSc, Gmsh, MPI and Python in this process (imports them)."""
    out: dict = {"python": platform.python_version()}
    try:
        import dolfinx

        out["dolfinx"] = dolfinx.__version__
    except ImportError:
        out["dolfinx"] = None
    try:
        from petsc4py import PETSc

        out["petsc"] = "{}.{}.{}".format(*PETSc.Sys.getVersion())
    except ImportError:
        out["petsc"] = None
    try:
        import gmsh

        out["gmsh"] = gmsh.__version__
    except (ImportError, OSError):
        out["gmsh"] = None
    try:
        from mpi4py import MPI

        out["mpi"] = MPI.Get_library_version().splitlines()[0].strip()
    except ImportError:
        out["mpi"] = None
    return out


def slurm_ids() -> dict:
    """Slurm job/array ids of this process, empty outside Slurm."""
    return {k: os.environ[v] for k, v in _SLURM_VARS.items() if os.environ.get(v)}


def runtime_provenance() -> dict:
    """Host, Python executable and Slurm ids of this process."""
    return {"host": socket.gethostname(), "python_executable": sys.executable,
            "slurm": slurm_ids()}
