"""Film meshes of the balloon failure models: a quarter disc of film around the needle's
crossing point (flat or on a cylinder), and the whole balloon with uniform sizes.

Film patch
----------

The patch is meshed flat in the developed coordinates ``(s, z)`` (``s`` along the hoop, ``z``
along the balloon axis), ``0 <= s, z`` and ``s^2 + z^2 <= radius_mm^2``, in the plane
``x = 0`` (points ``(0, s, z)``); the needle crosses at the origin along ``-x``. Element size
is ``fine_size_mm`` within ``fine_radius_mm`` of the origin, growing linearly to
``coarse_size_mm`` at the rim. On a cylinder of radius ``R`` (the film's reference radius about
the z axis) the nodes are mapped to ``(R cos(s/R), R sin(s/R), z)``, so the crossing point is
``(R, 0, 0)`` and the needle still moves along ``-x``; with geometric order 2 the triangles
follow the cylinder.

Tags: region ``film`` (1); boundaries ``sym_s`` (``s = 0``: the plane ``y = 0``), ``sym_z``
(``z = 0``), ``rim`` (the arc).

Like :mod:`meshes.disc`, the Gmsh calls are in :func:`build_film_patch` (rank 0) and
:func:`load_film_patch` distributes the mesh (no cache: it takes well under a second).

Balloon with uniform sizes
--------------------------
:func:`load_balloon_surface`: the balloon of :func:`meshes.build.build_balloon` (body, cones,
necks; the same region and boundary names) meshed with one element size everywhere, without
the curvature refinement that the study's balloon mesh has (48 elements per circle puts 8.8 k
cells on a 5 mm balloon at size 1 mm, mostly at the 1 mm necks): the burst search ramps the
film to 20-40 atm many times, and curved P2 triangles of 1 mm already give the balloon's
diameter to 1e-4 (``tests/test_membrane.py``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

from meshes.validate import check_range

FILM_PATCH_BOUNDARY_TAGS = {"sym_s": 1, "sym_z": 2, "rim": 3}
FILM_PATCH_REGIONS = {"film": 1}


@dataclass(frozen=True, slots=True)
class FilmPatchSpec:
    """Size, curvature and element sizes of the film patch (mm).

    Attributes:
        radius_mm: patch radius (developed, reference configuration).
        cylinder_radius_mm: reference radius of the balloon film; None for a flat patch.
        fine_size_mm, fine_radius_mm: element size near the crossing point and the radius of
            that zone.
        coarse_size_mm: element size at the rim.
        order: geometric order (2 follows the cylinder).
    """

    radius_mm: float
    cylinder_radius_mm: float | None = None
    fine_size_mm: float = 0.03
    fine_radius_mm: float = 0.8
    coarse_size_mm: float = 0.3
    order: int = 2

    def __post_init__(self) -> None:
        o = "film_patch"
        check_range(o, "radius_mm", self.radius_mm, 0.05, 50.0, unit="mm")
        if self.cylinder_radius_mm is not None:
            check_range(o, "cylinder_radius_mm", self.cylinder_radius_mm,
                        self.radius_mm / math.pi * 2.0, 1e4,
                        unit="mm (the quarter patch must fit in a quarter turn)")
        check_range(o, "fine_size_mm", self.fine_size_mm, 1e-4, self.radius_mm, unit="mm")
        check_range(o, "fine_radius_mm", self.fine_radius_mm, 0.0, self.radius_mm, unit="mm")
        check_range(o, "coarse_size_mm", self.coarse_size_mm, self.fine_size_mm,
                    self.radius_mm, unit="mm (at least fine_size_mm)")
        if self.order not in (1, 2):
            raise ValueError(f"film_patch.order = {self.order!r} must be 1 or 2")


class FilmPatchMesh(NamedTuple):
    """A distributed film patch (surface mesh in 3-D) with its tags."""

    mesh: object
    cell_tags: object
    facet_tags: object
    regions: dict[str, int]
    boundaries: dict[str, int]
    spec: FilmPatchSpec


def build_film_patch(spec: FilmPatchSpec) -> None:
    """Fill the current Gmsh model with the flat quarter disc (call on one rank)."""
    import gmsh

    gmsh.model.add("film_patch")
    occ = gmsh.model.occ
    R = spec.radius_mm
    centre = occ.addPoint(0.0, 0.0, 0.0)
    p_s = occ.addPoint(0.0, R, 0.0)
    p_z = occ.addPoint(0.0, 0.0, R)
    line_s = occ.addLine(centre, p_s)  # along s: lies on z = 0
    arc = occ.addCircleArc(p_s, centre, p_z)
    line_z = occ.addLine(p_z, centre)  # along z: lies on s = 0
    loop = occ.addCurveLoop([line_s, arc, line_z])
    surf = occ.addPlaneSurface([loop])
    occ.synchronize()
    gmsh.model.addPhysicalGroup(2, [surf], FILM_PATCH_REGIONS["film"], name="film")
    for name, curve in (("sym_z", line_s), ("rim", arc), ("sym_s", line_z)):
        gmsh.model.addPhysicalGroup(1, [curve], FILM_PATCH_BOUNDARY_TAGS[name], name=name)
    field = gmsh.model.mesh.field
    dist = field.add("Distance")
    field.setNumbers(dist, "PointsList", [centre])
    thr = field.add("Threshold")
    field.setNumber(thr, "InField", dist)
    field.setNumber(thr, "SizeMin", spec.fine_size_mm)
    field.setNumber(thr, "SizeMax", spec.coarse_size_mm)
    field.setNumber(thr, "DistMin", spec.fine_radius_mm)
    field.setNumber(thr, "DistMax", R)
    field.setAsBackgroundMesh(thr)
    gmsh.option.setNumber("Mesh.MeshSizeExtendFromBoundary", 0)
    gmsh.option.setNumber("Mesh.MeshSizeFromPoints", 0)
    gmsh.option.setNumber("Mesh.MeshSizeFromCurvature", 0)
    gmsh.option.setNumber("Mesh.Algorithm", 6)
    gmsh.model.mesh.generate(2)
    if spec.order == 2:
        gmsh.model.mesh.setOrder(2)


def load_film_patch(spec: FilmPatchSpec, comm) -> FilmPatchMesh:
    """Build the patch on rank 0 of ``comm``, distribute it and map it onto the cylinder."""
    import numpy as np

    from meshes.gmsh_build import build_on_rank0

    data = build_on_rank0(lambda: build_film_patch(spec), comm, gdim=3, tdim=2)
    msh = data.mesh
    if spec.cylinder_radius_mm is not None:
        x = msh.geometry.x
        Rc = spec.cylinder_radius_mm
        s, z = x[:, 1].copy(), x[:, 2].copy()
        x[:, 0] = Rc * np.cos(s / Rc)
        x[:, 1] = Rc * np.sin(s / Rc)
        x[:, 2] = z
    msh.topology.create_connectivity(1, 2)
    return FilmPatchMesh(msh, data.cell_tags, data.facet_tags, dict(FILM_PATCH_REGIONS),
                         dict(FILM_PATCH_BOUNDARY_TAGS), spec)


def load_balloon_surface(comm, diameter_mm: float, body_length_mm: float, cone_length_mm: float,
                         neck_diameter_mm: float, size_mm: float, order: int = 2) -> FilmPatchMesh:
    """The balloon surface about z with a uniform element size (module docstring).

    Regions ``film_body``, ``film_cone_proximal``, ``film_cone_distal``; boundaries
    ``neck_proximal``, ``neck_distal``.
    """
    import gmsh

    from meshes.gmsh_build import build_on_rank0

    check_range("balloon_surface", "size_mm", size_mm, 0.01, 5.0, unit="mm")
    check_range("balloon_surface", "neck_diameter_mm", neck_diameter_mm, 0.05, diameter_mm,
                hi_open=True, unit="mm (below diameter_mm)")
    regions = {"film_body": 1, "film_cone_proximal": 2, "film_cone_distal": 3}
    boundaries = {"neck_proximal": 11, "neck_distal": 12}

    def build() -> None:
        gmsh.model.add("balloon_surface")
        occ = gmsh.model.occ
        r, rn = 0.5 * diameter_mm, 0.5 * neck_diameter_mm
        zb, zc = 0.5 * body_length_mm, 0.5 * body_length_mm + cone_length_mm
        pts = [occ.addPoint(rn, 0, -zc), occ.addPoint(r, 0, -zb), occ.addPoint(r, 0, zb),
               occ.addPoint(rn, 0, zc)]
        lines = [occ.addLine(pts[i], pts[i + 1]) for i in range(3)]
        occ.revolve([(1, ln) for ln in lines], 0, 0, 0, 0, 0, 1, 2 * math.pi)
        occ.removeAllDuplicates()
        occ.synchronize()
        groups: dict[str, list[int]] = {k: [] for k in regions}
        for _, srf in gmsh.model.getEntities(2):
            z = occ.getCenterOfMass(2, srf)[2]
            groups["film_body" if abs(z) < zb else
                   "film_cone_proximal" if z < 0 else "film_cone_distal"].append(srf)
        necks: dict[str, list[int]] = {k: [] for k in boundaries}
        for _, cv in gmsh.model.getEntities(1):
            zmin, zmax = gmsh.model.getBoundingBox(1, cv)[2::3]
            if abs(zmax - zmin) < 1e-5 and abs(abs(zmin) - zc) < 1e-5:
                necks["neck_proximal" if zmin < 0 else "neck_distal"].append(cv)
        for key, tags in groups.items():
            gmsh.model.addPhysicalGroup(2, tags, regions[key], name=key)
        for key, tags in necks.items():
            gmsh.model.addPhysicalGroup(1, tags, boundaries[key], name=key)
        gmsh.option.setNumber("Mesh.MeshSizeMax", size_mm)
        gmsh.option.setNumber("Mesh.MeshSizeMin", 0.2 * size_mm)
        gmsh.model.mesh.generate(2)
        if order == 2:
            gmsh.model.mesh.setOrder(2)

    data = build_on_rank0(build, comm, gdim=3)
    return FilmPatchMesh(data.mesh, data.cell_tags, data.facet_tags, regions, boundaries, None)
