"""Small Gmsh surface meshes for the membrane tests (the lead's `meshes` package builds the real
balloon; these only exist so the film model can be verified on its own)."""

from __future__ import annotations

import math
from typing import NamedTuple

import hpc.stack  # noqa: F401  (orders MPI before DOLFINx; keep first)

import dolfinx
import gmsh
from dolfinx.io import gmsh as gmshio
from mpi4py import MPI


class SurfaceMesh(NamedTuple):
    """Same fields the lead's TaggedMesh carries, for plugging into MembraneProblem."""

    mesh: dolfinx.mesh.Mesh
    cell_tags: dolfinx.mesh.MeshTags
    facet_tags: dolfinx.mesh.MeshTags
    regions: dict[str, int]
    boundaries: dict[str, int]


def _finish(comm: MPI.Comm, order: int) -> SurfaceMesh:
    if comm.rank == 0:
        gmsh.model.mesh.generate(2)
        if order > 1:
            gmsh.model.mesh.setOrder(order)
    data = gmshio.model_to_mesh(gmsh.model if comm.rank == 0 else None, comm, 0, gdim=3)
    if comm.rank == 0:
        gmsh.finalize()
    regions = {k: v.tag for k, v in data.physical_groups.items() if v.dim == 2}
    boundaries = {k: v.tag for k, v in data.physical_groups.items() if v.dim == 1}
    return SurfaceMesh(data.mesh, data.cell_tags, data.facet_tags, regions, boundaries)


def _start(name: str) -> None:
    gmsh.initialize(interruptible=False)
    gmsh.option.setNumber("General.Terminal", 0)
    gmsh.model.add(name)


def quarter_cylinder(comm: MPI.Comm, radius_mm: float, length_mm: float, n_arc: int,
                     n_axial: int, order: int = 1) -> SurfaceMesh:
    """Lateral surface of a quarter cylinder (0 <= theta <= 90 deg), structured triangles.

    Boundaries: "end_bottom" (z = -L/2), "end_top" (z = +L/2), "sym_y0" (theta = 0, the y = 0
    plane), "sym_x0" (theta = 90 deg, the x = 0 plane). Region: "film_body".
    """
    if comm.rank == 0:
        _start("quarter_cylinder")
        occ = gmsh.model.occ
        arc = occ.addCircle(0, 0, -length_mm / 2, radius_mm, angle1=0.0, angle2=math.pi / 2)
        out = occ.extrude([(1, arc)], 0, 0, length_mm)
        occ.synchronize()
        surf = [t for d, t in out if d == 2][0]
        curves = [t for d, t in gmsh.model.getBoundary([(2, surf)], oriented=False)]
        names = {}
        for c in curves:
            x, y, z = gmsh.model.occ.getCenterOfMass(1, c)
            if abs(z + length_mm / 2) < 1e-9:
                names["end_bottom"] = c
            elif abs(z - length_mm / 2) < 1e-9:
                names["end_top"] = c
            elif abs(y) < 1e-9:
                names["sym_y0"] = c
            else:
                names["sym_x0"] = c
        for key in ("end_bottom", "end_top"):
            gmsh.model.mesh.setTransfiniteCurve(names[key], n_arc + 1)
        for key in ("sym_y0", "sym_x0"):
            gmsh.model.mesh.setTransfiniteCurve(names[key], n_axial + 1)
        gmsh.model.mesh.setTransfiniteSurface(surf)
        gmsh.model.addPhysicalGroup(2, [surf], 1, name="film_body")
        for i, (key, c) in enumerate(sorted(names.items()), start=1):
            gmsh.model.addPhysicalGroup(1, [c], i, name=key)
    return _finish(comm, order)


def balloon(comm: MPI.Comm, diameter_mm: float = 5.0, body_length_mm: float = 10.0,
            cone_length_mm: float = 3.0, neck_diameter_mm: float = 1.0, size_mm: float = 0.5,
            order: int = 1) -> SurfaceMesh:
    """A balloon surface about z: cylindrical body, conical ends down to the necks.

    Regions "film_body", "film_cone_proximal" (z < 0), "film_cone_distal"; boundaries
    "neck_proximal", "neck_distal" (the names of the lead's balloon mesh).
    """
    if comm.rank == 0:
        _start("balloon")
        occ = gmsh.model.occ
        R, rn, L, Lc = diameter_mm / 2, neck_diameter_mm / 2, body_length_mm, cone_length_mm
        pts = [occ.addPoint(rn, 0, -L / 2 - Lc), occ.addPoint(R, 0, -L / 2),
               occ.addPoint(R, 0, L / 2), occ.addPoint(rn, 0, L / 2 + Lc)]
        lines = [occ.addLine(pts[i], pts[i + 1]) for i in range(3)]
        occ.revolve([(1, ln) for ln in lines], 0, 0, 0, 0, 0, 1, 2 * math.pi)
        occ.removeAllDuplicates()
        occ.synchronize()
        groups: dict[str, list[int]] = {"film_body": [], "film_cone_proximal": [],
                                        "film_cone_distal": []}
        for _, s in gmsh.model.getEntities(2):
            z = occ.getCenterOfMass(2, s)[2]
            key = ("film_body" if abs(z) < L / 2 else
                   "film_cone_proximal" if z < 0 else "film_cone_distal")
            groups[key].append(s)
        necks: dict[str, list[int]] = {"neck_proximal": [], "neck_distal": []}
        for _, c in gmsh.model.getEntities(1):
            xmin, ymin, zmin, xmax, ymax, zmax = gmsh.model.getBoundingBox(1, c)
            if abs(zmin - zmax) < 1e-5 and abs(abs(0.5 * (zmin + zmax)) - (L / 2 + Lc)) < 1e-5:
                necks["neck_proximal" if zmin < 0 else "neck_distal"].append(c)
        for i, (key, tags) in enumerate(groups.items(), start=1):
            gmsh.model.addPhysicalGroup(2, tags, i, name=key)
        for i, (key, tags) in enumerate(necks.items(), start=1):
            gmsh.model.addPhysicalGroup(1, tags, i, name=key)
        gmsh.option.setNumber("Mesh.MeshSizeMax", size_mm)
        gmsh.option.setNumber("Mesh.MeshSizeMin", 0.2 * size_mm)
    return _finish(comm, order)
