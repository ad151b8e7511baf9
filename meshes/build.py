"""Gmsh (OpenCASCADE) builders. Every Gmsh call of the toolkit lives here, behind ``build_*``.

Each builder fills the current Gmsh model on the calling rank (rank 0 in parallel runs) and tags
one named physical group per region and per boundary. Nothing here touches MPI or DOLFINx.

The artery is built from its cross-section (see :mod:`meshes.geometry`) with curves shared by
construction where layers meet, extruded along z in up to three stages so that calcium shorter
than the segment starts and ends on planes, and finally fragmented so that the mesh is conforming.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field

import gmsh

from meshes.geometry import CrossSection
from meshes.spec import ArteryModelSpec, ArterySectionSpec, BalloonModelSpec

#: Region names, in labelling priority (a fragment piece inside several inputs takes the first).
ARTERY_REGIONS = ("calcium", "intima", "media", "adventitia", "lumen_fill")
#: Physical tag of each region (stable across meshes, so solvers can rely on them).
REGION_TAGS = {"intima": 1, "calcium": 2, "media": 3, "adventitia": 4, "lumen_fill": 5}
BOUNDARY_TAGS = {
    "outer_wall": 11,
    "channel_surface": 12,
    "lumen_surface": 13,
    "end_proximal": 14,
    "end_distal": 15,
    "calcium_interface": 16,
    "intima_media_interface": 17,
    "media_adventitia_interface": 18,
}
BALLOON_REGION_TAGS = {"film_body": 1, "film_cone_proximal": 2, "film_cone_distal": 3}
BALLOON_BOUNDARY_TAGS = {"neck_proximal": 11, "neck_distal": 12}


@dataclass
class BuildInfo:
    """What a builder made: physical groups and the Gmsh-side quality figures."""

    regions: dict[str, int] = field(default_factory=dict)
    boundaries: dict[str, int] = field(default_factory=dict)
    min_sicn: float = float("nan")
    mean_sicn: float = float("nan")
    num_elements: int = 0


class _Section:
    """The 2-D cross-section at one z, with curves shared between adjacent faces."""

    def __init__(self, cs: CrossSection, z: float) -> None:
        self.cs, self.z = cs, z
        self.occ = gmsh.model.occ

    def point(self, x: float, y: float) -> int:
        return self.occ.addPoint(x, y, self.z)

    def hull_curves(self, off: float) -> dict[str, list[int]]:
        """Boundary of the hull of (A + off, B + off) as named curve lists (counter-clockwise)."""
        cs, occ = self.cs, self.occ
        r1, r2 = cs.r_a + off, cs.r_channel + off
        th = cs.theta
        c1, c2 = self.point(cs.x_a, 0.0), self.point(cs.x_b, 0.0)
        cu, su = math.cos(th), math.sin(th)
        p1u = self.point(cs.x_a + r1 * cu, r1 * su)
        p1l = self.point(cs.x_a + r1 * cu, -r1 * su)
        p2u = self.point(cs.x_b + r2 * cu, r2 * su)
        p2l = self.point(cs.x_b + r2 * cu, -r2 * su)
        west = self.point(cs.x_a - r1, 0.0)
        east = self.point(cs.x_b + r2, 0.0)
        if off > 0.0:
            return {
                "a": [occ.addCircleArc(p1u, c1, west), occ.addCircleArc(west, c1, p1l)],
                "lower": [occ.addLine(p1l, p2l)],
                "b": [occ.addCircleArc(p2l, c2, east), occ.addCircleArc(east, c2, p2u)],
                "upper": [occ.addLine(p2u, p1u)],
            }
        # off == 0: the media's inner outline, plus the cuts that end the intima at the
        # dissection edges and the channel circle's inner part through the flap point T.
        s, phi = cs.tip_s, cs.tip_phi
        qu = self.point(cs.x_b + r2 * cu - s * su, r2 * su + s * cu)
        ql = self.point(cs.x_b + r2 * cu - s * su, -(r2 * su + s * cu))
        ru = self.point(cs.x_b + r2 * math.cos(th + phi), r2 * math.sin(th + phi))
        rl = self.point(cs.x_b + r2 * math.cos(th + phi), -r2 * math.sin(th + phi))
        t = self.point(cs.x_b - r2, 0.0)
        return {
            "a": [occ.addCircleArc(p1u, c1, west), occ.addCircleArc(west, c1, p1l)],
            "lower": [occ.addLine(p1l, ql), occ.addLine(ql, p2l)],
            "b": [occ.addCircleArc(p2l, c2, east), occ.addCircleArc(east, c2, p2u)],
            "upper": [occ.addLine(p2u, qu), occ.addLine(qu, p1u)],
            # intima outline between the two cuts, running clockwise from the upper cut
            "cut_upper": [occ.addLine(qu, ru)],
            "b_inner": [occ.addCircleArc(ru, c2, t), occ.addCircleArc(t, c2, rl)],
            "cut_lower": [occ.addLine(rl, ql)],
        }

    def loop(self, curves: list[int]) -> int:
        return self.occ.addCurveLoop(curves)


def _sector_face(occ, z: float, xc: float, r0: float, r1: float, mid: float, arc: float) -> int:
    """Annular sector (or full ring) about (xc, 0) between radii r0 < r1, angles mid +- arc/2."""
    if arc >= 2 * math.pi - 1e-12:
        outer = occ.addDisk(xc, 0.0, z, r1, r1)
        inner = occ.addDisk(xc, 0.0, z, r0, r0)
        out, _ = occ.cut([(2, outer)], [(2, inner)])
        return out[0][1]
    a0, a1 = mid - 0.5 * arc, mid + 0.5 * arc
    n = max(2, math.ceil(arc / (0.5 * math.pi)))  # arcs below 180 deg for addCircleArc
    c = occ.addPoint(xc, 0.0, z)

    def pts(r):
        return [occ.addPoint(xc + r * math.cos(a0 + (a1 - a0) * k / n),
                             r * math.sin(a0 + (a1 - a0) * k / n), z) for k in range(n + 1)]

    po, pi = pts(r1), pts(r0)
    curves = [occ.addCircleArc(po[k], c, po[k + 1]) for k in range(n)]
    curves.append(occ.addLine(po[-1], pi[-1]))
    curves += [occ.addCircleArc(pi[k + 1], c, pi[k]) for k in reversed(range(n))]
    curves.append(occ.addLine(pi[0], po[0]))
    return occ.addPlaneSurface([occ.addCurveLoop(curves)])


def _hull_face(occ, sec: _Section, off: float) -> int:
    h = sec.hull_curves(off)
    return occ.addPlaneSurface([sec.loop(h["a"] + h["lower"] + h["b"] + h["upper"])])


def _mesh_options(size: float, circle_points: int) -> None:
    gmsh.option.setNumber("General.NumThreads", 1)  # the default 3-D algorithm stays repeatable
    gmsh.option.setNumber("Mesh.Algorithm", 6)
    gmsh.option.setNumber("Mesh.Algorithm3D", 1)
    gmsh.option.setNumber("Mesh.MeshSizeMax", size)
    gmsh.option.setNumber("Mesh.MeshSizeMin", 1e-3)
    gmsh.option.setNumber("Mesh.MeshSizeFromCurvature", circle_points)
    gmsh.option.setNumber("Mesh.MeshSizeFromPoints", 0)
    gmsh.option.setNumber("Mesh.Optimize", 1)
    gmsh.option.setNumber("Mesh.OptimizeThreshold", 0.3)
    gmsh.option.setNumber("Mesh.OptimizeNetgen", 1)


def _quality(dim: int) -> tuple[float, float, int]:
    types, tags, _ = gmsh.model.mesh.getElements(dim)
    all_tags = [t for tt in tags for t in tt]
    if not all_tags:
        return float("nan"), float("nan"), 0
    q = gmsh.model.mesh.getElementQualities(all_tags, "minSICN")
    return float(min(q)), float(sum(q) / len(q)), len(all_tags)


def _section_faces(cs: CrossSection, z0: float, *, with_calcium: bool) -> dict[int, str]:
    """The cross-section's faces at ``z0``, labelled by region, sharing curves where they meet."""
    occ = gmsh.model.occ
    c = cs.spec.calcification
    # --- layers: layers with shared curves ------------------------------------
    sec = _Section(cs, z0)
    h0 = sec.hull_curves(0.0)
    lumen = occ.addCircle(cs.x_a, 0.0, z0, cs.r_lumen)
    intima_outline = (h0["a"] + h0["lower"][:1] + [-k for k in h0["cut_lower"]]
                      + [-k for k in reversed(h0["b_inner"])] + [-k for k in h0["cut_upper"]]
                      + h0["upper"][1:])
    intima = occ.addPlaneSurface([sec.loop(intima_outline), occ.addCurveLoop([lumen])])
    hull0_loop = sec.loop(h0["a"] + h0["lower"] + h0["b"] + h0["upper"])
    h1 = sec.hull_curves(cs.t_media)
    hull1_loop = sec.loop(h1["a"] + h1["lower"] + h1["b"] + h1["upper"])
    media = occ.addPlaneSurface([hull1_loop, hull0_loop])
    if cs.r_outer is None:
        h2 = sec.hull_curves(cs.t_media + cs.t_adv)
        outer_loop = sec.loop(h2["a"] + h2["lower"] + h2["b"] + h2["upper"])
    else:
        outer_loop = occ.addCurveLoop([occ.addCircle(0.0, 0.0, z0, cs.r_outer)])
    adventitia = occ.addPlaneSurface([outer_loop, hull1_loop])
    faces = {intima: "intima", media: "media", adventitia: "adventitia"}
    if cs.spec.artery.lumen_content == "filled":
        faces[occ.addPlaneSurface([occ.addCurveLoop([lumen])])] = "lumen_fill"

    # --- calcium sheets: fragment them into their host layer ---------------------------------
    sheets = []
    for kind, xc, r0, r1, mid, arc in (cs.calcium_sheets() if with_calcium else []):
        if kind == "hull":
            sheets.append(_hull_face(occ, _Section(cs, z0), r1))
        else:
            sheets.append(_sector_face(occ, z0, xc, r0, r1, mid, arc))
    if sheets:
        host = intima if c.layer == "intima" else media
        _out, children = occ.fragment([(2, host)], [(2, s) for s in sheets])
        host_children = {t for _, t in children[0]}
        sheet_children = {t for ch in children[1:] for _, t in ch}
        del faces[host]
        for t in host_children:
            faces[t] = "calcium" if t in sheet_children else c.layer
        stray = [(2, t) for t in sheet_children - host_children]
        if stray:  # e.g. the inside of a full ring that is not part of the host layer
            occ.remove(stray, recursive=True)
    return faces


