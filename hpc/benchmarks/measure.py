"""One measurement process: ``mpirun -n R python -m hpc.benchmarks.measure TASK.json OUT.json``.

The suite (:mod:`hpc.benchmarks.suite`) writes a task file ``{"task": name, "args": {...}}``
and launches this module under MPI; rank 0 writes ``{"task", "ranks", "records", "process_s"}``
to ``OUT.json``. ``records`` holds one record per mesh level (or per modulus, per case...),
each with the fields the table reads (:data:`hpc.benchmarks.analysis.RECORD_FIELDS`).

Tasks (``args``):

* ``elasticity_box`` / ``box_linear`` / ``neohookean_box``: ``dofs`` (target DOF counts);
* ``artery_linear``, ``balloon_newton``: ``scales`` (element-size multipliers);
* ``calcium``: ``scale`` and ``moduli`` (MPa; ``null`` = no calcium contrast);
* ``artery_variants``: ``scale``; ``box_newton`` / ``box_newton_mixed``: ``dofs``;
  ``hertz_contact_gamg``: as ``hertz_contact`` (diagnostics, see :mod:`hpc.benchmarks.ours`);
* ``contact3d`` / ``contact3d_direct``: ``levels`` (dicts: ``tip``, ``fine_mm``, ``coarse_mm``,
  ``fine_radius_mm``, ``depths_mm``);
* ``puncture_step``: ``levels``; ``hertz_penalty`` / ``hertz_contact``: ``fine_mm``, ``depth_mm``,
  ``sphere_radius_mm``;
* ``case``: ``study`` (file), ``index``, ``kinds`` (null: the study's), ``workdir``: one study
  case as the study worker runs it, with the times of its meshing, assembly and solves;
* ``prepare_meshes``: ``artery_scales``, ``section_scales``: build (or find) the meshes the
  artery and balloon benchmarks read, so that Gmsh's time and memory stay out of theirs;
* ``mesh_generation``: ``scale`` (null: the default artery) and ``hxt`` (bool): the 3-D artery
  built with the default algorithm, then meshed again with it and with HXT, with a hash of the
  node coordinates of each to see which is repeatable.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import json
import os
import sys
import time
from pathlib import Path

import hpc.stack  # noqa: F401  (orders MPI before DOLFINx; keep first)

from mpi4py import MPI

from hpc.benchmarks.probe import EventClock, peak_rss_mb, start_logging


def _levels(comm, args: dict, key: str, fn, **kwargs) -> list[dict]:
    """``fn`` at each value of ``args[key]``; each record gets ``cpu_share``: the CPU time this
    process got over the wall time of that level (least over ranks). Well below 1 means the
    machine was shared: other processes took the cores and the times are inflated."""
    out = []
    for value in args[key]:
        cpu0, t0 = _cpu_s(), time.perf_counter()
        rec = fn(comm, value, **kwargs)
        share = (_cpu_s() - cpu0) / max(time.perf_counter() - t0, 1e-9)
        rec["cpu_share"] = comm.allreduce(share, op=MPI.MIN)
        out.append(rec)
        # free this level's problem (reference cycles through PETSc callbacks) before the
        # next one: the peak memory of a level is then its own
        gc.collect()
    return out


def _cpu_s() -> float:
    import resource

    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def run_task(task: str, args: dict, comm: MPI.Comm) -> list[dict]:
    """Run one task (module docstring) on ``comm``; its records (the same on every rank)."""
    from hpc.benchmarks import baselines, ours

    cache = args.get("mesh_cache")
    hertz = {k: args[k] for k in ("depth_mm", "sphere_radius_mm") if k in args}
    if task == "elasticity_box":
        return _levels(comm, args, "dofs", baselines.elasticity_box)
    if task == "box_linear":
        return _levels(comm, args, "dofs", ours.box_linear)
    if task == "neohookean_box":
        return _levels(comm, args, "dofs", baselines.neohookean_box)
    if task == "artery_linear":
        return _levels(comm, args, "scales", ours.artery_linear, cache_dir=cache)
    if task == "calcium":
        return [ours.artery_linear(comm, args["scale"], calcium_modulus_MPa=e, cache_dir=cache)
                for e in args["moduli"]]
    if task == "artery_variants":
        return ours.artery_variants(comm, args["scale"], cache_dir=cache)
    if task == "box_newton":
        return _levels(comm, args, "dofs", ours.box_newton)
    if task == "box_newton_mixed":
        return _levels(comm, args, "dofs", ours.box_newton, formulation="mixed")
    if task == "hertz_contact_gamg":
        return _levels(comm, args, "fine_mm", ours.hertz_contact, linear_solver="gamg", **hertz)
    if task == "balloon_newton":
        return _levels(comm, args, "scales", ours.balloon_newton, cache_dir=cache)
    if task == "puncture_step":
        return _levels(comm, args, "levels", ours.puncture_step)
    if task == "hertz_penalty":
        return _levels(comm, args, "fine_mm", baselines.hertz_penalty, **hertz)
    if task == "hertz_contact":
        return _levels(comm, args, "fine_mm", ours.hertz_contact, **hertz)
    if task in ("contact3d", "contact3d_direct"):
        return _levels(comm, args, "levels", ours.contact3d, direct=task == "contact3d_direct")
    if task == "case":
        return [run_case(comm, **{k: v for k, v in args.items() if k != "mesh_cache"})]
    if task == "prepare_meshes":
        return [prepare_meshes(comm, args["artery_scales"], args["section_scales"])]
    if task == "mesh_generation":
        return [mesh_generation(comm, args.get("scale"), hxt=bool(args.get("hxt", True)))]
    raise ValueError(f"task = {task!r} is not a benchmark task")


def run_case(comm: MPI.Comm, *, study: str, index: int = 0, kinds: list[str] | None = None,
             workdir: str) -> dict:
    """Case ``index`` of ``study`` run by its kinds as the study worker runs them.

    Returns the in-process time, the times of assembly, preconditioner set-up and Krylov
    (PETSc events), the meshing time of every mesh this run had to build (mesh cache entries
    that appeared, their ``build_seconds``) and the kinds' scalar results' status.
    """
    from meshes.io import cache_root
    from studies.kinds import get_kind
    from studies.study import load_study

    tic = time.perf_counter()
    st = load_study(study)
    case = st.cases[index]
    root = cache_root()
    before = set(os.listdir(root)) if comm.rank == 0 and root.is_dir() else set()
    clock = EventClock(comm)
    statuses = {}
    phases: dict[str, float] = {}
    with _phase_probe(phases):
        for kind in kinds or list(case.solve):
            out = get_kind(kind).run(case.params, comm, Path(workdir))
            statuses[kind] = out.get("status", "done") if isinstance(out, dict) else "?"
    split = clock.split()
    phases = {k: comm.allreduce(v, op=MPI.MAX) for k, v in sorted(phases.items())}
    meshing = 0.0
    if comm.rank == 0 and root.is_dir():
        for name in set(os.listdir(root)) - before:
            meta = root / name / "meta.json"
            if meta.is_file():
                meshing += float(json.loads(meta.read_text()).get("build_seconds", 0.0))
    meshing = comm.bcast(meshing, root=0)
    in_process = comm.allreduce(time.perf_counter() - tic, op=MPI.MAX)
    return {"case_id": case.case_id, "label": case.label(), "kinds": kinds or list(case.solve),
            "status": statuses, "in_process_s": in_process, "meshing_s": meshing,
            "assembly_s": split.assembly_s, "pc_setup_s": split.pc_setup_s,
            "krylov_s": split.krylov_s, "snes_s": split.snes_s,
            "work_s": meshing + split.assembly_s + split.pc_setup_s + split.krylov_s,
            "phases_s": phases, "peak_rss_mb": peak_rss_mb(comm)}


#: Functions whose wall time :func:`run_case` reports (label, module, attribute path). They
#: are where a case spends time outside the solver calls; some hold solver calls too (the
#: rupture indicators solve one linear system per region).
PHASES = (
    ("mesh load", "meshes.io", "_load"),
    ("disc mesh", "meshes.disc", "load_layered_disc"),
    ("problem set-up (forms, spaces, sparsity)", "fem.solid.hyperelastic",
     "HyperelasticProblem.__init__"),
    ("stress summary", "fem.balloon.problem", "region_stress_summary"),
    ("non-local stress (damage/rupture indicators)", "fem.balloon.wall_failure",
     "NonlocalStress.peaks"),
    ("wall failure search past the case's pressure", "fem.balloon.problem",
     "BalloonProblem._failure_search"),
    ("writing fields", "fem.balloon.problem", "write_fields"),
    ("writing contact pressure", "fem.needle.contact",
     "AxisymmetricNeedleProblem.write_contact_pressure"),
)


@contextlib.contextmanager
def _phase_probe(sink: dict[str, float]):
    """Accumulate the wall time of the :data:`PHASES` functions into ``sink`` (outermost
    calls only: a subclass ``__init__`` calling its parent's counts once); restored on exit."""
    import importlib

    patched = []
    depth: dict[str, int] = {}
    for label, module_name, path in PHASES:
        owner = importlib.import_module(module_name)
        *parents, attr = path.split(".")
        for name in parents:
            owner = getattr(owner, name)
        original = getattr(owner, attr)

        def timed(*args, _f=original, _label=label, **kwargs):
            depth[_label] = depth.get(_label, 0) + 1
            tic = time.perf_counter()
            try:
                return _f(*args, **kwargs)
            finally:
                depth[_label] -= 1
                if depth[_label] == 0:
                    sink[_label] = sink.get(_label, 0.0) + time.perf_counter() - tic

        setattr(owner, attr, timed)
        patched.append((owner, attr, original))
    try:
        yield
    finally:
        for owner, attr, original in reversed(patched):
            setattr(owner, attr, original)


def prepare_meshes(comm: MPI.Comm, artery_scales: list[float],
                   section_scales: list[float]) -> dict:
    """Build the benchmark meshes into the mesh cache (``NRE_CACHE_DIR``); their build times."""
    from hpc.benchmarks.ours import artery_spec
    from meshes import ArterySectionSpec
    from meshes.io import load_artery_mesh, load_artery_section_mesh

    built = {}
    for scale in artery_scales:
        tm = load_artery_mesh(artery_spec(scale), comm)
        built[f"artery-{scale}"] = tm.meta.get("build_seconds") if not tm.from_cache else 0.0
    for scale in section_scales:
        # the spec BalloonProblem meshes for balloon_newton (filled lumen, as the case's)
        model = artery_spec(scale, grade="pacss-0")
        tm = load_artery_section_mesh(ArterySectionSpec(model=model), comm)
        built[f"section-{scale}"] = tm.meta.get("build_seconds") if not tm.from_cache else 0.0
    return {"build_s": built}


def mesh_generation(comm: MPI.Comm, scale: float | None, *, hxt: bool = True) -> dict:
    """Time the 3-D artery build and its meshing with the default algorithm and with HXT.

    The build (OpenCASCADE geometry, size fields, default 3-D meshing, quality) is
    :func:`meshes.build.build_artery`. The same model is then meshed again from scratch twice
    with the default options and twice with ``Mesh.Algorithm3D = 10`` (HXT) on all cores; the
    node coordinates of each mesh are hashed to tell whether repeated runs agree bit for bit.
    Rank 0 only (Gmsh runs there in the toolkit).
    """
    import gmsh
    import numpy as np

    from hpc.benchmarks.ours import artery_spec
    from meshes import ArteryModelSpec
    from meshes.build import build_artery

    rec: dict = {}
    if comm.rank == 0:
        spec = ArteryModelSpec() if scale is None else artery_spec(scale)
        gmsh.initialize(interruptible=False)
        try:
            gmsh.option.setNumber("General.Terminal", 0)
            tic = time.perf_counter()
            info = build_artery(spec)
            rec["build_s"] = time.perf_counter() - tic
            rec["cells"] = info.num_elements
            rec["scale"] = scale

            def remesh(algorithm: int, threads: int) -> tuple[float, str, int]:
                gmsh.model.mesh.clear()
                gmsh.option.setNumber("Mesh.Algorithm3D", algorithm)
                gmsh.option.setNumber("General.NumThreads", threads)
                t0 = time.perf_counter()
                gmsh.model.mesh.generate(3)
                dt = time.perf_counter() - t0
                _tags, coords, _ = gmsh.model.mesh.getNodes()
                digest = hashlib.sha256(np.asarray(coords).tobytes()).hexdigest()[:16]
                types, tags, _ = gmsh.model.mesh.getElements(3)
                return dt, digest, int(sum(len(t) for t in tags))

            runs = {"default": [remesh(1, 1) for _ in range(2)]}
            if hxt:
                threads = os.cpu_count() or 1
                runs["hxt"] = [remesh(10, threads) for _ in range(2)]
                rec["hxt_threads"] = threads
            for name, rr in runs.items():
                rec[f"{name}_mesh_s"] = min(r[0] for r in rr)
                rec[f"{name}_cells"] = rr[0][2]
                rec[f"{name}_repeatable"] = rr[0][1] == rr[1][1]
            if hxt:
                rec["hxt_speedup"] = rec["default_mesh_s"] / max(rec["hxt_mesh_s"], 1e-9)
        finally:
            gmsh.finalize()
    rec = comm.bcast(rec, root=0)
    rec["peak_rss_mb"] = peak_rss_mb(comm)
    return rec


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python -m hpc.benchmarks.measure TASK.json OUT.json", file=sys.stderr)
        return 2
    tic = time.perf_counter()
    comm = MPI.COMM_WORLD
    start_logging()
    spec = json.loads(Path(argv[0]).read_text())
    records = run_task(spec["task"], spec.get("args", {}), comm)
    process_s = comm.allreduce(time.perf_counter() - tic, op=MPI.MAX)
    if comm.rank == 0:
        out = {"task": spec["task"], "ranks": comm.size, "records": records,
               "process_s": process_s}
        Path(argv[1]).write_text(json.dumps(out, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
