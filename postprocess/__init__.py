"""Post-processing: result tables, maps, curves, renders and the study report."""

import hpc.stack  # noqa: F401  (orders MPI before DOLFINx; keep first)
