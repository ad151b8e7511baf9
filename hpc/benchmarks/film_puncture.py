"""The FE balloon film under the needle against the closed forms: where they agree, where they part.

Run: ``python -m hpc.benchmarks.film_puncture [--tables A B C D] [--json out.json]``, under
``mpirun`` too. Tables:

* ``A``: flat punch (18 G, a = 0.635 mm) on a flat free film pre-tensioned to ``T``, clamped at
  R = 2.5 mm, energy criterion ``W = G t w``: FE against the small-deflection closed form
  (:func:`fem.closed_form.rupture.film_puncture`) over the closed form's ``film_stretch_ratio``
  (toughness and tension swept). Sets :data:`fem.closed_form.rupture.FILM_SMALL_DEFLECTION_MAX`.
* ``B``: the film lying on a plane wall (contact pressure ``p_c``) lifted off by the flat punch,
  against :func:`fem.closed_form.rupture.supported_film_puncture`.
* ``C``: the balloon cases: the 5.0 mm balloon's film at 2, 6 and 10 atm
  (:func:`fem.closed_form.rupture.film_site_in_channel`, 4.0 mm channel, soft wall), on the wall
  and free, 18 G lancet (30 deg cone, 50 um tip) on the balloon's cylinder, energy criterion,
  beside the closed form the study used before (``balloon_puncture_force_N`` with its stretch
  ratio).
* ``D``: mesh dependence of table C's 6 atm films (tip zone 0.04 / 0.02 mm).
* ``E``: the strength criterion (240 MPa) on the 6 atm film on the wall at tip zones 0.04 /
  0.02 / 0.01 mm: the membrane's peak stress under the 50 um tip, which is why it is not the
  default.

Measured results are in the README ("Balloon film: burst and needle").
"""

from __future__ import annotations

import argparse
import json
import math
import time

import hpc.stack  # noqa: F401  (orders MPI before DOLFINx; keep first)

from mpi4py import MPI

from fem.balloon.film_puncture import FilmPunctureCase, FilmState, solve_film_puncture
from fem.closed_form.rupture import (
    ATM_MPA,
    FilmRupture,
    balloon_rupture,
    film_puncture,
    film_site_in_channel,
    supported_film_puncture,
)
from fem.needle.geometry import Needle

A = 0.635
R = 2.5
H = 0.025
E = 1500.0


def _print(comm, *args) -> None:
    if comm.rank == 0:
        print(*args, flush=True)


def table_a(comm) -> list[dict]:
    rows = []
    needle = Needle.from_gauge(18, tip="flat")
    for T, kc in ((1.0, 0.5), (1.0, 1.0), (1.0, 2.0), (1.0, 4.0), (1.0, 6.0), (0.358, 4.0)):
        case = FilmPunctureCase(FilmState(0.0, T, T), needle, toughness_MPa_sqrt_m=kc,
                                fine_size_mm=0.05, coarse_size_mm=0.25, step_mm=0.01,
                                max_depth_mm=1.5)
        g = case.fracture_energy_N_per_mm
        f_cf, d_cf, _ = film_puncture(T, g, H, 1.27, A, R)
        slope = d_cf / (A * math.log(R / A))
        ratio = E * H * slope**2 / (2.0 * T)
        t0 = time.perf_counter()
        res = solve_film_puncture(case, comm)
        rows.append({"T_N_per_mm": T, "K_c": kc, "stretch_ratio": ratio, "F_cf_N": f_cf,
                     "F_fe_N": res.puncture_force_N, "F_fe_over_cf": res.puncture_force_N / f_cf,
                     "d_cf_mm": d_cf, "d_fe_mm": res.puncture_depth_mm,
                     "energy_balance": res.energy_balance_error, "status": res.status,
                     "steps": res.steps, "newton": res.newton_iterations, "cells": res.cells,
                     "time_s": time.perf_counter() - t0})
        _print(comm, "A", rows[-1])
    return rows


