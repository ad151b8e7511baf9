"""Off-screen PyVista renders (PNG): tagged mesh regions (:func:`render_regions`) and named
fields of solver output files (:func:`render_field`, :func:`read_field_mesh`)."""

from __future__ import annotations

import pathlib

import numpy as np

REGION_COLOURS = {
    "intima": "#e8b4a0",
    "calcium": "#ffe066",
    "media": "#c0504d",
    "adventitia": "#8064a2",
    "film_body": "#4f81bd",
    "film_cone_proximal": "#9bbb59",
    "film_cone_distal": "#9bbb59",
}


def _pyvista():
    import pyvista as pv

    pv.OFF_SCREEN = True
    return pv


def render_regions(
    vtu: str | pathlib.Path,
    png: str | pathlib.Path,
    *,
    title: str = "",
    section_z: float = 0.0,
    needle_line: tuple[tuple[float, float, float], tuple[float, float, float]] | None = None,
) -> pathlib.Path:
    """Picture of the tagged regions of an exported VTU, in two panels.

    Left: the cross-section at ``z = section_z`` seen along the vessel axis (true lumen, flap
    with calcium, channel, media, adventitia). Right: the segment cut open on ``y = 0``, with
    the needle path drawn when given. Surface meshes (the balloon film) are shown whole.
    """
    import vtk

    pv = _pyvista()
    pl = pv.Plotter(off_screen=True, window_size=[1600, 800], shape=(1, 2))
    grid = pv.read(str(vtu))
    cells = grid.extract_cells_by_type(vtk.VTK_TETRA)
    volume = cells.n_cells > 0
    if not volume:
        cells = grid.extract_cells_by_type(vtk.VTK_TRIANGLE)
    names = [n for n in REGION_COLOURS if n in cells.cell_data]
    views = [(f"cross-section at z = {section_z:g} mm",
              cells.clip(normal=(0, 0, 1), origin=(0, 0, section_z), invert=True) if volume
              else cells),
             ("cut open on y = 0", cells.clip(normal=(0, 1, 0), origin=(0, 0, 0), invert=False)
              if volume else cells)]
    for col, (label, part_grid) in enumerate(views):
        pl.subplot(0, col)
        for name in names:
            ids = np.flatnonzero(part_grid.cell_data[name] == 1)
            if ids.size:
                pl.add_mesh(part_grid.extract_cells(ids), color=REGION_COLOURS[name],
                            show_edges=True, edge_color="#303030", line_width=0.3,
                            label=name if col == 0 else None)
        if needle_line is not None and col == 1:
            pl.add_mesh(pv.Line(needle_line[0], needle_line[1]), color="#d00000", line_width=5)
        pl.add_text(label, font_size=10, position="lower_edge", color="black")
        if col == 0:
            pl.add_legend(bcolor="#d9d9d9", size=(0.26, 0.26), face="rectangle")
            if volume:
                pl.view_xy()
                pl.enable_parallel_projection()
            if title:
                pl.add_text(title, font_size=12, position="upper_left", color="black")
        else:
            pl.camera_position = [(-35.0, -45.0, -30.0), (0.0, 0.0, 0.0), (0.0, 1.0, 0.0)]
            pl.reset_camera()
            pl.camera.zoom(1.2)
        pl.add_axes()
    png = pathlib.Path(png)
    png.parent.mkdir(parents=True, exist_ok=True)
    pl.screenshot(str(png))
    pl.close()
    return png


# -- fields written by the solvers ------------------------------------------------------------

#: XDMF topology type -> (VTK cell type, nodes per cell). DOLFINx writes XDMF cells in VTK
#: node order, so the connectivity is used as it is.
_XDMF_CELLS = {
    "polyline": (3, 2), "triangle": (5, 3), "quadrilateral": (9, 4), "tetrahedron": (10, 4),
    "hexahedron": (12, 8), "triangle_6": (22, 6), "tetrahedron_10": (24, 10),
    "quadrilateral_9": (28, 9), "hexahedron_27": (29, 27),
}
_UNIT_SUFFIXES = ("MPa", "kPa", "Pa", "mm", "N", "atm", "deg", "s", "mm2", "mm3")


def _xdmf_array(item, folder: pathlib.Path) -> np.ndarray:
    """The array of an XDMF ``DataItem`` (HDF5 through netCDF4, or inline XML)."""
    dims = [int(d) for d in item.get("Dimensions", "").split()]
    text = (item.text or "").strip()
    if item.get("Format", "XML").upper() == "HDF":
        import netCDF4  # reads plain HDF5 datasets; already a dependency (sweep.nc)

        fname, _, dataset = text.partition(":")
        with netCDF4.Dataset(folder / fname, "r") as h5:
            data = np.asarray(h5[dataset][:])
    else:
        data = np.array(text.split(), dtype=float)
    return data.reshape(dims) if dims and int(np.prod(dims)) == data.size else data


