"""2-D axisymmetric (r, z) mesh of a layered disc, refined under a needle on its axis.

The disc is the rectangle ``0 <= r <= radius_mm``, ``-sum(thicknesses) <= z <= 0`` in the
(x, y) = (r, z) plane, split into horizontal layers listed from the top (``z = 0``, the face the
needle meets) downwards. Element size is ``fine_size_mm`` within ``fine_radius_mm`` of the point
where the needle axis meets the top face, growing linearly to ``coarse_size_mm`` at
``coarse_radius_mm``.

Tags: layer ``i`` (0-based, from the top) is region ``i + 1``; boundaries ``contact_surface``
(top), ``far_surface`` (bottom), ``axis`` (r = 0), ``outer_edge`` (r = radius).

Like :mod:`meshes.build`, all Gmsh calls are in :func:`build_layered_disc` (rank 0);
:func:`load_layered_disc` turns the model into a distributed DOLFINx mesh.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from meshes.validate import check_range

DISC_BOUNDARY_TAGS = {"contact_surface": 101, "far_surface": 102, "axis": 103, "outer_edge": 104}


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
    import hpc.stack  # noqa: F401  (orders MPI before DOLFINx)

    import dolfinx
    import gmsh
    from dolfinx.io import gmsh as gmshio

    started = False
    try:
        if comm.rank == 0:
            if not gmsh.isInitialized():
                gmsh.initialize(interruptible=False)
                started = True
            gmsh.option.setNumber("General.Terminal", 0)
            build_layered_disc(spec)
        partitioner = dolfinx.mesh.create_cell_partitioner(dolfinx.mesh.GhostMode.shared_facet, 2)
        data = gmshio.model_to_mesh(gmsh.model, comm, 0, gdim=2, partitioner=partitioner)
    finally:
        if started:
            gmsh.finalize()
        elif comm.rank == 0 and gmsh.isInitialized():
            gmsh.model.remove()
    msh = data.mesh
    msh.topology.create_connectivity(1, 2)
    return DiscMesh(msh, data.cell_tags, data.facet_tags, spec.regions, dict(DISC_BOUNDARY_TAGS),
                    spec)
