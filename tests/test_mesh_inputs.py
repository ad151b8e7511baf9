"""Unit tests: validated inputs, grade presets, spec hashing. Fast, serial, no meshing."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from meshes import (
    ArteryModelSpec,
    ArterySpec,
    BalloonSpec,
    CalcificationSpec,
    CrossSection,
    MeshSpec,
    NeedlePathSpec,
    artery_model_from_dict,
    calcification_for_grade,
    known_grades,
)
from meshes.grades import PACSS

INVALID = [
    # (what, builder, words the message must contain)
    ("calcium thicker than the flap",
     lambda: ArteryModelSpec(calcification=CalcificationSpec(arc_deg=90, thickness_mm=0.6)),
     ["calcification.thickness_mm", "0.6", "<= artery.flap_thickness_mm", "0.55"]),
    ("calcium thicker than the media",
     lambda: ArteryModelSpec(calcification=CalcificationSpec(layer="media", arc_deg=90,
                                                             thickness_mm=0.58)),
     ["calcification.thickness_mm", "artery.media_thickness_mm"]),
    ("channel breaks through the outer wall",
     lambda: ArteryModelSpec(artery=ArterySpec(outer_diameter_mm=12.0),
                             balloon=BalloonSpec(channel_diameter_mm=6.0)),
     ["artery.outer_diameter_mm", "breaks through the outer wall", ">= 14.1"]),
    ("arc above 360", lambda: CalcificationSpec(arc_deg=400.0),
     ["calcification.arc_deg", "400", "[0, 360]"]),
    ("bilateral arcs overlapping", lambda: CalcificationSpec(arc_deg=200.0, pattern="bilateral"),
     ["calcification.arc_deg", "200", "[0, 180]"]),
    ("medial arc outside the channel arc",
     lambda: ArteryModelSpec(calcification=CalcificationSpec(layer="media", arc_deg=200)),
     ["calcification.arc_deg", "|position_deg| + arc_deg/2"]),
    ("non-positive element size", lambda: MeshSpec(size_mm=0.0),
     ["mesh.size_mm", "= 0", "[0.01, 10]"]),
    ("negative layer", lambda: ArterySpec(media_thickness_mm=-0.2),
     ["artery.media_thickness_mm", "-0.2"]),
    ("unknown grade", lambda: calcification_for_grade("pacss-7"),
     ["calcification.grade", "pacss-7", "pacss-0", "fanelli-270-long"]),
    ("needle entry off the segment",
     lambda: ArteryModelSpec(artery=ArterySpec(length_mm=12.0)),
     ["needle.entry_angle_deg", "outside the segment", "artery.length_mm"]),
    ("unknown gauge", lambda: NeedlePathSpec(gauge=17), ["needle.gauge", "17", "18, 20, 21, 22"]),
    ("unknown field", lambda: artery_model_from_dict({"artery": {"lumen_radius": 3}}),
     ["artery.lumen_radius", "not a known field"]),
]


@pytest.mark.parametrize("what,make,words", INVALID, ids=[c[0] for c in INVALID])
def test_invalid_geometry_is_rejected_with_a_clear_error(what, make, words):
    with pytest.raises(ValueError) as err:
        make()
    for w in words:
        assert w in str(err.value), f"{what}: {w!r} missing from {err.value}"


def test_invalid_input_writes_nothing(tmp_path):
    """The CLI rejects bad geometry before Gmsh runs: exit 2, no output, no cache entry."""
    env = dict(os.environ, NRE_CACHE_DIR=str(tmp_path / "cache"))
    for args in (["--grade", "pacss-9"], ["--calcium-arc-deg", "90", "--calcium-thickness-mm",
                                          "0.6"], ["--size-mm", "-1"],
                 ["--outer-diameter-mm", "9"], ["--calcium-arc-deg", "361"]):
        out = tmp_path / "out"
        r = subprocess.run([sys.executable, "-m", "studies.cli", "mesh", *args, "--out", str(out)],
                           capture_output=True, text=True, env=env)
        assert r.returncode == 2, r.stderr
        assert "error:" in r.stderr
        assert not out.exists()
        assert not (tmp_path / "cache").exists()


def test_every_known_grade_builds_a_valid_spec():
    for g in known_grades():
        spec = ArteryModelSpec(calcification=calcification_for_grade(g))
        assert spec.calcification.grade == g
        vols = CrossSection(spec).region_volumes()
        assert all(v > 0 for v in vols.values())
        assert ("calcium" in vols) == (g != "pacss-0")


def test_grade_mapping_follows_the_table():
    c3 = calcification_for_grade("pacss-3")
    assert (c3.arc_deg, c3.pattern, c3.thickness_mm) == (90.0, "bilateral", 0.5)
    assert calcification_for_grade("PACSS-4").length_mm >= 500  # whole segment
    f = calcification_for_grade("fanelli-270-long")
    assert 180 < f.arc_deg < 270 and f.length_mm >= 30
    assert calcification_for_grade("fanelli-90-short").length_mm < 30
    assert calcification_for_grade("parc-severe").arc_deg >= 180
    assert calcification_for_grade("parc-focal").arc_deg < 180
    assert calcification_for_grade("pacss-2-media").layer == "media"
    # OCT score = 2 (arc > 180) + 1 (thickness > 0.5) + 1 (length > 5 mm)
    for s in range(5):
        c = calcification_for_grade(f"oct-{s}")
        score = 2 * (c.arc_deg > 180) + (c.thickness_mm > 0.5) + (c.length_mm > 5)
        assert score == s
    assert set(PACSS) == {0, 1, 2, 3, 4}
    # overrides win over the preset
    assert calcification_for_grade("pacss-3", thickness_mm=0.3).thickness_mm == 0.3


def test_spec_key_is_stable_and_sensitive():
    a = ArteryModelSpec(calcification=calcification_for_grade("pacss-3"))
    b = artery_model_from_dict({"calcification": "pacss-3"})
    assert a.key() == b.key()
    assert a.key() != ArteryModelSpec(calcification=calcification_for_grade("pacss-4")).key()
    assert a.key() != artery_model_from_dict(
        {"calcification": "pacss-3", "mesh": {"size_mm": 0.79}}).key()
    # 30 and 30.0 are the same length
    assert artery_model_from_dict({"artery": {"length_mm": 30}}).key() == ArteryModelSpec().key()
    code = ("from meshes import *; print(ArteryModelSpec(calcification="
            "calcification_for_grade('pacss-3')).key())")
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert other.stdout.strip() == a.key()


def test_hull_area_against_polygon():
    """The exact hull area agrees with a fine polygon of the same outline."""
    import numpy as np

    cs = CrossSection(ArteryModelSpec())
    th = cs.theta
    pts = []
    for a in np.linspace(th, 2 * np.pi - th, 4000):
        pts.append((cs.x_a + cs.r_a * np.cos(a), cs.r_a * np.sin(a)))
    for a in np.linspace(-th, th, 4000):
        pts.append((cs.x_b + cs.r_channel * np.cos(a), cs.r_channel * np.sin(a)))
    # order counter-clockwise: channel arc (-th..th) then lumen-side arc (th..2pi-th)
    pts = pts[4000:] + pts[:4000]
    x, y = np.array(pts).T
    poly = 0.5 * abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1)))
    assert abs(poly / cs.hull(0.0) - 1) < 1e-5
