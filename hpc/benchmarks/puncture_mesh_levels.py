"""Mesh objectivity of the puncture force: F* on three mesh levels of one outer-wall case.

Run: ``python -m hpc.benchmarks.puncture_mesh_levels [levels...]``. Prints one line
per level (cells, status, F*, d*, wall time) and the change between the two finest levels.
The case is the one the trend tests use (hemispherical 18 G tip, crack width OD/4, 2 atm).
"""

from __future__ import annotations

import sys
import time

import hpc.stack  # noqa: F401  (orders MPI before DOLFINx; keep first)

from mpi4py import MPI

from fem.puncture import PunctureCase, PunctureCriterion, solve_event


def main(levels: list[int]) -> None:
    comm = MPI.COMM_WORLD
    forces = []
    for level in levels:
        case = PunctureCase(tip="spherical", mesh_level=level, events=("outer_wall",),
                            balloon_pressure_atm=2.0,
                            criterion=PunctureCriterion(crack_width_factor=0.25))
        tic = time.perf_counter()
        rec = solve_event(case, "outer_wall", comm)
        wall = time.perf_counter() - tic
        forces.append(rec["puncture_force_N"])
        if comm.rank == 0:
            print(f"level {level}: cells {rec['cells']} {rec['status']} "
                  f"F* {rec['puncture_force_N']:.5f} N d* {rec['puncture_displacement_mm']:.4f} mm "
                  f"({wall:.1f} s)", flush=True)
    if comm.rank == 0 and len(forces) >= 2:
        print(f"F* change between the two finest levels: "
              f"{abs(forces[-1] - forces[-2]) / abs(forces[-1]) * 100:.2f} %")


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [0, 1, 2])