def _read_xdmf(path: pathlib.Path, time: float | None):
    """An XDMF file of DOLFINx (mesh, functions, mesh tags) as a PyVista grid.

    VTK's own XDMF reader crashes on these files in this stack, so the XML is read here and the
    HDF5 datasets through netCDF4. Functions become point data (``Center="Node"``) or cell data
    (``Center="Cell"``) at ``time`` (default: the last time written); cell tags of the mesh's
    dimension (``write_meshtags``) become cell data matched by their vertices.
    """
    import xml.etree.ElementTree as ET

    pv = _pyvista()
    folder = path.parent
    root = ET.parse(path).getroot()
    uniform = [g for g in root.iter("Grid") if g.get("GridType", "Uniform") == "Uniform"]
    mesh_grid = next((g for g in uniform if g.find("Topology") is not None
                      and g.find("Geometry") is not None), None)
    if mesh_grid is None:
        raise ValueError(f"path = {str(path)!r}: no mesh (Topology and Geometry) in the file")
    topo = mesh_grid.find("Topology")
    kind = topo.get("TopologyType", "").lower()
    if kind not in _XDMF_CELLS:
        raise ValueError(f"path = {str(path)!r}: topology {kind!r} not supported; known: "
                         f"{sorted(_XDMF_CELLS)}")
    vtk_type, npc = _XDMF_CELLS[kind]
    cells = _xdmf_array(topo.find("DataItem"), folder).astype(np.int64).reshape(-1, npc)
    points = _xdmf_array(mesh_grid.find("Geometry").find("DataItem"), folder)
    points = points.reshape(len(points), -1)
    if points.shape[1] < 3:
        points = np.hstack([points, np.zeros((len(points), 3 - points.shape[1]))])
    grid = pv.UnstructuredGrid({vtk_type: cells}, points)
    # Attributes: the one at the requested (or last) time of each name.
    chosen: dict[str, tuple[float, object, object]] = {}
    for g in uniform:
        t_el = g.find("Time")
        t = float(t_el.get("Value")) if t_el is not None else 0.0
        for attr in g.findall("Attribute"):
            name = attr.get("Name")
            old = chosen.get(name)
            if time is None:
                better = old is None or t >= old[0]
            else:
                better = old is None or abs(t - time) < abs(old[0] - time)
            if better:
                chosen[name] = (t, attr, g)
    by_vertices = None
    for name, (_t, attr, g) in chosen.items():
        data = _xdmf_array(attr.find("DataItem"), folder)
        data = data.reshape(len(data), -1)
        if data.shape[1] == 1:
            data = data[:, 0]
        if g is not mesh_grid and g.find("Topology") is not None \
                and g.find("Topology").find("DataItem") is not None:
            # Mesh tags: their own entity list; keep those of cells, placed by vertex set.
            own = g.find("Topology")
            if own.get("TopologyType", "").lower() != kind:
                continue
            ents = _xdmf_array(own.find("DataItem"), folder).astype(np.int64).reshape(-1, npc)
            if by_vertices is None:
                by_vertices = {tuple(sorted(c)): i for i, c in enumerate(cells)}
            values = np.full(len(cells), -1, dtype=data.dtype)
            for ent, value in zip(ents, data, strict=True):
                i = by_vertices.get(tuple(sorted(ent)))
                if i is not None:
                    values[i] = value
            grid.cell_data[name] = values
        elif attr.get("Center", "Node") == "Cell":
            grid.cell_data[name] = data
        else:
            grid.point_data[name] = data
    return grid


def read_field_mesh(path: str | pathlib.Path, *, time: float | None = None):
    """Mesh and fields of a solver output file as a PyVista ``UnstructuredGrid``.

    Args:
        path: ``.xdmf`` (DOLFINx ``XDMFFile``, e.g. :func:`fem.solid.output.write_fields`),
            ``.vtu``/``.pvtu``, or ``.pvd`` (DOLFINx ``VTKFile``; the step nearest ``time``).
        time: Time step to read (default: the last).

    Raises:
        ValueError: unknown format, or a VTX (ADIOS2 ``.bp``) folder: this VTK build has no
            ADIOS2 reader, so solvers should write XDMF or VTK files for renders.
    """
    pv = _pyvista()
    path = pathlib.Path(path)
    suffix = path.suffix.lower()
    if suffix == ".xdmf":
        return _read_xdmf(path, time)
    if suffix in (".vtu", ".pvtu", ".vtk"):
        return pv.read(str(path))
    if suffix == ".pvd":
        reader = pv.get_reader(str(path))
        steps = list(reader.time_values)
        if steps:
            want = steps[-1] if time is None else min(steps, key=lambda s: abs(s - time))
            reader.set_active_time_value(want)
        data = reader.read()
        return data.combine() if isinstance(data, pv.MultiBlock) else data
    if suffix == ".bp":
        raise ValueError(f"path = {str(path)!r}: VTX (ADIOS2) output cannot be read here (no "
                         "ADIOS2 reader in this VTK); write XDMF or VTK files for renders")
    raise ValueError(f"path = {str(path)!r}: unknown field file type {suffix!r}; known: "
                     ".xdmf, .vtu, .pvtu, .vtk, .pvd")