def build_artery(spec: ArteryModelSpec, *, name: str = "artery") -> BuildInfo:
    """Fill a new Gmsh model with the meshed artery segment. Gmsh must be initialised."""
    cs = CrossSection(spec)
    occ = gmsh.model.occ
    gmsh.model.add(name)
    z0, z1 = cs.segment_z()
    c = spec.calcification
    faces = _section_faces(cs, z0, with_calcium=True)
    calcium_faces = {t for t, lab in faces.items() if lab == "calcium"}

    # --- extrude in stages; calcium only inside its axial extent -------------------------------
    zc0, zc1 = cs.calcium_z() if calcium_faces else (z0, z1)
    cuts = sorted({z0, z1, *(z for z in (zc0, zc1) if z0 + 1e-9 < z < z1 - 1e-9)})
    volumes: list[tuple[int, str]] = []
    current = dict(faces)
    for za, zb in zip(cuts[:-1], cuts[1:], strict=True):
        in_calcium = zc0 - 1e-9 <= za and zb <= zc1 + 1e-9
        tags = list(current)
        out = occ.extrude([(2, t) for t in tags], 0.0, 0.0, zb - za)
        # extrude returns, per input face: its top face, its volume, then its lateral faces
        tops, vols = [], []
        i = 0
        while i < len(out):
            if out[i][0] == 2 and i + 1 < len(out) and out[i + 1][0] == 3:
                tops.append(out[i][1])
                vols.append(out[i + 1][1])
                i += 2
            else:
                i += 1
        nxt = {}
        for src, top, vol in zip(tags, tops, vols, strict=True):
            lab = current[src]
            if lab == "calcium" and not in_calcium:
                lab = c.layer
            volumes.append((vol, lab))
            nxt[top] = current[src] if current[src] != "calcium" else "calcium"
        current = nxt
    for n in c.nodules:
        x, y, z = cs.nodule_centre(n)
        volumes.append((occ.addSphere(x, y, z, n.radius_mm), "calcium"))

    # --- glue everything into one conforming model ---------------------------------------------
    _out, children = occ.fragment([(3, v) for v, _ in volumes], [])
    occ.synchronize()
    labels: dict[int, str] = {}
    prio = {r: i for i, r in enumerate(ARTERY_REGIONS)}
    for (_v, lab), ch in zip(volumes, children, strict=True):
        for _, t in ch:
            if t not in labels or prio[lab] < prio[labels[t]]:
                labels[t] = lab
    return _tag_artery(cs, spec, labels)


