"""The axisymmetric reduced model against the 3-D model: F(d) of a needle on a layered wall.

Run: ``python -m hpc.benchmarks.axisymmetric_vs_3d [options]`` (``--help``), under ``mpirun``
too. The wall is the PACSS-0 outer wall (adventitia 0.35 mm over media 0.6 mm, neo-Hookean,
clamped rim, far face on the 6 atm balloon support), disc radius ``--radius-factor`` needle
diameters; :mod:`fem.needle.indentation` solves it in both models. Prints, per depth, the force
of each model and the relative difference of the 3-D force, then the mesh sizes, sizes and
wall times.

Measured serially (3-D / axisymmetric - 1 at each depth; the run times are in the README's
3-D check and in ``nre bench``'s ``contact3d`` rows)::

    # 18 G hemisphere, d = 0.05 / 0.1 / 0.2 mm
    --fine-3d 0.12 --fine-axi 0.04 --fine-radius 0.6    +0.38 / -0.09 / -0.19 %  (1.8 k tets)
    --fine-3d 0.15 --fine-axi 0.04                      +2.44 / -0.21 / -0.35 %  (2.0 k tets)
    --fine-3d 0.08 --coarse-3d 0.4 --fine-axi 0.01 --fine-radius 0.95
                                                        -0.05 / -0.02 / -0.35 %  (8.2 k tets)
    # 30 deg cone, 50 um tip, d = 0.1 / 0.2 / 0.3 mm (axisymmetric 0.02 mm: 0.00695, 0.0208,
    # 0.0432 N; its own spread over 0.01-0.04 mm meshes ~1 %)
    --tip conical --fine-3d 0.04 --fine-radius 0.25     +1.2 / +1.5 / +0.8 %  (3.7 k tets)
    # lancet bevel (3-D half disc) vs the axisymmetric model's 30 deg cone, d = 0.1 / 0.2 mm
    --tip lancet --sector half --fine-3d 0.06 --fine-radius 0.4 --fine-radius-axi 0.25
                                                        +44 / +56 %  (6.6 k tets)

The axisymmetric cone stopped with a recorded failure (line search at a residual just above
the floor) on some fine meshes (0.01 and 0.0125 mm within 0.25 mm; 0.02 mm within 0.4 mm);
the 3-D runs above did not.
"""

from __future__ import annotations

import argparse

import hpc.stack  # noqa: F401  (orders MPI before DOLFINx; keep first)

from mpi4py import MPI

from fem.needle.indentation import IndentationSpec, solve_indentation
from fem.needle.puncture import PunctureCase


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="python -m hpc.benchmarks.axisymmetric_vs_3d",
                                 description=__doc__.splitlines()[0])
    ap.add_argument("--tip", default="spherical", choices=("spherical", "conical", "lancet"))
    ap.add_argument("--tip-angle", type=float, default=30.0, help="cone/bevel angle (deg)")
    ap.add_argument("--tip-radius", type=float, default=0.05, help="cone apex radius (mm)")
    ap.add_argument("--radius-factor", type=float, default=2.0, help="disc radius / OD")
    ap.add_argument("--sector", default="quarter", choices=("quarter", "half", "full"))
    ap.add_argument("--depths", type=float, nargs="+", default=[0.05, 0.1, 0.2])
    ap.add_argument("--fine-3d", type=float, default=0.15, help="3-D size at the tip (mm)")
    ap.add_argument("--coarse-3d", type=float, default=0.5, help="3-D largest size (mm)")
    ap.add_argument("--fine-axi", type=float, default=0.02, help="axisymmetric size (mm)")
    ap.add_argument("--coarse-axi", type=float, default=0.2, help="axisymmetric largest (mm)")
    ap.add_argument("--fine-radius", type=float, default=None,
                    help="radius of the fine zone (mm; default: the case's)")
    ap.add_argument("--fine-radius-axi", type=float, default=None,
                    help="axisymmetric fine zone if other than --fine-radius (mm)")
    return ap.parse_args(argv)


def main(argv: list[str] | None = None) -> list[dict]:
    args = parse(argv)
    comm = MPI.COMM_WORLD
    case = PunctureCase(grade="pacss-0", tip=args.tip, tip_angle_deg=args.tip_angle,
                        tip_radius_mm=args.tip_radius, disc_radius_factor=args.radius_factor,
                        mesh_level=0)
    common = dict(case=case, depths_mm=tuple(args.depths))
    r_axi = args.fine_radius if args.fine_radius_axi is None else args.fine_radius_axi
    axi = solve_indentation(IndentationSpec(model="axisymmetric", fine_size_mm=args.fine_axi,
                                            coarse_size_mm=args.coarse_axi,
                                            fine_radius_mm=r_axi, **common), comm)
    full = solve_indentation(IndentationSpec(model="3d", sector=args.sector,
                                             fine_size_mm=args.fine_3d,
                                             coarse_size_mm=args.coarse_3d,
                                             fine_radius_mm=args.fine_radius, **common), comm)
    if comm.rank == 0:
        name = "lancet bevel (3-D) vs its equivalent cone" if args.tip == "lancet" else args.tip
        print(f"{name}, 18 G, disc radius {axi['radius_mm']:.3f} mm, "
              f"{comm.size} rank(s)")
        print(f"{'d (mm)':>8} {'F axisym (N)':>14} {'F 3-D (N)':>12} {'3-D / axi - 1':>14}")
        for d, fa, f3 in zip(args.depths, axi["forces_N"], full["forces_N"], strict=True):
            print(f"{d:8.3f} {fa:14.6f} {f3:12.6f} {f3 / fa - 1.0:+14.2%}")
        for rec in (axi, full):
            print(f"{rec['model']:>12} {rec['sector']:>7}: fine {rec['fine_size_mm']:g} mm, "
                  f"coarse {rec['coarse_size_mm']:g} mm, fine radius "
                  f"{rec['fine_radius_mm']:.3f} mm, {rec['cells']} cells, {rec['dofs']} dofs, "
                  f"{rec['steps']} steps, {rec['newton_iterations']} Newton its, setup "
                  f"{rec['setup_time_s']:.1f} s, solve {rec['solve_time_s']:.1f} s"
                  + ("" if rec["converged"] else f", FAILED: {rec['failure']}"))
    return [axi, full]


if __name__ == "__main__":
    main()
