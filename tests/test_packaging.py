"""Packaging: every runtime import is a declared dependency (pip and conda), a LICENSE, the build
requirement the license form needs, and a fresh virtual environment where
``pip install -e ".[pip]"`` (without the test extra) gives a working ``nre``.

The fresh-venv test installs from the configured package index (here a local mirror); where that
cannot run it is skipped with the reason, and with ``CI=true`` it fails instead.
"""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
import tomllib
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("fem", "meshes", "studies", "postprocess", "hpc")
#: Imports that come with a declared distribution under another name.
PROVIDED = {"vtk": "pyvista", "dolfinx": "pip extra", "dolfinx_solver": "pip extra",
            "basix": "pip extra", "ufl": "pip extra", "petsc4py": "pip extra",
            "ffcx": "pip extra"}
#: conda-forge package names of the pip distributions.
CONDA_NAMES = {"gmsh": "python-gmsh", "netCDF4": "netcdf4"}


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def _requirement_name(req: str) -> str:
    return re.split(r"[<>=!~ ;\[]", req, maxsplit=1)[0]


def _third_party_imports() -> dict[str, str]:
    """Top-level module -> a file importing it, over the toolkit's packages."""
    out: dict[str, str] = {}
    for pkg in PACKAGES:
        for path in sorted((ROOT / pkg).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Import):
                    mods = [a.name for a in node.names]
                elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                    mods = [node.module]
                else:
                    continue
                for mod in mods:
                    top = mod.split(".")[0]
                    if top not in sys.stdlib_module_names and top not in PACKAGES:
                        out.setdefault(top, str(path.relative_to(ROOT)))
    return out


def test_every_runtime_import_is_declared():
    project = _pyproject()["project"]
    declared = {_requirement_name(r) for r in project["dependencies"]}
    missing = {mod: path for mod, path in _third_party_imports().items()
               if mod not in declared and mod not in PROVIDED}
    assert not missing, f"imported at run time but not in [project] dependencies: {missing}"
    assert {"scipy", "mpi4py"} <= declared
    tests_only = {_requirement_name(r) for r in project["optional-dependencies"]["test"]}
    assert not tests_only & declared


def test_environment_yml_has_the_runtime_dependencies():
    text = (ROOT / "environment.yml").read_text()
    conda = {re.split(r"[<>=]", line.strip()[2:])[0] for line in text.splitlines()
             if line.strip().startswith("- ")}
    needed = {CONDA_NAMES.get(n, n).lower() for n in
              map(_requirement_name, _pyproject()["project"]["dependencies"])}
    assert needed <= conda, f"missing in environment.yml: {needed - conda}"
    assert "fenics-dolfinx" in conda and "- fenics-dolfinx=0.11" in text


def test_license_and_build_requirement():
    data = _pyproject()
    assert data["project"]["license"] == "MIT"
    assert data["project"]["license-files"] == ["LICENSE"]
    (req,) = data["build-system"]["requires"]
    assert req == "setuptools>=77"  # the SPDX `license = "MIT"` form needs it
    text = (ROOT / "LICENSE").read_text()
    assert text.startswith("MIT License") and "nre developers" in text
    assert "WITHOUT WARRANTY OF ANY KIND" in text


def _unavailable(reason: str):
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true but the fresh-venv install check cannot run: {reason}")
    pytest.skip(f"fresh-venv install check cannot run: {reason}")


@pytest.mark.slow
def test_fresh_venv_install_runs_nre(tmp_path):
    """``pip install -e ".[pip]"`` into an empty venv (no test extra): ``nre --help``,
    ``nre --version`` and a coarse balloon solve (DOLFINx, Gmsh, scipy, MPI) work."""
    env_dir = tmp_path / "venv"
    try:
        venv.EnvBuilder(with_pip=True, clear=True).create(env_dir)
    except (OSError, subprocess.CalledProcessError) as err:
        _unavailable(f"cannot create a venv: {err}")
    py = env_dir / "bin" / "python"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["NRE_CACHE_DIR"] = str(tmp_path / "cache")
    install = subprocess.run([str(py), "-m", "pip", "install", "-q", "--no-compile", "-e",
                              f"{ROOT}[pip]"],
                             capture_output=True, text=True, env=env, timeout=1800)
    if install.returncode != 0:
        tail = (install.stdout + install.stderr).strip().splitlines()[-5:]
        reason = " | ".join(tail)
        if re.search(r"No matching distribution|Could not find a version|Network|"
                     r"connection|Temporary failure", reason, re.IGNORECASE):
            _unavailable(f"pip could not fetch a package: {reason}")
        pytest.fail(f"pip install -e .[pip] failed: {reason}")
    nre = env_dir / "bin" / "nre"
    shown = subprocess.run([str(nre), "--help"], capture_output=True, text=True, env=env,
                           timeout=300)
    assert shown.returncode == 0 and "study" in shown.stdout, shown.stderr
    version = subprocess.run([str(nre), "--version"], capture_output=True, text=True, env=env,
                             timeout=300)
    assert version.returncode == 0 and version.stdout.startswith("nre 0.1.0 (git "), version
    check = subprocess.run([str(py), "-m", "pip", "check"], capture_output=True, text=True,
                           env=env, timeout=300)
    assert check.returncode == 0, check.stdout + check.stderr
    frozen = subprocess.run([str(py), "-m", "pip", "freeze"], capture_output=True, text=True,
                            env=env, timeout=300).stdout.lower()
    assert "pytest" not in frozen and "ruff" not in frozen  # the test extra stayed out
    out = tmp_path / "solve"
    solve = subprocess.run([str(nre), "solve", "balloon", "--grade", "pacss-0",
                            "--pressure-atm", "1", "--level", "0", "--out", str(out)],
                           capture_output=True, text=True, env=env, timeout=1800, cwd=tmp_path)
    assert solve.returncode == 0, solve.stdout[-2000:] + solve.stderr[-2000:]
    assert (out / "balloon.json").is_file() and "wrote" in solve.stdout
