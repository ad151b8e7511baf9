"""Meshes into DOLFINx: built once on rank 0, distributed, cached on disk by the spec's hash.

A cache entry is a folder ``<cache>/meshes/<key>/`` holding ``mesh.xdmf``/``mesh.h5`` (mesh, cell
and facet tags, readable in parallel on any number of ranks), ``model.msh`` (the Gmsh mesh with
physical names, for exports) and ``meta.json`` (group names, spec, Gmsh quality figures, the
size and SHA-256 of each file, the region volumes measured when it was written). It is written
into a temporary folder and renamed into place only when complete, so a killed build never
leaves an entry that looks finished, and two processes building the same key do not clash.

An entry heals: before any rank reads it, rank 0 checks ``meta.json``, the file sizes and their
SHA-256 (a damaged topology would crash DOLFINx's reader), and after the read every region's
volume must be the one measured when it was written (whose error against the exact closed-form
volume is recorded beside it). A damaged entry is moved to ``<cache>/meshes/.damaged/`` with a
one-line warning on stderr and rebuilt; rank 0 decides and broadcasts, so every rank agrees.
``use_cache=False`` rebuilds and replaces the entry (old entry renamed away, new one renamed in).
"""

from __future__ import annotations

import hashlib
import json
import os
import pathlib
import shutil
import sys
import time
import uuid
from collections.abc import Callable
from typing import NamedTuple

import dolfinx
import gmsh
import numpy as np
import ufl
from dolfinx.io import XDMFFile
from dolfinx.io import gmsh as gmshio
from mpi4py import MPI

from meshes import build
from meshes.geometry import CrossSection, balloon_film_areas
from meshes.spec import ArteryModelSpec, ArterySectionSpec, BalloonModelSpec, canonical_json


class TaggedMesh(NamedTuple):
    """A distributed mesh with its tags and the names of its physical groups."""

    mesh: dolfinx.mesh.Mesh
    cell_tags: dolfinx.mesh.MeshTags
    facet_tags: dolfinx.mesh.MeshTags
    regions: dict[str, int]
    boundaries: dict[str, int]
    key: str
    path: pathlib.Path
    meta: dict
    from_cache: bool
    #: Why the cache entry found was damaged and rebuilt ("" if it was not).
    repaired: str = ""


def cache_root(cache_dir: str | os.PathLike | None = None) -> pathlib.Path:
    """The mesh cache folder: argument, else ``$NRE_CACHE_DIR/meshes``, else ``~/.cache/nre``."""
    if cache_dir is not None:
        return pathlib.Path(cache_dir)
    base = os.environ.get("NRE_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")), "nre")
    return pathlib.Path(base) / "meshes"


def load_artery_mesh(
    spec: ArteryModelSpec,
    comm: MPI.Comm = MPI.COMM_WORLD,
    *,
    cache_dir: str | os.PathLike | None = None,
    use_cache: bool = True,
) -> TaggedMesh:
    """The artery mesh of ``spec`` on ``comm``: from the cache, or built on rank 0 and cached."""
    return _load(spec, build.build_artery, comm, cache_dir, use_cache)


def load_artery_section_mesh(
    spec: ArterySectionSpec,
    comm: MPI.Comm = MPI.COMM_WORLD,
    *,
    cache_dir: str | os.PathLike | None = None,
    use_cache: bool = True,
) -> TaggedMesh:
    """The 2-D cross-section mesh (triangles, gdim 2) of an artery model, for plane strain."""
    return _load(spec, build.build_artery_section, comm, cache_dir, use_cache)


def load_balloon_mesh(
    spec: BalloonModelSpec,
    comm: MPI.Comm = MPI.COMM_WORLD,
    *,
    cache_dir: str | os.PathLike | None = None,
    use_cache: bool = True,
) -> TaggedMesh:
    """The balloon film surface mesh (triangles in 3-D) of ``spec`` on ``comm``."""
    return _load(spec, build.build_balloon, comm, cache_dir, use_cache)


