"""Maps on a synthetic case table: values in the right cells, failed/missing cells marked (never
zero), one colour scale per result across gauges, the rupture boundary, feasibility classes and
maps.json tracing each cell to its cases."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from postprocess import maps as M
from tests import synthetic_study as S

ORDER = {"calcification.grade": S.GRADES}


@pytest.fixture
def frame():
    return S.frame()


def test_values_land_in_their_cells(frame, tmp_path):
    out = M.plot_value_maps(frame, "puncture:outer_wall_puncture_force_N", tmp_path, order=ORDER)
    assert [g.panel for g in out.grids] == [{"needle.gauge": 18}, {"needle.gauge": 21}]
    for grid, mesh in zip(out.grids, out.artists, strict=True):
        gauge = grid.panel["needle.gauge"]
        assert grid.x_values == S.PRESSURES and grid.y_values == S.GRADES
        assert grid.spread_axes == ["calcium.modulus_MPa"]
        drawn = np.ma.masked_invalid(mesh.get_array()).reshape(grid.value.shape)
        for iy, grade in enumerate(S.GRADES):
            for ix, p in enumerate(S.PRESSURES):
                done = [S.outer_force(grade, p, gauge, e) for e in S.MODULI
                        if (grade, p, gauge, e) not in S.FAILED | S.MISSING]
                if not done:
                    assert grid.state[iy, ix] in ("failed", "missing")
                    assert math.isnan(grid.value[iy, ix]) and drawn.mask[iy, ix]
                    continue
                assert grid.state[iy, ix] == "ok"
                assert grid.value[iy, ix] == pytest.approx(float(np.median(done)))
                assert drawn[iy, ix] == pytest.approx(float(np.median(done)))
                assert (grid.low[iy, ix], grid.high[iy, ix]) == pytest.approx(
                    (min(done), max(done)))
                ids = {c["case_id"] for c in grid.cases[iy, ix]}
                assert ids == {S.case_id((grade, p, gauge, e)) for e in S.MODULI}
    assert all(p.exists() and p.stat().st_size > 1000 for p in out.paths)


def test_failed_and_missing_cells_are_marked_never_zero(frame, tmp_path):
    out = M.plot_value_maps(frame, "puncture:flap_puncture_force_N", tmp_path, order=ORDER)
    g18, g21 = out.grids
    assert g18.cell(6.0, "pacss-2")["state"] == "failed"
    assert g18.cell(6.0, "pacss-2")["value"] is None
    reasons = {c.get("reason") for c in g18.cell(6.0, "pacss-2")["cases"]}
    assert reasons == {"puncture: SNES diverged (DIVERGED_LINE_SEARCH)"}
    assert g21.cell(2.0, "pacss-3")["state"] == "missing"
    # one of two cases failed: the cell shows the other and says so
    partial = g21.cell(10.0, "pacss-1")
    assert partial["state"] == "ok"
    assert partial["value"] == pytest.approx(S.flap_force("pacss-1", 10.0, 21, 1000.0))
    texts18 = [t.get_text() for t in out.artists[0].axes.texts]
    texts21 = [t.get_text() for t in out.artists[1].axes.texts]
    assert texts18.count("failed") == 1 and "missing" not in texts18
    assert texts21.count("missing") == 1 and any("+1 not done" in t for t in texts21)
    assert not any(t.startswith("0") for t in texts18 + texts21)
    # hatched grey patches, one per blank cell
    hatched = [p for p in out.artists[0].axes.patches if p.get_hatch()]
    assert len(hatched) == 1
    # done cases without the value are "no value", not zero
    frame.loc[frame["case_id"] == S.case_id(("pacss-1", 2.0, 18, 100.0)),
              "puncture:flap_puncture_force_N"] = None
    frame.loc[frame["case_id"] == S.case_id(("pacss-1", 2.0, 18, 1000.0)),
              "puncture:flap_puncture_force_N"] = None
    grid = M.value_grid(frame, "puncture:flap_puncture_force_N", panel={"needle.gauge": 18})
    assert grid.cell(2.0, "pacss-1")["state"] == "no value"


def test_colour_scale_is_shared_across_gauges(frame, tmp_path):
    out = M.plot_value_maps(frame, "puncture:flap_puncture_force_N", tmp_path, order=ORDER)
    done = frame[frame["status"] == "done"]["puncture:flap_puncture_force_N"]
    assert out.artists[0].norm is out.norm and out.artists[1].norm is out.norm
    assert (out.norm.vmin, out.norm.vmax) == pytest.approx((done.min(), done.max()))
    for mesh in out.artists:
        assert mesh.get_clim() == pytest.approx((done.min(), done.max()))
    # each gauge alone spans less than the shared range
    per_gauge = [np.nanmax(g.high) - np.nanmin(g.low) for g in out.grids]
    assert max(per_gauge) < out.norm.vmax - out.norm.vmin
    # small multiples over the uncertain modulus reuse the same scale
    sm = M.plot_small_multiples(frame, "puncture:flap_puncture_force_N", tmp_path,
                                row_axis="calcium.modulus_MPa", order=ORDER, norm=out.norm)
    assert len(sm.grids) == 4 and all(a.norm is out.norm for a in sm.artists)
    one = sm.grids[1]  # modulus 100, gauge 21
    assert one.panel == {"calcium.modulus_MPa": 100.0, "needle.gauge": 21}
    assert one.cell(6.0, "pacss-3")["value"] == pytest.approx(
        S.flap_force("pacss-3", 6.0, 21, 100.0))
    assert one.cell(10.0, "pacss-1")["state"] == "failed"


def test_rupture_map_and_boundary(frame, tmp_path):
    out = M.plot_rupture_maps(frame, tmp_path, order=ORDER)
    g18, g21 = out.grids
    assert g18.cell(2.0, "pacss-1")["value"] == "none"
    assert g18.cell(2.0, "pacss-3")["value"] == "pinhole"
    assert g18.cell(10.0, "pacss-3")["value"] == "tear"
    assert g18.cell(6.0, "pacss-2")["state"] == "failed"
    assert g21.cell(10.0, "pacss-1")["counts"] == {"tear": 1}
    # gauge 18: pinhole|tear only in row pacss-3 between p=2 and p=6
    assert out.boundaries[0] == [((0.5, 1.5), (0.5, 2.5))]
    # gauge 21: a vertical line between p=6 and p=10 in every row
    assert sorted(out.boundaries[1]) == [((1.5, -0.5), (1.5, 0.5)), ((1.5, 0.5), (1.5, 1.5)),
                                         ((1.5, 1.5), (1.5, 2.5))]
    # cases that disagree make a "mixed" cell on the boundary
    frame.loc[frame["case_id"] == S.case_id(("pacss-2", 2.0, 21, 1000.0)),
              "puncture:balloon_rupture_mode"] = "longitudinal tear"
    grid = M.category_grid(frame, lambda r: M._rupture_mode(r["puncture:balloon_rupture_mode"]),
                           name="r", panel={"needle.gauge": 21})
    assert grid.cell(2.0, "pacss-2")["value"] == "mixed"
    assert grid.cell(2.0, "pacss-2")["counts"] == {"pinhole": 1, "tear": 1}


def test_feasibility_map(frame, tmp_path):
    out = M.plot_feasibility_maps(frame, tmp_path, order=ORDER)
    g18 = out.grids[0]
    assert g18.cell(6.0, "pacss-1")["value"] == "both"
    assert g18.cell(6.0, "pacss-3")["value"] == "NRE only"
    assert g18.cell(2.0, "pacss-3")["value"] == "neither"
    assert g18.cell(6.0, "pacss-2")["state"] == "failed"
    assert M.feasibility_category(False, True) == "device only"
    assert M.feasibility_category(None, True) is None


def test_maps_json_traces_every_value_to_a_case(frame, tmp_path):
    maps = [M.plot_value_maps(frame, "puncture:outer_wall_puncture_force_N", tmp_path, order=ORDER),
            M.plot_rupture_maps(frame, tmp_path, order=ORDER)]
    data = json.loads(M.write_maps_json(tmp_path / "maps.json", maps).read_text())
    by_id = {r["case_id"]: r for r in S.rows()}
    force = data["maps"]["puncture-outer_wall_puncture_force_N"]
    assert (force["vmin"], force["vmax"]) == pytest.approx((maps[0].norm.vmin,
                                                            maps[0].norm.vmax))
    n_cells = 0
    for panel in force["panels"]:
        assert (tmp_path / panel["file"]).exists()
        for cell in panel["cells"]:
            n_cells += 1
            for case in cell["cases"]:
                row = by_id[case["case_id"]]
                assert row["calcification.grade"] == cell["y"]
                assert row["balloon.pressure_atm"] == cell["x"]
                assert row["needle.gauge"] == panel["panel"]["needle.gauge"]
                assert case["status"] == row["status"]
                if row["status"] == "done":
                    assert case["value"] == row["puncture:outer_wall_puncture_force_N"]
            if cell["state"] == "ok":
                vals = [c["value"] for c in cell["cases"] if c["status"] == "done"]
                assert cell["value"] == pytest.approx(float(np.median(vals)))
            else:
                assert cell["value"] is None
    assert n_cells == 2 * 3 * 3
    assert data["maps"]["rupture_mode"]["panels"][0]["boundary"] == [[[0.5, 1.5], [0.5, 2.5]]]


def test_bad_axis_names_the_column(frame):
    with pytest.raises(ValueError, match="axis = 'balloon.pressure_kPa'"):
        M.value_grid(frame, "puncture:flap_puncture_force_N", x_axis="balloon.pressure_kPa")


def test_first_failure_classes_and_pressure():
    """Which fails first: the lower of the wall's first rupture and the balloon's burst, or
    none up to the rated burst pressure (issue 14, maps)."""
    import pandas as pd

    def row(**kw):
        base = {"status": "done", M.RBP: 14.0}
        return pd.Series({**base, **kw})

    media = "balloon:media_rupture_pressure_atm"
    cat, p = M.first_failure(row(**{M.WALL_RUPTURE_P: 8.0, media: 8.0, M.BURST_P: 20.0,
                                    "balloon:adventitia_rupture_pressure_atm": None,
                                    # the intima's and the calcium's rupture are not perforation
                                    "balloon:intima_rupture_pressure_atm": 0.3}))
    assert (cat, p) == ("wall: media", 8.0)
    cat, p = M.first_failure(row(**{M.WALL_RUPTURE_P: 13.0, media: 13.0, M.BURST_P: 12.0}))
    assert (cat, p) == ("balloon bursts", 12.0)
    cat, p = M.first_failure(row(**{M.WALL_RUPTURE_P: None, M.BURST_P: 18.0}))
    assert cat == "none up to RBP" and math.isnan(p)
    # no burst column: the free film's limit point where the failure search ended on it
    cat, p = M.first_failure(pd.Series({"status": "done", M.WALL_RUPTURE_P: None,
                                        M.SEARCH_END: "balloon_burst", M.SEARCH_END_P: 20.5}))
    assert (cat, p) == ("balloon bursts", 20.5)
    assert M.first_failure(pd.Series({"status": "done"})) == (None, pytest.approx(math.nan,
                                                                               nan_ok=True))


def test_first_failure_map(tmp_path):
    import pandas as pd

    rows = []
    for grade, wall in (("pacss-0", None), ("pacss-4", 9.0)):
        for p in (2.0, 6.0):
            rows.append({"case_id": f"{grade}-{p}", "status": "done",
                         "calcification.grade": grade, "balloon.pressure_atm": p,
                         M.WALL_RUPTURE_P: wall, "balloon:media_rupture_pressure_atm": wall,
                         M.BURST_P: 16.0, M.RBP: 14.0})
    frame = pd.DataFrame(rows)
    cats, pressure = M.plot_first_failure_maps(frame, tmp_path,
                                               axes=["calcification.grade",
                                                     "balloon.pressure_atm"])
    (grid,) = cats.grids
    assert grid.cell(2.0, "pacss-0")["value"] == "none up to RBP"
    assert grid.cell(6.0, "pacss-4")["value"] == "wall: media"
    (pg,) = pressure.grids
    assert pg.cell(6.0, "pacss-4")["value"] == pytest.approx(9.0)
    assert pg.cell(6.0, "pacss-0")["state"] != "ok"
    assert all(p.exists() for p in cats.paths + pressure.paths)
