"""``nre study check`` builds every case's inputs as its run would: what a run refuses, the check
refuses first (case id, key, line, allowed range; exit 2), without meshing or loading DOLFINx.
Also the mesh-size guard and the warnings (cost, Slurm time limit, very large sweeps). Serial.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import hpc.stack  # noqa: F401  (orders MPI before DOLFINx; keep first)

import pytest

import studies.check as check_mod
from studies.check import check_study
from studies.study import load_study_text
from tests.study_cli import nre

ROOT = Path(__file__).resolve().parent.parent

BALLOON_PUNCTURE = """\
[study]
name = "cross"
solve = ["balloon", "puncture"]

[base.calcium]
thickness_mm = 2.5

[sweep.grid]
calcification.grade = ["pacss-0", "pacss-3"]
balloon.pressure_atm = [2.0, 6.0]
"""


def _study(text: str, tmp_path: Path | None = None):
    path = None
    if tmp_path is not None:
        path = tmp_path / "s.toml"
        path.write_text(text)
    return load_study_text(text, source=str(path or "<text>"), path=path)


def _line(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def test_calcium_thicker_than_its_layer_is_refused_with_case_key_and_line(tmp_path, capsys):
    # Before: passed the check, and every pacss-3 case failed when its balloon case was built.
    study = _study(BALLOON_PUNCTURE)
    report = check_study(study)
    assert len(report.issues) == 1
    issue = report.issues[0]
    assert issue.key == "base.calcium.thickness_mm"
    assert issue.line == _line(BALLOON_PUNCTURE, "thickness_mm = 2.5")
    bad = [c for c in study.cases if c.axes["calcification.grade"] == "pacss-3"]
    assert f"case {bad[0].case_id} " in issue.message and "(and 1 more case)" in issue.message
    assert "thicker than its layer allows" in issue.message and "<= " in issue.message
    assert "0.55 mm" in issue.message  # the allowed range: flap 0.6 less 0.05 mm cover

    path = tmp_path / "cross.toml"
    path.write_text(BALLOON_PUNCTURE)
    assert nre(["study", "check", path]) == 2
    captured = capsys.readouterr()
    assert "OK" not in captured.out
    assert "base.calcium.thickness_mm" in captured.err and bad[0].case_id in captured.err
    assert f"{path}:{issue.line}" in captured.err


def test_the_grades_own_calcium_is_blamed_on_the_grade():
    # No thickness given: the grade's sheet is what the layer cannot hold.
    text = BALLOON_PUNCTURE.replace("thickness_mm = 2.5", "modulus_MPa = 100.0")
    assert check_study(_study(text)).issues == []


@pytest.mark.parametrize(("change", "key", "needle", "allowed"), [
    # the wall materials take a calcium Poisson ratio up to 0.45; the schema up to 0.5
    ("[base.calcium]\npoisson_ratio = 0.48\n", "base.calcium.poisson_ratio", "poisson_ratio",
     "0.45"),
    # the film's dimple must end beyond the needle: support radius above the needle radius
    ("[base.rupture]\nsupport_radius_mm = 0.3\n", "base.rupture.support_radius_mm",
     "support_radius_mm", "above the needle radius 0.635 mm"),
    # the schema takes any thickness from 0 (the grade's); a calcium sheet needs 0.05 mm
    ("[base.calcium]\nthickness_mm = 0.01\n", "base.calcium.thickness_mm", "thickness_mm",
     "[0.05, 3"),
    # a wide channel pushes the fixed needle path's entry point out of the 30 mm segment
    ("[base.balloon]\nchannel_diameter_mm = 8.0\n", "base.balloon.channel_diameter_mm",
     "channel_diameter_mm", "outside the segment [-14, 14] mm"),
])
def test_other_cross_field_rules_of_the_kinds(change, key, needle, allowed):
    text = BALLOON_PUNCTURE.replace("[base.calcium]\nthickness_mm = 2.5\n", change)
    issues = check_study(_study(text)).issues
    assert 1 <= len(issues) <= 2  # once per kind that refuses it
    for issue in issues:
        assert issue.key == key and issue.line == _line(text, needle)
        assert allowed in issue.message
        assert "(and 3 more cases)" in issue.message  # every case of the grid


def test_a_rule_that_depends_on_a_sweep_axis_points_at_the_axis():
    # 0.5 mm support: enough for a 20 G needle (radius 0.454), not for 18 G (0.635)
    text = """\