def table_b(comm) -> list[dict]:
    rows = []
    needle = Needle.from_gauge(18, tip="flat")
    for pc, kc in ((0.05, 1.0), (0.1, 1.0), (0.2, 1.0), (0.1, 4.0)):
        T = 1.0
        case = FilmPunctureCase(FilmState(pc, T, T, support="wall"), needle,
                                toughness_MPa_sqrt_m=kc, fine_size_mm=0.05, coarse_size_mm=0.25,
                                step_mm=0.01, max_depth_mm=1.5)
        cf = supported_film_puncture(pc, T, case.fracture_energy_N_per_mm, H, 1.27, A)
        t0 = time.perf_counter()
        res = solve_film_puncture(case, comm)
        rows.append({"p_c_MPa": pc, "K_c": kc, "F_cf_N": cf["force_N"],
                     "F_fe_N": res.puncture_force_N,
                     "F_fe_over_cf": res.puncture_force_N / cf["force_N"],
                     "d_cf_mm": cf["depth_mm"], "d_fe_mm": res.puncture_depth_mm,
                     "Rd_cf_mm": cf["liftoff_radius_mm"], "Rd_fe_mm": res.liftoff_radius_mm,
                     "status": res.status, "steps": res.steps, "cells": res.cells,
                     "time_s": time.perf_counter() - t0})
        _print(comm, "B", rows[-1])
    return rows


def _balloon_case(pressure_atm: float, support: str, fine: float, strength: float = math.inf,
                  fine_radius: float = 0.8) -> tuple[FilmPunctureCase, dict]:
    site = film_site_in_channel(pressure_atm)
    p = pressure_atm * ATM_MPA
    state = (FilmState.on_wall(p, site.radius_mm, site.contact_pressure_MPa)
             if support == "wall" else FilmState.free_balloon(p, site.free_radius_mm))
    lancet = Needle.from_gauge(18, tip="lancet", tip_angle_deg=30.0, tip_radius_mm=0.05)
    case = FilmPunctureCase(state, lancet, fine_size_mm=fine, fine_radius_mm=fine_radius,
                            coarse_size_mm=0.3, step_mm=0.02, max_depth_mm=3.0,
                            strength_MPa=strength)
    old = balloon_rupture(pressure_atm, A, film=FilmRupture())
    return case, {"old_closed_form_F_N": old["film_puncture_force_N"],
                  "old_stretch_ratio": old["film_stretch_ratio"],
                  "contact_pressure_MPa": state.contact_pressure_MPa,
                  "radius_mm": state.radius_mm,
                  "hoop_tension_N_per_mm": state.hoop_tension_N_per_mm}


def table_c(comm, pressures=(2.0, 6.0, 10.0), fine=0.04, tag="C", supports=("wall", "free"),
            strength=math.inf, fine_radius=0.8) -> list[dict]:
    rows = []
    for p in pressures:
        for support in supports:
            case, extra = _balloon_case(p, support, fine, strength, fine_radius)
            t0 = time.perf_counter()
            res = solve_film_puncture(case, comm)
            rows.append({"pressure_atm": p, "support": support, **extra,
                         "F_fe_N": res.puncture_force_N, "d_fe_mm": res.puncture_depth_mm,
                         "criterion": res.criterion, "status": res.status,
                         "max_principal_MPa": res.max_principal_at_puncture_MPa,
                         "liftoff_mm": res.liftoff_radius_mm,
                         "energy_balance": res.energy_balance_error, "fine_mm": fine,
                         "cells": res.cells, "steps": res.steps,
                         "newton": res.newton_iterations, "time_s": time.perf_counter() - t0})
            _print(comm, tag, rows[-1])
    return rows


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(prog="python -m hpc.benchmarks.film_puncture",
                                 description=__doc__.splitlines()[0])
    ap.add_argument("--tables", nargs="+", default=["A", "B", "C", "D", "E"],
                    choices=("A", "B", "C", "D", "E"))
    ap.add_argument("--json", default=None, help="write the rows here")
    args = ap.parse_args(argv)
    comm = MPI.COMM_WORLD
    out: dict = {"ranks": comm.size}
    if "A" in args.tables:
        out["A"] = table_a(comm)
    if "B" in args.tables:
        out["B"] = table_b(comm)
    if "C" in args.tables:
        out["C"] = table_c(comm)
    if "D" in args.tables:
        out["D"] = table_c(comm, pressures=(6.0,), fine=0.02, tag="D")
    if "E" in args.tables:
        out["E"] = [row for fine, radius in ((0.04, 0.8), (0.02, 0.8), (0.01, 0.4))
                    for row in table_c(comm, pressures=(6.0,), fine=fine, tag="E",
                                       supports=("wall",), strength=240.0,
                                       fine_radius=radius)]
    if args.json and comm.rank == 0:
        with open(args.json, "w") as fh:
            json.dump(out, fh, indent=1, default=lambda x: None)
    return out


if __name__ == "__main__":
    main()
