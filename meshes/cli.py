"""``nre mesh``: build (or reuse) a mesh, print its summary, write a picture and exports."""

from __future__ import annotations

import argparse
import json
import pathlib
import tomllib

# (option, section, field, type): every geometry field a person may want to set by hand.
_FIELDS = (
    ("--lumen-radius-mm", "artery", "true_lumen_radius_mm", float),
    ("--flap-thickness-mm", "artery", "flap_thickness_mm", float),
    ("--media-thickness-mm", "artery", "media_thickness_mm", float),
    ("--adventitia-thickness-mm", "artery", "adventitia_thickness_mm", float),
    ("--length-mm", "artery", "length_mm", float),
    ("--outer-diameter-mm", "artery", "outer_diameter_mm", float),
    ("--balloon-diameter-mm", "balloon", "diameter_mm", float),
    ("--film-thickness-mm", "balloon", "film_thickness_mm", float),
    ("--calcium-layer", "calcification", "layer", str),
    ("--calcium-arc-deg", "calcification", "arc_deg", float),
    ("--calcium-thickness-mm", "calcification", "thickness_mm", float),
    ("--calcium-length-mm", "calcification", "length_mm", float),
    ("--calcium-position-deg", "calcification", "position_deg", float),
    ("--calcium-pattern", "calcification", "pattern", str),
    ("--entry-angle-deg", "needle", "entry_angle_deg", float),
    ("--gauge", "needle", "gauge", int),
    ("--size-mm", "mesh", "size_mm", float),
    ("--needle-size-mm", "mesh", "needle_size_mm", float),
    ("--refinement-radius-mm", "mesh", "refinement_radius_mm", float),
    ("--order", "mesh", "order", int),
    ("--level", "mesh", "level", int),
)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "mesh",
        help="build a calcified-artery (or balloon film) mesh, summarise, picture and export it",
        description="Build (or reuse from the cache) the mesh of a calcified, dissected artery "
        "segment, print cells, vertices, region volumes (measured and exact) and the minimum "
        "element quality, and write a PNG of the regions and exports (VTU, Abaqus .inp, .msh).",
    )
    p.add_argument("--grade", help="calcification grade, e.g. pacss-3, fanelli-270-long, parc-"
                   "severe, oct-4 (see README); calcium options below override it")
    p.add_argument("--spec", type=pathlib.Path,
                   help="TOML or JSON file with tables artery, balloon, calcification, "
                   "needle, mesh")
    p.add_argument("--balloon", action="store_true", help="mesh the balloon film surface instead")
    for opt, section, field, typ in _FIELDS:
        p.add_argument(opt, type=typ, dest=f"{section}__{field}", metavar=typ.__name__.upper(),
                       help=f"{section}.{field}")
    p.add_argument("--out", type=pathlib.Path, default=pathlib.Path("results/mesh"),
                   help="folder for summary.json, regions.png and exports (default results/mesh)")
    p.add_argument("--export", default="vtu,inp,msh",
                   help="comma-separated export formats among vtu, inp, msh ('' for none)")
    p.add_argument("--no-png", action="store_true", help="skip the picture")
    p.add_argument("--no-cache", action="store_true",
                   help="rebuild and replace the cache entry even if it is sound")
    p.add_argument("--max-cells", type=int, metavar="N", help="refuse (before meshing) a "
                   "mesh estimated above N cells (default 5000000)")
    p.add_argument("--cache-dir", type=pathlib.Path, help="mesh cache folder "
                   "(default $NRE_CACHE_DIR/meshes or ~/.cache/nre/meshes)")
    p.set_defaults(handler=run)


