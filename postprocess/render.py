"""Off-screen PyVista renders (PNG)."""

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
