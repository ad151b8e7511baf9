"""A layered rectangular patch of wall under the needle, split on the needle's cut plane.

The half model of a locally flat piece of wall (3-D, Gmsh OpenCASCADE, tetrahedra): the box
``-half_width_x_mm <= x <= half_width_x_mm``, ``0 <= y <= length_y_mm``,
``-sum(thicknesses) <= z <= 0``, split into horizontal layers listed from the top (``z = 0``,
the face the needle meets) downwards. A layer is made of one region, or of a *core* region in
``|x| <= half_width, y <= length`` surrounded by the layer's own region (a calcium sheet of a
given arc and length inside the intima). The needle moves along ``-z`` with its point at the
origin. ``y = 0`` is the plane that holds the needle's axis and its point (the needle's plane
of symmetry): the model is the half ``y >= 0``, and on that plane the region the crack may
reach (``slit_x_mm`` in x, ``slit_depth_mm`` deep from the top) is the boundary
``crack_plane`` (a cohesive law, :mod:`fem.needle.fracture`); the rest of the plane is
``symmetry_y`` (``u_y = 0``).

Element size: ``fine_size_mm`` within ``fine_margin_mm`` of the crack region (the cohesive
length must be resolved there), growing to ``coarse_size_mm`` over ``transition_mm``.

Tags: regions in order of first appearance (layers from the top, then their cores) get
tags 1, 2, ...; boundaries ``top`` (z = 0),
``bottom``, ``edge_x_min``, ``edge_x_max`` (the supports across x, e.g. a flap's
attachments), ``edge_y_max`` (the far end along y), ``crack_plane``, ``symmetry_y``.

Like :mod:`meshes.build`, all Gmsh calls are in :func:`build_layered_patch` (rank 0);
:func:`load_layered_patch` turns the model into a distributed DOLFINx mesh.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from meshes.validate import check_range

PATCH_BOUNDARY_TAGS = {"top": 201, "bottom": 202, "edge_x_min": 203, "edge_x_max": 204,
                       "edge_y_max": 205, "crack_plane": 206, "symmetry_y": 207}


@dataclass(frozen=True, slots=True)
class LayeredPatchSpec:
    """Geometry and element sizes of the patch (mm).

    Attributes:
        layers: ``(region, thickness_mm)`` from the top face down (a region may fill several
            layers).
        half_width_x_mm: the patch spans ``-half_width_x_mm <= x <= half_width_x_mm``.
        length_y_mm: the half model spans ``0 <= y <= length_y_mm``.
        slit_x_mm: ``(x_min, x_max)`` of the crack region on ``y = 0``.
        slit_depth_mm: depth of the crack region below the top face, in (0, thickness].
        cores: ``(layer index, region, half_width_x_mm, length_y_mm)``: the core region of a
            layer (``|x| <= half_width_x_mm``, ``y <= length_y_mm``).
        fine_size_mm: element size at the crack region.
        fine_margin_mm: distance from the crack region within which the size is fine.
        coarse_size_mm: largest element size.
        transition_mm: distance over which the size grows from fine to coarse.
    """

    layers: tuple[tuple[str, float], ...]
    half_width_x_mm: float
    length_y_mm: float
    slit_x_mm: tuple[float, float]
    slit_depth_mm: float
    fine_size_mm: float
    fine_margin_mm: float
    coarse_size_mm: float
    transition_mm: float
    cores: tuple[tuple[int, str, float, float], ...] = ()

    def __post_init__(self) -> None:
        o = "patch"
        if not self.layers:
            raise ValueError("patch.layers = () must hold at least one (name, thickness_mm)")
        for i, (name, t) in enumerate(self.layers):
            check_range(o, f"layers[{i}] ({name}).thickness_mm", t, 1e-3, 1e3, unit="mm")
        check_range(o, "half_width_x_mm", self.half_width_x_mm, 1e-2, 1e3, unit="mm")
        check_range(o, "length_y_mm", self.length_y_mm, 1e-2, 1e3, unit="mm")
        x0, x1 = self.slit_x_mm
        check_range(o, "slit_x_mm[0]", x0, -self.half_width_x_mm, x1, unit="mm")
        check_range(o, "slit_x_mm[1]", x1, x0, self.half_width_x_mm, unit="mm")
        check_range(o, "slit_depth_mm", self.slit_depth_mm, 0.0, self.thickness_mm,
                    lo_open=True, unit="mm (at most the thickness)")
        for k, (i, region, hw, ly) in enumerate(self.cores):
            check_range(o, f"cores[{k}].layer", i, 0, len(self.layers) - 1)
            if region == self.layers[i][0]:
                raise ValueError(f"patch.cores[{k}] region = {region!r} must differ from its "
                                 "layer's region")
            check_range(o, f"cores[{k}].half_width_x_mm", hw, 1e-3, self.half_width_x_mm,
                        unit="mm (at most half_width_x_mm)")
            check_range(o, f"cores[{k}].length_y_mm", ly, 1e-3, self.length_y_mm,
                        unit="mm (at most length_y_mm)")
        check_range(o, "fine_size_mm", self.fine_size_mm, 1e-4, self.coarse_size_mm,
                    unit="mm (at most coarse_size_mm)")
        check_range(o, "coarse_size_mm", self.coarse_size_mm, 1e-4, 1e3, unit="mm")
        check_range(o, "fine_margin_mm", self.fine_margin_mm, 0.0, 1e3, unit="mm")
        check_range(o, "transition_mm", self.transition_mm, 0.0, 1e3, unit="mm")

    @property
    def thickness_mm(self) -> float:
        return float(sum(t for _, t in self.layers))

    @property
    def regions(self) -> dict[str, int]:
        names = [n for n, _ in self.layers] + [c[1] for c in self.cores]
        return {name: i + 1 for i, name in enumerate(dict.fromkeys(names))}

    def layer_top_z(self, i: int) -> float:
        return -float(sum(t for _, t in self.layers[:i]))


class PatchMesh(NamedTuple):
    """A distributed patch mesh with its tags and tag names."""

    mesh: object
    cell_tags: object
    facet_tags: object
    regions: dict[str, int]
    boundaries: dict[str, int]
    spec: LayeredPatchSpec


def build_layered_patch(spec: LayeredPatchSpec) -> None:
    """Fill the current Gmsh model with the meshed patch (call on one rank)."""
    import math

    import gmsh

    gmsh.model.add("layered_patch")
    occ = gmsh.model.occ
    X, Y = spec.half_width_x_mm, spec.length_y_mm
    zs = [0.0]
    for _, t in spec.layers:
        zs.append(zs[-1] - t)
    tools = [(3, occ.addBox(-X, 0.0, zs[i + 1], 2.0 * X, Y, zs[i] - zs[i + 1]))
             for i in range(len(spec.layers))]
    for i, _region, hw, ly in spec.cores:
        tools.append((3, occ.addBox(-hw, 0.0, zs[i + 1], 2.0 * hw, ly, zs[i] - zs[i + 1])))
    x0, x1 = spec.slit_x_mm
    depth = spec.slit_depth_mm
    # The crack region: a rectangle in the x-z plane (made in x-y, turned about x).
    slit = occ.addRectangle(x0, -depth, 0.0, x1 - x0, depth)
    occ.rotate([(2, slit)], 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, math.pi / 2)
    occ.fragment(tools, [(2, slit)])
    occ.synchronize()
    T = spec.thickness_mm
    tol = 1e-6 * max(X, Y, T)
    by_region: dict[str, list[int]] = {r: [] for r in spec.regions}
    for _, v in gmsh.model.getEntities(3):
        zc = occ.getCenterOfMass(3, v)[2]
        i = next(k for k in range(len(spec.layers)) if zs[k + 1] - tol <= zc <= zs[k] + tol)
        region = spec.layers[i][0]
        bx0, _, _, bx1, by1, _ = gmsh.model.getBoundingBox(3, v)
        for li, core, hw, ly in spec.cores:
            # the core's pieces lie inside its box (the rest of the layer wraps around it)
            if li == i and bx0 >= -hw - tol and bx1 <= hw + tol and by1 <= ly + tol:
                region = core
        by_region[region].append(v)
    for region, vols in by_region.items():
        gmsh.model.addPhysicalGroup(3, vols, spec.regions[region], name=region)
    groups: dict[str, list[int]] = {k: [] for k in PATCH_BOUNDARY_TAGS}
    for _, f in gmsh.model.getEntities(2):
        bx0, by0, bz0, bx1, by1, bz1 = gmsh.model.getBoundingBox(2, f)
        if abs(bz0) < tol and abs(bz1) < tol:
            groups["top"].append(f)
        elif abs(bz0 + T) < tol and abs(bz1 + T) < tol:
            groups["bottom"].append(f)
        elif abs(bx0 + X) < tol and abs(bx1 + X) < tol:
            groups["edge_x_min"].append(f)
        elif abs(bx0 - X) < tol and abs(bx1 - X) < tol:
            groups["edge_x_max"].append(f)
        elif abs(by0 - Y) < tol and abs(by1 - Y) < tol:
            groups["edge_y_max"].append(f)
        elif abs(by0) < tol and abs(by1) < tol:
            inside = (bx0 >= x0 - tol and bx1 <= x1 + tol and bz0 >= -depth - tol)
            groups["crack_plane" if inside else "symmetry_y"].append(f)
    for name, faces in groups.items():
        if not faces:
            raise RuntimeError(f"patch: no surface found for boundary {name!r}")
        gmsh.model.addPhysicalGroup(2, faces, PATCH_BOUNDARY_TAGS[name], name=name)
    field = gmsh.model.mesh.field
    box = field.add("Box")
    m = spec.fine_margin_mm
    field.setNumber(box, "VIn", spec.fine_size_mm)
    field.setNumber(box, "VOut", spec.coarse_size_mm)
    field.setNumber(box, "XMin", x0 - m)
    field.setNumber(box, "XMax", x1 + m)
    field.setNumber(box, "YMin", -1.0)
    field.setNumber(box, "YMax", m)
    field.setNumber(box, "ZMin", -depth - m)
    field.setNumber(box, "ZMax", 1.0)
    field.setNumber(box, "Thickness", spec.transition_mm)
    field.setAsBackgroundMesh(box)
    gmsh.option.setNumber("Mesh.MeshSizeExtendFromBoundary", 0)
    gmsh.option.setNumber("Mesh.MeshSizeFromPoints", 0)
    gmsh.option.setNumber("Mesh.MeshSizeFromCurvature", 0)
    gmsh.option.setNumber("Mesh.Algorithm", 6)
    gmsh.option.setNumber("Mesh.Algorithm3D", 1)
    gmsh.model.mesh.generate(3)


def load_layered_patch(spec: LayeredPatchSpec, comm) -> PatchMesh:
    """Build the patch on rank 0 of ``comm`` and distribute it (no cache)."""
    from meshes.gmsh_build import build_on_rank0

    data = build_on_rank0(lambda: build_layered_patch(spec), comm, gdim=3, tdim=3)
    msh = data.mesh
    msh.topology.create_connectivity(2, 3)
    return PatchMesh(msh, data.cell_tags, data.facet_tags, spec.regions,
                     dict(PATCH_BOUNDARY_TAGS), spec)