def _interface_name(labs: set[str]) -> str | None:
    """Name of the group between two regions (None: no named interface there)."""
    if "lumen_fill" in labs:
        return "lumen_surface"
    if len(labs) != 2:
        return None
    if "calcium" in labs:
        return "calcium_interface"
    return {frozenset({"intima", "media"}): "intima_media_interface",
            frozenset({"media", "adventitia"}): "media_adventitia_interface"}.get(
                frozenset(labs))


def _exterior_name(cs: CrossSection, x: float, y: float) -> str:
    """Name of the free lateral boundary through the point (x, y) of the cross-section."""
    if abs(math.hypot(x - cs.x_a, y) - cs.r_lumen) < 1e-6:
        return "lumen_surface"
    if math.hypot(x - cs.x_b, y) < cs.r_channel + cs.tip_width + 1e-6:
        return "channel_surface"
    return "outer_wall"


def _surface_point(tag: int) -> tuple[float, float, float]:
    lo, hi = gmsh.model.getParametrizationBounds(2, tag)
    mid = [(a + b) / 2 for a, b in zip(lo, hi, strict=True)]
    x = gmsh.model.getValue(2, tag, mid)
    return float(x[0]), float(x[1]), float(x[2])


def _tag_artery(cs: CrossSection, spec: ArteryModelSpec, labels: dict[int, str]) -> BuildInfo:
    info = BuildInfo()
    z0, z1 = cs.segment_z()
    by_region: dict[str, list[int]] = defaultdict(list)
    for v, lab in labels.items():
        by_region[lab].append(v)
    for lab, vols in by_region.items():
        gmsh.model.addPhysicalGroup(3, sorted(vols), REGION_TAGS[lab], name=lab)
        info.regions[lab] = REGION_TAGS[lab]

    tol = 1e-6 * max(1.0, spec.artery.length_mm)
    bnd: dict[str, list[int]] = defaultdict(list)
    for _, s in gmsh.model.getEntities(2):
        up, _down = gmsh.model.getAdjacencies(2, s)
        labs = {labels[v] for v in up if v in labels}
        if len(up) == 2:
            name = _interface_name(labs)
            if name:
                bnd[name].append(s)
            continue
        if len(up) != 1:
            continue
        xmin, ymin, zmin, xmax, ymax, zmax = gmsh.model.getBoundingBox(2, s)
        if abs(zmax - z0) < tol and abs(zmin - z0) < tol:
            bnd["end_proximal"].append(s)
            continue
        if abs(zmax - z1) < tol and abs(zmin - z1) < tol:
            bnd["end_distal"].append(s)
            continue
        x, y, _z = _surface_point(s)
        bnd[_exterior_name(cs, x, y)].append(s)
    for name, surfs in bnd.items():
        gmsh.model.addPhysicalGroup(2, sorted(surfs), BOUNDARY_TAGS[name], name=name)
        info.boundaries[name] = BOUNDARY_TAGS[name]

    m = spec.mesh
    scale = m.scale
    _mesh_options(m.size_mm * scale, int(round(m.circle_points / scale)))
    _size_fields(cs, spec, scale)
    gmsh.model.mesh.generate(3)
    if m.order == 2:
        gmsh.model.mesh.setOrder(2)
    info.min_sicn, info.mean_sicn, info.num_elements = _quality(3)
    return info


