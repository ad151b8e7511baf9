"""Frozen, validated inputs: artery segment, balloon, calcium, needle path and mesh.

Units: mm and degrees. Defaults follow ``shared/reference/DOMAIN.md`` (sections 3, 4, 6).

Frame used everywhere in the toolkit: the vessel axis is ``z`` and the segment spans
``z in [-length_mm/2, +length_mm/2]``. The true lumen and the subintimal channel lie side by side
on the ``x`` axis, the channel on ``+x``; the needle comes from ``+x`` outside the vessel, crosses
adventitia, media and the channel (balloon), then the flap into the true lumen. Angular positions of
calcium are measured about the centre of the circle they follow (true lumen for intimal calcium,
channel for medial calcium), from ``+x``, so that 0 deg faces the needle path.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field

from meshes.validate import check_choice, check_range

#: Needle gauges: outer / inner diameter in mm (DOMAIN.md section 6, standard gauge tables).
NEEDLE_GAUGES_MM: dict[int, tuple[float, float]] = {
    18: (1.270, 0.838),
    20: (0.908, 0.603),
    21: (0.819, 0.514),
    22: (0.718, 0.413),
}

#: Smallest layer of tissue left between calcium and a free surface or another layer (mm).
#: Thinner slivers cannot be meshed with usable elements at the sizes a study affords.
MIN_COVER_MM = 0.05


@dataclass(frozen=True, slots=True)
class ArterySpec:
    """The artery segment: true lumen, diseased intima (the flap), media and adventitia.

    Attributes:
        true_lumen_radius_mm: radius of the true lumen (distal SFA, DOMAIN.md: 2.0-3.5).
        flap_thickness_mm: diseased intima around the true lumen; between lumen and channel it is
            the intimal flap the needle must cross (DOMAIN.md: 0.3-1.5 [est]).
        media_thickness_mm: media, about 0.62 mm (Jadidi/Kamenskiy 2021).
        adventitia_thickness_mm: adventitia, 0.35 mm [est] (Holzapfel 2005 layer fractions).
        length_mm: modelled segment length; long enough that ends do not touch the puncture site.
        axial_prestretch: in-situ axial stretch (1.29 for femoral arteries, Kamenskiy 2024); kept
            as data for the solvers, the mesh is the unstretched reference.
        outer_diameter_mm: optional measured external diameter of the vessel. Without it the
            media and adventitia follow the lumen-and-channel outline at constant thickness; with
            it the outer wall is this circle and ``adventitia_thickness_mm`` is the least
            adventitia allowed where the channel stretches the wall most (a balloon that leaves
            less has broken through the outer wall and is rejected).
        lumen_content: ``"open"`` (the true lumen is a void) or ``"filled"`` (meshed as region
            ``lumen_fill``, for a soft compressible fill that stops the flap from collapsing
            through the lumen under the balloon, in place of self-contact).
    """

    true_lumen_radius_mm: float = 2.5
    flap_thickness_mm: float = 0.6
    media_thickness_mm: float = 0.6
    adventitia_thickness_mm: float = 0.35
    length_mm: float = 30.0
    axial_prestretch: float = 1.29
    outer_diameter_mm: float | None = None
    lumen_content: str = "open"

    def __post_init__(self) -> None:
        o = "artery"
        check_range(o, "true_lumen_radius_mm", self.true_lumen_radius_mm, 0.5, 6.0, unit="mm")
        check_range(o, "flap_thickness_mm", self.flap_thickness_mm, 0.1, 3.0, unit="mm")
        check_range(o, "media_thickness_mm", self.media_thickness_mm, 0.1, 3.0, unit="mm")
        check_range(o, "adventitia_thickness_mm", self.adventitia_thickness_mm, 0.05, 3.0,
                    unit="mm")
        check_range(o, "length_mm", self.length_mm, 2.0, 200.0, unit="mm")
        check_range(o, "axial_prestretch", self.axial_prestretch, 1.0, 2.0)
        check_choice(o, "lumen_content", self.lumen_content, ("open", "filled"))
        if self.outer_diameter_mm is not None:
            check_range(o, "outer_diameter_mm", self.outer_diameter_mm, 2.0, 40.0, unit="mm")


@dataclass(frozen=True, slots=True)
class BalloonSpec:
    """The subintimal balloon, which also sets the size of the channel it opens.

    The channel in the artery mesh is the dissection the wire made, stress-free, of diameter
    ``channel_diameter_mm``, over the whole segment (a PTA balloon of 20-40 mm spans the modelled
    segment); the balloon opens it to its own diameter. The film mesh is the balloon alone: a
    cylindrical body with conical ends down to the catheter neck.

    Attributes:
        diameter_mm: nominal diameter (5.0 mm in the case report).
        body_length_mm: length of the cylindrical body.
        cone_length_mm: axial length of each tapered end.
        neck_diameter_mm: diameter where the cones meet the catheter shaft.
        film_thickness_mm: wall of the film, 15-60 um, 25 um typical [est] (DOMAIN.md section 6).
        channel_diameter_mm: stress-free diameter of the subintimal channel before the balloon
            opens it, 4.0 mm [est] (the wire's dissection, held open by the deflated balloon).
        nominal_pressure_atm: pressure at which the film reaches ``diameter_mm`` (6-8 atm).
        rated_burst_pressure_atm: rated burst pressure (12-24 atm).
        compliance_pct_per_atm: diameter growth per atm above nominal (1-2 %/atm).
    """

    diameter_mm: float = 5.0
    body_length_mm: float = 20.0
    cone_length_mm: float = 3.0
    neck_diameter_mm: float = 1.0
    film_thickness_mm: float = 0.025
    channel_diameter_mm: float = 4.0
    nominal_pressure_atm: float = 6.0
    rated_burst_pressure_atm: float = 14.0
    compliance_pct_per_atm: float = 1.5

    def __post_init__(self) -> None:
        o = "balloon"
        check_range(o, "diameter_mm", self.diameter_mm, 1.0, 12.0, unit="mm")
        check_range(o, "body_length_mm", self.body_length_mm, 2.0, 300.0, unit="mm")
        check_range(o, "cone_length_mm", self.cone_length_mm, 0.5, 20.0, unit="mm")
        check_range(o, "neck_diameter_mm", self.neck_diameter_mm, 0.2, self.diameter_mm,
                    hi_open=True, unit="mm (below diameter_mm)")
        check_range(o, "film_thickness_mm", self.film_thickness_mm, 0.005, 0.2, unit="mm")
        check_range(o, "channel_diameter_mm", self.channel_diameter_mm, 1.0, 12.0, unit="mm")
        check_range(o, "nominal_pressure_atm", self.nominal_pressure_atm, 1.0, 30.0, unit="atm")
        check_range(o, "rated_burst_pressure_atm", self.rated_burst_pressure_atm,
                    self.nominal_pressure_atm, 60.0, lo_open=True,
                    unit="atm (above nominal_pressure_atm)")
        check_range(o, "compliance_pct_per_atm", self.compliance_pct_per_atm, 0.1, 10.0,
                    unit="%/atm")


@dataclass(frozen=True, slots=True)
class NoduleSpec:
    """A calcified nodule: a sphere inside the diseased intima around the true lumen.

    Attributes:
        position_deg: angle about the true-lumen centre, from +x (0 = on the needle path side).
        axial_mm: z of its centre.
        radius_mm: sphere radius; it must fit in the intima with MIN_COVER_MM to spare.
    """

    position_deg: float = 180.0
    axial_mm: float = 0.0
    radius_mm: float = 0.2

    def __post_init__(self) -> None:
        o = "nodule"
        check_range(o, "position_deg", self.position_deg, -360.0, 360.0, unit="deg")
        check_range(o, "axial_mm", self.axial_mm, -100.0, 100.0, unit="mm")
        check_range(o, "radius_mm", self.radius_mm, 0.02, 2.0, unit="mm")


@dataclass(frozen=True, slots=True)
class CalcificationSpec:
    """Calcium as sheets (annular sectors) in the flap/intima or in the media, plus nodules.

    Attributes:
        layer: ``"intima"`` (sheet against the true-lumen surface, inside the flap) or
            ``"media"`` (sheet against the channel side of the media).
        arc_deg: angular extent of each sheet, 0 for none, 360 for a full ring.
        thickness_mm: sheet thickness (OCT threshold 0.5 mm, Fujino 2018).
        length_mm: axial length, centred at ``axial_centre_mm``; longer than the segment means
            "through the whole segment".
        position_deg: angular centre of the (first) sheet; 0 faces the needle path.
        pattern: ``"unilateral"`` (one sheet) or ``"bilateral"`` (two opposed sheets,
            180 deg apart).
        axial_centre_mm: z of the middle of the calcified length.
        nodules: optional calcified nodules in the intima.
        grade: the grade preset this came from, kept for the record (``""`` if given by hand).
    """

    layer: str = "intima"
    arc_deg: float = 0.0
    thickness_mm: float = 0.5
    length_mm: float = 20.0
    position_deg: float = 0.0
    pattern: str = "unilateral"
    axial_centre_mm: float = 0.0
    nodules: tuple[NoduleSpec, ...] = ()
    grade: str = ""

    def __post_init__(self) -> None:
        o = "calcification"
        check_choice(o, "layer", self.layer, ("intima", "media"))
        check_choice(o, "pattern", self.pattern, ("unilateral", "bilateral"))
        check_range(o, "arc_deg", self.arc_deg, 0.0, 360.0, unit="deg")
        if self.pattern == "bilateral":
            check_range(o, "arc_deg", self.arc_deg, 0.0, 180.0,
                        unit="deg (each of two opposed arcs must not overlap the other)")
        check_range(o, "thickness_mm", self.thickness_mm, 0.05, 3.0, unit="mm")
        check_range(o, "length_mm", self.length_mm, 0.5, 1000.0, unit="mm")
        check_range(o, "position_deg", self.position_deg, -180.0, 180.0, unit="deg")
        check_range(o, "axial_centre_mm", self.axial_centre_mm, -100.0, 100.0, unit="mm")
        object.__setattr__(self, "nodules", tuple(
            n if isinstance(n, NoduleSpec) else NoduleSpec(**n) for n in self.nodules))

    @property
    def has_sheets(self) -> bool:
        return self.arc_deg > 0.0

    def sheet_centres_deg(self) -> tuple[float, ...]:
        if not self.has_sheets:
            return ()
        if self.pattern == "bilateral":
            return (self.position_deg, self.position_deg + 180.0)
        return (self.position_deg,)


@dataclass(frozen=True, slots=True)
class NeedlePathSpec:
    """The straight needle path: it crosses the flap mid-thickness on the lumen-channel line.

    Attributes:
        entry_angle_deg: angle between the needle and the vessel axis (20-45 deg clinically;
            90 is a perpendicular puncture).
        target_axial_mm: z where the path crosses the middle of the flap.
        gauge: needle gauge (18, 20, 21 or 22).
    """

    entry_angle_deg: float = 30.0
    target_axial_mm: float = 0.0
    gauge: int = 18

    def __post_init__(self) -> None:
        o = "needle"
        check_range(o, "entry_angle_deg", self.entry_angle_deg, 10.0, 90.0, unit="deg")
        check_range(o, "target_axial_mm", self.target_axial_mm, -100.0, 100.0, unit="mm")
        check_choice(o, "gauge", self.gauge, tuple(NEEDLE_GAUGES_MM))

    @property
    def outer_diameter_mm(self) -> float:
        return NEEDLE_GAUGES_MM[self.gauge][0]


@dataclass(frozen=True, slots=True)
class MeshSpec:
    """Element sizes and order.

    Attributes:
        size_mm: largest element size, away from the needle path and the flap.
        needle_size_mm: element size within ``refinement_radius_mm`` of the needle path.
        refinement_radius_mm: radius of the refined tube around the needle path; sizes grow
            linearly to ``size_mm`` over the same distance again.
        flap_size_mm: element size at the thinnest part of the flap (between calcium and channel
            it is never larger than the tissue left there).
        circle_points: elements per full circle on curved boundaries (curvature-adapted sizes).
        order: geometric/element order of the mesh (1 or 2).
        level: refinement level; each level halves every size (level 0 = the sizes given).
    """

    size_mm: float = 0.8
    needle_size_mm: float = 0.3
    refinement_radius_mm: float = 1.0
    flap_size_mm: float = 0.25
    circle_points: int = 36
    order: int = 1
    level: int = 0

    def __post_init__(self) -> None:
        o = "mesh"
        check_range(o, "size_mm", self.size_mm, 0.01, 10.0, unit="mm")
        check_range(o, "needle_size_mm", self.needle_size_mm, 0.005, self.size_mm,
                    unit="mm (at most size_mm)")
        check_range(o, "refinement_radius_mm", self.refinement_radius_mm, 0.0, 20.0, unit="mm")
        check_range(o, "flap_size_mm", self.flap_size_mm, 0.005, self.size_mm,
                    unit="mm (at most size_mm)")
        check_range(o, "circle_points", self.circle_points, 8, 400)
        check_choice(o, "order", self.order, (1, 2))
        check_range(o, "level", self.level, 0, 6)
        if not isinstance(self.level, int) or not isinstance(self.circle_points, int):
            raise ValueError(f"mesh.level and mesh.circle_points must be whole numbers, "
                             f"got {self.level!r}, {self.circle_points!r}")

    @property
    def scale(self) -> float:
        return 0.5**self.level


@dataclass(frozen=True, slots=True)
class ArteryModelSpec:
    """Everything the artery mesh depends on. Its ``key()`` names the mesh in the cache."""

    artery: ArterySpec = field(default_factory=ArterySpec)
    balloon: BalloonSpec = field(default_factory=BalloonSpec)
    calcification: CalcificationSpec = field(default_factory=CalcificationSpec)
    needle: NeedlePathSpec = field(default_factory=NeedlePathSpec)
    mesh: MeshSpec = field(default_factory=MeshSpec)

    def __post_init__(self) -> None:
        # Cross-field checks need the whole geometry; done here so nothing is meshed on bad input.
        from meshes.geometry import CrossSection

        CrossSection(self).validate()

    gdim = 3

    def key(self) -> str:
        return spec_key("artery", self)


@dataclass(frozen=True, slots=True)
class BalloonModelSpec:
    """The balloon film surface mesh: geometry and element size."""

    balloon: BalloonSpec = field(default_factory=BalloonSpec)
    size_mm: float = 0.4
    order: int = 1

    def __post_init__(self) -> None:
        check_range("balloon_mesh", "size_mm", self.size_mm, 0.01, 5.0, unit="mm")
        check_choice("balloon_mesh", "order", self.order, (1, 2))

    gdim = 3

    def key(self) -> str:
        return spec_key("balloon", self)


@dataclass(frozen=True, slots=True)
class ArterySectionSpec:
    """The 2-D cross-section of an artery model at ``z_mm`` (default: the needle's flap crossing).

    Meshed in the plane z = 0 with the same regions and boundary names as the 3-D segment; for
    plane-strain solves of the balloon pressure problem, where a sweep cannot afford 3-D.
    """

    model: ArteryModelSpec = field(default_factory=ArteryModelSpec)
    z_mm: float | None = None

    def __post_init__(self) -> None:
        z = self.model.needle.target_axial_mm if self.z_mm is None else self.z_mm
        half = 0.5 * self.model.artery.length_mm
        check_range("section", "z_mm", z, -half, half, unit="mm (inside the segment)")
        object.__setattr__(self, "z_mm", float(z))

    gdim = 2

    def key(self) -> str:
        return spec_key("section", self)


#: Bumped whenever the builders change what a spec produces, so old cache entries are not reused.
MESH_FORMAT_VERSION = 1


def canonical_json(obj: object) -> str:
    """Canonical JSON of a spec: sorted keys, floats written with repr (round-trip exact)."""
    def norm(x: object) -> object:
        if dataclasses.is_dataclass(x):
            return {f.name: norm(getattr(x, f.name)) for f in dataclasses.fields(x)}
        if isinstance(x, dict):
            return {str(k): norm(v) for k, v in x.items()}
        if isinstance(x, list | tuple):
            return [norm(v) for v in x]
        if isinstance(x, float):
            if x == int(x) and abs(x) < 2**53:
                return int(x)  # 30.0 and 30 are the same length
            return float(repr(x))
        return x

    return json.dumps(norm(obj), sort_keys=True, separators=(",", ":"))


def spec_key(kind: str, spec: object) -> str:
    text = f"{kind}:v{MESH_FORMAT_VERSION}:{canonical_json(spec)}"
    return f"{kind}-{hashlib.sha256(text.encode()).hexdigest()[:16]}"


def replace(spec, **changes):
    """``dataclasses.replace`` that re-runs validation (frozen dataclasses re-validate on init)."""
    return dataclasses.replace(spec, **changes)



def _build(cls, owner: str, table: dict | None):
    table = dict(table or {})
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(table) - names)
    if unknown:
        raise ValueError(f"{owner}.{unknown[0]} is not a known field: allowed {sorted(names)}")
    return cls(**table)


def artery_model_from_dict(d: dict) -> ArteryModelSpec:
    """Build an :class:`ArteryModelSpec` from nested tables (as in a study or ``--spec`` file).

    ``calcification`` may be a grade string (``"pacss-3"``) or a table, optionally with ``grade``
    plus overrides.
    """
    from meshes.grades import as_calcification

    d = dict(d)
    allowed = {"artery", "balloon", "calcification", "needle", "mesh"}
    unknown = sorted(set(d) - allowed)
    if unknown:
        raise ValueError(f"{unknown[0]} is not a known section: allowed {sorted(allowed)}")
    calc = d.get("calcification", {})
    if isinstance(calc, dict):
        names = {f.name for f in dataclasses.fields(CalcificationSpec)}
        bad = sorted(set(calc) - names)
        if bad:
            raise ValueError(
                f"calcification.{bad[0]} is not a known field: allowed {sorted(names)}")
    return ArteryModelSpec(
        artery=_build(ArterySpec, "artery", d.get("artery")),
        balloon=_build(BalloonSpec, "balloon", d.get("balloon")),
        calcification=as_calcification(calc),
        needle=_build(NeedlePathSpec, "needle", d.get("needle")),
        mesh=_build(MeshSpec, "mesh", d.get("mesh")),
    )
