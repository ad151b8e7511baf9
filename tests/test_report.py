"""``nre report``: the HTML report of a synthetic study folder and of a real tiny ``selftest``
study run through the CLI, opened in headless Chromium (every image must load, no script
errors), maps.json traced to the case records, and a rerun that picks up new cases."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import hpc.stack  # noqa: F401  (orders MPI before DOLFINx; keep first)

import pytest

from postprocess.browser import check_page, find_chromium
from postprocess.report import write_report
from studies.cli import main as nre
from tests import synthetic_study as S

RENDERED = ("pacss-3", 10.0, 18, 100.0)


def _browser_ok(html: Path) -> int:
    """Load the page in Chromium: every image loads, no errors; returns the image count."""
    if find_chromium() is None:
        if os.environ.get("CI") == "true":
            pytest.fail("chromium is not installed, and CI=true requires the browser check")
        pytest.skip("chromium is not installed (apt-get install -y chromium): browser check "
                    "skipped")
    seen = check_page(html)
    assert seen.images > 0
    assert seen.ok, seen
    return seen.images


def _write_field(path: Path) -> None:
    from dolfinx import fem, io, mesh
    from mpi4py import MPI

    domain = mesh.create_box(MPI.COMM_SELF, [[0, 0, 0], [1, 1, 1]], [2, 2, 2],
                             mesh.CellType.tetrahedron)
    vm = fem.Function(fem.functionspace(domain, ("DG", 0)), name="von_mises_stress_MPa")
    vm.interpolate(lambda x: 1.0 + x[0])
    path.parent.mkdir(parents=True, exist_ok=True)
    with io.XDMFFile(MPI.COMM_SELF, str(path), "w") as out:
        out.write_mesh(domain)
        out.write_function(vm, 0.0)


def test_report_of_a_synthetic_study(tmp_path, capsys, monkeypatch):
    # no tests/verification.json fallback (`make test` writes one): "not available" is tested
    monkeypatch.setattr("postprocess.verification._REPO", tmp_path)
    root = tmp_path / "synthetic"
    rid = S.case_id(RENDERED)
    S.write_results_folder(root, fields={rid: "fields/state.xdmf"})
    _write_field(root / "cases" / rid / "result" / "fields" / "state.xdmf")
    assert nre(["report", str(root)]) == 0
    out = capsys.readouterr().out
    assert "report:" in out and "maps.json" in out
    html_path = root / "report" / "index.html"
    page = html_path.read_text()
    for heading in ("Verification of the solvers", "Study definition", "Maps", "Curves",
                    "Fields", "Cases", "Failures", "Provenance"):
        assert f"<h2>{heading}</h2>" in page
    assert "Verification status: not available" in page
    assert "SNES diverged (DIVERGED_LINE_SEARCH)" in page  # failures with their reasons
    assert "0123abcd" in page and "node1" in page  # provenance
    assert 'name = &quot;synthetic&quot;' in page  # the study definition (escaped)
    # the case table puts each case id beside its values
    row = re.search(rf"<tr class=\"st-done\"><td>{S.case_id(('pacss-1', 2.0, 18, 100.0))}</td>"
                    r"(.*?)</tr>", page)
    assert row and f"{S.outer_force('pacss-1', 2.0, 18, 100.0):.4g}" in row.group(1)
    assert f"von_mises_stress_MPa  case {rid}" in page  # the render of the chosen case
    assert not list((root / "report").glob("*.png"))  # images live in maps/, curves/...
    assert "src=\"data:image/png;base64," in page and "src=\"maps/" not in page
    n_images = _browser_ok(html_path)
    assert n_images == page.count("<img ")

    # maps.json: each value comes from the record of the case named beside it
    data = json.loads((root / "report" / "maps" / "maps.json").read_text())
    checked = 0
    for panel in data["maps"]["puncture-flap_puncture_force_N"]["panels"]:
        for cell in panel["cells"]:
            for case in cell["cases"]:
                rec = json.loads((root / "cases" / case["case_id"] / "result" / "record.json")
                                 .read_text()) if case["status"] != "missing" else None
                if case["status"] == "done":
                    assert case["value"] == rec["results"]["puncture"]["flap_puncture_force_N"]
                    checked += 1
    assert checked == sum(1 for r in S.rows() if r["status"] == "done")

    # a case that was missing finishes: the rerun shows it
    missing = S.case_id(("pacss-3", 2.0, 21, 100.0))
    res = root / "cases" / missing / "result"
    res.mkdir(parents=True)
    (res / "record.json").write_text(json.dumps({
        "case_id": missing, "status": "done", "reason": None, "curves": [], "fields": [],
        # as the runner writes it: the kinds solved and the results of each (else damaged)
        "solve": ["balloon", "puncture"],
        "results": {"balloon": {"channel_diameter_mm": 4.5},
                    "puncture": {"flap_puncture_force_N": 123.0}}, "provenance": {}}))
    (root / "verification.json").write_text(json.dumps({
        "format": "nre-verification/1", "generated": "2026-01-01", "checks": [
            {"solver": "fem.solid.hyperelastic", "name": "Lame cylinder", "expected": 1.0,
             "computed": 1.001, "error": 1e-3, "tolerance": 1e-2, "passed": True},
            {"solver": "fem.balloon.membrane", "name": "membrane law", "error": 0.2,
             "tolerance": 0.01, "passed": True}]}))
    result = write_report(root)
    page = html_path.read_text()
    grid = next(m for m in result.maps if m.name == "puncture-flap_puncture_force_N").grids[1]
    cell = grid.cell(2.0, "pacss-3")
    assert cell["state"] == "ok" and cell["value"] == 123.0  # the other case is still missing
    assert "1/2 checks passed" in page and "1 FAILED" in page  # error above tolerance
    assert result.counts["done"] == sum(1 for r in S.rows() if r["status"] == "done") + 1


def test_report_of_a_selftest_study_run_through_the_cli(tmp_path, capsys):
    results = tmp_path / "results" / "tiny"
    study = tmp_path / "tiny.toml"
    study.write_text(f"""\
