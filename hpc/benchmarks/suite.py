"""The benchmark suite: plan, launch every measurement under ``mpirun``, tabulate, judge.

``python -m hpc.benchmarks [--size tiny|small|full] [--ranks 1,2] [--only GROUP,...]
[--json FILE]`` (or ``nre bench ...``). For each rank count, each benchmark runs in its own
process (``mpirun -n R python -m hpc.benchmarks.measure``), all its mesh levels in ascending
order, so its peak memory is its own. Ours run first; the plain baselines are then sized to
the DOF counts ours reached. After the solver benchmarks come, once, the calcium-contrast
sweep, the cold/warm case, the mesh generation and the sweep throughput. The parent prints one
table and the target verdicts and writes everything as JSON (default
``results/benchmarks/bench-<size>-<time>.json``).

Groups (``--only``): ``linear``, ``calcium``, ``newton``, ``puncture``, ``contact``,
``contact3d``, ``case``, ``mesh``, ``sweep``. A measurement that fails or times out is
recorded with its error and the suite goes on.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from hpc.benchmarks.analysis import (
    evaluate_targets,
    fit_exponent,
    format_table,
    parallel_efficiency,
)

_REPO = Path(__file__).resolve().parents[2]

GROUPS = ("linear", "calcium", "newton", "puncture", "contact", "contact3d", "case", "mesh",
          "sweep")

#: The 3-D contact check (README, ``hpc.benchmarks.axisymmetric_vs_3d``): quarter disc meshes.
_SPHERE_2K = {"tip": "spherical", "fine_mm": 0.15, "coarse_mm": 0.5, "fine_radius_mm": None,
              "depths_mm": [0.05, 0.1, 0.2]}
_CONE_3K7 = {"tip": "conical", "fine_mm": 0.04, "coarse_mm": 0.5, "fine_radius_mm": 0.25,
             "depths_mm": [0.1, 0.2, 0.3]}
_SPHERE_8K2 = {"tip": "spherical", "fine_mm": 0.08, "coarse_mm": 0.4, "fine_radius_mm": 0.95,
               "depths_mm": [0.05, 0.1, 0.2]}

#: What each size measures. Artery/balloon ``scales`` multiply every element size of the
#: default artery mesh (smaller = finer); puncture ``levels`` are the study's mesh levels;
#: Hertz ``fine_mm`` is the element size under the sphere.
SIZES: dict[str, dict] = {
    "tiny": {
        "artery_scales": [4.0, 3.0, 2.2], "calcium_scale": 4.0, "moduli": [None, 20000.0],
        "balloon_scales": [2.4, 1.7, 1.2], "puncture_levels": [0, 1, 2],
        "hertz_fine_mm": [0.1, 0.07, 0.05], "mesh_scale": 4.0, "case_kinds": ["puncture"],
        "contact3d": [{"tip": "spherical", "fine_mm": 0.3, "coarse_mm": 0.6,
                       "fine_radius_mm": 0.5, "depths_mm": [0.02]}],
        "sweep": "selftest", "timeout_s": 600,
    },
    "small": {
        "artery_scales": [3.0, 2.0, 1.4, 1.0], "calcium_scale": 2.0,
        "moduli": [None, 10.0, 100.0, 1000.0, 10000.0, 20000.0],
        "balloon_scales": [2.0, 1.2, 0.7], "puncture_levels": [1, 2, 3],
        "hertz_fine_mm": [0.05, 0.025, 0.0125], "mesh_scale": 1.4, "case_kinds": None,
        "contact3d": [_SPHERE_2K],
        "sweep": "default-2", "timeout_s": 1800,
    },
    "full": {
        "artery_scales": [2.0, 1.4, 1.0, 0.8, 0.65], "calcium_scale": 1.4,
        "moduli": [None, 10.0, 100.0, 1000.0, 10000.0, 20000.0],
        "balloon_scales": [1.2, 0.7, 0.4, 0.25], "puncture_levels": [2, 3, 4],
        "hertz_fine_mm": [0.05, 0.025, 0.0125, 0.00625], "mesh_scale": None,
        "contact3d": [_SPHERE_2K, _CONE_3K7, _SPHERE_8K2],
        "case_kinds": None, "sweep": "default", "timeout_s": 3600,
    },
}

#: The Hertz problem: sphere radius and indentation (contact radius sqrt(R d) = 0.16 mm).
HERTZ = {"sphere_radius_mm": 2.5, "depth_mm": 0.01}

DESCRIPTIONS = {
    "elasticity_box": ("baseline", "plain DOLFINx: linear elasticity, unit cube, P1, "
                       "CG + GAMG (rigid-body near-nullspace), rtol 1e-8; one solve"),
    "box_linear": ("diagnostic", "ours on the baseline's box and material: "
                   "HyperelasticProblem, P1, GMRES + GAMG, rtol 1e-8; one linearised solve"),
    "artery_linear": ("ours", "ours: 3-D artery (pacss-1, filled lumen), P1, GMRES + GAMG, "
                      "rtol 1e-8; one linearised solve"),
    "neohookean_box": ("baseline", "plain DOLFINx: compressible neo-Hookean square, plane "
                       "strain, P2, SNES + MUMPS; 3 load steps to 20 % stretch"),
    "balloon_newton": ("ours", "ours: balloon wall on the section, mixed P2-P1, MUMPS; "
                       "pre-stretch + 0.5 atm contact ramps"),
    "puncture_step": ("ours", "ours: outer-wall puncture event (18 G hemispherical tip, "
                      "2 atm), needle steps to puncture"),
    "hertz_penalty": ("baseline", "plain DOLFINx: sphere into axisymmetric block, plain "
                      "penalty, SNES + CG/GAMG; 2 load steps"),
    "hertz_contact": ("ours", "ours: same Hertz problem, penalty + augmented Lagrangian, "
                      "MUMPS; 2 load steps"),
    "box_newton": ("diagnostic", "ours on the baseline's square and material: "
                   "HyperelasticProblem, displacement P2, MUMPS; traction ramp"),
    "box_newton_mixed": ("diagnostic", "as box_newton with our mixed P2-P1 (u-p) formulation"),
    "hertz_contact_gamg": ("diagnostic", "ours on the Hertz problem with GMRES + GAMG instead "
                           "of MUMPS"),
    "contact3d": ("ours", "ours: the README's 3-D contact check (quarter disc, needle to 3 "
                  "depths), LU factors kept across Newton iterations, critical-point line "
                  "search"),
    "contact3d_direct": ("diagnostic", "the same with the solver options it had before: an "
                         "LU factorisation at every Newton iteration, backtracking"),
}


@dataclass
class SuiteOptions:
    """What to run.

    Attributes:
        size: ``tiny`` (about 1-2 minutes on 2 cores), ``small`` (5-10 minutes) or ``full``.
        ranks: rank counts for the solver benchmarks (the first also runs the one-off ones).
        only: groups to run (empty: all, see :data:`GROUPS`).
        json_path: where the JSON goes (None: ``out_dir/bench-<size>-<time>.json``).
        out_dir: folder of the JSON and of the mesh cache.
        timeout_s: limit per measurement process (None: the size's).
    """

    size: str = "small"
    ranks: tuple[int, ...] = (1, 2)
    only: tuple[str, ...] = ()
    json_path: Path | None = None
    out_dir: Path = field(default_factory=lambda: Path("results/benchmarks"))
    timeout_s: float | None = None

    def __post_init__(self) -> None:
        if self.size not in SIZES:
            raise ValueError(f"size = {self.size!r} must be one of {tuple(SIZES)}")
        if not self.ranks or any(r < 1 for r in self.ranks):
            raise ValueError(f"ranks = {self.ranks!r} must be positive integers")
        bad = [g for g in self.only if g not in GROUPS]
        if bad:
            raise ValueError(f"only = {bad!r}: groups are {GROUPS}")

    def wants(self, group: str) -> bool:
        return not self.only or group in self.only


def default_ranks() -> tuple[int, ...]:
    """1, 2, 4, ... up to the cores of this machine (at least 1 and 2)."""
    cores = os.cpu_count() or 1
    out, r = [1, 2], 4
    while r <= cores:
        out.append(r)
        r *= 2
    return tuple(out)


class Launcher:
    """Runs measurement processes under the venv's ``mpirun``, each in a fresh task folder."""

    def __init__(self, work: Path, mesh_cache: Path, timeout_s: float, log=print) -> None:
        self.work, self.mesh_cache, self.timeout_s, self.log = work, mesh_cache, timeout_s, log
        self.case_cache: Path | None = None  # the cold/warm case's caches, reused by the sweep
        self._n = 0

    def env(self, **extra: str) -> dict:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(_REPO), env.get("PYTHONPATH")) if p)
        env["NRE_CACHE_DIR"] = str(self.mesh_cache)
        env.update(extra)
        return env

    def run(self, task: str, args: dict, ranks: int, env: dict | None = None) -> dict:
        """Run one task; returns the measurement's JSON plus ``wall_s`` (or ``error``)."""
        from studies.worker import launch_prefix

        self._n += 1
        folder = self.work / f"{self._n:02d}-{task}-r{ranks}"
        folder.mkdir(parents=True)
        (folder / "task.json").write_text(json.dumps({"task": task, "args": args}))
        cmd = [*launch_prefix("mpirun", ranks), sys.executable, "-m", "hpc.benchmarks.measure",
               str(folder / "task.json"), str(folder / "out.json")]
        load = os.getloadavg()[0]
        tic = time.perf_counter()
        try:
            proc = subprocess.run(cmd, env=env or self.env(), cwd=_REPO, capture_output=True,
                                  text=True, timeout=self.timeout_s)
            code, tail = proc.returncode, (proc.stdout + proc.stderr)[-3000:]
        except subprocess.TimeoutExpired as err:
            code = "timeout"
            tail = ((err.stdout or b"").decode(errors="replace")
                    + (err.stderr or b"").decode(errors="replace"))[-3000:]
        wall = time.perf_counter() - tic
        out_file = folder / "out.json"
        if code == 0 and out_file.is_file():
            out = json.loads(out_file.read_text())
            out["wall_s"], out["load_before"] = wall, load
            self.log(f"  {task} on {ranks} rank(s): {len(out['records'])} record(s) in "
                     f"{wall:.1f} s (load average before: {load:.1f})")
            return out
        self.log(f"  {task} on {ranks} rank(s): FAILED ({code}) after {wall:.1f} s")
        return {"task": task, "ranks": ranks, "records": [], "wall_s": wall,
                "load_before": load, "error": f"exit {code}: {tail}"}


