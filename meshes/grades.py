"""Calcification grade presets: clinical grading schemes mapped to calcium geometry.

The schemes grade what angiography, CT or OCT see; a finite-element model needs an arc, a
thickness, a length and a layer. The mapping below is an engineering estimate [est] (DOMAIN.md
section 4), written down here and in the README so that a study's grade axis is reproducible.
"Long" lengths exceed any modelled segment and so mean "through the whole segment".

===================  ========  ================  ============  =========================
grade                arc deg   pattern           thickness mm  length mm
===================  ========  ================  ============  =========================
pacss-0              0         none              -             -
pacss-1              90        unilateral        0.3           20   (< 5 cm)
pacss-2              120       unilateral        0.5           600  (>= 5 cm: whole segment)
pacss-3              90 + 90   bilateral         0.5           20   (< 5 cm)
pacss-4              150 + 150 bilateral         0.5           600  (>= 5 cm: whole segment)
fanelli-Q-short      Q - 45    unilateral        0.5           20   (< 3 cm)
fanelli-Q-long       Q - 45    unilateral        0.5           600  (>= 3 cm)
parc-focal           60        unilateral        0.5           10   (< 1/2 lesion)
parc-mild            120       unilateral        0.5           600  (< 180 deg, >= 1/2 lesion)
parc-moderate        225       unilateral        0.5           10   (>= 180 deg, < 1/2 lesion)
parc-severe          270       unilateral        0.5           600  (>= 180 deg, >= 1/2 lesion)
oct-S (S = 0..4)     see OCT_SCORES: arc > 180 scores 2, thickness > 0.5 mm 1, length > 5 mm 1
===================  ========  ================  ============  =========================

Fanelli's quadrant Q is 90, 180, 270 or 360 (arc below Q and above Q - 90); the model uses the
middle of the quadrant. PARC's lesion is the modelled segment. Calcium sits in the intima (the
flap) and faces the needle path (position 0 deg) unless a study overrides ``layer`` or
``position_deg``; ``pacss-*-media`` variants put the same sheets in the media (diabetic medial
calcification), e.g. ``pacss-2-media``.
"""

from __future__ import annotations

import functools
import re

from meshes.spec import CalcificationSpec

WHOLE = 600.0  # mm: longer than any segment, i.e. through the whole segment

PACSS = {
    0: dict(arc_deg=0.0),
    1: dict(arc_deg=90.0, thickness_mm=0.3, length_mm=20.0),
    2: dict(arc_deg=120.0, thickness_mm=0.5, length_mm=WHOLE),
    3: dict(arc_deg=90.0, pattern="bilateral", thickness_mm=0.5, length_mm=20.0),
    4: dict(arc_deg=150.0, pattern="bilateral", thickness_mm=0.5, length_mm=WHOLE),
}
PARC = {
    "focal": dict(arc_deg=60.0, length_mm=10.0),
    "mild": dict(arc_deg=120.0, length_mm=WHOLE),
    "moderate": dict(arc_deg=225.0, length_mm=10.0),
    "severe": dict(arc_deg=270.0, length_mm=WHOLE),
}
#: Fujino 2018 OCT calcium score: arc > 180 deg = 2, thickness > 0.5 mm = 1, length > 5 mm = 1.
OCT_SCORES = {
    0: dict(arc_deg=90.0, thickness_mm=0.4, length_mm=4.0),
    1: dict(arc_deg=90.0, thickness_mm=0.4, length_mm=10.0),
    2: dict(arc_deg=200.0, thickness_mm=0.4, length_mm=4.0),
    3: dict(arc_deg=200.0, thickness_mm=0.4, length_mm=10.0),
    4: dict(arc_deg=200.0, thickness_mm=0.55, length_mm=10.0),
}

_PATTERNS = (
    (re.compile(r"^pacss-([0-4])(-media)?$"), "pacss"),
    (re.compile(r"^fanelli-(90|180|270|360)-(short|long)$"), "fanelli"),
    (re.compile(r"^parc-(focal|mild|moderate|severe)$"), "parc"),
    (re.compile(r"^oct-([0-4])$"), "oct"),
)


def known_grades() -> list[str]:
    """Every grade string :func:`calcification_for_grade` accepts."""
    out = [f"pacss-{i}" for i in PACSS] + [f"pacss-{i}-media" for i in PACSS if i]
    out += [f"fanelli-{q}-{ln}" for q in (90, 180, 270, 360) for ln in ("short", "long")]
    out += [f"parc-{k}" for k in PARC] + [f"oct-{i}" for i in OCT_SCORES]
    return out


def calcification_for_grade(grade: str, **overrides) -> CalcificationSpec:
    """The calcium geometry of a grade string such as ``pacss-3`` or ``fanelli-270-long``.

    Args:
        grade: the grade (case-insensitive).
        overrides: CalcificationSpec fields that replace the preset's (e.g. ``thickness_mm``).

    Raises:
        ValueError: unknown grade, naming the accepted ones.
    """
    try:  # specs are frozen: one per (grade, overrides), shared (a sweep asks again and again)
        return _for_grade_cached(grade, tuple(sorted(overrides.items())))
    except TypeError:  # an unhashable override (nodules given as tables)
        return _for_grade(grade, overrides)


@functools.lru_cache(maxsize=4096)
def _for_grade_cached(grade: str, overrides: tuple) -> CalcificationSpec:
    return _for_grade(grade, dict(overrides))


def _for_grade(grade: str, overrides: dict) -> CalcificationSpec:
    g = grade.strip().lower()
    fields: dict | None = None
    for rx, scheme in _PATTERNS:
        m = rx.match(g)
        if not m:
            continue
        if scheme == "pacss":
            fields = dict(PACSS[int(m.group(1))])
            if m.group(2) and fields["arc_deg"] > 0:
                fields["layer"] = "media"
                fields["thickness_mm"] = min(fields.get("thickness_mm", 0.5), 0.5)
        elif scheme == "fanelli":
            q = float(m.group(1))
            fields = dict(arc_deg=q - 45.0, thickness_mm=0.5,
                          length_mm=20.0 if m.group(2) == "short" else WHOLE)
        elif scheme == "parc":
            fields = dict(PARC[m.group(1)], thickness_mm=0.5)
        else:
            fields = dict(OCT_SCORES[int(m.group(1))])
        break
    if fields is None or (g.endswith("-media") and g.startswith("pacss-0")):
        raise ValueError(
            f"calcification.grade = {grade!r} is unknown: allowed {', '.join(known_grades())}"
        )
    fields.update(overrides)
    fields["grade"] = g
    return CalcificationSpec(**fields)


def as_calcification(value: str | CalcificationSpec | dict) -> CalcificationSpec:
    """Accept a grade string, a dict of fields (optionally with ``grade``) or a spec."""
    if isinstance(value, CalcificationSpec):
        return value
    if isinstance(value, str):
        return calcification_for_grade(value)
    if isinstance(value, dict):
        d = dict(value)
        grade = d.pop("grade", "")
        if grade:
            return calcification_for_grade(grade, **d)
        return CalcificationSpec(**d)
    raise ValueError(f"calcification = {value!r}: give a grade string, a table or a spec")


__all__ = ["as_calcification", "calcification_for_grade", "known_grades"]
