"""How many cells a mesh spec will make, estimated before meshing (no Gmsh, no DOLFINx).

``nre mesh`` and ``nre study check`` refuse a spec whose estimate exceeds a limit
(:data:`DEFAULT_MAX_CELLS`, ``--max-cells``) before anything is meshed: a typo such as
``--size-mm 0.01 --level 6`` would otherwise run until the machine is out of memory.

The estimate integrates the element density of the size field the builders give Gmsh
(:mod:`meshes.build`, :mod:`meshes.disc`) over the meshed regions: the largest size
``mesh.size_mm``, the refined tube around the needle path (``needle_size_mm`` within
``refinement_radius_mm``, growing linearly to the largest size at twice that), the refined flap,
the sizes Gmsh takes from the curvature (``circle_points`` elements per circle), every size
halved per level. The density of a tetrahedral mesh of size ``h`` is
``1 / (C3 h^2 min(h, K3 t))`` (``t`` the thickness of the layer: a layer thinner than its
elements still gets a few of them across), of a triangle mesh ``1 / (C2 h min(h, t))``. Each
layer's integral is sampled on a grid over the cross-section (and along the axis for the needle's
tube) and scaled to the layer's exact area (:mod:`meshes.geometry`). ``C2``, ``C3`` and ``K3``
are fitted to real builds; the tests hold the estimate within a factor 2 of the cells built at
several levels (README, "Mesh size guard").
"""

from __future__ import annotations

import functools
import math

import numpy as np

from meshes.geometry import CrossSection, balloon_film_areas
from meshes.spec import ArteryModelSpec, ArterySectionSpec, BalloonModelSpec

__all__ = ["DEFAULT_MAX_CELLS", "MeshTooLarge", "check_cells", "estimate_cells", "format_cells"]

#: Largest estimated cell count accepted unless the caller raises it (``--max-cells``).
DEFAULT_MAX_CELLS = 5_000_000
#: Cells per ``1 / (h^2 min(h, K3 t))`` of volume (tetrahedra) and per ``1 / (h min(h, t))``
#: of area (triangles), fitted to 48 Gmsh builds of the artery, its section, the balloon film
#: and the puncture disc (estimate / built 0.69-1.30; README, "Mesh size guard").
C3 = 0.17
C2 = 0.36
#: A layer thinner than ``h / K3`` holds about ``h / (K3 t)`` times more tetrahedra than its
#: volume in elements of size ``h`` (Gmsh keeps them from getting flat); fitted with ``C3``.
K3 = 0.3
#: Grid points across the thinnest layer when sampling the cross-section.
_PER_LAYER = 5


class MeshTooLarge(ValueError):
    """The estimated cell count of a mesh spec is above the allowed limit."""


def estimate_cells(spec) -> int:
    """Estimated number of cells (tetrahedra or triangles) of the mesh of ``spec``.

    ``spec`` is an :class:`~meshes.spec.ArteryModelSpec`, :class:`~meshes.spec.ArterySectionSpec`,
    :class:`~meshes.spec.BalloonModelSpec` or :class:`~meshes.disc.LayeredDiscSpec` (2-D).
    """
    from meshes.disc import LayeredDiscSpec

    if isinstance(spec, ArteryModelSpec):
        return _artery(spec, None)
    if isinstance(spec, ArterySectionSpec):
        return _artery(spec.model, spec.z_mm)
    if isinstance(spec, BalloonModelSpec):
        return _balloon(spec)
    if isinstance(spec, LayeredDiscSpec):
        return _disc(spec)
    raise TypeError(f"no cell estimate for {type(spec).__name__}")


def check_cells(spec, max_cells: int = DEFAULT_MAX_CELLS, *, what: str = "mesh") -> int:
    """The estimate of ``spec``; raises :class:`MeshTooLarge` when it is above ``max_cells``."""
    n = estimate_cells(spec)
    if n > max_cells:
        raise MeshTooLarge(
            f"{what} would have about {format_cells(n)} cells (estimated from {_sizes(spec)}), "
            f"above the limit of {format_cells(max_cells)}: coarsen the mesh, or raise the limit "
            f"with --max-cells")
    return n


def format_cells(n: int) -> str:
    """A cell count for people: ``1,234``, ``3.09 M``, ``3.1e+11``."""
    if n >= 1e9:
        return f"{n:.2g}"
    return f"{n / 1e6:.3g} M" if n >= 1e5 else f"{n:,}"


