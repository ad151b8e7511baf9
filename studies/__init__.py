"""Studies: study files, case expansion, the resumable case runner and the CLI."""

import hpc.stack  # noqa: F401  (orders MPI before DOLFINx; keep first)
