"""End-to-end: ``nre mesh`` through the CLI on a small mesh (serial)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import meshio


def test_nre_mesh_writes_summary_picture_and_named_exports(tmp_path):
    out = tmp_path / "out"
    env = dict(os.environ, NRE_CACHE_DIR=str(tmp_path / "cache"))
    cmd = [sys.executable, "-m", "studies.cli", "mesh", "--grade", "pacss-3", "--size-mm", "1.2",
           "--needle-size-mm", "0.6", "--out", str(out)]
    r = subprocess.run(cmd, capture_output=True, text=True, env=env)
    assert r.returncode == 0, r.stderr
    assert "min" in r.stdout and "calcium" in r.stdout and "(built" in r.stdout
    summary = json.loads((out / "summary.json").read_text())
    assert summary["cells"] > 1000 and summary["min_sicn"] > 0.05
    for name, v in summary["exact_volumes_mm3"].items():
        assert abs(summary["region_volumes_mm3"][name] / v - 1) < 0.01
    png = (out / "regions.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 20_000

    inp = meshio.read(out / "mesh.inp")
    assert set(inp.cell_sets) == {"intima", "calcium", "media", "adventitia"}
    assert sum(len(v[0]) for v in inp.cell_sets.values()) == summary["cells"]
    assert {"outer_wall", "channel_surface", "lumen_surface"} <= set(inp.point_sets)
    vtu = meshio.read(out / "mesh.vtu")
    assert {"physical", "calcium", "channel_surface"} <= set(vtu.cell_data)
    msh = meshio.read(out / "mesh.msh")
    assert "calcium" in msh.field_data and "end_distal" in msh.field_data

    again = subprocess.run(cmd, capture_output=True, text=True, env=env)
    assert again.returncode == 0 and "reused from cache" in again.stdout