def _sizes(spec) -> str:
    from meshes.disc import LayeredDiscSpec

    if isinstance(spec, ArterySectionSpec):
        spec = spec.model
    if isinstance(spec, ArteryModelSpec):
        m = spec.mesh
        return (f"mesh.size_mm = {m.size_mm:g}, needle_size_mm = {m.needle_size_mm:g}, "
                f"flap_size_mm = {m.flap_size_mm:g}, level = {m.level}: sizes x {m.scale:g}")
    if isinstance(spec, BalloonModelSpec):
        return f"size_mm = {spec.size_mm:g}"
    if isinstance(spec, LayeredDiscSpec):
        return f"fine_size_mm = {spec.fine_size_mm:g}, coarse_size_mm = {spec.coarse_size_mm:g}"
    return type(spec).__name__


def _ramp(dist: np.ndarray, small: float, large: float, d0: float, d1: float) -> np.ndarray:
    """Gmsh's Threshold field: ``small`` up to ``d0``, linear to ``large`` at ``d1``."""
    if d1 <= d0:
        return np.where(dist <= d0, small, large)
    t = np.clip((dist - d0) / (d1 - d0), 0.0, 1.0)
    return small + t * (large - small)


@functools.lru_cache(maxsize=256)
def _artery(spec: ArteryModelSpec, z_section: float | None) -> int:
    cs = CrossSection(spec)
    art, m, c = spec.artery, spec.mesh, spec.calcification
    scale = m.scale
    h_max = m.size_mm * scale
    n_circle = m.circle_points / scale
    tm, ta = cs.t_media, cs.t_adv
    gap = art.flap_thickness_mm - (c.thickness_mm if c.has_sheets and c.layer == "intima"
                                   else 0.0)
    flap_h = min(m.flap_size_mm, gap) * scale

    # --- the cross-section, sampled on a grid fine enough for its thinnest layer
    outer = cs.r_outer
    r1, r2 = cs.r_a + tm + ta, cs.r_channel + tm + ta
    x0, x1 = cs.x_a - max(r1, outer or 0.0), cs.x_b + max(r2, outer or 0.0)
    y1 = max(r1, r2, outer or 0.0)
    step = min(art.flap_thickness_mm, tm, ta) / _PER_LAYER
    xs = np.arange(x0 + 0.5 * step, x1, step)
    ys = np.arange(-y1 + 0.5 * step, y1, step)
    X, Y = (a.ravel() for a in np.meshgrid(xs, ys))
    d1 = np.hypot(X - cs.x_a, Y)
    d2 = np.hypot(X - cs.x_b, Y)
    ang1 = np.abs(np.arctan2(Y, X - cs.x_a))
    ang2 = np.abs(np.arctan2(Y, X - cs.x_b))
    th = cs.theta

    def in_hull(off: float) -> np.ndarray:
        ra, rb = cs.r_a + off, cs.r_channel + off
        nx, ny = math.cos(th), math.sin(th)
        strip = ((X - cs.x_a) * nx + np.abs(Y) * ny <= ra) & \
            (X >= cs.x_a + ra * nx) & (X <= cs.x_b + rb * nx)
        return (d1 <= ra) | (d2 <= rb) | strip

    lumen = d1 < cs.r_lumen
    channel = d2 < cs.r_channel
    h0, hm = in_hull(0.0), in_hull(tm)
    wall = np.hypot(X, Y) <= outer if outer is not None else in_hull(tm + ta)
    layers = {  # name: (points, exact area, thickness)
        "intima": (h0 & ~lumen & ~channel, cs.hull(0.0) - math.pi * cs.r_lumen**2
                   - math.pi * cs.r_channel**2 - 2.0 * cs.tip_area, art.flap_thickness_mm),
        "media": (hm & ~h0, cs.hull(tm) - cs.hull(0.0), tm),
        "adventitia": (wall & ~hm, (math.pi * outer**2 if outer is not None
                                    else cs.hull(tm + ta)) - cs.hull(tm),
                       ta if outer is None else max(ta, outer - cs.x_b - cs.r_channel - tm)),
    }
    if art.lumen_content == "filled":
        layers["lumen_fill"] = (lumen, math.pi * cs.r_lumen**2, 2.0 * cs.r_lumen)

    # sizes from the curvature of the circles bounding the layers (Gmsh: 2 pi R / N on a
    # circle, interpolated inside), growing away from each circle
    h_curv = np.full(X.shape, np.inf)
    circles = [(d1, cs.r_lumen, None), (d2, cs.r_channel, None)]
    circles += [(d1, cs.r_a + off, ang1 >= th) for off in (0.0, tm, tm + ta)]
    circles += [(d2, cs.r_channel + off, ang2 <= th) for off in (tm, tm + ta)]
    if outer is not None:
        circles.append((np.hypot(X, Y), outer, None))
    for dist, radius, where in circles:
        h = 2.0 * math.pi * radius / n_circle + np.abs(dist - radius)
        if where is not None:
            h = np.where(where, h, np.inf)
        h_curv = np.minimum(h_curv, h)
    xt = cs.x_a + cs.r_a  # the flap's thinnest point
    h_flap = _ramp(np.hypot(X - xt, Y), flap_h, h_max, 0.0, 2.5)

    if z_section is not None:  # the 2-D section: triangles, refined along the needle's way
        near = np.abs(Y) + np.maximum(0.0, cs.x_a - X)
        h_path = _ramp(near, min(m.needle_size_mm, gap) * scale, h_max,
                       m.refinement_radius_mm, 2.0 * m.refinement_radius_mm + 1.0)
        h = np.maximum(np.minimum.reduce([h_path, h_flap, h_curv, np.full(X.shape, h_max)]),
                       1e-3)
        total = 0.0
        for pts, area, t in layers.values():
            if pts.any():
                hp = h[pts]
                total += area * float(np.mean(1.0 / (C2 * hp * np.minimum(hp, t))))
        return int(round(total))

    # --- 3-D: the needle's tube depends on z; sample slices along the segment
    h_base = np.minimum.reduce([h_flap, h_curv, np.full(X.shape, h_max)])
    px, py, pz = cs.needle_target()
    dx, dy, dz = cs.needle_direction()
    length = art.length_mm
    nz = 64
    zs = -0.5 * length + (np.arange(nz) + 0.5) * length / nz
    sums = {name: 0.0 for name in layers}
    for z in zs:
        rx, ry, rz = X - px, Y - py, z - pz
        dot = rx * dx + ry * dy + rz * dz
        dist = np.sqrt(np.maximum(0.0, rx * rx + ry * ry + rz * rz - dot * dot))
        h_needle = _ramp(dist, m.needle_size_mm * scale, h_max, m.refinement_radius_mm,
                         2.0 * m.refinement_radius_mm)
        h = np.maximum(np.minimum(h_base, h_needle), 1e-3)
        for name, (pts, _area, t) in layers.items():
            if pts.any():
                hp = h[pts]
                sums[name] += float(np.mean(1.0 / (C3 * hp * hp * np.minimum(hp, K3 * t))))
    total = sum(area * length * sums[name] / nz for name, (_p, area, _t) in layers.items())
    return int(round(total))


