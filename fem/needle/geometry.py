"""A rigid needle: gauge, tip shape, axis and entry point, and its exact signed distance.

Units: mm and degrees. The needle is a rigid solid: a shaft (circular cylinder of the outer
diameter) ending in a tip. The signed distance ``S(x)`` (negative inside the needle, positive
outside, zero on its surface) is written once, generically over a small set of math operations,
so that the same code gives a UFL expression (contact evaluated where the deformed tissue
surface really is: the gap is ``g = S(X + u)``) and a NumPy function (unit tests against
brute-force distances).

Tips (``tip``), described in the tip frame: ``rho`` = distance from the needle axis,
``s`` = height above the apex along the shaft (``s = 0`` at the apex):

* ``"flat"``: a blunt flat end (the Sneddon flat punch of radius OD/2).
* ``"conical"``: a cone of half-angle ``tip_angle_deg`` (between the axis and the face), with an
  optional spherical rounding of radius ``tip_radius_mm`` tangent to the cone; the cone meets the
  shaft where its radius reaches OD/2.
* ``"spherical"``: a spherical cap of radius ``sphere_radius_mm`` (>= OD/2; = OD/2 is a
  hemispherical end), the Hertz indenter.
* ``"lancet"``: a bevel: the shaft cut by a plane at ``tip_angle_deg`` to the axis (12-15 deg,
  DOMAIN.md section 6). Not axisymmetric. In 3-D its distance is ``max(S_cylinder, S_plane)``,
  which is exact inside the needle and on its surface (for an intersection of convex sets the
  depth inside is the smallest depth below any face), i.e. wherever contact acts; outside it is
  a lower bound that is exact except near the bevel's elliptic edge. The axisymmetric reduced
  model replaces it by an equivalent cone of the same half-angle (:meth:`Needle.axisymmetric`).

Exactness of the revolved tips: the profile in the ``(rho, s)`` half-plane is convex and
symmetric about the axis, so the distance to the revolved surface is the 2-D distance from
``(rho, s)`` to the profile's right half (arc, segments, and the shaft as a half-line), which is
computed piece by piece (closest point on each piece, then the minimum); the sign comes from an
inside test ``rho <= R and s >= h(rho)``.

Source for gauges: :data:`meshes.NEEDLE_GAUGES_MM` (DOMAIN.md section 6).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import numpy as np

from fem.solid.materials import check_range

TIPS = ("flat", "conical", "spherical", "lancet")


def _gauge_table() -> dict[int, tuple[float, float]]:
    from meshes.spec import NEEDLE_GAUGES_MM

    return NEEDLE_GAUGES_MM


@dataclass(frozen=True, slots=True)
class Needle:
    """A rigid needle.

    Attributes:
        outer_diameter_mm: shaft outer diameter (OD), in (0, 10] mm.
        inner_diameter_mm: lumen diameter (ID), in [0, OD) mm; kept as data (the contact
            treats the needle as solid: tissue does not enter the lumen before puncture).
        tip: one of :data:`TIPS`.
        tip_angle_deg: ``"conical"``: half-angle between axis and face; ``"lancet"``: bevel
            angle between the bevel plane and the axis; in (0, 90) deg.
        tip_radius_mm: rounding radius of a conical apex, >= 0 (0 = sharp).
        sphere_radius_mm: radius of a spherical tip, >= OD/2 (None: OD/2).
        axis: unit direction of insertion (3-vector; normalised on construction).
        entry_point_mm: position of the apex when the needle displacement is 0 (3-vector).
        gauge: the gauge this came from (0 for a custom needle), for the record.
    """

    outer_diameter_mm: float
    inner_diameter_mm: float = 0.0
    tip: str = "conical"
    tip_angle_deg: float = 30.0
    tip_radius_mm: float = 0.0
    sphere_radius_mm: float | None = None
    axis: tuple[float, float, float] = (0.0, -1.0, 0.0)
    entry_point_mm: tuple[float, float, float] = (0.0, 0.0, 0.0)
    gauge: int = 0

    def __post_init__(self) -> None:
        check_range("outer_diameter_mm", self.outer_diameter_mm, 0.0, 10.0, low_open=True,
                    unit="mm")
        check_range("inner_diameter_mm", self.inner_diameter_mm, 0.0, self.outer_diameter_mm,
                    high_open=True, unit="mm (below outer_diameter_mm)")
        if self.tip not in TIPS:
            raise ValueError(f"tip = {self.tip!r} must be one of {TIPS}")
        check_range("tip_angle_deg", self.tip_angle_deg, 0.0, 90.0, low_open=True,
                    high_open=True, unit="deg")
        check_range("tip_radius_mm", self.tip_radius_mm, 0.0, self.outer_diameter_mm,
                    unit="mm")
        if self.sphere_radius_mm is not None:
            check_range("sphere_radius_mm", self.sphere_radius_mm, 0.5 * self.outer_diameter_mm,
                        1e4, unit="mm (at least OD/2)")
        a = np.asarray(self.axis, dtype=float)
        if a.shape != (3,) or not np.all(np.isfinite(a)) or np.linalg.norm(a) == 0.0:
            raise ValueError(f"axis = {self.axis!r} must be a non-zero 3-vector")
        object.__setattr__(self, "axis", tuple(float(v) for v in a / np.linalg.norm(a)))
        p = np.asarray(self.entry_point_mm, dtype=float)
        if p.shape != (3,) or not np.all(np.isfinite(p)):
            raise ValueError(f"entry_point_mm = {self.entry_point_mm!r} must be a finite 3-vector")
        object.__setattr__(self, "entry_point_mm", tuple(float(v) for v in p))

    @classmethod
    def from_gauge(cls, gauge: int, **kwargs: Any) -> Needle:
        """A needle of a tabulated gauge (18, 20, 21, 22); other fields as keywords."""
        table = _gauge_table()
        if gauge not in table:
            raise ValueError(f"gauge = {gauge!r} must be one of {sorted(table)}")
        od, idm = table[gauge]
        return cls(outer_diameter_mm=od, inner_diameter_mm=idm, gauge=gauge, **kwargs)

    @property
    def radius_mm(self) -> float:
        return 0.5 * self.outer_diameter_mm

    def axisymmetric(self) -> Needle:
        """The needle used by the axisymmetric model: a lancet becomes a cone of its angle."""
        if self.tip != "lancet":
            return self
        return Needle(outer_diameter_mm=self.outer_diameter_mm,
                      inner_diameter_mm=self.inner_diameter_mm, tip="conical",
                      tip_angle_deg=self.tip_angle_deg, tip_radius_mm=self.tip_radius_mm,
                      axis=self.axis, entry_point_mm=self.entry_point_mm, gauge=self.gauge)

    # ------------------------------------------------------------------ distances
    def profile_distance(self, rho, s, ops: SimpleNamespace):
        """Signed distance of a revolved tip from tip-frame coordinates ``(rho >= 0, s)``.

        Args:
            rho: distance from the needle axis (mm).
            s: height above the apex along the shaft (mm).
            ops: math backend (:data:`NUMPY_OPS` or :data:`UFL_OPS`).
        """
        if self.tip == "lancet":
            raise ValueError("tip = 'lancet' is not axisymmetric: use distance() in 3-D or "
                             "axisymmetric() for the equivalent cone")
        R = self.radius_mm
        if self.tip == "flat":
            corner = (R, 0.0)
            pieces = [_segment(rho, s, (0.0, 0.0), corner, ops)]
            height = 0.0 * rho
        elif self.tip == "spherical":
            Rs = self.sphere_radius_mm if self.sphere_radius_mm is not None else R
            centre = (0.0, Rs)
            corner = (R, Rs - math.sqrt(max(Rs * Rs - R * R, 0.0)))
            pieces = [_arc(rho, s, centre, Rs, corner, ops)]
            height = Rs - ops.sqrt(ops.max(Rs * Rs - rho * rho, 0.0))
        else:  # conical, optionally rounded
            alpha = math.radians(self.tip_angle_deg)
            rt = self.tip_radius_mm
            sa, ca = math.sin(alpha), math.cos(alpha)
            # The rounded cone's apex is at s = 0: sphere centre (0, rt) tangent to the flank
            # at angle alpha from the horizontal outward normal (ca, -sa).
            tangent = (rt * ca, rt - rt * sa)
            length = (R - tangent[0]) / sa
            corner = (R, tangent[1] + length * ca)
            pieces = [_segment(rho, s, tangent, corner, ops)]
            cone_h = tangent[1] + (rho - tangent[0]) * ca / sa
            if rt > 0.0:
                pieces.append(_arc(rho, s, (0.0, rt), rt, tangent, ops))
                sphere_h = rt - ops.sqrt(ops.max(rt * rt - rho * rho, 0.0))
                height = ops.where(ops.lt(rho, tangent[0]), sphere_h, cone_h)
            else:
                height = cone_h
        pieces.append(_half_line_up(rho, s, corner, ops))
        dist = pieces[0]
        for p in pieces[1:]:
            dist = ops.min(dist, p)
        inside = ops.logical_and(ops.le(rho, R), ops.ge(s, height))
        return ops.where(inside, -dist, dist)

    def distance(self, x, displacement_mm, ops: SimpleNamespace):
        """Signed distance (mm) from points ``x`` (3 components) with the needle advanced.

        Args:
            x: point(s): a 3-vector UFL expression, or a NumPy array of shape (3, n).
            displacement_mm: needle advance along :attr:`axis` from :attr:`entry_point_mm`
                (float or UFL constant).
            ops: math backend.
        """
        a = self.axis
        tip = [self.entry_point_mm[i] + displacement_mm * a[i] for i in range(3)]
        rel = [x[i] - tip[i] for i in range(3)]
        along = rel[0] * a[0] + rel[1] * a[1] + rel[2] * a[2]
        s = -along  # height above the apex, along the shaft
        perp2 = rel[0] ** 2 + rel[1] ** 2 + rel[2] ** 2 - along**2
        rho = ops.sqrt(ops.max(perp2, 0.0) + 1e-300)
        if self.tip != "lancet":
            return self.profile_distance(rho, s, ops)
        # Bevel: plane through the apex (on the shaft surface) inclined at the bevel angle to
        # the axis. The apex sits on the shaft wall on the side of e1 (a unit vector normal to
        # the axis); the plane keeps the material that lies above it along the shaft.
        e1 = _normal_to(a)
        beta = math.radians(self.tip_angle_deg)
        R = self.radius_mm
        # Cylinder axis passes through (apex - R e1).
        off = [rel[i] + R * e1[i] for i in range(3)]
        along_c = off[0] * a[0] + off[1] * a[1] + off[2] * a[2]
        rho_c = ops.sqrt(ops.max(off[0] ** 2 + off[1] ** 2 + off[2] ** 2 - along_c**2, 0.0)
                         + 1e-300)
        s_cyl = rho_c - R
        # Plane normal n (unit), pointing out of the needle (towards the apex side).
        n = [math.cos(beta) * (-e1[i]) + math.sin(beta) * a[i] for i in range(3)]
        n_norm = math.sqrt(sum(v * v for v in n))
        n = [v / n_norm for v in n]
        s_plane = rel[0] * n[0] + rel[1] * n[1] + rel[2] * n[2]
        return ops.max(s_cyl, s_plane)

    def axisymmetric_distance(self, x, displacement_mm, ops: SimpleNamespace):
        """Signed distance in the axisymmetric frame ``x = (r, z)``, needle on the axis r = 0.

        The needle axis is the symmetry axis; it moves along ``-z`` (the axis 2-vector of the
        3-D description is not used), with its apex at ``z = entry_z - displacement``, where
        ``entry_z`` is the second coordinate of :attr:`entry_point_mm`.
        """
        z_apex = self.entry_point_mm[1] - displacement_mm
        rho = ops.sqrt(x[0] * x[0] + 1e-300)
        return self.axisymmetric().profile_distance(rho, x[1] - z_apex, ops)


def _normal_to(a: tuple[float, float, float]) -> tuple[float, float, float]:
    """A unit vector normal to ``a`` (deterministic choice)."""
    av = np.asarray(a)
    trial = np.array([1.0, 0.0, 0.0]) if abs(av[0]) < 0.9 else np.array([0.0, 1.0, 0.0])
    e = trial - av * float(trial @ av)
    e /= np.linalg.norm(e)
    return tuple(float(v) for v in e)


def _segment(px, py, a, b, ops):
    """Distance from (px, py) to the segment a-b."""
    dx, dy = b[0] - a[0], b[1] - a[1]
    L2 = dx * dx + dy * dy
    t = ((px - a[0]) * dx + (py - a[1]) * dy) / L2
    t = ops.min(ops.max(t, 0.0), 1.0)
    qx, qy = px - (a[0] + t * dx), py - (a[1] + t * dy)
    return ops.sqrt(qx * qx + qy * qy + 1e-300)


def _half_line_up(px, py, a, ops):
    """Distance from (px, py) to the half-line from ``a`` upwards (+s): the shaft."""
    t = ops.max(py - a[1], 0.0)
    qx, qy = px - a[0], py - (a[1] + t)
    return ops.sqrt(qx * qx + qy * qy + 1e-300)


def _arc(px, py, centre, radius, end, ops):
    """Distance to the arc of a circle from its lowest point (0, cy - r) to ``end`` (rho > 0).

    A point whose direction from the centre lies between straight down and ``end`` is nearest
    to the circle itself; any other point is nearest to one of the two arc ends.
    """
    cx, cy = centre
    ex, ey = end[0] - cx, end[1] - cy
    qx, qy = px - cx, py - cy
    # Between "down" (0, -1) and e (counter-clockwise from down, for rho > 0):
    # cross(down, q) >= 0  <=>  qx >= 0 ; cross(q, e) >= 0.
    within = ops.logical_and(ops.ge(qx, 0.0), ops.ge(qx * ey - qy * ex, 0.0))
    on_circle = ops.abs(ops.sqrt(qx * qx + qy * qy + 1e-300) - radius)
    d_low = ops.sqrt(px * px + (py - (cy - radius)) ** 2 + 1e-300)
    d_end = ops.sqrt((px - end[0]) ** 2 + (py - end[1]) ** 2 + 1e-300)
    return ops.where(within, on_circle, ops.min(d_low, d_end))


def _ufl_ops() -> SimpleNamespace:
    import ufl

    return SimpleNamespace(
        sqrt=ufl.sqrt, max=ufl.max_value, min=ufl.min_value, abs=abs,
        where=ufl.conditional, lt=ufl.lt, le=ufl.le, ge=ufl.ge, logical_and=ufl.And,
    )


NUMPY_OPS = SimpleNamespace(
    sqrt=np.sqrt, max=np.maximum, min=np.minimum, abs=np.abs, where=np.where,
    lt=np.less, le=np.less_equal, ge=np.greater_equal, logical_and=np.logical_and,
)
"""NumPy backend for :meth:`Needle.distance` (arrays of points)."""


def ufl_ops() -> SimpleNamespace:
    """UFL backend for :meth:`Needle.distance` (imports UFL on first use)."""
    return _ufl_ops()