def _load(spec, builder: Callable, comm: MPI.Comm, cache_dir, use_cache: bool) -> TaggedMesh:
    key = spec.key()
    root = cache_root(cache_dir)
    final = root / key
    repaired = ""
    if use_cache:
        # Rank 0 checks the files before any rank lets DOLFINx read them (a damaged topology
        # crashes the reader); every rank then follows the one verdict it broadcasts.
        found = _check_files(final, key) if comm.rank == 0 else None
        state, meta = comm.bcast(found, root=0)
        if state == "ok":
            tm = _read(final, key, comm, meta)
            reason = comm.bcast(_check_volumes(tm, spec, meta), root=0)  # collective
            if reason is None:
                return tm
            state = reason
            del tm
        if state != "absent":
            repaired = state
            if comm.rank == 0:
                _move_aside(final, root, state)
            comm.barrier()
    tm = _build(spec, builder, comm, root, key, replace=not use_cache)
    return tm._replace(repaired=repaired)


def _build(spec, builder: Callable, comm: MPI.Comm, root: pathlib.Path, key: str, *,
           replace: bool) -> TaggedMesh:
    """Build the mesh on rank 0, distribute it, write the entry and install it as ``key``."""
    tmp = None
    if comm.rank == 0:
        root.mkdir(parents=True, exist_ok=True)
        tmp = root / f".{key}.tmp-{uuid.uuid4().hex[:8]}"
        tmp.mkdir()
    tmp = pathlib.Path(comm.bcast(str(tmp) if tmp else None, root=0))

    meta = None
    started_here = False
    try:
        if comm.rank == 0:
            if not gmsh.isInitialized():
                gmsh.initialize(interruptible=False)
                started_here = True
            gmsh.option.setNumber("General.Terminal", 0)
            t0 = time.perf_counter()
            info = builder(spec)
            meta = {
                "key": key,
                "kind": key.split("-")[0],
                "spec": json.loads(canonical_json(spec)),
                "regions": info.regions,
                "boundaries": info.boundaries,
                "min_sicn": info.min_sicn,
                "mean_sicn": info.mean_sicn,
                "gmsh_elements": info.num_elements,
                "build_seconds": time.perf_counter() - t0,
                "gmsh_version": gmsh.__version__,
            }
            gmsh.write(str(tmp / "model.msh"))
        meta = comm.bcast(meta, root=0)
        # shared_facet ghosts, as XDMF reads give: interface (dS) integrals need them
        partitioner = dolfinx.mesh.create_cell_partitioner(dolfinx.mesh.GhostMode.shared_facet, 2)
        data = gmshio.model_to_mesh(gmsh.model, comm, 0, gdim=spec.gdim,
                                    partitioner=partitioner)
    finally:
        if started_here:
            gmsh.finalize()
        elif comm.rank == 0 and gmsh.isInitialized():
            gmsh.model.remove()

    msh = data.mesh
    tdim = msh.topology.dim
    msh.topology.create_connectivity(tdim - 1, tdim)
    data.cell_tags.name = "cell_tags"
    data.facet_tags.name = "facet_tags"
    with XDMFFile(comm, tmp / "mesh.xdmf", "w") as f:
        f.write_mesh(msh)
        f.write_meshtags(data.cell_tags, msh.geometry)
        f.write_meshtags(data.facet_tags, msh.geometry)
    del data, msh
    # Return the mesh as read back from the entry, not the one built here: a built mesh has an
    # equispaced coordinate element, a read one a GLL-warped one, so the forms of the two hash
    # differently and every later case (reading the cache) would compile them again (measured:
    # 30 of 37 modules, ~9 s per study, hpc.benchmarks). Its region volumes, measured once
    # here, are what a later load must find again.
    tm = _read(tmp, key, comm, meta)
    meta["region_volumes"] = region_volumes(tm)
    meta["exact_volumes"] = exact_volumes(spec)
    final = root / key
    if comm.rank == 0:
        meta["content"] = {name: _file_record(tmp / name) for name in ENTRY_FILES}
        (tmp / "meta.json").write_text(json.dumps(meta, indent=2))
        _install(tmp, final, replace=replace)
    comm.barrier()
    meta = comm.bcast(meta, root=0)
    return tm._replace(path=final, meta=meta, from_cache=False)


