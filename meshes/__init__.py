"""Parametric Gmsh meshes of the calcified, dissected artery segment and of the balloon film.

Public face::

    from meshes import ArteryModelSpec, calcification_for_grade, load_artery_mesh
    spec = ArteryModelSpec(calcification=calcification_for_grade("pacss-3"))
    tm = load_artery_mesh(spec, MPI.COMM_WORLD)   # TaggedMesh: mesh, tags, names, cache path
"""

import hpc.stack  # noqa: F401  (orders MPI before DOLFINx; keep first)

from meshes.geometry import CrossSection
from meshes.grades import as_calcification, calcification_for_grade, known_grades
from meshes.spec import (
    NEEDLE_GAUGES_MM,
    ArteryModelSpec,
    ArterySectionSpec,
    ArterySpec,
    BalloonModelSpec,
    BalloonSpec,
    CalcificationSpec,
    MeshSpec,
    NeedlePathSpec,
    NoduleSpec,
    artery_model_from_dict,
)


def __getattr__(name: str):
    # DOLFINx-side helpers import lazily: validating inputs must not pay for loading DOLFINx.
    if name in {"TaggedMesh", "load_artery_mesh", "load_artery_section_mesh", "load_balloon_mesh",
                "mesh_summary", "region_volumes", "boundary_areas", "cell_sizes", "cache_root"}:
        from meshes import io

        return getattr(io, name)
    raise AttributeError(name)


__all__ = [
    "NEEDLE_GAUGES_MM", "ArteryModelSpec", "ArterySectionSpec", "ArterySpec", "BalloonModelSpec",
    "BalloonSpec",
    "CalcificationSpec", "CrossSection", "MeshSpec", "NeedlePathSpec", "NoduleSpec",
    "artery_model_from_dict", "as_calcification", "calcification_for_grade", "known_grades",
    "TaggedMesh", "load_artery_section_mesh",
    "load_artery_mesh", "load_balloon_mesh", "mesh_summary", "region_volumes", "boundary_areas",
    "cell_sizes", "cache_root",
]
