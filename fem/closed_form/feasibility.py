"""Device feasibility: Euler buckling of the needle, a re-entry device's limit.

Pure Python (no DOLFINx). Units: mm, N, MPa.

The percutaneous needle (DOMAIN.md sections 2, 7)
--------------------------------------------------
The needle is pushed from its hub; it fails by buckling when the force the tissue resists with
reaches the Euler load of its free length,

    F_cr = pi^2 E I / (K L)^2,      I = pi (OD^4 - ID^4) / 64,

with ``K`` the effective-length factor of the end conditions (:data:`END_CONDITIONS`: fixed-free
2.0, pinned-pinned 1.0, fixed-pinned 0.699, fixed-fixed 0.5). Euler's load holds while the
column is slender, i.e. while ``F_cr / A`` (``euler_stress_MPa``) stays below the proportional
limit of the tubing; for the defaults it is 56 MPa, far below the yield stress of 304 steel
(>= 205 MPa annealed, much more cold-drawn), so the needle buckles elastically.

Defaults and why:

* ``E = 193 GPa``: AISI 304/304L austenitic stainless steel (ASM Handbook vol. 1; AK Steel 304
  data sheet), the steel of hypodermic needle tubing (ISO 9626); 193-200 GPa across sources.
* ``L = 70 mm`` [est]: an 18 G needle of 7 cm. The case report punctures from the distal thigh
  into the SFA (about 3-5 cm deep there [est]) at 20-45 deg to the vessel axis (DOMAIN.md
  section 3), a path of 4-10 cm: the whole needle is in play. The tissue the shaft has entered
  supports it laterally and raises the real buckling load, so treating the whole length as free
  is conservative.
* ``K = 1.0`` (``"pinned-pinned"``) [est]: the fingers at the hub hold it in place but do not
  clamp its rotation reliably; the skin/tissue track holds the tip end laterally. Sweep
  ``"fixed-free"`` (2.0: tip end free to swing, the worst case) to ``"fixed-pinned"``.

The from-inside re-entry device
-------------------------------
An Outback/Pioneer/Enteer-type catheter pushes a small curved needle from the subintimal
channel through the flap. Its needle does not buckle first (a 22 G nitinol cannula of ~5 mm
extension, fixed-free, has an Euler load of ~50 N); its limit is the back-up the catheter gets:
the catheter is pushed away from the flap into the opposite channel wall, soft tissue. No
measured value is in our sources (the case report says only that the Outback needle "could not
penetrate the calcified wall"; Kitrou 2015 reports its failures as due to heavy calcification).
Default ``force_limit_N = 1.5`` [est]: a 6 F catheter (radius ~1 mm) pressed ~0.75 mm into wall
tissue of E ~0.72 MPa (DOMAIN.md section 5; E* = E / (1 - 0.5^2) ~ 0.96 MPa) carries
``F = 2 E* a d`` ~ 1.4 N (Sneddon flat punch, DOMAIN.md section 7). An assumption to sweep
(0.5-5 N).

What is compared
----------------
The needle must make every event on its path (outer wall, balloon film, flap): its required
force is the largest of them (friction along the inserted shaft is not modelled). The device
must make the flap only. An event whose force is unknown (None/NaN: failed or not solved) makes
the answer unknown (None) unless a known force already exceeds the limit (then it is False).
The flap force compared with the device is the case's flap F* (the case's needle gauge and
balloon pre-stress); the device's needle is thinner (22 G-like) and meets the flap without the
balloon, so solve the flap with that gauge for a closer comparison.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass

from meshes.spec import NEEDLE_GAUGES_MM
from meshes.validate import check_range

__all__ = [
    "END_CONDITIONS",
    "NEEDLE_EVENTS",
    "STAINLESS_304_MODULUS_MPA",
    "NeedleColumn",
    "ReentryDevice",
    "assess_feasibility",
]

#: Effective-length factor ``K`` per end condition (theoretical values; fixed-pinned 0.699).
END_CONDITIONS: dict[str, float] = {
    "fixed-free": 2.0,
    "pinned-pinned": 1.0,
    "fixed-pinned": 0.699,
    "fixed-fixed": 0.5,
}
#: Young's modulus of AISI 304 stainless steel, MPa (ASM Handbook vol. 1).
STAINLESS_304_MODULUS_MPA = 193_000.0
#: Events the percutaneous needle makes, in order.
NEEDLE_EVENTS = ("outer_wall", "balloon_film", "flap")


@dataclass(frozen=True, slots=True)
class NeedleColumn:
    """The percutaneous needle as a column (module docstring for the defaults).

    Attributes:
        outer_diameter_mm: OD, in (0, 10] mm.
        inner_diameter_mm: ID, in [0, OD) mm.
        free_length_mm: unsupported length ``L``, in (0, 500] mm; 70 [est].
        end_condition: a key of :data:`END_CONDITIONS`; ``"pinned-pinned"`` [est].
        modulus_MPa: Young's modulus, in [1e3, 1e6] MPa; 193 GPa (304 stainless steel).
    """

    outer_diameter_mm: float = NEEDLE_GAUGES_MM[18][0]
    inner_diameter_mm: float = NEEDLE_GAUGES_MM[18][1]
    free_length_mm: float = 70.0
    end_condition: str = "pinned-pinned"
    modulus_MPa: float = STAINLESS_304_MODULUS_MPA

    def __post_init__(self) -> None:
        o = "NeedleColumn"
        check_range(o, "outer_diameter_mm", self.outer_diameter_mm, 0.0, 10.0, lo_open=True,
                    unit="mm")
        check_range(o, "inner_diameter_mm", self.inner_diameter_mm, 0.0,
                    self.outer_diameter_mm, hi_open=True, unit="mm (below outer_diameter_mm)")
        check_range(o, "free_length_mm", self.free_length_mm, 0.0, 500.0, lo_open=True,
                    unit="mm")
        if self.end_condition not in END_CONDITIONS:
            raise ValueError(f"{o}.end_condition = {self.end_condition!r} must be one of "
                             f"{tuple(END_CONDITIONS)}")
        check_range(o, "modulus_MPa", self.modulus_MPa, 1.0e3, 1.0e6, unit="MPa")

    @classmethod
    def from_gauge(cls, gauge: int, **kwargs) -> NeedleColumn:
        """The needle of a tabulated gauge (:data:`meshes.NEEDLE_GAUGES_MM`)."""
        if gauge not in NEEDLE_GAUGES_MM:
            raise ValueError(f"NeedleColumn.gauge = {gauge!r} must be one of "
                             f"{sorted(NEEDLE_GAUGES_MM)}")
        od, idia = NEEDLE_GAUGES_MM[gauge]
        return cls(outer_diameter_mm=od, inner_diameter_mm=idia, **kwargs)

    @property
    def second_moment_mm4(self) -> float:
        """``I = pi (OD^4 - ID^4) / 64``."""
        return math.pi * (self.outer_diameter_mm**4 - self.inner_diameter_mm**4) / 64.0

    @property
    def area_mm2(self) -> float:
        return math.pi * (self.outer_diameter_mm**2 - self.inner_diameter_mm**2) / 4.0

    @property
    def effective_length_mm(self) -> float:
        """``K L``."""
        return END_CONDITIONS[self.end_condition] * self.free_length_mm

    @property
    def euler_load_N(self) -> float:
        """``F_cr = pi^2 E I / (K L)^2``."""
        return math.pi**2 * self.modulus_MPa * self.second_moment_mm4 / self.effective_length_mm**2

    @property
    def slenderness(self) -> float:
        """``K L / r_g`` with the radius of gyration ``r_g = sqrt(I / A)``."""
        return self.effective_length_mm / math.sqrt(self.second_moment_mm4 / self.area_mm2)


@dataclass(frozen=True, slots=True)
class ReentryDevice:
    """A from-inside re-entry device by the force its needle can push through the flap with.

    Attributes:
        name: label for reports.
        force_limit_N: largest force, in (0, 100] N; 1.5 [est] (module docstring; sweep 0.5-5).
    """

    name: str = "reentry_device"
    force_limit_N: float = 1.5

    def __post_init__(self) -> None:
        check_range("ReentryDevice", "force_limit_N", self.force_limit_N, 0.0, 100.0,
                    lo_open=True, unit="N")


def _known(x: float | None) -> float | None:
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


def assess_feasibility(forces: Mapping[str, float | None], needle: NeedleColumn | None = None,
                       device: ReentryDevice | None = None) -> dict:
    """Compare the puncture forces of one case with the needle's and the device's limits.

    Args:
        forces: required force (N) per event of :data:`NEEDLE_EVENTS`; a missing event, None
            or NaN means unknown (failed or not solved). Other keys raise.
        needle: the percutaneous needle (default: 18 G, module docstring).
        device: the re-entry device (default: :class:`ReentryDevice`).

    Returns:
        JSON-ready dict: ``euler_load_N``, ``needle_euler_stress_MPa``, ``needle_slenderness``,
        ``needle_required_N`` (largest known force, None if none is known),
        ``needle_limiting_event``, ``needle_unknown_events``, ``feasible_needle``
        (True / False / None), ``device_force_limit_N``, ``flap_force_N``,
        ``feasible_reentry_device`` (True / False / None), ``flap_punctured_by`` (names of the
        devices that puncture the flap, ``"needle"`` and the device's name; None when either
        answer is unknown), ``needle`` and ``device`` (their inputs).
    """
    needle = needle if needle is not None else NeedleColumn()
    device = device if device is not None else ReentryDevice()
    extra = set(forces) - set(NEEDLE_EVENTS)
    if extra:
        raise ValueError(f"forces has unknown events {sorted(extra)}; allowed {NEEDLE_EVENTS}")
    known = {e: _known(forces.get(e)) for e in NEEDLE_EVENTS}
    for e, f in known.items():
        if f is not None and f < 0.0:
            raise ValueError(f"forces[{e!r}] = {f!r} N must be >= 0")
    unknown = [e for e, f in known.items() if f is None]
    euler = needle.euler_load_N
    values = {e: f for e, f in known.items() if f is not None}
    required = max(values.values()) if values else None
    limiting = max(values, key=values.get) if values else None
    if required is not None and required > euler:
        feasible_needle: bool | None = False
    elif unknown:
        feasible_needle = None
    else:
        feasible_needle = True
    flap = known["flap"]
    feasible_device = None if flap is None else flap <= device.force_limit_N
    by = None
    if feasible_needle is not None and feasible_device is not None:
        by = [n for n, ok in (("needle", feasible_needle), (device.name, feasible_device)) if ok]
    return {
        "euler_load_N": euler,
        "needle_euler_stress_MPa": euler / needle.area_mm2,
        "needle_slenderness": needle.slenderness,
        "needle_required_N": required,
        "needle_limiting_event": limiting,
        "needle_unknown_events": unknown,
        "feasible_needle": feasible_needle,
        "device_force_limit_N": device.force_limit_N,
        "flap_force_N": flap,
        "feasible_reentry_device": feasible_device,
        "flap_punctured_by": by,
        "needle": asdict(needle),
        "device": asdict(device),
    }