[study]
name = "gauges"
solve = ["puncture"]
[base.rupture]
support_radius_mm = 0.5
[sweep.grid]
needle.gauge = [18, 20, 21]
"""
    study = _study(text)
    (issue,) = check_study(study).issues
    case18 = next(c for c in study.cases if c.axes["needle.gauge"] == 18)
    assert issue.key == "base.rupture.support_radius_mm"
    assert issue.message.startswith(f"case {case18.case_id} (needle.gauge=18): ")
    assert "more case" not in issue.message  # only the 18 G case
    listed = text.replace("[sweep.grid]\nneedle.gauge = [18, 20, 21]\n",
                          "[[sweep.cases]]\nneedle.gauge = 20\n[[sweep.cases]]\n"
                          "rupture.support_radius_mm = 0.2\n")
    (issue,) = check_study(_study(listed)).issues
    assert issue.line == _line(listed, "support_radius_mm = 0.2")  # the listed case's line


def test_medial_calcium_wider_than_the_channel_side_is_blamed_on_the_grade():
    text = """\
[study]
name = "media"
solve = ["balloon"]
[base.balloon]
channel_diameter_mm = 2.0
[sweep.grid]
calcification.grade = ["pacss-1-media", "pacss-2-media"]
"""
    (issue,) = check_study(_study(text)).issues  # 120 deg does not fit, 90 deg does
    assert issue.key == "base.calcification.grade" and "(calcification.grade=pacss-2-media)" in \
        issue.message
    assert "|position_deg| + arc_deg/2 <= 59.2 deg" in issue.message


def test_the_film_fit_the_check_skips_holds_over_the_schemas_range():
    # check_balloon does not repeat the film fit (seconds per case): the kind fixes the rating,
    # and the fit holds at both ends of balloon.film_thickness_mm.
    from fem.balloon.film import fit_film_to_compliance
    from studies.kinds.balloon import case_from_params
    from studies.schema import SCHEMA

    field = SCHEMA.fields["base.balloon.film_thickness_mm"]
    for thickness in (field.low, field.high):
        case = case_from_params({"balloon": {"film_thickness_mm": thickness}})
        _film, d_ref = fit_film_to_compliance(case.rating(), thickness)
        assert 0.5 * case.model.balloon.diameter_mm < d_ref < case.model.balloon.diameter_mm


def test_meshes_above_the_cell_limit_are_refused():
    text = BALLOON_PUNCTURE.replace("[base.calcium]\nthickness_mm = 2.5\n",
                                    '[base.balloon]\ngeometry = "3d"\n[base.mesh]\nlevel = 4\n')
    issues = check_study(_study(text)).issues
    assert len(issues) == 2  # one per grade: their meshes differ
    for issue in issues:
        assert issue.key == "base.mesh.level" and issue.line == _line(text, "level = 4")
        assert "the balloon case's 3d mesh would have about" in issue.message
        assert "above the limit of 5 M" in issue.message and "(--max-cells)" in issue.message
    # level 0 passes; a limit below the puncture discs refuses them too
    report = check_study(_study(text.replace("level = 4", "level = 0")))
    assert report.issues == [] and report.largest[0] == "the balloon case's 3d mesh"
    report = check_study(_study(text.replace("level = 4", "level = 0")), max_cells=100)
    assert {i.key for i in report.issues} == {"base.mesh.level"}
    assert any("puncture disc" in i.message for i in report.issues)


def test_selftest_cube_counts_exactly(tmp_path, capsys):
    text = """\
