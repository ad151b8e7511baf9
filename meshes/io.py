"""Meshes into DOLFINx: built once on rank 0, distributed, cached on disk by the spec's hash.

A cache entry is a folder ``<cache>/meshes/<key>/`` holding ``mesh.xdmf``/``mesh.h5`` (mesh, cell
and facet tags, readable in parallel on any number of ranks), ``model.msh`` (the Gmsh mesh with
physical names, for exports) and ``meta.json`` (group names, spec, Gmsh quality figures). It is
written into a temporary folder and renamed into place only when complete, so a killed build never
leaves an entry that looks finished, and two processes building the same key do not clash.
"""

from __future__ import annotations

import json
import os
import pathlib
import shutil
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
    hit = comm.bcast((final / "meta.json").is_file() if comm.rank == 0 else None, root=0)
    if use_cache and hit:
        return _read(final, key, comm)

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
    comm.barrier()
    path = final
    if comm.rank == 0:
        (tmp / "meta.json").write_text(json.dumps(meta, indent=2))
        try:
            os.rename(tmp, final)
        except OSError:  # another process finished the same key first: keep theirs
            shutil.rmtree(tmp, ignore_errors=True)
    comm.barrier()
    # Return the mesh as read back from the cache, not the one built here: a built mesh has an
    # equispaced coordinate element, a read one a GLL-warped one, so the forms of the two hash
    # differently and every later case (reading the cache) would compile them again (measured:
    # 30 of 37 modules, ~9 s per study, hpc.benchmarks).
    del data, msh
    return _read(path, key, comm)._replace(from_cache=False)


def _read(folder: pathlib.Path, key: str, comm: MPI.Comm) -> TaggedMesh:
    meta = comm.bcast(json.loads((folder / "meta.json").read_text()) if comm.rank == 0 else None,
                      root=0)
    with XDMFFile(comm, folder / "mesh.xdmf", "r") as f:
        msh = f.read_mesh(name="mesh")
        tdim = msh.topology.dim
        msh.topology.create_connectivity(tdim - 1, tdim)
        cell_tags = f.read_meshtags(msh, name="cell_tags")
        facet_tags = f.read_meshtags(msh, name="facet_tags")
    return TaggedMesh(msh, cell_tags, facet_tags, meta["regions"], meta["boundaries"], key,
                      folder, meta, True)


def region_volumes(tm: TaggedMesh) -> dict[str, float]:
    """Measure (volume, or area for surface meshes) of each tagged region, summed over ranks."""
    dx = ufl.Measure("dx", domain=tm.mesh, subdomain_data=tm.cell_tags)
    one = dolfinx.fem.Constant(tm.mesh, dolfinx.default_scalar_type(1.0))
    out = {}
    for name, tag in tm.regions.items():
        local = dolfinx.fem.assemble_scalar(dolfinx.fem.form(one * dx(tag)))
        out[name] = tm.mesh.comm.allreduce(local, op=MPI.SUM)
    return out


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
    if isinstance(spec, ArteryModelSpec):
        summary["exact_volumes_mm3"] = CrossSection(spec).region_volumes()
    elif isinstance(spec, ArterySectionSpec):
        summary["exact_volumes_mm3"] = CrossSection(spec.model).section_areas(spec.z_mm)
    elif isinstance(spec, BalloonModelSpec):
        summary["exact_volumes_mm3"] = balloon_film_areas(spec.balloon)
    return summary


def cell_sizes(tm: TaggedMesh) -> tuple[np.ndarray, np.ndarray]:
    """Local (owned) cell diameters and cell midpoints, for refinement checks."""
    m = tm.mesh
    tdim = m.topology.dim
    n = m.topology.index_map(tdim).size_local
    cells = np.arange(n, dtype=np.int32)
    return m.h(tdim, cells), dolfinx.mesh.compute_midpoints(m, tdim, cells)