def _size_near(expr: str, size_min: float, size_max: float, dist_min: float,
               dist_max: float) -> int:
    """A Gmsh size field: ``size_min`` within ``dist_min`` of where the distance ``expr``
    (a MathEval formula in x, y, z) vanishes, growing linearly to ``size_max`` at ``dist_max``."""
    f = gmsh.model.mesh.field
    dist = f.add("MathEval")
    f.setString(dist, "F", expr)
    thr = f.add("Threshold")
    f.setNumber(thr, "InField", dist)
    f.setNumber(thr, "SizeMin", size_min)
    f.setNumber(thr, "SizeMax", size_max)
    f.setNumber(thr, "DistMin", dist_min)
    f.setNumber(thr, "DistMax", dist_max)
    return thr


def _size_fields(cs: CrossSection, spec: ArteryModelSpec, scale: float) -> None:
    """Fine along the needle path; at the flap, never coarser than the tissue left there."""
    m = spec.mesh
    f = gmsh.model.mesh.field
    px, py, pz = cs.needle_target()
    dx, dy, dz = cs.needle_direction()
    rel = f"(x-({px!r}))", f"(y-({py!r}))", f"(z-({pz!r}))"
    dot = f"({rel[0]}*({dx!r})+{rel[1]}*({dy!r})+{rel[2]}*({dz!r}))"
    needle = _size_near(f"Sqrt(Max(0,{rel[0]}^2+{rel[1]}^2+{rel[2]}^2-{dot}^2))",
                        m.needle_size_mm * scale, m.size_mm * scale, m.refinement_radius_mm,
                        2.0 * m.refinement_radius_mm)

    c = spec.calcification
    gap = spec.artery.flap_thickness_mm
    if c.has_sheets and c.layer == "intima":
        gap -= c.thickness_mm
    xt = cs.x_a + cs.r_a  # the flap's thinnest point, next to the channel
    flap = _size_near(f"Sqrt((x-({xt!r}))^2+y^2)", min(m.flap_size_mm, gap) * scale,
                      m.size_mm * scale, 0.0, 2.5)
    both = f.add("Min")
    f.setNumbers(both, "FieldsList", [needle, flap])
    f.setAsBackgroundMesh(both)