def _read(folder: pathlib.Path, key: str, comm: MPI.Comm, meta: dict) -> TaggedMesh:
    with XDMFFile(comm, folder / "mesh.xdmf", "r") as f:
        msh = f.read_mesh(name="mesh")
        tdim = msh.topology.dim
        msh.topology.create_connectivity(tdim - 1, tdim)
        cell_tags = f.read_meshtags(msh, name="cell_tags")
        facet_tags = f.read_meshtags(msh, name="facet_tags")
    return TaggedMesh(msh, cell_tags, facet_tags, meta["regions"], meta["boundaries"], key,
                      folder, meta, True)


# ------------------------------------------------------------------ the entry's self-check
#: The files of an entry whose sizes and SHA-256 ``meta.json`` records (``content``).
ENTRY_FILES = ("mesh.xdmf", "mesh.h5", "model.msh")
#: Relative agreement between the region volumes of a mesh read from the cache and those
#: measured when it was written (both the same mesh: only summation order differs).
VOLUME_RTOL = 1e-9


def _file_record(path: pathlib.Path) -> dict:
    with open(path, "rb") as f:
        digest = hashlib.file_digest(f, "sha256").hexdigest()
    return {"bytes": path.stat().st_size, "sha256": digest}


def _check_files(folder: pathlib.Path, key: str) -> tuple[str, dict | None]:
    """``("absent" | "ok" | reason, meta)`` of the entry in ``folder`` (rank 0 only).

    Cheap checks first: ``meta.json`` readable and for this key, each file of
    :data:`ENTRY_FILES` present with the recorded size, then its SHA-256.
    """
    if not folder.exists():
        return "absent", None
    try:
        meta = json.loads((folder / "meta.json").read_text())
    except (OSError, ValueError) as err:
        return f"meta.json unreadable: {err}", None
    if not isinstance(meta, dict) or meta.get("key") != key:
        return "meta.json is not this entry's", None
    content = meta.get("content")
    if not isinstance(content, dict) or set(content) != set(ENTRY_FILES) or \
            not isinstance(meta.get("region_volumes"), dict):
        return "no content record (written before entries were verified)", None
    for name in ENTRY_FILES:
        path = folder / name
        try:
            size = path.stat().st_size
        except OSError:
            return f"{name} is missing", None
        if size != content[name].get("bytes"):
            return f"{name} has {size} bytes, {content[name].get('bytes')} were written", None
    for name in ENTRY_FILES:
        if _file_record(folder / name)["sha256"] != content[name].get("sha256"):
            return f"{name} differs from what was written (SHA-256)", None
    return "ok", meta


def _check_volumes(tm: TaggedMesh, spec, meta: dict) -> str | None:
    """Why the mesh read back is not the one written (None if it is): each region's volume
    must be the one measured at write time, whose error against the exact closed-form volume
    (:func:`exact_volumes`) is recorded beside it."""
    measured = region_volumes(tm)
    written = meta["region_volumes"]
    exact = exact_volumes(spec)
    if set(measured) != set(written):
        return f"regions {sorted(measured)} read back, {sorted(written)} written"
    for name, v in measured.items():
        w = written[name]
        if not abs(v - w) <= VOLUME_RTOL * abs(w):
            ref = exact.get(name)
            vs = f", exact {ref:.6g}" if ref else ""
            return f"region {name} measures {v:.6g} read back, {w:.6g} when written{vs}"
    return None


def _move_aside(folder: pathlib.Path, root: pathlib.Path, reason: str) -> None:
    """Move a damaged entry to ``<root>/.damaged/`` (kept for inspection) and say so."""
    aside = root / ".damaged" / f"{folder.name}-{time.strftime('%Y%m%d-%H%M%S')}-" \
        f"{uuid.uuid4().hex[:6]}"
    try:
        aside.parent.mkdir(parents=True, exist_ok=True)
        os.rename(folder, aside)
        where = f"moved to {aside}"
    except FileNotFoundError:  # another process moved it first
        where = "already moved"
    print(f"nre: warning: mesh cache entry {folder} is damaged ({reason}); {where}, rebuilding",
          file=sys.stderr, flush=True)