def field_names(path: str | pathlib.Path) -> list[str]:
    """Names of the point and cell fields in a solver output file."""
    grid = read_field_mesh(path)
    return sorted(set(grid.point_data.keys()) | set(grid.cell_data.keys()))


def units_of(field: str) -> str | None:
    """Unit from a field name's suffix (``von_mises_stress_MPa`` -> ``MPa``), else ``None``."""
    tail = field.rsplit("_", 1)[-1]
    return tail if "_" in field and tail in _UNIT_SUFFIXES else None


def render_field(
    path: str | pathlib.Path,
    field: str,
    png: str | pathlib.Path,
    *,
    title: str = "",
    units: str | None = None,
    component: int | str = "magnitude",
    time: float | None = None,
    cells: tuple[str, tuple[int, ...]] | None = None,
    clip_normal: tuple[float, float, float] | None = None,
    clip_origin: tuple[float, float, float] = (0.0, 0.0, 0.0),
    clim: tuple[float, float] | None = None,
    cmap: str = "viridis",
    window_size: tuple[int, int] = (1000, 760),
) -> pathlib.Path:
    """Render a named point or cell field of a solver output file to a PNG (off screen).

    Args:
        path: The field file (see :func:`read_field_mesh`).
        field: Name of the field, e.g. ``"von_mises_stress_MPa"``.
        png: Output image.
        title: Text at the top of the image.
        units: Unit for the colour bar (default: the field name's suffix; a field whose name
            has no unit needs it, ``""`` for a dimensionless one).
        component: For vector/tensor fields, ``"magnitude"`` (Euclidean norm) or an index.
        time: Time step (default: the last).
        cells: ``(tag field, values)``: show only the cells whose tag is in ``values`` (e.g.
            ``("regions", (2,))`` for the calcium of a tagged mesh).
        clip_normal, clip_origin: Cut the mesh with a plane to look inside it.
        clim: Colour limits (default: the data range).
        cmap: Colour map.
        window_size: Image size in pixels.

    Returns:
        The PNG path.

    Raises:
        ValueError: the field is not in the file (the message lists those that are), or no
            unit is known.
    """
    pv = _pyvista()
    grid = read_field_mesh(path, time=time)
    names = sorted(set(grid.point_data.keys()) | set(grid.cell_data.keys()))
    if field not in names:
        raise ValueError(f"field = {field!r} not in {str(path)!r}; fields there: {names}")
    if units is None:
        units = units_of(field)
        if units is None:
            raise ValueError(f"units = None and field = {field!r} has no unit suffix "
                             f"({', '.join(_UNIT_SUFFIXES)}); pass units=")
    if cells is not None:
        tag, values = cells
        if tag not in grid.cell_data:
            raise ValueError(f"cells = {cells!r}: no cell field {tag!r}; fields: {names}")
        grid = grid.extract_cells(np.flatnonzero(np.isin(grid.cell_data[tag], values)))
        if grid.n_cells == 0:
            raise ValueError(f"cells = {cells!r}: no cell has these tags")
    data = grid.point_data[field] if field in grid.point_data else grid.cell_data[field]
    arr = np.asarray(data)
    label = field
    if arr.ndim > 1 and arr.shape[1] > 1:
        if component == "magnitude":
            scalars = np.linalg.norm(arr, axis=1)
            label = f"|{field}|"
        else:
            scalars = arr[:, int(component)]
            label = f"{field}[{int(component)}]"
        key = f"{label} [{units or '-'}]"
        if field in grid.point_data:
            grid.point_data[key] = scalars
        else:
            grid.cell_data[key] = scalars
    else:
        key = f"{label} [{units or '-'}]"
        if field in grid.point_data:
            grid.point_data[key] = arr
        else:
            grid.cell_data[key] = arr
    if clip_normal is not None:
        grid = grid.clip(normal=clip_normal, origin=clip_origin, invert=True)
    pl = pv.Plotter(off_screen=True, window_size=list(window_size))
    pl.set_background("white")
    # No lighting: a shaded face would read as another value on the colour bar.
    pl.add_mesh(grid, scalars=key, cmap=cmap, clim=clim, show_edges=grid.n_cells < 20000,
                edge_color="#404040", line_width=0.2, lighting=False,
                preference="point" if field in grid.point_data else "cell",
                scalar_bar_args={"title": key, "color": "black", "vertical": False,
                                 "position_x": 0.2, "position_y": 0.04, "width": 0.6,
                                 "height": 0.08, "fmt": "%.3g", "title_font_size": 16,
                                 "label_font_size": 14})
    if title:
        pl.add_text(title, font_size=11, position="upper_left", color="black")
    bounds = grid.bounds
    if abs(bounds[5] - bounds[4]) < 1e-12 * max(1.0, abs(bounds[1] - bounds[0])):
        pl.view_xy()  # a 2-D mesh: look straight at it
    else:
        pl.view_isometric()
    pl.camera.zoom(0.85)  # room for the horizontal colour bar
    pl.add_axes(color="black")
    png = pathlib.Path(png)
    png.parent.mkdir(parents=True, exist_ok=True)
    pl.screenshot(str(png))
    pl.close()
    return png
