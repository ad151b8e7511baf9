"""Study files: validation errors name the key and the line, and nothing is written."""

from __future__ import annotations

import re
from pathlib import Path

import hpc.stack  # noqa: F401  (orders MPI before DOLFINx; keep first)

import pytest

from studies.schema import StudyError
from studies.study import load_study, load_study_text
from studies.tomllines import KeyLines
from tests.study_cli import nre

STUDIES = Path(__file__).resolve().parent.parent / "studies"

GOOD = """\
[study]
name = "t"
solve = ["selftest"]

[run]
ranks = 1

[base.selftest]
cells_per_side = 2

[sweep.grid]
selftest.edge_mm = [1.0, 2.0]
"""


def _error(text: str) -> StudyError:
    with pytest.raises(StudyError) as info:
        load_study_text(text, source="bad.toml")
    return info.value


def _line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


@pytest.mark.parametrize(
    ("change", "key", "needle", "message"),
    [
        # unknown keys: in a base section, in a top-level section, a whole unknown section
        (("cells_per_side = 2", "cells_per_side = 2\ncels_per_side = 3"),
         "base.selftest.cels_per_side", "cels_per_side = 3", "unknown key"),
        (("ranks = 1", "ranks = 1\nrank = 2"), "run.rank", "rank = 2", "unknown key"),
        (("[run]", "[runn]"), "runn", "[runn]", "unknown key"),
        # wrong types
        (("ranks = 1", 'ranks = "two"'), "run.ranks", "ranks =", "expected an integer"),
        (("cells_per_side = 2", "cells_per_side = 2.5"), "base.selftest.cells_per_side",
         "cells_per_side", "expected an integer"),
        (('solve = ["selftest"]', 'solve = "selftest"'), "study.solve", "solve =",
         "expected a list"),
        # out of range (in the base and inside an axis)
        (("ranks = 1", "ranks = 0"), "run.ranks", "ranks =", "out of range"),
        (("edge_mm = [1.0, 2.0]", "edge_mm = [1.0, -2.0]"), "sweep.grid.selftest.edge_mm[1]",
         "edge_mm = [", "out of range"),
        # empty axis, unknown axis, unknown kind
        (("edge_mm = [1.0, 2.0]", "edge_mm = []"), "sweep.grid.selftest.edge_mm",
         "edge_mm = [", "empty axis"),
        (("selftest.edge_mm = [1.0, 2.0]", "selftest.edge_cm = [1.0]"),
         "sweep.grid.selftest.edge_cm", "edge_cm", "not a field"),
        (('solve = ["selftest"]', 'solve = ["baloon"]'), "study.solve[0]", "solve =",
         "unknown case kind"),
    ],
)
def test_each_error_class_names_key_and_line(change, key, needle, message):
    text = GOOD.replace(*change)
    err = _error(text)
    line = _line_of(text, needle)
    assert any(i.key == key and i.line == line and message in i.message for i in err.issues), \
        str(err)
    assert f"bad.toml:{line}: key '{key}'" in str(err)


def test_all_errors_reported_at_once():
    text = GOOD.replace("ranks = 1", "ranks = 0\nfoo = 1").replace("[1.0, 2.0]", "[]")
    assert len(_error(text).issues) == 3


def test_listed_cases_lines():
    text = GOOD + """
[[sweep.cases]]
selftest.edge_mm = 3.0

[[sweep.cases]]
selftest.edge_mm = 4.0
selftest.cells_per_side = 100
"""
    err = _error(text)
    (issue,) = err.issues
    assert issue.key == "sweep.cases[1].selftest.cells_per_side"
    assert issue.line == _line_of(text, "cells_per_side = 100")
    inline = GOOD + "cases = [{selftest.edge_mm = 3.0}, {selftest.edge_mm = -1.0}]\n"
    inline = inline.replace("[sweep.grid]\n", "[sweep]\ngrid.")
    (issue,) = _error(inline).issues
    assert issue.key == "sweep.cases[1].selftest.edge_mm"
    assert issue.line == _line_of(inline, "cases = [")