def build_artery_section(spec: ArterySectionSpec, *, name: str = "artery_section") -> BuildInfo:
    """Fill a new Gmsh model with the 2-D cross-section of the artery at ``spec.z_mm`` (z = 0).

    For plane-strain solves of the balloon pressure problem: the same layers, channel and
    calcium as the 3-D segment (calcium present if the section lies inside its axial extent;
    nodules are left out). Boundaries are curves with the 3-D names.
    """
    model = spec.model
    cs = CrossSection(model)
    gmsh.model.add(name)
    zc0, zc1 = cs.calcium_z()
    faces = _section_faces(cs, 0.0, with_calcium=zc0 <= spec.z_mm <= zc1)
    gmsh.model.occ.synchronize()
    info = BuildInfo()
    by_region: dict[str, list[int]] = defaultdict(list)
    for f, lab in faces.items():
        by_region[lab].append(f)
    for lab, fs in by_region.items():
        gmsh.model.addPhysicalGroup(2, sorted(fs), REGION_TAGS[lab], name=lab)
        info.regions[lab] = REGION_TAGS[lab]
    bnd: dict[str, list[int]] = defaultdict(list)
    for _, cv in gmsh.model.getEntities(1):
        up, _down = gmsh.model.getAdjacencies(1, cv)
        labs = {faces[f] for f in up if f in faces}
        if len(up) == 2:
            name = _interface_name(labs)
            if name:
                bnd[name].append(cv)
            continue
        lo, hi = gmsh.model.getParametrizationBounds(1, cv)
        x, y, _z = gmsh.model.getValue(1, cv, [(lo[0] + hi[0]) / 2])
        bnd[_exterior_name(cs, x, y)].append(cv)
    for key, curves in bnd.items():
        gmsh.model.addPhysicalGroup(1, sorted(curves), BOUNDARY_TAGS[key], name=key)
        info.boundaries[key] = BOUNDARY_TAGS[key]
    m = model.mesh
    scale = m.scale
    _mesh_options(m.size_mm * scale, int(round(m.circle_points / scale)))
    f = gmsh.model.mesh.field
    gap = model.artery.flap_thickness_mm
    c = model.calcification
    if c.has_sheets and c.layer == "intima":
        gap -= c.thickness_mm
    # refine along the needle's way through the section (y = 0, channel side) and at the flap
    near_path = _size_near(f"Abs(y) + Max(0, {cs.x_a!r} - x)",
                           min(m.needle_size_mm, gap) * scale, m.size_mm * scale,
                           m.refinement_radius_mm, 2.0 * m.refinement_radius_mm + 1.0)
    xt = cs.x_a + cs.r_a
    flap = _size_near(f"Sqrt((x-({xt!r}))^2+y^2)", min(m.flap_size_mm, gap) * scale,
                      m.size_mm * scale, 0.0, 2.5)
    both = f.add("Min")
    f.setNumbers(both, "FieldsList", [near_path, flap])
    f.setAsBackgroundMesh(both)
    gmsh.model.mesh.generate(2)
    if m.order == 2:
        gmsh.model.mesh.setOrder(2)
    info.min_sicn, info.mean_sicn, info.num_elements = _quality(2)
    return info