def _install(tmp: pathlib.Path, final: pathlib.Path, *, replace: bool) -> None:
    """Rename the complete entry ``tmp`` to ``final``.

    If ``final`` exists: with ``replace`` it is renamed away first and deleted after (readers
    see the old entry or the new one, never a partial one); without, another process finished
    the same key first and its entry is kept.
    """
    try:
        os.rename(tmp, final)
        return
    except OSError:
        if not final.exists():
            raise
    if not replace:
        shutil.rmtree(tmp, ignore_errors=True)
        return
    old = final.parent / f".{final.name}.old-{uuid.uuid4().hex[:8]}"
    try:
        os.rename(final, old)
    except FileNotFoundError:
        pass
    try:
        os.rename(tmp, final)
    except OSError:  # yet another process installed it in between: keep that one
        shutil.rmtree(tmp, ignore_errors=True)
    shutil.rmtree(old, ignore_errors=True)


def exact_volumes(spec) -> dict[str, float]:
    """The exact (closed-form) volume, or area for 2-D and surface meshes, of each region of
    the mesh of ``spec`` (:mod:`meshes.geometry`)."""
    if isinstance(spec, ArteryModelSpec):
        return CrossSection(spec).region_volumes()
    if isinstance(spec, ArterySectionSpec):
        return CrossSection(spec.model).section_areas(spec.z_mm)
    if isinstance(spec, BalloonModelSpec):
        return balloon_film_areas(spec.balloon)
    return {}


def region_volumes(tm: TaggedMesh) -> dict[str, float]:
    """Measure (volume, or area for 2-D and surface meshes) of each tagged region, summed over
    ranks: one assembly of the cell volumes (a DG0 vector), added up per tag."""
    m = tm.mesh
    tdim = m.topology.dim
    V = dolfinx.fem.functionspace(m, ("DG", 0))
    vec = dolfinx.fem.assemble_vector(dolfinx.fem.form(ufl.TestFunction(V) * ufl.dx))
    n = m.topology.index_map(tdim).size_local
    volume = vec.array[V.dofmap.list[:n, 0]]
    tag_of = np.zeros(n, dtype=np.int64)
    ct = tm.cell_tags
    owned = ct.indices < n
    tag_of[ct.indices[owned]] = ct.values[owned]
    return {name: m.comm.allreduce(float(volume[tag_of == tag].sum()), op=MPI.SUM)
            for name, tag in tm.regions.items()}


def boundary_areas(tm: TaggedMesh) -> dict[str, float]:
    """Area of each tagged boundary (exterior facets) or interface (interior facets)."""
    m = tm.mesh
    ds = ufl.Measure("ds", domain=m, subdomain_data=tm.facet_tags)
    dS = ufl.Measure("dS", domain=m, subdomain_data=tm.facet_tags)
    one = dolfinx.fem.Constant(m, dolfinx.default_scalar_type(1.0))
    out = {}
    for name, tag in tm.boundaries.items():
        form = one * dS(tag) if name.endswith("interface") else one * ds(tag)
        out[name] = m.comm.allreduce(dolfinx.fem.assemble_scalar(dolfinx.fem.form(form)),
                                     op=MPI.SUM)
    return out


def mesh_summary(tm: TaggedMesh, spec=None) -> dict:
    """Global counts, measured and exact region volumes, and the Gmsh quality figures."""
    m = tm.mesh
    tdim = m.topology.dim
    summary = {
        "key": tm.key,
        "path": str(tm.path),
        "from_cache": tm.from_cache,
        "ranks": m.comm.size,
        "cells": m.topology.index_map(tdim).size_global,
        "vertices": m.topology.index_map(0).size_global,
        "geometry_order": m.geometry.cmap.degree,
        "min_sicn": tm.meta.get("min_sicn"),
        "mean_sicn": tm.meta.get("mean_sicn"),
        "region_volumes_mm3": region_volumes(tm),
        "measure": "area_mm2" if tdim == 2 else "volume_mm3",
    }
    exact = exact_volumes(spec)
    if exact:
        summary["exact_volumes_mm3"] = exact
    if tm.repaired:
        summary["repaired"] = tm.repaired
    return summary


def cell_sizes(tm: TaggedMesh) -> tuple[np.ndarray, np.ndarray]:
    """Local (owned) cell diameters and cell midpoints, for refinement checks."""
    m = tm.mesh
    tdim = m.topology.dim
    n = m.topology.index_map(tdim).size_local
    cells = np.arange(n, dtype=np.int32)
    return m.h(tdim, cells), dolfinx.mesh.compute_midpoints(m, tdim, cells)
