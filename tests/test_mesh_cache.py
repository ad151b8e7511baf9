"""The mesh cache heals: a damaged entry is found before DOLFINx reads it (sizes, SHA-256) or
after (region volumes), moved aside with a one-line warning and rebuilt; ``use_cache=False``
(``nre mesh --no-cache``) replaces an entry. Serial and ``mpirun -n 2`` (marked ``mpi``).

Each damage is one the issue reproduced on the old cache: ``mesh.h5`` truncated (every later
build failed), 300 coordinates scaled by 1.5 (volumes 15-20 % off, reported as a cache hit),
4 KB of topology overwritten (PETSc crash, MPI_Abort).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import glob
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import hpc.stack  # noqa: F401  (orders MPI before DOLFINx; keep first)

import numpy as np
import pytest
from mpi4py import MPI

from meshes import (
    ArteryModelSpec,
    ArterySpec,
    MeshSpec,
    NeedlePathSpec,
    calcification_for_grade,
    load_artery_mesh,
    region_volumes,
)
from meshes.io import ENTRY_FILES, exact_volumes

pytestmark = pytest.mark.mpi

#: A small 3-D segment (about 7 000 tetrahedra, a few seconds to build).
SPEC = ArteryModelSpec(
    artery=ArterySpec(length_mm=6.0), needle=NeedlePathSpec(entry_angle_deg=90.0),
    calcification=calcification_for_grade("pacss-3"),
    mesh=MeshSpec(size_mm=2.0, needle_size_mm=1.0, flap_size_mm=0.5, circle_points=12,
                  refinement_radius_mm=0.5))


@pytest.fixture(scope="module")
def pristine(session_cache) -> Path:
    """A cache holding the entry of SPEC, built once per test run."""
    load_artery_mesh(SPEC, MPI.COMM_WORLD, cache_dir=session_cache / "pristine")
    return session_cache / "pristine"


@pytest.fixture
def cache(pristine, shared_tmp) -> Path:
    """A copy of the pristine cache that the test may damage (every rank sees it)."""
    if MPI.COMM_WORLD.rank == 0:
        shutil.copytree(pristine, shared_tmp / "meshes")
    MPI.COMM_WORLD.barrier()
    return shared_tmp / "meshes"


def _on_rank0(damage, *args) -> None:
    if MPI.COMM_WORLD.rank == 0:
        damage(*args)
    MPI.COMM_WORLD.barrier()


def _hdf5():
    here = []
    try:  # the pip stack's HDF5 (the library DOLFINx wrote the file with)
        import dolfinx_solver

        here = glob.glob(os.path.join(os.path.dirname(dolfinx_solver.__file__), "lib",
                                       "libhdf5.so*"))
    except ImportError:
        pass
    name = here[0] if here else ctypes.util.find_library("hdf5")
    if not name:
        pytest.skip("no libhdf5 found to locate the datasets in mesh.h5")
    h = ctypes.CDLL(name)
    i64, u64 = ctypes.c_int64, ctypes.c_uint64
    for fn, res, args in (("H5Fopen", i64, [ctypes.c_char_p, ctypes.c_uint, i64]),
                          ("H5Dopen2", i64, [i64, ctypes.c_char_p, i64]),
                          ("H5Dget_offset", u64, [i64]), ("H5Dget_storage_size", u64, [i64]),
                          ("H5Dclose", ctypes.c_int, [i64]), ("H5Fclose", ctypes.c_int, [i64])):
        getattr(h, fn).restype = res
        getattr(h, fn).argtypes = args
    h.H5open()
    return h


def _span(h5: Path, dataset: str) -> tuple[int, int]:
    """(byte offset, bytes) of a contiguous dataset of an HDF5 file (libhdf5 via ctypes)."""
    h = _hdf5()
    f = h.H5Fopen(str(h5).encode(), 0, 0)
    assert f >= 0, h5
    try:
        d = h.H5Dopen2(f, dataset.encode(), 0)
        assert d >= 0, dataset
        offset, size = h.H5Dget_offset(d), h.H5Dget_storage_size(d)
        h.H5Dclose(d)
    finally:
        h.H5Fclose(f)
    assert 0 < offset < 2**63 and size > 0
    return int(offset), int(size)


def _entry(cache: Path) -> Path:
    return cache / SPEC.key()


def _truncate(cache: Path) -> None:
    h5 = _entry(cache) / "mesh.h5"
    os.truncate(h5, h5.stat().st_size // 2)


def _scale_coordinates(cache: Path, n: int = 300, factor: float = 1.5) -> None:
    h5 = _entry(cache) / "mesh.h5"
    offset, size = _span(h5, "/Mesh/mesh/geometry")
    with open(h5, "r+b") as f:
        f.seek(offset)
        x = np.frombuffer(f.read(size), dtype="<f8").reshape(-1, 3).copy()
        x[:n] *= factor
        f.seek(offset)
        f.write(x.tobytes())


def _overwrite_topology(cache: Path, nbytes: int = 4096) -> None:
    h5 = _entry(cache) / "mesh.h5"
    offset, size = _span(h5, "/Mesh/mesh/topology")
    assert size > 2 * nbytes
    with open(h5, "r+b") as f:
        f.seek(offset + size // 2)
        f.write(np.random.default_rng(11).integers(0, 256, nbytes, dtype=np.uint8).tobytes())


def _rerecord(cache: Path) -> None:
    """Make meta.json agree with the files as they are now (a damage no hash can see)."""
    from meshes.io import _file_record

    meta_path = _entry(cache) / "meta.json"
    meta = json.loads(meta_path.read_text())
    meta["content"] = {name: _file_record(_entry(cache) / name) for name in ENTRY_FILES}
    meta_path.write_text(json.dumps(meta))


def _assert_repaired(tm, capfd, reason: str, cache: Path) -> None:
    """Rebuilt (not from the cache), volumes right, one warning line naming the reason."""
    assert not tm.from_cache
    assert reason in tm.repaired
    exact = exact_volumes(SPEC)
    measured = region_volumes(tm)
    for name, v in exact.items():  # this coarse mesh: within 1.5 % (damaged: 15-20 % off)
        assert measured[name] == pytest.approx(v, rel=0.03), name
    err = capfd.readouterr().err
    warnings = [line for line in err.splitlines() if line.startswith("nre: warning:")]
    if MPI.COMM_WORLD.rank == 0:
        assert len(warnings) == 1, err
        assert str(_entry(cache)) in warnings[0] and reason in warnings[0]
        assert len(list((cache / ".damaged").iterdir())) == 1  # kept for inspection
    else:
        assert warnings == []  # printed once, by rank 0
    again = load_artery_mesh(SPEC, MPI.COMM_WORLD, cache_dir=cache)
    assert again.from_cache and not again.repaired
    assert "nre: warning" not in capfd.readouterr().err


def test_a_sound_entry_is_reused_without_a_word(cache, capfd):
    tm = load_artery_mesh(SPEC, MPI.COMM_WORLD, cache_dir=cache)
    assert tm.from_cache and not tm.repaired
    assert "warning" not in capfd.readouterr().err
    meta = json.loads((_entry(cache) / "meta.json").read_text())
    assert set(meta["content"]) == set(ENTRY_FILES)
    for name, rec in meta["content"].items():
        assert rec["bytes"] == (_entry(cache) / name).stat().st_size
        assert len(rec["sha256"]) == 64
    assert set(meta["region_volumes"]) == set(exact_volumes(SPEC)) == set(meta["exact_volumes"])


def test_truncated_mesh_file_is_rebuilt(cache, capfd):
    _on_rank0(_truncate, cache)
    tm = load_artery_mesh(SPEC, MPI.COMM_WORLD, cache_dir=cache)
    _assert_repaired(tm, capfd, "mesh.h5 has", cache)


def test_scaled_coordinates_are_found_by_the_hash(cache, capfd):
    _on_rank0(_scale_coordinates, cache)
    tm = load_artery_mesh(SPEC, MPI.COMM_WORLD, cache_dir=cache)
    _assert_repaired(tm, capfd, "mesh.h5 differs from what was written", cache)


def test_scaled_coordinates_with_a_matching_record_are_found_by_the_volumes(cache, capfd):
    # The second line of defence: the files agree with meta.json, the mesh does not.
    _on_rank0(_scale_coordinates, cache)
    _on_rank0(_rerecord, cache)
    tm = load_artery_mesh(SPEC, MPI.COMM_WORLD, cache_dir=cache)
    _assert_repaired(tm, capfd, "read back", cache)


def test_overwritten_topology_is_found_before_dolfinx_reads_it(cache, capfd):
    # Read, this topology crashed PETSc (MPI_Abort): the hash must reject it first.
    _on_rank0(_overwrite_topology, cache)
    tm = load_artery_mesh(SPEC, MPI.COMM_WORLD, cache_dir=cache)
    _assert_repaired(tm, capfd, "mesh.h5 differs from what was written", cache)


@pytest.mark.parametrize("damage", ["garbage", "legacy"])
def test_unreadable_or_unrecorded_meta_is_rebuilt(cache, capfd, damage):
    meta_path = _entry(cache) / "meta.json"

    def spoil():
        if damage == "garbage":
            meta_path.write_text("{not json")
        else:  # an entry written before entries recorded their content
            meta = json.loads(meta_path.read_text())
            del meta["content"], meta["region_volumes"]
            meta_path.write_text(json.dumps(meta))

    _on_rank0(spoil)
    tm = load_artery_mesh(SPEC, MPI.COMM_WORLD, cache_dir=cache)
    reason = "meta.json unreadable" if damage == "garbage" else "no content record"
    _assert_repaired(tm, capfd, reason, cache)


def test_no_cache_replaces_a_damaged_entry(cache, capfd):
    # Before: --no-cache rebuilt, failed to rename over the entry and kept the damaged one.
    _on_rank0(_truncate, cache)
    tm = load_artery_mesh(SPEC, MPI.COMM_WORLD, cache_dir=cache, use_cache=False)
    assert not tm.from_cache and not tm.repaired  # not looked at: replaced
    assert "warning" not in capfd.readouterr().err
    if MPI.COMM_WORLD.rank == 0:
        leftovers = [p.name for p in cache.iterdir() if p.name != SPEC.key()]
        assert leftovers == []  # no temporary or old folder left
    again = load_artery_mesh(SPEC, MPI.COMM_WORLD, cache_dir=cache)
    assert again.from_cache and not again.repaired
    for name, v in exact_volumes(SPEC).items():
        assert region_volumes(again)[name] == pytest.approx(v, rel=0.03), name


def test_no_cache_replaces_a_sound_entry(cache):
    before = json.loads((_entry(cache) / "meta.json").read_text())
    tm = load_artery_mesh(SPEC, MPI.COMM_WORLD, cache_dir=cache, use_cache=False)
    assert not tm.from_cache
    after = json.loads((_entry(cache) / "meta.json").read_text())
    assert after["build_seconds"] != before["build_seconds"]  # a new entry, in place


def test_nre_mesh_repairs_and_no_cache_replaces(pristine, shared_tmp):
    if MPI.COMM_WORLD.size > 1:
        pytest.skip("runs nre in a subprocess; serial only")
    cache = shared_tmp / "cli-cache"
    shutil.copytree(pristine, cache / "meshes")
    spec_file = shared_tmp / "spec.json"
    spec_file.write_text(json.dumps({
        "artery": {"length_mm": 6.0}, "needle": {"entry_angle_deg": 90.0},
        "calcification": "pacss-3",
        "mesh": {"size_mm": 2.0, "needle_size_mm": 1.0, "flap_size_mm": 0.5,
                 "circle_points": 12, "refinement_radius_mm": 0.5}}))
    env = dict(os.environ, NRE_CACHE_DIR=str(cache))
    cmd = [sys.executable, "-m", "studies.cli", "mesh", "--spec", str(spec_file), "--export", "",
           "--no-png", "--out", str(shared_tmp / "out")]
    _truncate(cache / "meshes")
    r = subprocess.run(cmd, capture_output=True, text=True, env=env)
    assert r.returncode == 0, r.stderr
    lines = [x for x in r.stderr.splitlines() if x.startswith("nre: warning:")]
    assert len(lines) == 1 and "damaged (mesh.h5 has" in lines[0] and "rebuilding" in lines[0]
    summary = json.loads((shared_tmp / "out" / "summary.json").read_text())
    assert "mesh.h5 has" in summary["repaired"] and not summary["from_cache"]
    for name, v in summary["exact_volumes_mm3"].items():
        assert summary["region_volumes_mm3"][name] == pytest.approx(v, rel=0.03)
    _truncate(cache / "meshes")
    r = subprocess.run([*cmd, "--no-cache"], capture_output=True, text=True, env=env)
    assert r.returncode == 0 and "(built" in r.stdout, r.stderr
    r = subprocess.run(cmd, capture_output=True, text=True, env=env)
    assert r.returncode == 0 and "reused from cache" in r.stdout and "warning" not in r.stderr