def _balloon(spec: BalloonModelSpec) -> int:
    b = spec.balloon
    r, rn = 0.5 * b.diameter_mm, 0.5 * b.neck_diameter_mm

    def size(rho):
        return np.maximum(np.minimum(spec.size_mm, 2.0 * np.pi * rho / 48.0), 1e-3)

    body = balloon_film_areas(b)["film_body"] / (C2 * float(size(np.array(r))) ** 2)
    rho = rn + (r - rn) * (np.arange(200) + 0.5) / 200  # along a cone's generator
    slant = math.hypot(b.cone_length_mm, r - rn)
    cone = float(np.sum(2.0 * np.pi * rho * slant / 200 / (C2 * size(rho) ** 2)))
    return int(round(body + 2.0 * cone))


@functools.lru_cache(maxsize=1024)
def _disc(spec) -> int:
    # the rectangle r in [0, R], depth in [0, T]; size by the distance from the top centre
    n = 200
    rs = (np.arange(n) + 0.5) * spec.radius_mm / n
    zs = (np.arange(n) + 0.5) * spec.thickness_mm / n
    R, Z = np.meshgrid(rs, zs)
    h = _ramp(np.hypot(R, Z), spec.fine_size_mm, spec.coarse_size_mm, spec.fine_radius_mm,
              spec.coarse_radius_mm)
    h = np.maximum(h, 1e-4)
    area = spec.radius_mm * spec.thickness_mm
    return int(round(area * float(np.mean(1.0 / (C2 * h * h)))))
