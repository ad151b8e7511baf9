"""Build a Gmsh model on rank 0 and distribute its mesh: the one place that does it for the
meshes that are not cached (discs, patches, films, the DCB test strip).

Gmsh is started if it is not running (and finalised again), or, when the caller already runs
it, only the model built here is removed afterwards.
"""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["build_on_rank0"]


def build_on_rank0(build: Callable[[], None], comm, *, gdim: int, tdim: int | None = None):
    """Run ``build()`` (it adds and meshes a Gmsh model) on rank 0 of ``comm`` and distribute
    the mesh; returns DOLFINx's ``MeshData`` (mesh, cell tags, facet tags).

    Args:
        gdim: geometric dimension of the DOLFINx mesh.
        tdim: with a value, the cells are partitioned with ghosts over shared facets (the
            topological dimension of the cells); None: DOLFINx's default partitioner.
    """
    import hpc.stack  # noqa: F401  (orders MPI before DOLFINx)

    import dolfinx
    import gmsh
    from dolfinx.io import gmsh as gmshio

    started = False
    try:
        if comm.rank == 0:
            if not gmsh.isInitialized():
                gmsh.initialize(interruptible=False)
                started = True
            gmsh.option.setNumber("General.Terminal", 0)
            build()
        kwargs = {}
        if tdim is not None:
            kwargs["partitioner"] = dolfinx.mesh.create_cell_partitioner(
                dolfinx.mesh.GhostMode.shared_facet, tdim)
        return gmshio.model_to_mesh(gmsh.model if comm.rank == 0 else None, comm, 0, gdim=gdim,
                                    **kwargs)
    finally:
        if started:
            gmsh.finalize()
        elif comm.rank == 0 and gmsh.isInitialized():
            gmsh.model.remove()