def test_syntax_error_has_line():
    err = _error(GOOD.replace("ranks = 1", "ranks = = 1"))
    assert err.issues[0].line == _line_of(GOOD, "ranks = 1")


def test_key_lines_quoted_and_dotted():
    lines = KeyLines('[a]\n"x.y" = 1\nb.c = 2\n[[t]]\nk = 1\n[[t]]\nk = [\n 1,\n 2]\nz = 0\n')
    assert lines.line_of(("a", "x.y")) == 2
    assert lines.line_of(("a", "b", "c")) == 3
    assert lines.line_of(("t", 1, "k")) == 7
    assert lines.line_of(("t", 1, "z")) == 10
    assert lines.line_of(("a", "missing")) == 1


def test_grid_and_listed_cases_expand():
    text = GOOD + """
[[sweep.cases]]
selftest.edge_mm = 3.0
selftest.cells_per_side = 3

[[sweep.cases]]
selftest.edge_mm = 1.0
"""
    study = load_study_text(text)
    # the second listed case equals a grid point: it runs once
    assert [c.axes for c in study.cases] == [
        {"selftest.edge_mm": 1.0}, {"selftest.edge_mm": 2.0},
        {"selftest.edge_mm": 3.0, "selftest.cells_per_side": 3}]
    assert study.cases[0].params["selftest"] == {"cells_per_side": 2, "edge_mm": 1.0}
    # defaults are filled in everywhere
    assert study.run == {"ranks": 1, "parallel_cases": 0, "case_timeout_s": 0.0}
    assert study.cases[2].params["balloon"]["pressure_atm"] == 6.0


def test_shipped_studies_validate():
    default = load_study(STUDIES / "default.toml")
    assert default.solve == ("balloon", "puncture") and len(default.cases) >= 2
    assert load_study(STUDIES / "production.toml").solve == ("balloon", "puncture")
    prod = load_study(STUDIES / "production.toml")
    assert prod.grid["calcification.grade"] == [f"pacss-{i}" for i in range(5)]
    assert prod.grid["needle.gauge"] == [18, 20, 21, 22]
    pressures = prod.grid["balloon.pressure_atm"]
    assert min(pressures) == 2.0 and max(pressures) == 14.0
    assert len(prod.cases) == 5 * len(pressures) * 4 + len(prod.listed)
    assert prod.slurm["throttle"] > 0 and prod.slurm_ranks() > 1


def test_production_fields_are_checked():
    text = (STUDIES / "production.toml").read_text()
    err = _error(text.replace('"pacss-4"', '"pacss-5"'))
    assert "is not a known grade" in str(err)
    assert re.search(r"bad.toml:\d+: key 'sweep.grid.calcification.grade\[4\]'", str(err))
    err = _error(text.replace("[18, 20, 21, 22]", "[18, 19]"))
    assert "19 is not one of 18, 20, 21, 22" in str(err)
    err = _error(text.replace("2.0, ", "0.0, ", 1))
    assert "out of range" in str(err)


def test_check_cli_ok_and_error(tmp_path, capsys):
    good = tmp_path / "good.toml"
    good.write_text(GOOD)
    assert nre(["study", "check", good]) == 0
    out = capsys.readouterr().out
    assert "cases: 2" in out and "estimated cost" in out
    bad = tmp_path / "bad.toml"
    bad.write_text(GOOD.replace("[1.0, 2.0]", "[]"))
    assert nre(["study", "check", bad]) == 2
    err = capsys.readouterr().err
    assert f"{bad}:{_line_of(GOOD, 'edge_mm')}: key 'sweep.grid.selftest.edge_mm'" in err


def test_bad_file_writes_nothing(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text(GOOD.replace("ranks = 1", "ranks = -1"))
    results = tmp_path / "results"
    assert nre(["study", "run", bad, "--results", results]) == 2
    assert nre(["slurm", "submit", bad, "--results", results, "--dry-run"]) == 2
    assert "out of range" in capsys.readouterr().err
    assert not results.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.toml"]
