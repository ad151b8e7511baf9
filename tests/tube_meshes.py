"""Small Gmsh tube meshes for the solid-mechanics verification tests.

Quarter of a layered tube (x >= 0, y >= 0): 2-D (cross-section, plane strain) or 3-D (a short
segment z in [-L/2, L/2]). Regions "layer0", "layer1", ... from the inside out; boundaries
"inner", "outer", "sym_x" (plane x = 0), "sym_y" (plane y = 0) and in 3-D "end_proximal"
(z = -L/2), "end_distal" (z = +L/2).
"""

from __future__ import annotations

from typing import NamedTuple

import hpc.stack  # noqa: F401  (orders MPI before DOLFINx; keep first)

import dolfinx
import dolfinx.io.gmsh
import gmsh
import numpy as np
from mpi4py import MPI


class TubeMesh(NamedTuple):
    mesh: dolfinx.mesh.Mesh
    cell_tags: dolfinx.mesh.MeshTags
    facet_tags: dolfinx.mesh.MeshTags
    regions: dict[str, int]
    boundaries: dict[str, int]


def quarter_tube(
    comm: MPI.Comm,
    radii_mm: tuple[float, ...],
    size_mm: float,
    *,
    dim: int = 2,
    length_mm: float = 0.0,
    axial_layers: int = 1,
    order: int = 1,
    full: bool = False,
) -> TubeMesh:
    """Mesh a quarter of a layered tube with radii ``radii_mm`` (inner, interfaces, outer).

    Args:
        comm: communicator the mesh is distributed on (Gmsh runs on rank 0).
        radii_mm: increasing radii; layer i lies between radii i and i+1.
        size_mm: target element size.
        dim: 2 (cross-section) or 3 (segment extruded along z).
        length_mm: segment length (3-D).
        axial_layers: element layers along z (3-D, structured extrusion).
        order: geometry order (2 puts the edge nodes on the circles).
        full: mesh the whole ring instead of the quarter (then "sym_x"/"sym_y" are empty).
    """
    if dim == 3 and length_mm <= 0.0:
        raise ValueError(f"length_mm = {length_mm} must be > 0 for dim = 3")
    n_layers = len(radii_mm) - 1
    regions = {f"layer{i}": i + 1 for i in range(n_layers)}
    names = ["inner", "outer", "sym_x", "sym_y"] + (["end_proximal", "end_distal"] if dim == 3
                                                    else [])
    boundaries = {n: 10 + i for i, n in enumerate(names)}
    if comm.rank == 0:
        gmsh.initialize()
        gmsh.option.setNumber("General.Terminal", 0)
        gmsh.model.add("quarter_tube")
        occ = gmsh.model.occ
        disks = [occ.addDisk(0, 0, 0, r, r) for r in radii_mm]
        box = occ.addRectangle(0, 0, 0, 2 * radii_mm[-1], 2 * radii_mm[-1])
        rings = []
        for i in range(n_layers):
            ring, _ = occ.cut([(2, disks[i + 1])], [(2, disks[i])], removeObject=False,
                              removeTool=False)
            if full:
                rings.append(ring[0][1])
                continue
            quarter, _ = occ.intersect(ring, [(2, box)], removeObject=True, removeTool=False)
            rings.append(quarter[0][1])
        occ.remove([(2, d) for d in disks] + [(2, box)], recursive=True)
        occ.synchronize()
        occ.fragment([(2, r) for r in rings], [])
        occ.synchronize()
        if dim == 3:
            occ.translate(gmsh.model.getEntities(2), 0, 0, -length_mm / 2)
            occ.extrude(gmsh.model.getEntities(2), 0, 0, length_mm, numElements=[axial_layers])
            occ.synchronize()
        eps = 1e-6 * radii_mm[-1]
        for e in gmsh.model.getEntities(dim):
            # a (quarter) ring spans x up to its outer radius
            xmax = gmsh.model.getBoundingBox(*e)[3]
            layer = int(np.argmin(np.abs(np.asarray(radii_mm[1:]) - xmax)))
            gmsh.model.addPhysicalGroup(dim, [e[1]], tag=layer + 1, name=f"layer{layer}")
        groups: dict[str, list[int]] = {n: [] for n in names}
        for e in gmsh.model.getEntities(dim - 1):
            xmin, ymin, zmin, xmax, ymax, zmax = gmsh.model.getBoundingBox(*e)
            if not full and xmax < eps:
                groups["sym_x"].append(e[1])
            elif not full and ymax < eps:
                groups["sym_y"].append(e[1])
            elif dim == 3 and zmax < -length_mm / 2 + eps:
                groups["end_proximal"].append(e[1])
            elif dim == 3 and zmin > length_mm / 2 - eps:
                groups["end_distal"].append(e[1])
            else:
                r = xmax  # an arc of radius r centred on the axis reaches x = r
                if abs(r - radii_mm[0]) < 1e-3 * radii_mm[0]:
                    groups["inner"].append(e[1])
                elif abs(r - radii_mm[-1]) < 1e-3 * radii_mm[-1]:
                    groups["outer"].append(e[1])
                # interfaces between layers are left untagged
        for n, ents in groups.items():
            gmsh.model.addPhysicalGroup(dim - 1, ents, tag=boundaries[n], name=n)
        gmsh.option.setNumber("Mesh.MeshSizeMin", size_mm)
        gmsh.option.setNumber("Mesh.MeshSizeMax", size_mm)
        gmsh.model.mesh.generate(dim)
        if order > 1:
            gmsh.model.mesh.setOrder(order)
    data = dolfinx.io.gmsh.model_to_mesh(gmsh.model if comm.rank == 0 else None, comm, 0,
                                         gdim=dim)
    if comm.rank == 0:
        gmsh.finalize()
    return TubeMesh(data.mesh, data.cell_tags, data.facet_tags, regions, boundaries)