[study]
name = "tiny"
solve = ["selftest"]
results_dir = "{results}"
[run]
ranks = 1
parallel_cases = 2
[sweep.grid]
selftest.edge_mm = [1.0, 2.0]
selftest.cells_per_side = [2]
""")
    assert nre(["study", "run", str(study)]) == 0
    capsys.readouterr()
    assert nre(["report", str(results), "--no-renders"]) == 0
    out = capsys.readouterr().out
    assert "2 done" in out
    page = (results / "report" / "index.html").read_text()
    assert "2 cases: 2 done" in page
    # generic maps over the study's own axes, with the volumes (edge^3) in their cells
    data = json.loads((results / "report" / "maps" / "maps.json").read_text())
    vol = data["maps"]["selftest-volume_mm3"]["panels"][0]
    assert (vol["x_axis"], vol["y_axis"]) == ("selftest.cells_per_side", "selftest.edge_mm")
    values = {c["y"]: c["value"] for c in vol["cells"]}
    assert values == pytest.approx({1.0: 1.0, 2.0: 8.0})
    for cell in vol["cells"]:
        rec = json.loads((results / "cases" / cell["case_id"] / "result" / "record.json")
                         .read_text())
        assert rec["results"]["selftest"]["volume_mm3"] == cell["value"]
    # the kind's own curve file (volume_scaling.json: t, volume_mm3), drawn per case
    assert "curves of each case (2)" in page
    assert len(list((results / "report" / "curves" / "cases").glob("*.png"))) == 2
    assert "dolfinx 0.11" in page  # provenance from the records
    _browser_ok(results / "report" / "index.html")
    # a study file works as the target too
    assert nre(["report", str(study)]) == 0
