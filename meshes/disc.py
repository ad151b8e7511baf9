"""Layered disc meshes refined under a needle on their axis: 2-D axisymmetric (r, z) and 3-D.

The disc is the rectangle ``0 <= r <= radius_mm``, ``-sum(thicknesses) <= z <= 0`` in the
(x, y) = (r, z) plane, split into horizontal layers listed from the top (``z = 0``, the face the
needle meets) downwards. Element size is ``fine_size_mm`` within ``fine_radius_mm`` of the point
where the needle axis meets the top face, growing linearly to ``coarse_size_mm`` at
``coarse_radius_mm``.

Tags: layer ``i`` (0-based, from the top) is region ``i + 1``; boundaries ``contact_surface``
(top), ``far_surface`` (bottom), ``axis`` (r = 0), ``outer_edge`` (r = radius).

Like :mod:`meshes.build`, all Gmsh calls are in :func:`build_layered_disc` (rank 0);
:func:`load_layered_disc` turns the model into a distributed DOLFINx mesh.

3-D disc (the check of the axisymmetric model)
----------------------------------------------
:func:`build_layered_disc_3d` / :func:`load_layered_disc_3d` make the same disc in 3-D (Gmsh
OpenCASCADE, tetrahedra): the cylinder ``x^2 + y^2 <= radius_mm^2``,
``-sum(thicknesses) <= z <= 0``, the needle axis along ``-z`` through the origin (the top face
centre). ``sector`` is ``"quarter"`` (``x, y >= 0``; enough for a revolved tip, with
``u_x = 0`` on ``symmetry_x`` (x = 0) and ``u_y = 0`` on ``symmetry_y`` (y = 0)), ``"half"``
(``y >= 0``; one symmetry plane ``symmetry_y``: a lancet bevel in the x-z plane) or ``"full"``.
The element size follows the same Threshold of the distance from the top centre as in 2-D.
Tags: regions as in 2-D; boundaries ``contact_surface`` (z = 0), ``far_surface`` (bottom),
``outer_edge`` (the cylinder), ``symmetry_x``, ``symmetry_y`` (where the sector has them).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

from meshes.validate import check_range

DISC_BOUNDARY_TAGS = {"contact_surface": 101, "far_surface": 102, "axis": 103, "outer_edge": 104}
#: Boundary tags of the 3-D disc (the 2-D ones, no axis, and the symmetry planes).
DISC3D_BOUNDARY_TAGS = {"contact_surface": 101, "far_surface": 102, "outer_edge": 104,
                        "symmetry_x": 105, "symmetry_y": 106}
#: 3-D disc sectors: the opening angle and the symmetry planes each has.
DISC3D_SECTORS = {"quarter": (0.5 * math.pi, ("symmetry_x", "symmetry_y")),
                  "half": (math.pi, ("symmetry_y",)),
                  "full": (2.0 * math.pi, ())}


@dataclass(frozen=True, slots=True)
class LayeredDiscSpec:
    """Geometry and element sizes of the layered disc (mm).

    Attributes:
        layers: ``(name, thickness_mm)`` from the top face down; names unique.
        radius_mm: disc radius.
        fine_size_mm: element size near the needle.
        fine_radius_mm: radius of the fine zone around the top centre.
        coarse_size_mm: largest element size.
        coarse_radius_mm: distance at which the size reaches ``coarse_size_mm``.
    """

    layers: tuple[tuple[str, float], ...]
    radius_mm: float
    fine_size_mm: float
    fine_radius_mm: float
    coarse_size_mm: float
    coarse_radius_mm: float

    def __post_init__(self) -> None:
        o = "disc"
        if not self.layers:
            raise ValueError("disc.layers = () must hold at least one (name, thickness_mm)")
        names = [n for n, _ in self.layers]
        if len(set(names)) != len(names):
            raise ValueError(f"disc.layers names = {names!r} must be unique")
        for name, t in self.layers:
            check_range(o, f"layers[{name}].thickness_mm", t, 1e-3, 1e3, unit="mm")
        check_range(o, "radius_mm", self.radius_mm, 1e-3, 1e4, unit="mm")
        check_range(o, "fine_size_mm", self.fine_size_mm, 1e-4, self.coarse_size_mm,
                    unit="mm (at most coarse_size_mm)")
        check_range(o, "coarse_size_mm", self.coarse_size_mm, 1e-4, 1e3, unit="mm")
        check_range(o, "fine_radius_mm", self.fine_radius_mm, 0.0, 1e4, unit="mm")
        check_range(o, "coarse_radius_mm", self.coarse_radius_mm, self.fine_radius_mm, 1e4,
                    unit="mm (at least fine_radius_mm)")

    @property
    def thickness_mm(self) -> float:
        return float(sum(t for _, t in self.layers))

    @property
    def regions(self) -> dict[str, int]:
        return {name: i + 1 for i, (name, _) in enumerate(self.layers)}


class DiscMesh(NamedTuple):
    """A distributed disc mesh with its tags and tag names."""

    mesh: object
    cell_tags: object
    facet_tags: object
    regions: dict[str, int]
    boundaries: dict[str, int]
    spec: LayeredDiscSpec


def build_layered_disc(spec: LayeredDiscSpec) -> None:
    """Fill the current Gmsh model with the meshed disc (call on one rank)."""
    import gmsh

    gmsh.model.add("layered_disc")
    geo = gmsh.model.geo
    R = spec.radius_mm
    zs = [0.0]
    for _, t in spec.layers:
        zs.append(zs[-1] - t)
    left = [geo.addPoint(0.0, z, 0.0) for z in zs]
    right = [geo.addPoint(R, z, 0.0) for z in zs]
    horiz = [geo.addLine(left[i], right[i]) for i in range(len(zs))]
    axis = [geo.addLine(left[i + 1], left[i]) for i in range(len(zs) - 1)]
    edge = [geo.addLine(right[i], right[i + 1]) for i in range(len(zs) - 1)]
    surfaces = []
    for i in range(len(zs) - 1):
        loop = geo.addCurveLoop([horiz[i], edge[i], -horiz[i + 1], axis[i]])
        surfaces.append(geo.addPlaneSurface([loop]))
    geo.synchronize()
    for (name, _), s in zip(spec.layers, surfaces, strict=True):
        gmsh.model.addPhysicalGroup(2, [s], spec.regions[name], name=name)
    groups = {"contact_surface": [horiz[0]], "far_surface": [horiz[-1]], "axis": axis,
              "outer_edge": edge}
    for name, curves in groups.items():
        gmsh.model.addPhysicalGroup(1, curves, DISC_BOUNDARY_TAGS[name], name=name)
    field = gmsh.model.mesh.field
    dist = field.add("Distance")
    field.setNumbers(dist, "PointsList", [left[0]])
    thr = field.add("Threshold")
    field.setNumber(thr, "InField", dist)
    field.setNumber(thr, "SizeMin", spec.fine_size_mm)
    field.setNumber(thr, "SizeMax", spec.coarse_size_mm)
    field.setNumber(thr, "DistMin", spec.fine_radius_mm)
    field.setNumber(thr, "DistMax", spec.coarse_radius_mm)
    field.setAsBackgroundMesh(thr)
    gmsh.option.setNumber("Mesh.MeshSizeExtendFromBoundary", 0)
    gmsh.option.setNumber("Mesh.MeshSizeFromPoints", 0)
    gmsh.option.setNumber("Mesh.MeshSizeFromCurvature", 0)
    gmsh.option.setNumber("Mesh.Algorithm", 6)
    gmsh.model.mesh.generate(2)


def load_layered_disc(spec: LayeredDiscSpec, comm) -> DiscMesh:
    """Build the disc on rank 0 of ``comm`` and distribute it (no cache: it takes ~0.1 s)."""
    from meshes.gmsh_build import build_on_rank0

    data = build_on_rank0(lambda: build_layered_disc(spec), comm, gdim=2, tdim=2)
    msh = data.mesh
    msh.topology.create_connectivity(1, 2)
    return DiscMesh(msh, data.cell_tags, data.facet_tags, spec.regions, dict(DISC_BOUNDARY_TAGS),
                    spec)


def _check_sector(sector: str) -> None:
    if sector not in DISC3D_SECTORS:
        raise ValueError(f"sector = {sector!r} must be one of {tuple(DISC3D_SECTORS)}")


def disc3d_boundaries(sector: str) -> dict[str, int]:
    """Boundary name -> tag of the 3-D disc ``sector`` (only the planes it has)."""
    _check_sector(sector)
    planes = DISC3D_SECTORS[sector][1]
    return {k: v for k, v in DISC3D_BOUNDARY_TAGS.items()
            if not k.startswith("symmetry") or k in planes}


def build_layered_disc_3d(spec: LayeredDiscSpec, sector: str = "quarter") -> None:
    """Fill the current Gmsh model with the meshed 3-D disc ``sector`` (call on one rank)."""
    import gmsh

    _check_sector(sector)
    angle, planes = DISC3D_SECTORS[sector]
    gmsh.model.add("layered_disc_3d")
    occ = gmsh.model.occ
    R = spec.radius_mm
    zs = [0.0]
    for _, t in spec.layers:
        zs.append(zs[-1] - t)
    # One cylinder sector per layer; fragmenting makes the layer interfaces conforming.
    vols = [occ.addCylinder(0.0, 0.0, zs[i + 1], 0.0, 0.0, zs[i] - zs[i + 1], R, angle=angle)
            for i in range(len(spec.layers))]
    occ.fragment([(3, v) for v in vols], [])
    occ.synchronize()
    T = spec.thickness_mm
    tol = 1e-6 * max(R, T)
    by_layer: dict[int, list[int]] = {i: [] for i in range(len(spec.layers))}
    for _, v in gmsh.model.getEntities(3):
        zc = gmsh.model.occ.getCenterOfMass(3, v)[2]
        i = next(k for k in range(len(spec.layers)) if zs[k + 1] - tol <= zc <= zs[k] + tol)
        by_layer[i].append(v)
    for i, (name, _) in enumerate(spec.layers):
        gmsh.model.addPhysicalGroup(3, by_layer[i], spec.regions[name], name=name)
    groups: dict[str, list[int]] = {k: [] for k in disc3d_boundaries(sector)}
    for _, f in gmsh.model.getEntities(2):
        x0, y0, z0, x1, y1, z1 = gmsh.model.getBoundingBox(2, f)
        if abs(z0) < tol and abs(z1) < tol:
            groups["contact_surface"].append(f)
        elif abs(z0 + T) < tol and abs(z1 + T) < tol:
            groups["far_surface"].append(f)
        elif abs(x0) < tol and abs(x1) < tol and "symmetry_x" in planes:
            groups["symmetry_x"].append(f)
        elif abs(y0) < tol and abs(y1) < tol and "symmetry_y" in planes:
            groups["symmetry_y"].append(f)
        elif z1 - z0 > tol and max(x1 - x0, y1 - y0) > tol:
            # not planar at constant z, x or y: the cylinder (interfaces are at constant z)
            groups["outer_edge"].append(f)
    for name, faces in groups.items():
        if not faces:
            raise RuntimeError(f"3-D disc: no surface found for boundary {name!r}")
        gmsh.model.addPhysicalGroup(2, faces, DISC3D_BOUNDARY_TAGS[name], name=name)
    field = gmsh.model.mesh.field
    # The distance from the top centre, where the needle axis meets the top face (in 2-D a
    # Distance field from that point; here the point need not be a model vertex).
    dist = field.add("MathEval")
    field.setString(dist, "F", "Sqrt(x*x + y*y + z*z)")
    thr = field.add("Threshold")
    field.setNumber(thr, "InField", dist)
    field.setNumber(thr, "SizeMin", spec.fine_size_mm)
    field.setNumber(thr, "SizeMax", spec.coarse_size_mm)
    field.setNumber(thr, "DistMin", spec.fine_radius_mm)
    field.setNumber(thr, "DistMax", spec.coarse_radius_mm)
    field.setAsBackgroundMesh(thr)
    gmsh.option.setNumber("Mesh.MeshSizeExtendFromBoundary", 0)
    gmsh.option.setNumber("Mesh.MeshSizeFromPoints", 0)
    gmsh.option.setNumber("Mesh.MeshSizeFromCurvature", 0)
    gmsh.option.setNumber("Mesh.Algorithm", 6)
    gmsh.option.setNumber("Mesh.Algorithm3D", 1)
    gmsh.model.mesh.generate(3)


def load_layered_disc_3d(spec: LayeredDiscSpec, comm, sector: str = "quarter") -> DiscMesh:
    """Build the 3-D disc ``sector`` on rank 0 of ``comm`` and distribute it (no cache)."""
    from meshes.gmsh_build import build_on_rank0

    _check_sector(sector)
    data = build_on_rank0(lambda: build_layered_disc_3d(spec, sector), comm, gdim=3, tdim=3)
    msh = data.mesh
    msh.topology.create_connectivity(2, 3)
    return DiscMesh(msh, data.cell_tags, data.facet_tags, spec.regions,
                    disc3d_boundaries(sector), spec)