def run_suite(opts: SuiteOptions, log=print) -> dict:
    """Run the suite (module docstring); returns the results written to JSON."""
    size = SIZES[opts.size]
    opts.out_dir.mkdir(parents=True, exist_ok=True)
    mesh_cache = Path(os.environ.get("NRE_CACHE_DIR") or (opts.out_dir / "cache")).resolve()
    work = Path(tempfile.mkdtemp(prefix="nre-bench-"))
    launcher = Launcher(work, mesh_cache, opts.timeout_s or size["timeout_s"], log)
    started = time.perf_counter()
    results: dict = {"meta": _meta(opts), "benchmarks": {}, "errors": []}
    log(f"nre benchmarks: size {opts.size}, ranks {list(opts.ranks)}, "
        f"{os.cpu_count()} core(s), mesh cache {mesh_cache}")
    try:
        artery = (size["artery_scales"] if opts.wants("linear") else []) + (
            [size["calcium_scale"]] if opts.wants("calcium") else [])
        section = size["balloon_scales"] if opts.wants("newton") else []
        if artery or section:
            log("meshes")
            out = launcher.run("prepare_meshes", {"artery_scales": sorted(set(artery)),
                                                  "section_scales": section}, 1)
            results["meshes"] = out["records"][0] if out["records"] else {}
            _keep_error(results, out)
        log("solver benchmarks")
        _solver_benchmarks(launcher, opts, size, results)
        first = opts.ranks[0]
        if opts.wants("calcium"):
            log("calcium contrast")
            out = launcher.run("calcium", {"scale": size["calcium_scale"],
                                           "moduli": size["moduli"]}, first)
            results["calcium"] = {"ranks": first, "records": out["records"],
                                  "wall_s": out["wall_s"]}
            _keep_error(results, out)
        if opts.wants("case"):
            log("cold vs warm case")
            results["case"] = _cold_warm(launcher, size, work)
        if opts.wants("mesh"):
            log("mesh generation")
            out = launcher.run("mesh_generation", {"scale": size["mesh_scale"], "hxt": True}, 1)
            results["mesh_generation"] = out["records"][0] if out["records"] else {}
            _keep_error(results, out)
        if opts.wants("sweep"):
            log("sweep throughput")
            results["sweep"] = _sweep(launcher, size, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    _derive(results)
    results["targets"] = [v.to_dict() for v in evaluate_targets(results)]
    results["meta"]["suite_wall_s"] = time.perf_counter() - started
    return results


def _keep_error(results: dict, out: dict) -> None:
    if out.get("error"):
        results["errors"].append({"task": out["task"], "ranks": out["ranks"],
                                  "error": out["error"]})


def _store(results: dict, name: str, out: dict) -> list[dict]:
    kind, text = DESCRIPTIONS[name]
    entry = results["benchmarks"].setdefault(name, {"kind": kind, "description": text,
                                                    "runs": {}, "process_wall_s": {},
                                                    "load_before": {}})
    entry["runs"][str(out["ranks"])] = out["records"]
    entry["process_wall_s"][str(out["ranks"])] = out["wall_s"]
    entry["load_before"][str(out["ranks"])] = out.get("load_before")
    _keep_error(results, out)
    return out["records"]


def _target_dofs(results: dict, name: str) -> list[int]:
    """DOFs of ``name``'s levels (from its first rank count that ran)."""
    runs = results["benchmarks"].get(name, {}).get("runs", {})
    recs = next((r for r in runs.values() if r), [])
    return [int(r["dofs"]) for r in recs]


def _solver_benchmarks(launcher: Launcher, opts: SuiteOptions, size: dict,
                       results: dict) -> None:
    """Ours, then the baselines at ours' DOFs, each at every rank count back to back (so that
    the 1- and 2-rank runs of one benchmark see the same load on a shared machine); the
    diagnostics on the first rank count only."""
    first = opts.ranks[0]

    def run(name: str, args: dict, all_ranks: bool = True) -> None:
        for ranks in opts.ranks if all_ranks else (first,):
            _store(results, name, launcher.run(name, args, ranks))

    if opts.wants("linear"):
        run("artery_linear", {"scales": size["artery_scales"]})
        dofs = _target_dofs(results, "artery_linear")
        if dofs:
            run("elasticity_box", {"dofs": dofs})
            run("box_linear", {"dofs": dofs}, all_ranks=False)
        out = launcher.run("artery_variants", {"scale": size["artery_scales"][0]}, first)
        results["artery_variants"] = out["records"]
        _keep_error(results, out)
    if opts.wants("newton"):
        run("balloon_newton", {"scales": size["balloon_scales"]})
        dofs = _target_dofs(results, "balloon_newton")
        if dofs:
            run("neohookean_box", {"dofs": dofs})
            run("box_newton", {"dofs": dofs}, all_ranks=False)
            run("box_newton_mixed", {"dofs": dofs}, all_ranks=False)
    if opts.wants("puncture"):
        run("puncture_step", {"levels": size["puncture_levels"]})
    if opts.wants("contact"):
        hertz = {"fine_mm": size["hertz_fine_mm"], **HERTZ}
        run("hertz_contact", hertz)
        run("hertz_penalty", hertz)
        run("hertz_contact_gamg", hertz, all_ranks=False)
    if opts.wants("contact3d"):
        run("contact3d", {"levels": size["contact3d"]})
        run("contact3d_direct", {"levels": size["contact3d"]}, all_ranks=False)


def _cold_warm(launcher: Launcher, size: dict, work: Path) -> dict:
    """The default study's first case three times in fresh processes, caches kept between.

    One cache folder (compiled forms and meshes) starts empty: ``cold`` meets it as a study's
    first case does (meshing and compiling), ``second`` as the next case on the same mesh,
    ``warm`` with everything cached. Each run reports the meshing time of the mesh cache
    entries it wrote and how many form modules it compiled (new shared objects in the form
    cache), so that ``cold - warm - meshing`` is what compiling the forms costs, and a run
    that compiles again where it should not shows up.
    """
    cache = work / "case-cache"
    cache.mkdir()
    env = launcher.env(NRE_CACHE_DIR=str(cache), XDG_CACHE_HOME=str(cache))
    args = {"study": str(_REPO / "studies" / "default.toml"), "index": 0,
            "kinds": size["case_kinds"]}
    out: dict = {"kinds": size["case_kinds"] or "all"}

    def modules() -> int:
        return len(list((cache / "fenics").glob("*.so")))

    for name in ("cold", "second", "warm"):
        wd = work / f"case-{name}"
        wd.mkdir()
        before = modules()
        run = launcher.run("case", {**args, "workdir": str(wd)}, 1, env=env)
        if not run["records"]:
            out[name] = None
            out.setdefault("errors", []).append(run.get("error"))
            continue
        rec = run["records"][0]
        wall = run["wall_s"]
        rec.update(wall_s=wall, startup_s=max(0.0, wall - rec["in_process_s"]),
                   other_s=max(0.0, rec["in_process_s"] - rec["work_s"]),
                   overhead_fraction=max(0.0, wall - rec["work_s"]) / wall,
                   compiled_modules=modules() - before)
        out[name] = rec
    if out.get("cold") and out.get("warm"):
        out["compile_s"] = (out["cold"]["wall_s"] - out["warm"]["wall_s"]
                            - out["cold"]["meshing_s"] + out["warm"]["meshing_s"])
    launcher.case_cache = cache
    return out


SELFTEST_STUDY = """\
[study]
name = "bench-selftest"
solve = ["selftest"]
results_dir = "{results}"

[run]
ranks = 1
parallel_cases = 0

[sweep.grid]
selftest.edge_mm = [1.0, 2.0]
"""


def _sweep_text(kind: str, results: Path) -> str:
    if kind == "selftest":
        return SELFTEST_STUDY.format(results=results)
    text = (_REPO / "studies" / "default.toml").read_text()
    text = text.replace('results_dir = "results/{name}"', f'results_dir = "{results}"')
    if kind == "default-2":
        head, _sep, _grid = text.partition("[sweep.grid]")
        text = (head + '[sweep.grid]\ncalcification.grade = ["pacss-0"]\n'
                'balloon.pressure_atm = [2.0, 6.0]\n')
    return text


def _sweep(launcher: Launcher, size: dict, work: Path) -> dict:
    """Run a small study with the real runner; cases per hour, and the default study's estimate.

    The study uses the cold/warm case's cache when that ran (its forms and meshes are then
    warm, as in a study after its first case), else a fresh one.
    """
    from studies.kinds import load_kind_modules
    from studies.study import load_study

    load_kind_modules()
    kind = size["sweep"]
    results_dir = work / "sweep-results"
    study_file = work / "sweep.toml"
    study_file.write_text(_sweep_text(kind, results_dir))
    cache = launcher.case_cache or (work / "sweep-cache")
    cache.mkdir(exist_ok=True)
    study = load_study(study_file)
    cmd = [sys.executable, "-m", "studies.cli", "study", "run", str(study_file),
           "--no-aggregate"]
    tic = time.perf_counter()
    proc = subprocess.run(cmd, env=launcher.env(NRE_CACHE_DIR=str(cache)), cwd=_REPO,
                          capture_output=True, text=True, timeout=launcher.timeout_s * 4)
    wall = time.perf_counter() - tic
    done = sum(1 for c in study.cases
               if (results_dir / "cases" / c.case_id / "result" / "record.json").is_file())
    cores = os.cpu_count() or 1

    def modelled_wall(st) -> float:
        total = sum(st.case_cost_core_s(c) for c in st.cases)
        return total / max(1, min(cores, st.run["ranks"] * st.parallel_cases()))

    out = {"study": kind, "cases": len(study.cases), "done": done, "wall_s": wall,
           "cases_per_hour": done / wall * 3600.0 if wall > 0 else None,
           "modelled_wall_s": modelled_wall(study), "exit_code": proc.returncode}
    if proc.returncode != 0:
        out["error"] = (proc.stdout + proc.stderr)[-2000:]
    default = load_study(_REPO / "studies" / "default.toml")
    est = modelled_wall(default)
    out["default_study"] = {"cases": len(default.cases), "modelled_wall_s": est,
                            "modelled_cases_per_hour": len(default.cases) / est * 3600.0}
    if kind != "selftest" and done == len(study.cases) and out["modelled_wall_s"] > 0:
        factor = wall / out["modelled_wall_s"]
        out["default_study"]["calibration_factor"] = factor
        out["default_study"]["calibrated_cases_per_hour"] = (
            out["default_study"]["modelled_cases_per_hour"] / factor)
    if kind == "default":
        out["default_study"]["measured_cases_per_hour"] = out["cases_per_hour"]
    return out


def _derive(results: dict) -> None:
    """Fitted exponents per benchmark and rank count; parallel efficiency per level."""
    exps: dict = {}
    eff: list[dict] = []
    for name, entry in results["benchmarks"].items():
        runs = entry["runs"]
        for ranks, recs in runs.items():
            ok = [r for r in recs if r.get("time_s") and r.get("converged", True)]
            exps.setdefault(name, {})[ranks] = {
                "time_vs_dofs": fit_exponent([r["dofs"] for r in ok], [r["time_s"] for r in ok]),
                "krylov_vs_dofs": fit_exponent([r["dofs"] for r in ok],
                                               [r.get("krylov_iterations", 0) for r in ok]),
                "levels": len(ok),
            }
        one = runs.get("1", [])
        for ranks, recs in runs.items():
            if ranks == "1":
                continue
            for r1, rr in zip(one, recs, strict=False):
                eff.append({"benchmark": name, "kind": entry["kind"], "ranks": int(ranks),
                            "dofs": rr["dofs"], "time_1_s": r1["time_s"], "time_r_s": rr["time_s"],
                            "efficiency": parallel_efficiency(r1["time_s"], rr["time_s"],
                                                              int(ranks)),
                            "converged": bool(r1.get("converged", True)
                                              and rr.get("converged", True))})
    results["exponents"] = exps
    results["efficiency"] = eff


def _meta(opts: SuiteOptions) -> dict:
    from studies.provenance import code_version

    return {"size": opts.size, "ranks": list(opts.ranks), "only": list(opts.only),
            "cores": os.cpu_count(), "host": platform.node(),
            "started": datetime.now(UTC).isoformat(timespec="seconds"),
            "python": platform.python_version(), **code_version(),
            "load_average_start": list(os.getloadavg())}


# ----------------------------------------------------------------------------- report


def report(results: dict) -> str:
    """The table, the derived numbers and the target verdicts as plain text."""
    from hpc.benchmarks.analysis import dofs_per_s_per_rank

    header = ["benchmark", "R", "DOFs", "time s", "asm s", "PC s", "Krylov s", "contact s",
              "KSP its", "Newton its", "DOFs/s/rank", "peak MiB", "CPU %", "conv"]
    rows = []
    for name, entry in results["benchmarks"].items():
        for ranks, recs in entry["runs"].items():
            for r in recs:
                rows.append([name, int(ranks), r["dofs"], r["time_s"], r["assembly_s"],
                             r["pc_setup_s"], r["krylov_s"], r.get("contact_s", 0.0),
                             r.get("krylov_iterations"), r.get("newton_iterations"),
                             dofs_per_s_per_rank(r, int(ranks)), r.get("peak_rss_mb"),
                             100 * r["cpu_share"] if "cpu_share" in r else None,
                             "yes" if r.get("converged") else "NO"])
    parts = [format_table(header, rows)] if rows else []
    ours_h = results["benchmarks"].get("hertz_contact", {}).get("runs", {}).get("1", [])
    plain_h = results["benchmarks"].get("hertz_penalty", {}).get("runs", {}).get("1", [])
    if ours_h and plain_h:
        hrow = [[o["fine_mm"], o["dofs"], o["force_N"], p["force_N"], o["hertz_force_N"],
                 100 * (o["force_N"] / o["hertz_force_N"] - 1),
                 100 * (p["force_N"] / p["hertz_force_N"] - 1), o["time_s"], p["time_s"]]
                for o, p in zip(ours_h, plain_h, strict=False)]
        parts.append("Hertz (1 rank): ours vs plain penalty vs F = 4/3 E* sqrt(R) d^1.5:\n"
                     + format_table(["fine mm", "DOFs", "ours N", "plain N", "Hertz N",
                                     "ours err %", "plain err %", "ours s", "plain s"], hrow))
    if results.get("exponents"):
        erows = [[n, int(r), e["levels"], e["time_vs_dofs"], e["krylov_vs_dofs"]]
                 for n, per in results["exponents"].items() for r, e in per.items()]
        parts.append("Fitted exponents (least squares of log y vs log DOFs, converged levels):\n"
                     + format_table(["benchmark", "R", "levels", "time", "Krylov its"], erows))
    if results.get("efficiency"):
        prow = [[e["benchmark"], e["ranks"], e["dofs"], e["time_1_s"], e["time_r_s"],
                 e["efficiency"]] for e in results["efficiency"]]
        parts.append("Parallel efficiency T1 / (R T_R):\n" + format_table(
            ["benchmark", "R", "DOFs", "T1 s", "T_R s", "efficiency"], prow))
    var = results.get("artery_variants")
    if var:
        vrow = [[r["variant"], r["dofs"], r["krylov_iterations"], r["time_s"]] for r in var]
        parts.append("Artery linear solve, material variants (same mesh, same solver):\n"
                     + format_table(["materials", "DOFs", "KSP its", "time s"], vrow))
    cal = results.get("calcium", {}).get("records")
    if cal:
        crow = [["none" if r["calcium_modulus_MPa"] is None else r["calcium_modulus_MPa"],
                 r["dofs"], r["krylov_iterations"], r["time_s"], r["krylov_s"]] for r in cal]
        parts.append("Calcium contrast (artery linear solve):\n" + format_table(
            ["calcium MPa", "DOFs", "KSP its", "time s", "Krylov s"], crow))
    case = results.get("case")
    if case:
        crow = []
        for name in ("cold", "second", "warm"):
            c = case.get(name)
            if c:
                crow.append([name, c["wall_s"], c["startup_s"], c["meshing_s"], c["assembly_s"],
                             c["pc_setup_s"] + c["krylov_s"], c["other_s"],
                             100 * c["overhead_fraction"], c["compiled_modules"]])
        text = format_table(["case", "wall s", "start-up s", "meshing s", "assembly s",
                             "solves s", "other s", "outside %", "compiled"], crow)
        if "compile_s" in case:
            text += f"\nform compilation (cold - warm - meshing): {case['compile_s']:.1f} s"
        warm = case.get("warm") or {}
        if warm.get("phases_s"):
            text += "\nwarm run, time in: " + ", ".join(
                f"{k} {v:.2f} s" for k, v in warm["phases_s"].items())
        parts.append(f"Cold vs warm case ({case['kinds']}):\n" + text)
    mg = results.get("mesh_generation")
    if mg:
        line = (f"Mesh generation (3-D artery, {mg.get('cells')} cells): build "
                f"{mg.get('build_s', float('nan')):.1f} s; meshing only: default "
                f"{mg.get('default_mesh_s', float('nan')):.1f} s (repeatable: "
                f"{mg.get('default_repeatable')})")
        if "hxt_mesh_s" in mg:
            line += (f", HXT on {mg['hxt_threads']} thread(s) {mg['hxt_mesh_s']:.1f} s "
                     f"({mg['hxt_speedup']:.2f}x faster, {mg['hxt_cells']} cells, repeatable: "
                     f"{mg['hxt_repeatable']})")
        parts.append(line)
    sw = results.get("sweep")
    if sw:
        ds = sw["default_study"]
        line = (f"Sweep ({sw['study']}): {sw['done']}/{sw['cases']} cases in "
                f"{sw['wall_s']:.1f} s = {sw['cases_per_hour'] or 0:.0f} cases/hour "
                f"(cost model: {sw['modelled_wall_s']:.0f} s). Default study "
                f"({ds['cases']} cases): cost model {ds['modelled_cases_per_hour']:.0f} "
                "cases/hour")
        if "calibrated_cases_per_hour" in ds:
            line += f", calibrated by this sweep {ds['calibrated_cases_per_hour']:.0f}"
        if "measured_cases_per_hour" in ds:
            line += f", measured {ds['measured_cases_per_hour']:.0f}"
        parts.append(line)
    vrows = [[t["target"], t["status"], t["measured"]] for t in results.get("targets", [])]
    parts.append("Targets:\n" + format_table(["target", "verdict", "measured"], vrows))
    reasons = [f"- {t['target']}: {t['reason']}" for t in results.get("targets", [])
               if t["status"] == "misses" and t["reason"]]
    if reasons:
        parts.append("Why the misses miss:\n" + "\n".join(reasons))
    if results.get("errors"):
        parts.append("Errors:\n" + "\n".join(f"- {e['task']} on {e['ranks']} rank(s): "
                                             f"{e['error'][-400:]}" for e in results["errors"]))
    return "\n\n".join(parts)


def write_json(results: dict, opts: SuiteOptions) -> Path:
    path = opts.json_path
    if path is None:
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        path = opts.out_dir / f"bench-{opts.size}-{stamp}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=1, default=str))
    return path


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The suite's options (shared by ``python -m hpc.benchmarks`` and ``nre bench``)."""
    p.add_argument("--size", choices=tuple(SIZES), default="small",
                   help="problem sizes: tiny (~1-2 min), small (~5-10 min), full (larger; "
                   "needed for the 200k-DOF efficiency target)")
    p.add_argument("--ranks", default=None,
                   help="comma-separated rank counts (default: 1,2 and powers of 2 up to the "
                   "cores)")
    p.add_argument("--only", default="",
                   help=f"comma-separated groups to run: {', '.join(GROUPS)}")
    p.add_argument("--json", type=Path, default=None, help="JSON output file")
    p.add_argument("--out-dir", type=Path, default=Path("results/benchmarks"),
                   help="folder of the JSON and the mesh cache")
    p.add_argument("--timeout", type=float, default=None,
                   help="seconds per measurement process (default: by size)")


def options_from_args(args: argparse.Namespace) -> SuiteOptions:
    ranks = (tuple(int(r) for r in args.ranks.split(",") if r.strip()) if args.ranks
             else default_ranks())
    only = tuple(g.strip() for g in args.only.split(",") if g.strip())
    return SuiteOptions(size=args.size, ranks=ranks, only=only, json_path=args.json,
                        out_dir=args.out_dir, timeout_s=args.timeout)


def run_from_args(args: argparse.Namespace) -> int:
    opts = options_from_args(args)
    results = run_suite(opts)
    path = write_json(results, opts)
    print()
    print(report(results))
    print(f"\nwrote {path}")
    return 1 if results["errors"] else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m hpc.benchmarks",
                                     description="Benchmark suite: our solvers beside plain "
                                     "DOLFINx baselines; prints a table, writes JSON.")
    add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        return run_from_args(args)
    except ValueError as err:
        print(f"python -m hpc.benchmarks: error: {err}", file=sys.stderr)
        return 2
