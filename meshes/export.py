"""Export a cached mesh to the formats users cross-check with: VTU, Abaqus ``.inp``, Gmsh ``.msh``.

Regions and boundaries stay named in every format:

* ``.msh``: the Gmsh file itself, with its physical names.
* ``.vtu`` (ParaView): one integer array ``physical`` plus one 0/1 array per named group, on the
  cells of the top dimension and on the boundary cells (both blocks in one file).
* ``.inp`` (Abaqus): regions as ``*ELSET``, boundaries as ``*NSET`` (the nodes of each boundary,
  which is what loads and supports in a solid deck refer to).
"""

from __future__ import annotations

import pathlib
import shutil

import meshio
import numpy as np

FORMATS = ("vtu", "inp", "msh")


def _merged(msh_path: pathlib.Path):
    """The Gmsh mesh with blocks merged by cell type and physical tags per merged block."""
    m = meshio.read(msh_path)
    names = {int(v[0]): (str(k), int(v[1])) for k, v in m.field_data.items()}
    by_type: dict[str, list[np.ndarray]] = {}
    tags: dict[str, list[np.ndarray]] = {}
    for block, phys in zip(m.cells, m.cell_data["gmsh:physical"], strict=True):
        by_type.setdefault(block.type, []).append(block.data)
        tags.setdefault(block.type, []).append(np.asarray(phys))
    cells = {t: np.concatenate(v) for t, v in by_type.items()}
    phys = {t: np.concatenate(v) for t, v in tags.items()}
    return m.points, cells, phys, names


def export_mesh(msh_path: str | pathlib.Path, out: str | pathlib.Path) -> pathlib.Path:
    """Write ``out`` (format from its suffix: .vtu, .inp or .msh) from a cached ``model.msh``."""
    msh_path, out = pathlib.Path(msh_path), pathlib.Path(out)
    fmt = out.suffix.lstrip(".").lower()
    if fmt not in FORMATS:
        raise ValueError(f"export format {out.suffix!r} is not supported: allowed {FORMATS}")
    out.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "msh":
        shutil.copyfile(msh_path, out)
        return out
    points, cells, phys, names = _merged(msh_path)
    order = sorted(cells, key=lambda t: meshio._mesh.topological_dimension[t], reverse=True)
    top = order[0]
    if fmt == "vtu":
        blocks = [(t, cells[t]) for t in order[:2]]
        data = {"physical": [phys[t].astype(np.int32) for t, _ in blocks]}
        for tag, (name, _dim) in sorted(names.items()):
            data[name] = [(phys[t] == tag).astype(np.int8) for t, _ in blocks]
        meshio.write(out, meshio.Mesh(points, blocks, cell_data=data), binary=True)
        return out
    # Abaqus: solid cells with element sets; boundaries as node sets
    cell_sets = {}
    point_sets = {}
    for tag, (name, _dim) in sorted(names.items()):
        if (phys[top] == tag).any():
            cell_sets[name] = [np.flatnonzero(phys[top] == tag)]
        else:
            for t in order[1:]:
                sel = phys[t] == tag
                if sel.any():
                    point_sets[name] = np.unique(cells[t][sel])
    meshio.write(out, meshio.Mesh(points, [(top, cells[top])], cell_sets=cell_sets,
                                  point_sets=point_sets), file_format="abaqus")
    return out
