"""``nre solve``: one balloon or puncture case from options or a study-style TOML file."""

from __future__ import annotations

import argparse
import json
import pathlib


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("solve", help="solve one balloon or puncture case and print its summary",
                       description="Solve one case with the same inputs as a study's base table "
                       "(options override the file) and write its results.")
    kinds = p.add_subparsers(dest="kind", metavar="KIND")
    kinds.required = True
    for kind, text in (("balloon", "balloon pressure problem: wall and balloon in equilibrium"),
                       ("puncture", "needle puncture: F*, d*, force curve per event")):
        k = kinds.add_parser(kind, help=text)
        k.add_argument("--params", type=pathlib.Path,
                       help="TOML file with a base table (the [base.*] sections of a study)")
        k.add_argument("--grade", help="calcification grade, e.g. pacss-3")
        k.add_argument("--pressure-atm", type=float, help="balloon pressure in atm")
        k.add_argument("--calcium-modulus-mpa", type=float, help="calcium Young's modulus, MPa")
        k.add_argument("--gauge", type=int, help="needle gauge (18, 20, 21, 22)")
        k.add_argument("--level", type=int, help="mesh level (0 = default sizes)")
        k.add_argument("--out", type=pathlib.Path, default=pathlib.Path(f"results/solve-{kind}"),
                       help="output folder")
        if kind == "puncture":
            k.add_argument("--balloon-state", type=pathlib.Path,
                           help="balloon_path_state.json written by `nre solve balloon` (or a "
                           "study case): start from the balloon's state on the needle path")
        k.set_defaults(handler=run)


def _params(args: argparse.Namespace) -> dict:
    params: dict = {}
    if args.params is not None:
        from studies.cli import read_toml_file

        data = read_toml_file(args.params, option="--params")
        params = data.get("base", data)
    for value, path in ((args.grade, ("calcification", "grade")),
                        (args.pressure_atm, ("balloon", "pressure_atm")),
                        (args.calcium_modulus_mpa, ("calcium", "modulus_MPa")),
                        (args.gauge, ("needle", "gauge")), (args.level, ("mesh", "level"))):
        if value is not None:
            params.setdefault(path[0], {})[path[1]] = value
    return params


def run(args: argparse.Namespace) -> int:
    from studies.kinds import get_kind, load_kind_modules
    from studies.schema import SCHEMA

    load_kind_modules()
    issues: list = []
    resolved = SCHEMA.resolve(_params(args), "base", issues)
    if issues:  # the same checks as a study file: key, what is wrong, allowed range
        raise ValueError("; ".join(f"{i.key}: {i.message}"
                                   for i in issues))
    import hpc.stack  # noqa: F401

    from mpi4py import MPI

    comm = MPI.COMM_WORLD
    out = args.out
    state = getattr(args, "balloon_state", None)
    if state is not None and not state.is_file():
        raise ValueError(f"--balloon-state = {str(state)!r} is not a file")
    if comm.rank == 0:
        out.mkdir(parents=True, exist_ok=True)
        if state is not None:
            from fem.balloon.prestress import PATH_STATE_FILE, read_path_state, write_path_state

            write_path_state(read_path_state(state), out / PATH_STATE_FILE)
    comm.barrier()
    result = get_kind(args.kind).run(resolved, comm, out)
    if comm.rank == 0:
        (out / f"{args.kind}.json").write_text(json.dumps(result, indent=2, default=str))
        width = max(len(k) for k in result)
        for key, value in result.items():
            if not isinstance(value, list):
                print(f"  {key:<{width}}  {value}")
        if args.kind == "puncture":
            for line in puncture_summary(result, resolved):
                print(line)
        print(f"wrote {out / (args.kind + '.json')}")
    return 1 if result.get("status") == "failed" else 0


def _yes_no(flag: bool | None, missing: list[str]) -> str:
    if flag is None:
        return f"unknown (no F* for {', '.join(missing)})" if missing else "unknown"
    return "yes" if flag else "no"


def _fmt(x: float | None, spec: str = ".3g") -> str:
    return "unknown" if x is None else format(x, spec)


def puncture_summary(result: dict, params: dict) -> list[str]:
    """Plain-language lines on balloon rupture and device feasibility of a puncture result."""
    rup = params.get("rupture", {})
    gauge = params.get("needle", {}).get("gauge", 18)
    limit = params.get("reentry_device", {}).get("force_limit_N")
    # failed, stopped at the travel limit or not solved: F* unknown
    missing = [e for e in ("outer_wall", "flap") if result.get(f"{e}_status") != "punctured"]
    lines = [
        f"balloon film: {result['balloon_rupture_mode']} "
        f"(K {result['balloon_stress_intensity_MPa_sqrt_m']:.3g} vs K_c "
        f"{rup.get('film_toughness_MPa_sqrt_m', 4.0):.3g} MPa*sqrt(m); pinhole up to "
        f"{result['balloon_pinhole_limit_atm']:.3g} atm"
        + ("" if result["balloon_folias_valid"] else "; Folias factor extrapolated")
        + f"), puncture force {_fmt(result['balloon_puncture_force_N'])} N",
        f"{gauge} G needle: Euler load {result['needle_euler_load_N']:.3g} N, required "
        f"{_fmt(result['needle_required_N'])} N"
        + (f" ({result['needle_limiting_event']})" if result["needle_limiting_event"] else "")
        + f" -> feasible: {_yes_no(result['feasible_needle'], missing)}",
        f"re-entry device ({_fmt(limit)} N) through the flap: "
        f"{_yes_no(result['feasible_reentry_device'], [e for e in missing if e == 'flap'])}"
        "; flap punctured by: "
        f"{result['flap_punctured_by'] or 'unknown'}",
    ]
    return lines