[study]
name = "cubes"
solve = ["selftest"]
[sweep.grid]
selftest.cells_per_side = [4, 12]
"""
    path = tmp_path / "cubes.toml"
    path.write_text(text)
    assert nre(["study", "check", path, "--max-cells", "1728"]) == 0
    assert "largest: the selftest cube, ~1,728 cells" in capsys.readouterr().out
    assert nre(["study", "check", path, "--max-cells", "1727"]) == 2
    err = capsys.readouterr().err
    assert "base.selftest.cells_per_side" in err and "1,728 cells" in err


def test_a_failing_check_hook_is_an_error_not_an_ok(monkeypatch):
    from studies.kinds import get_kind

    def broken(params):
        raise KeyError("oops")

    kind = get_kind("selftest")
    monkeypatch.setitem(__import__("studies.kinds", fromlist=["_KINDS"])._KINDS, "selftest",
                        type(kind)(kind.name, kind.run, kind.cost_core_s, kind.module, broken))
    (issue,) = check_study(_study('[study]\nname = "x"\nsolve = ["selftest"]\n')).issues
    assert "the selftest kind's check failed: KeyError" in issue.message


def test_warnings_for_cost_time_limit_and_size(monkeypatch, tmp_path, capsys):
    text = """\
[study]
name = "big"
solve = ["balloon"]
[slurm]
time = "00:01:00"
[sweep.grid]
balloon.pressure_atm = [4.0, 6.0, 8.0]
"""
    study = _study(text)
    (slow,) = check_study(study).warnings
    assert "beyond slurm.time = 00:01:00" in slow and "3 case(s)" in slow
    assert "up to 150 s on 1 rank(s)" in slow  # level 1: a continuation, 3 x (25 + 25 s)
    monkeypatch.setattr(check_mod, "COST_WARN_CORE_H", 0.01)
    import hpc.slurm

    monkeypatch.setattr(hpc.slurm, "LARGE_SWEEP_CASES", 2)
    warnings = check_study(study).warnings
    assert any("core-h is above 0 core-h" in w for w in warnings)
    assert any(w.startswith("3 cases: a large sweep") for w in warnings)
    path = tmp_path / "big.toml"
    path.write_text(text)
    assert nre(["study", "check", path]) == 0  # warnings do not fail the check
    err = capsys.readouterr().err
    assert err.count("nre study check: warning: ") == 3


def test_check_does_not_import_dolfinx():
    script = ("import sys\n"
              "from studies.cli import main\n"
              "rc = main(['study', 'check', sys.argv[1]])\n"
              # scipy is allowed: the film's closed forms (root finding) run at check time
              "heavy = [m for m in ('dolfinx', 'petsc4py', 'gmsh') if m in sys.modules]\n"
              "print('HEAVY', heavy)\n"
              "sys.exit(rc)\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    r = subprocess.run([sys.executable, "-c", script, str(ROOT / "studies" / "default.toml")],
                       capture_output=True, text=True, env=env, cwd=ROOT)
    assert r.returncode == 0, r.stderr
    assert "study default: OK" in r.stdout and "inputs: every case's inputs built" in r.stdout
    assert "HEAVY []" in r.stdout


def test_shipped_studies_pass_the_check():
    from studies.study import load_study

    for name in ("default.toml", "production.toml", "oversizing.toml"):
        report = check_study(load_study(ROOT / "studies" / name))
        assert report.issues == [], report.issues
        assert report.cases == len(load_study(ROOT / "studies" / name).cases)


def test_one_balloon_for_both_kinds():
    """The balloon kind reads the balloon's diameter and the oversizing from the same inputs
    as the puncture kind's rupture columns (issue 14: the oversizing as a study input)."""
    from studies.kinds.balloon import case_from_params

    case = case_from_params({"rupture": {"balloon_diameter_mm": 6.0, "oversizing": 1.2}})
    assert case.model.balloon.diameter_mm == 6.0
    assert case.model.balloon.channel_diameter_mm == pytest.approx(5.0)
    case = case_from_params({"balloon": {"channel_diameter_mm": 4.5}})
    assert (case.model.balloon.diameter_mm, case.model.balloon.channel_diameter_mm) == (5.0, 4.5)
