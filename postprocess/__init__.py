"""Post-processing: result tables, maps, curves, renders and the study report.

Public face::

    from postprocess import load_study_table, write_report, render_field
    from postprocess.maps import plot_value_maps, plot_rupture_maps, plot_feasibility_maps

- :func:`load_study_table` - the cases of a results folder as they are now (pandas).
- :mod:`postprocess.maps` - maps over calcification grade x balloon pressure per gauge (numeric
  results with shared colour scales, rupture mode with the pinhole/tear boundary, feasibility),
  failed/missing cells marked, ``maps.json`` tracing each cell to its cases.
- :mod:`postprocess.curves` - force-displacement and pressure-diameter curves.
- :func:`render_field` - off-screen PyVista picture of a named field of an XDMF/VTU/PVD file.
- :func:`write_report` - the self-contained HTML report (``nre report STUDY_DIR``).
"""

import hpc.stack  # noqa: F401  (orders MPI before DOLFINx; keep first)

from postprocess.table import load_study_table  # noqa: E402


def write_report(*args, **kwargs):
    """See :func:`postprocess.report.write_report` (imported on use: matplotlib)."""
    from postprocess.report import write_report as _write

    return _write(*args, **kwargs)


def render_field(*args, **kwargs):
    """See :func:`postprocess.render.render_field` (imported on use: PyVista)."""
    from postprocess.render import render_field as _render

    return _render(*args, **kwargs)


__all__ = ["load_study_table", "render_field", "write_report"]
