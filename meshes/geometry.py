"""The cross-section of the dissected artery, in closed form.

The true lumen (circle L) is wrapped by the diseased intima (circle A = L + flap thickness). The
balloon holds the subintimal channel open as circle B, tangent to A on the +x axis: the intimal
flap is the intima between L and B, thinnest (``flap_thickness_mm``) on the x axis, where the
needle crosses it. The media follows the convex hull of A and B (two arcs joined by the two
external tangents), the adventitia the hull offset once more. Hulls of circles offset exactly:
the hull of (A + t, B + t) is the hull of (A, B) offset by t, so every layer has constant
thickness, and every area below is exact (no polygon approximation), which is what the mesh
volume tests compare against.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from meshes.spec import MIN_COVER_MM

#: Width (mm) at which the intima ends at each edge of the dissection. The channel circle is
#: tangent to the media there, so the intima would end in a zero-angle cusp (a crack tip) that
#: no mesh can fill with usable elements; the last ``DISSECTION_TIP_MM`` of it is left to the
#: channel, cut by a line through the channel centre.
DISSECTION_TIP_MM = 0.15

if TYPE_CHECKING:
    from meshes.spec import ArteryModelSpec


def hull_area(r1: float, r2: float, d: float) -> float:
    """Area of the convex hull of two circles (radii r1, r2, centres d apart, neither inside)."""
    theta = math.acos((r1 - r2) / d)  # angle of the tangent point on circle 1, from the line c1->c2
    tangent = math.sqrt(d * d - (r1 - r2) ** 2)
    return r1 * r1 * (math.pi - theta) + r2 * r2 * theta + (r1 + r2) * tangent


@dataclass(frozen=True)
class CrossSection:
    """Derived cross-section geometry of an :class:`ArteryModelSpec` (mm, radians inside)."""

    spec: ArteryModelSpec

    # --- circles -------------------------------------------------------------------------
    @property
    def r_lumen(self) -> float:
        return self.spec.artery.true_lumen_radius_mm

    @property
    def r_a(self) -> float:
        """Outer radius of the intima around the true lumen."""
        return self.r_lumen + self.spec.artery.flap_thickness_mm

    @property
    def r_channel(self) -> float:
        """Stress-free radius of the subintimal channel (the balloon opens it further)."""
        return 0.5 * self.spec.balloon.channel_diameter_mm

    @property
    def x_a(self) -> float:
        """x of the true-lumen centre; the hull is centred on the origin."""
        return -self.r_channel

    @property
    def x_b(self) -> float:
        """x of the channel centre."""
        return self.r_a

    @property
    def d(self) -> float:
        return self.x_b - self.x_a

    @property
    def theta(self) -> float:
        """Half-angle (about the channel centre, from +x) of the channel arc on the hull."""
        return math.acos((self.r_a - self.r_channel) / self.d)

    @property
    def tip_width(self) -> float:
        art = self.spec.artery
        return min(DISSECTION_TIP_MM, 0.5 * art.flap_thickness_mm, 0.5 * art.media_thickness_mm)

    @property
    def tip_s(self) -> float:
        """Length along the tangent line from the tangent point to the cut of the cusp."""
        r, w = self.r_channel, self.tip_width
        return math.sqrt((r + w) ** 2 - r * r)

    @property
    def tip_phi(self) -> float:
        """Angle (about the channel centre) between the tangent point and the cut."""
        return math.atan2(self.tip_s, self.r_channel)

    @property
    def tip_area(self) -> float:
        """Area of one cusp tip given to the channel: triangle less circular sector."""
        r = self.r_channel
        return 0.5 * r * self.tip_s - 0.5 * r * r * self.tip_phi

    @property
    def t_media(self) -> float:
        return self.spec.artery.media_thickness_mm

    @property
    def t_adv(self) -> float:
        return self.spec.artery.adventitia_thickness_mm

    @property
    def r_outer(self) -> float | None:
        od = self.spec.artery.outer_diameter_mm
        return None if od is None else 0.5 * od

    @property
    def x_flap_mid(self) -> float:
        """x where the needle crosses the middle of the flap (on the x axis)."""
        return self.x_a + self.r_lumen + 0.5 * self.spec.artery.flap_thickness_mm

    @property
    def x_outer(self) -> float:
        """x of the outer wall on the +x axis (where a perpendicular needle would enter)."""
        if self.r_outer is not None:
            return self.r_outer
        return self.x_b + self.r_channel + self.t_media + self.t_adv

    # --- areas -----------------------------------------------------------------------------
    def hull(self, offset: float) -> float:
        return hull_area(self.r_a + offset, self.r_channel + offset, self.d)

    def segment_z(self) -> tuple[float, float]:
        half = 0.5 * self.spec.artery.length_mm
        return -half, half

    def calcium_z(self) -> tuple[float, float]:
        """Axial extent of the calcium sheets, clipped to the segment."""
        c = self.spec.calcification
        z0, z1 = self.segment_z()
        half = 0.5 * c.length_mm
        return max(z0, c.axial_centre_mm - half), min(z1, c.axial_centre_mm + half)

    def calcium_sheets(self) -> list[tuple[str, float, float, float, float, float]]:
        """Each sheet as (centre name, centre x, inner radius, outer radius, mid angle, arc), rad.

        A full ring of medial calcium follows the hull and is returned as ("hull", ...).
        """
        c = self.spec.calcification
        if not c.has_sheets:
            return []
        arc = math.radians(c.arc_deg)
        t = c.thickness_mm
        out = []
        for i, mid in enumerate(c.sheet_centres_deg()):
            mid = math.radians(mid)
            if c.layer == "intima":
                out.append(("lumen", self.x_a, self.r_lumen, self.r_lumen + t, mid, arc))
            elif c.arc_deg >= 360.0:
                out.append(("hull", 0.0, 0.0, t, 0.0, 2 * math.pi))
            elif i == 0:
                out.append(("channel", self.x_b, self.r_channel, self.r_channel + t, mid, arc))
            else:  # the opposed medial sheet lies on the lumen side of the hull
                out.append(("intima", self.x_a, self.r_a, self.r_a + t, mid, arc))
        return out

    def region_volumes(self) -> dict[str, float]:
        """Exact volume (mm^3) of each meshed region."""
        length = self.spec.artery.length_mm
        z0, z1 = self.calcium_z()
        lc = max(0.0, z1 - z0)
        ca_intima = ca_media = 0.0
        for name, _x, r0, r1, _mid, arc in self.calcium_sheets():
            if name == "hull":
                area = self.hull(r1) - self.hull(0.0)
            else:
                area = 0.5 * arc * (r1 * r1 - r0 * r0)
            if self.spec.calcification.layer == "intima":
                ca_intima += area * lc
            else:
                ca_media += area * lc
        nodules = sum(4.0 / 3.0 * math.pi * n.radius_mm**3 for n in self.spec.calcification.nodules)
        channel = math.pi * self.r_channel**2 + 2.0 * self.tip_area
        interior = self.hull(0.0) - math.pi * self.r_lumen**2 - channel
        media = self.hull(self.t_media) - self.hull(0.0)
        if self.r_outer is None:
            adventitia = self.hull(self.t_media + self.t_adv) - self.hull(self.t_media)
        else:
            adventitia = math.pi * self.r_outer**2 - self.hull(self.t_media)
        vols = {
            "intima": interior * length - ca_intima - nodules,
            "media": media * length - ca_media,
            "adventitia": adventitia * length,
        }
        if ca_intima + ca_media + nodules > 0.0:
            vols["calcium"] = ca_intima + ca_media + nodules
        if self.spec.artery.lumen_content == "filled":
            vols["lumen_fill"] = math.pi * self.r_lumen**2 * length
        return vols

    def section_areas(self, z: float) -> dict[str, float]:
        """Exact area (mm^2) of each region in the cross-section at ``z`` (nodules left out)."""
        zc0, zc1 = self.calcium_z()
        calc = zc0 <= z <= zc1
        ca_intima = ca_media = 0.0
        for name, _x, r0, r1, _mid, arc in (self.calcium_sheets() if calc else []):
            area = (self.hull(r1) - self.hull(0.0)) if name == "hull" else 0.5 * arc * (
                r1 * r1 - r0 * r0)
            if self.spec.calcification.layer == "intima":
                ca_intima += area
            else:
                ca_media += area
        channel = math.pi * self.r_channel**2 + 2.0 * self.tip_area
        out = {
            "intima": self.hull(0.0) - math.pi * self.r_lumen**2 - channel - ca_intima,
            "media": self.hull(self.t_media) - self.hull(0.0) - ca_media,
            "adventitia": (self.hull(self.t_media + self.t_adv) - self.hull(self.t_media))
            if self.r_outer is None else math.pi * self.r_outer**2 - self.hull(self.t_media),
        }
        if ca_intima + ca_media > 0:
            out["calcium"] = ca_intima + ca_media
        if self.spec.artery.lumen_content == "filled":
            out["lumen_fill"] = math.pi * self.r_lumen**2
        return out

    # --- needle path -------------------------------------------------------------------------
    def needle_direction(self) -> tuple[float, float, float]:
        """Unit vector along which the needle advances (towards -x, and +z for oblique entry)."""
        a = math.radians(self.spec.needle.entry_angle_deg)
        return (-math.sin(a), 0.0, math.cos(a))

    def needle_target(self) -> tuple[float, float, float]:
        return (self.x_flap_mid, 0.0, self.spec.needle.target_axial_mm)

    def needle_entry(self) -> tuple[float, float, float]:
        """Point where the needle path meets the outer wall (on the y = 0 plane)."""
        a = math.radians(self.spec.needle.entry_angle_deg)
        dx = self.x_outer - self.x_flap_mid
        return (self.x_outer, 0.0, self.spec.needle.target_axial_mm - dx / math.tan(a))

    # --- checks ------------------------------------------------------------------------------
    def validate(self) -> None:
        """Reject geometry that cannot be built, naming the field, the value and what is allowed."""
        s = self.spec
        c = s.calcification
        art = s.artery
        if c.has_sheets:
            if c.layer == "intima":
                room = art.flap_thickness_mm - MIN_COVER_MM
                layer_field = "artery.flap_thickness_mm"
            else:
                room = art.media_thickness_mm - MIN_COVER_MM
                layer_field = "artery.media_thickness_mm"
            if c.thickness_mm > room + 1e-12:
                raise ValueError(
                    f"calcification.thickness_mm = {c.thickness_mm:g} is thicker than its layer "
                    f"allows: {c.layer} calcium needs thickness_mm <= {layer_field} - "
                    f"{MIN_COVER_MM:g} = {room:g} mm"
                )
            if c.layer == "media" and c.arc_deg < 360.0:
                half_b = math.degrees(self.theta)
                spans = [("channel side", c.position_deg, half_b)]
                if c.pattern == "bilateral":
                    spans.append(("lumen side", c.position_deg, 180.0 - half_b))
                for side, pos, half in spans:
                    if abs(pos) + 0.5 * c.arc_deg > half + 1e-9:
                        raise ValueError(
                            f"calcification.arc_deg = {c.arc_deg:g} at position_deg = {pos:g}: "
                            f"medial calcium on the {side} of the media must satisfy "
                            f"|position_deg| + arc_deg/2 <= {half:.1f} deg for this geometry "
                            f"(or arc_deg = 360 for a full ring)"
                        )
        for i, n in enumerate(c.nodules):
            self._validate_nodule(i, n)
        if self.r_outer is not None:
            need = self.r_a + self.r_channel + self.t_media + self.t_adv
            if self.r_outer < need - 1e-12:
                raise ValueError(
                    f"artery.outer_diameter_mm = {art.outer_diameter_mm:g}: the channel "
                    f"(balloon.channel_diameter_mm = {s.balloon.channel_diameter_mm:g}) breaks "
                    f"through the outer "
                    f"wall; with these layers outer_diameter_mm must be >= {2 * need:.3f} mm"
                )
        z0, z1 = self.segment_z()
        margin = 1.0
        ze = self.needle_entry()[2]
        zt = s.needle.target_axial_mm
        for what, z in (("entry point on the outer wall", ze), ("flap crossing", zt)):
            if not (z0 + margin <= z <= z1 - margin):
                raise ValueError(
                    f"needle.entry_angle_deg = {s.needle.entry_angle_deg:g} with "
                    f"needle.target_axial_mm = {zt:g} puts the {what} at z = {z:.2f} mm, outside "
                    f"the segment [{z0 + margin:g}, {z1 - margin:g}] mm (1 mm from its ends): "
                    f"raise artery.length_mm or entry_angle_deg"
                )

    def _validate_nodule(self, i: int, n) -> None:
        name = f"calcification.nodules[{i}]"
        room = 0.5 * self.spec.artery.flap_thickness_mm - MIN_COVER_MM
        if n.radius_mm > room + 1e-12:
            raise ValueError(
                f"{name}.radius_mm = {n.radius_mm:g} does not fit in the intima: allowed "
                f"(0, {room:g}] mm (half the flap thickness less {MIN_COVER_MM:g} mm)"
            )
        z0, z1 = self.segment_z()
        if not (z0 + n.radius_mm + MIN_COVER_MM <= n.axial_mm <= z1 - n.radius_mm - MIN_COVER_MM):
            raise ValueError(f"{name}.axial_mm = {n.axial_mm:g} is outside the segment "
                             f"[{z0 + n.radius_mm:g}, {z1 - n.radius_mm:g}] mm")
        c = self.spec.calcification
        if c.has_sheets and c.layer == "intima":
            cz0, cz1 = self.calcium_z()
            if cz0 - n.radius_mm < n.axial_mm < cz1 + n.radius_mm:
                rad = self.r_lumen + 0.5 * self.spec.artery.flap_thickness_mm
                half_ang = math.degrees(math.asin(min(1.0, (n.radius_mm + MIN_COVER_MM) / rad)))
                for mid in c.sheet_centres_deg():
                    gap = abs((n.position_deg - mid + 180.0) % 360.0 - 180.0)
                    if gap < 0.5 * c.arc_deg + half_ang:
                        raise ValueError(
                            f"{name}.position_deg = {n.position_deg:g} puts the nodule inside the "
                            f"calcium sheet centred at {mid:g} deg (arc {c.arc_deg:g} deg): "
                            f"move it at least {0.5 * c.arc_deg + half_ang:.1f} deg away or "
                            f"outside the calcified length"
                        )

    def nodule_centre(self, n) -> tuple[float, float, float]:
        rad = self.r_lumen + 0.5 * self.spec.artery.flap_thickness_mm
        a = math.radians(n.position_deg)
        return (self.x_a + rad * math.cos(a), rad * math.sin(a), n.axial_mm)


def balloon_film_areas(balloon) -> dict[str, float]:
    """Exact areas (mm^2) of the balloon film's body and conical ends (a ``BalloonSpec``)."""
    r, rn = 0.5 * balloon.diameter_mm, 0.5 * balloon.neck_diameter_mm
    cone = math.pi * (r + rn) * math.hypot(balloon.cone_length_mm, r - rn)
    return {
        "film_body": 2.0 * math.pi * r * balloon.body_length_mm,
        "film_cone_proximal": cone,
        "film_cone_distal": cone,
    }
