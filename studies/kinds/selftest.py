"""The ``selftest`` case kind: a tiny real DOLFINx computation for exercising the machinery.

It meshes a cube of edge ``base.selftest.edge_mm`` with ``cells_per_side``^3 hexahedra on the
case's communicator, assembles its volume and surface area, and returns them with the number
of ranks, so tests can check the answers against closed form (edge^3 and 6 edge^2) and that the
case really ran on the requested ranks. It also writes a small curve, so the per-case output
layout is exercised. No physics.

Its check hook (:func:`check_selftest`) has nothing to build beyond the schema's ranges; it hands
the cube's exact cell count to the size guard of ``nre study check``.
"""

from __future__ import annotations

import json
from pathlib import Path

from studies.kinds import CaseInputs, register_kind
from studies.schema import SCHEMA, Field

__all__ = ["check_selftest", "run_selftest"]

SCHEMA.add_section(
    "base.selftest",
    [
        Field("edge_mm", float, default=1.0, low=0.0, low_open=True, high=1e3, unit="mm",
              doc="Edge of the cube"),
        Field("cells_per_side", int, default=4, low=1, high=64, doc="Hexahedra per edge"),
    ],
)


def run_selftest(params: dict, comm, workdir: Path) -> dict:
    """Assemble the volume and surface of a cube on ``comm``; see the module docstring."""
    import ufl
    from dolfinx import fem, mesh

    spec = params["selftest"]
    n, edge = spec["cells_per_side"], spec["edge_mm"]
    domain = mesh.create_box(
        comm, [[0.0, 0.0, 0.0], [edge, edge, edge]], [n, n, n], mesh.CellType.hexahedron
    )
    one = fem.Constant(domain, 1.0)
    volume = comm.allreduce(fem.assemble_scalar(fem.form(one * ufl.dx)))
    area = comm.allreduce(fem.assemble_scalar(fem.form(one * ufl.ds)))
    cells = domain.topology.index_map(3).size_global
    if comm.rank == 0:
        curves = Path(workdir) / "curves"
        curves.mkdir(exist_ok=True)
        # A curve to exercise the per-case layout: volume of the cube scaled by t in [0, 1].
        ts = [i / 4 for i in range(5)]
        (curves / "volume_scaling.json").write_text(
            json.dumps({"t": ts, "volume_mm3": [volume * t**3 for t in ts]})
        )
    return {
        "volume_mm3": float(volume),
        "area_mm2": float(area),
        "cells": int(cells),
        "ranks": int(comm.size),
    }


def check_selftest(params: dict) -> CaseInputs:
    """The cube the case will mesh: ``cells_per_side``^3 hexahedra (an exact count)."""
    n = params["selftest"]["cells_per_side"]
    return CaseInputs(meshes=(("selftest.cells_per_side", "the selftest cube", n**3),))


def _cost(params: dict) -> float:
    # Start-up and JIT dominate at these sizes; the mesh term keeps large n honest.
    return 2.0 + 1e-4 * params["selftest"]["cells_per_side"] ** 3


register_kind("selftest", run_selftest, cost_core_s=_cost, check=check_selftest)
