"""Burst of the rated PTA balloon, free and in its channel: mesh dependence and oversizing sweep.

Run: ``python -m hpc.benchmarks.balloon_burst [--tables M S] [--json out.json]``, under
``mpirun`` too. The 5.0 mm balloon (6 atm nominal, 14 atm RBP, 1.5 %/atm, 25 um film, strength
240 MPa, CoV 5 %) of :func:`fem.balloon.burst.solve_balloon_burst`:

* ``M``: the free and the rigid-channel (4.9 mm) burst at element sizes 1.0 and 0.5 mm.
* ``S``: oversizing 0.9-1.5 (channel rest diameter 5.0 / oversizing) x wall stiffness 0.3 and
  3 MPa/mm (and rigid where the channel is wider than the film at rest): the burst in the channel
  (FE, balloon with cones) beside the body as a closed-end cylinder on the wall.

Measured results are in the README ("Balloon film: burst and needle").
"""

from __future__ import annotations

import argparse
import json
import math
import time

import hpc.stack  # noqa: F401  (orders MPI before DOLFINx; keep first)

from mpi4py import MPI

from fem.balloon.burst import BalloonBurstCase, BurstSearch, solve_balloon_burst

KEYS = ("free_burst_atm", "free_burst_region", "confined_burst_atm", "confined_burst_mode",
        "confined_burst_region", "free_burst_p999_atm", "confined_burst_p999_atm",
        "closed_form_free_atm", "closed_form_supported_atm", "start_pressure_atm")


def _row(comm, tag, case, search) -> dict:
    t0 = time.perf_counter()
    res = solve_balloon_burst(case, comm, search=search)
    row = {"oversizing": case.oversizing, "wall_MPa_per_mm": case.wall_stiffness_MPa_per_mm,
           "size_mm": case.mesh_size_mm, **{k: res[k] for k in KEYS},
           "z_mm": (res["confined"]["state"] or {}).get("max_principal_z_mm"),
           "time_s": time.perf_counter() - t0}
    if comm.rank == 0:
        print(tag, row, flush=True)
    return row


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(prog="python -m hpc.benchmarks.balloon_burst",
                                 description=__doc__.splitlines()[0])
    ap.add_argument("--tables", nargs="+", default=["M", "S"], choices=("M", "S"))
    ap.add_argument("--json", default=None)
    args = ap.parse_args(argv)
    comm = MPI.COMM_WORLD
    search = BurstSearch(step_atm=2.0, tolerance_atm=0.02)
    out: dict = {"ranks": comm.size}
    if "M" in args.tables:
        out["M"] = [_row(comm, "M", BalloonBurstCase(oversizing=5.0 / 4.9,
                                                     wall_stiffness_MPa_per_mm=math.inf,
                                                     mesh_size_mm=h), search)
                    for h in (1.0, 0.5)]
    if "S" in args.tables:
        rows = []
        for over in (0.9, 1.0, 1.1, 1.25, 1.5):
            for k in (0.3, 3.0, math.inf):
                if k == math.inf and over > 1.05:  # a rigid wall narrower than the film
                    continue
                rows.append(_row(comm, "S", BalloonBurstCase(oversizing=over,
                                                             wall_stiffness_MPa_per_mm=k),
                                 search))
        out["S"] = rows
    if args.json and comm.rank == 0:
        with open(args.json, "w") as fh:
            json.dump(out, fh, indent=1, default=lambda x: None)
    return out


if __name__ == "__main__":
    main()
