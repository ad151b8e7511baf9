"""Mesh objectivity of the puncture force: F* on three mesh levels of one outer-wall case.

Run: ``python -m hpc.benchmarks.puncture_mesh_levels [levels...]``. Prints one line
per level (cells, status, F*, d*, wall time) and the change between the two finest levels, for
the default puncture case (:class:`fem.needle.puncture.PunctureCase` defaults: 18 G lancet, PACSS 3,
6 atm, default fracture energies; outer wall and flap).
"""

from __future__ import annotations

import sys
import time

import hpc.stack  # noqa: F401  (orders MPI before DOLFINx; keep first)

from mpi4py import MPI

from fem.needle.puncture import PunctureCase, solve_event


def main(levels: list[int]) -> None:
    comm = MPI.COMM_WORLD
    for event in ("outer_wall", "flap"):
        forces = []
        for level in levels:
            case = PunctureCase(mesh_level=level, events=(event,))
            tic = time.perf_counter()
            rec = solve_event(case, event, comm)
            wall = time.perf_counter() - tic
            forces.append(rec["puncture_force_N"])
            if comm.rank == 0:
                print(f"{event} level {level}: cells {rec['cells']} {rec['status']} "
                      f"F* {rec['puncture_force_N']:.5f} N "
                      f"d* {rec['puncture_displacement_mm']:.4f} mm ({wall:.1f} s)", flush=True)
        if comm.rank == 0 and len(forces) >= 2:
            print(f"{event}: F* change between the two finest levels: "
                  f"{abs(forces[-1] - forces[-2]) / abs(forces[-1]) * 100:.2f} %")


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [0, 1, 2])