def build_balloon(spec: BalloonModelSpec, *, name: str = "balloon") -> BuildInfo:
    """Fill a new Gmsh model with the balloon film: a surface of revolution about z."""
    b = spec.balloon
    occ = gmsh.model.occ
    gmsh.model.add(name)
    r, rn = 0.5 * b.diameter_mm, 0.5 * b.neck_diameter_mm
    zb, zc = 0.5 * b.body_length_mm, 0.5 * b.body_length_mm + b.cone_length_mm
    p = [occ.addPoint(rn, 0, -zc), occ.addPoint(r, 0, -zb), occ.addPoint(r, 0, zb),
         occ.addPoint(rn, 0, zc)]
    lines = [occ.addLine(p[0], p[1]), occ.addLine(p[1], p[2]), occ.addLine(p[2], p[3])]
    parts = {}
    for key, ln in zip(("film_cone_proximal", "film_body", "film_cone_distal"), lines, strict=True):
        out = occ.revolve([(1, ln)], 0, 0, 0, 0, 0, 1, 2 * math.pi)
        parts[key] = [t for d, t in out if d == 2]
    occ.removeAllDuplicates()
    occ.synchronize()
    info = BuildInfo()
    # Identify surfaces after de-duplication by their axial position.
    for _, s in gmsh.model.getEntities(2):
        zmin, zmax = gmsh.model.getBoundingBox(2, s)[2::3]
        zm = 0.5 * (zmin + zmax)
        key = "film_body" if abs(zm) < zb - 1e-9 or zmax - zmin > zc else (
            "film_cone_proximal" if zm < 0 else "film_cone_distal")
        parts.setdefault("_" + key, []).append(s)
    for key, tag in BALLOON_REGION_TAGS.items():
        gmsh.model.addPhysicalGroup(2, parts["_" + key], tag, name=key)
        info.regions[key] = tag
    for _, cv in gmsh.model.getEntities(1):
        zmin, zmax = gmsh.model.getBoundingBox(1, cv)[2::3]
        if abs(zmax - zmin) < 1e-5 and abs(abs(zmin) - zc) < 1e-5:
            key = "neck_proximal" if zmin < 0 else "neck_distal"
            gmsh.model.addPhysicalGroup(1, [cv], BALLOON_BOUNDARY_TAGS[key], name=key)
            info.boundaries[key] = BALLOON_BOUNDARY_TAGS[key]
    _mesh_options(spec.size_mm, 48)
    gmsh.model.mesh.generate(2)
    if spec.order == 2:
        gmsh.model.mesh.setOrder(2)
    info.min_sicn, info.mean_sicn, info.num_elements = _quality(2)
    return info