def _tables(args: argparse.Namespace) -> dict:
    tables: dict = {}
    if args.spec is not None:
        try:
            text = args.spec.read_bytes().decode("utf-8")
            tables = json.loads(text) if args.spec.suffix == ".json" else tomllib.loads(text)
        except ValueError as err:  # not UTF-8, not TOML/JSON: name the file (one-line error)
            raise ValueError(f"{args.spec}: --spec: {' '.join(str(err).split())}") from None
    if args.grade:
        calc = tables.get("calcification", {})
        calc = {} if isinstance(calc, str) else dict(calc)
        calc["grade"] = args.grade
        tables["calcification"] = calc
    for _opt, section, field, _typ in _FIELDS:
        value = getattr(args, f"{section}__{field}")
        if value is not None:
            if section == "calcification" and isinstance(tables.get(section), str):
                tables[section] = {"grade": tables[section]}
            tables.setdefault(section, {})[field] = value
    return tables


def run(args: argparse.Namespace) -> int:
    # Validate everything before importing DOLFINx or touching Gmsh.
    from meshes.spec import BalloonModelSpec, BalloonSpec, artery_model_from_dict

    tables = _tables(args)
    if args.balloon:
        b = tables.get("balloon", {})
        size = tables.get("mesh", {}).get("size_mm", 0.4)
        spec = BalloonModelSpec(balloon=BalloonSpec(**b), size_mm=size,
                                order=tables.get("mesh", {}).get("order", 1))
    else:
        spec = artery_model_from_dict(tables)
    from meshes.estimate import DEFAULT_MAX_CELLS, check_cells

    check_cells(spec, DEFAULT_MAX_CELLS if args.max_cells is None else args.max_cells,
                what="the balloon film mesh" if args.balloon else "the artery mesh")
    formats = [f for f in args.export.split(",") if f]
    from meshes.export import FORMATS

    for f in formats:
        if f not in FORMATS:
            raise ValueError(f"--export {f!r} is not a format: allowed {FORMATS}")

    import hpc.stack  # noqa: F401

    from mpi4py import MPI

    from meshes.geometry import CrossSection
    from meshes.io import load_artery_mesh, load_balloon_mesh, mesh_summary

    comm = MPI.COMM_WORLD
    load = load_balloon_mesh if args.balloon else load_artery_mesh
    tm = load(spec, comm, cache_dir=args.cache_dir, use_cache=not args.no_cache)
    summary = mesh_summary(tm, spec)
    if comm.rank != 0:
        return 0
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    files = {}
    from meshes.export import export_mesh

    for f in formats:
        files[f] = str(export_mesh(tm.path / "model.msh", out / f"mesh.{f}"))
    if not args.no_png:
        from postprocess.render import render_regions

        vtu = out / "mesh.vtu" if "vtu" in formats else export_mesh(tm.path / "model.msh",
                                                                      out / "mesh.vtu")
        line = None
        title = getattr(getattr(spec, "calcification", None), "grade", "") or "balloon film"
        if not args.balloon:
            cs = CrossSection(spec)
            line = (cs.needle_entry(), cs.needle_target())
        files["png"] = str(render_regions(vtu, out / "regions.png", title=title,
                                          section_z=getattr(getattr(spec, "needle", None),
                                                            "target_axial_mm", 0.0),
                                          needle_line=line))
    summary["files"] = files
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    _print(summary)
    return 0


def _print(s: dict) -> None:
    how = "reused from cache" if s["from_cache"] else "built"
    if s.get("repaired"):
        how = f"rebuilt, the cache entry was damaged: {s['repaired']}"
    print(f"mesh {s['key']}  ({how}: {s['path']})")
    print(f"  cells {s['cells']}, vertices {s['vertices']}, geometry order {s['geometry_order']}, "
          f"ranks {s['ranks']}")
    print(f"  element quality (Gmsh SICN): min {s['min_sicn']:.3f}, mean {s['mean_sicn']:.3f}")
    exact = s.get("exact_volumes_mm3", {})
    unit = "mm^2" if s.get("measure") == "area_mm2" else "mm^3"
    print(f"  {'region':<20}{'measured ' + unit:>16}{'exact ' + unit:>16}{'error %':>10}")
    for name, v in s["region_volumes_mm3"].items():
        err = 100.0 * (v / exact[name] - 1.0)
        print(f"  {name:<20}{v:>16.3f}{exact[name]:>16.3f}{err:>10.3f}")
    for kind, path in s.get("files", {}).items():
        print(f"  wrote {kind}: {path}")
