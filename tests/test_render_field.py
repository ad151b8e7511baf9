"""render_field on fields written by DOLFINx itself (XDMF as fem.solid.output writes it, and
VTK .pvd): the values read back are the ones written, and the PNG shows a coloured field."""

from __future__ import annotations

import hpc.stack  # noqa: F401  (orders MPI before DOLFINx; keep first)

import numpy as np
import pytest
from dolfinx import fem, io, mesh
from mpi4py import MPI

from postprocess.render import field_names, read_field_mesh, render_field, units_of


def _write_fields(comm, folder):
    domain = mesh.create_box(comm, [[0.0, 0.0, 0.0], [2.0, 1.0, 1.0]], [6, 3, 3],
                             mesh.CellType.tetrahedron)
    V = fem.functionspace(domain, ("Lagrange", 1, (3,)))
    u = fem.Function(V, name="displacement_mm")
    u.interpolate(lambda x: np.vstack([0.1 * x[0], 0.0 * x[1], 0.05 * x[2]]))
    S = fem.functionspace(domain, ("DG", 0))
    vm = fem.Function(S, name="von_mises_stress_MPa")
    vm.interpolate(lambda x: 3.0 * x[0] + x[1])
    T = fem.functionspace(domain, ("DG", 0, (3, 3)))
    sigma = fem.Function(T, name="cauchy_stress_MPa")
    sigma.interpolate(lambda x: np.tile(x[0], (9, 1)))
    tdim = domain.topology.dim
    cells = np.arange(domain.topology.index_map(tdim).size_local, dtype=np.int32)
    mid = mesh.compute_midpoints(domain, tdim, cells)
    tags = mesh.meshtags(domain, tdim, cells, np.where(mid[:, 0] < 1.0, 1, 2).astype(np.int32))
    tags.name = "regions"
    xdmf = folder / "fields.xdmf"
    with io.XDMFFile(comm, str(xdmf), "w") as out:
        out.write_mesh(domain)
        out.write_meshtags(tags, domain.geometry)
        out.write_function(u, 0.0)
        out.write_function(vm, 0.0)
        out.write_function(sigma, 0.0)
        vm.x.array[:] *= 2.0  # a second time step: the default read is the last one
        out.write_function(vm, 1.0)
    with io.VTKFile(comm, str(folder / "fields.pvd"), "w") as out:
        out.write_function([vm], 0.0)
    return xdmf


@pytest.mark.mpi
def test_render_field_from_dolfinx_output(shared_tmp):
    comm = MPI.COMM_WORLD
    xdmf = _write_fields(comm, shared_tmp)
    comm.barrier()
    if comm.rank == 0:  # the reading and the picture are serial work
        grid = read_field_mesh(xdmf)
        centres = grid.cell_centers().points
        assert grid.n_cells == 6 * 3 * 3 * 6
        assert np.allclose(grid.cell_data["von_mises_stress_MPa"],
                           2.0 * (3.0 * centres[:, 0] + centres[:, 1]))
        assert np.allclose(read_field_mesh(xdmf, time=0.0).cell_data["von_mises_stress_MPa"],
                           3.0 * centres[:, 0] + centres[:, 1])
        assert np.array_equal(grid.cell_data["regions"], np.where(centres[:, 0] < 1.0, 1, 2))
        u = grid.point_data["displacement_mm"]
        assert np.allclose(u[:, 0], 0.1 * grid.points[:, 0])
        assert grid.cell_data["cauchy_stress_MPa"].shape == (grid.n_cells, 9)
        assert field_names(xdmf) == ["cauchy_stress_MPa", "displacement_mm", "regions",
                                     "von_mises_stress_MPa"]
        assert units_of("von_mises_stress_MPa") == "MPa" and units_of("regions") is None

        png = render_field(xdmf, "von_mises_stress_MPa", shared_tmp / "vm.png",
                           title="von Mises in region 2", cells=("regions", (2,)))
        img = _image(png)
        assert img.shape[0] > 500 and img.shape[1] > 700
        colours = np.unique(img[..., :3].reshape(-1, 3), axis=0)
        assert len(colours) > 50  # a colour map, a colour bar and text, not a blank frame
        render_field(xdmf, "displacement_mm", shared_tmp / "u.png", title="|u|")
        render_field(shared_tmp / "fields.pvd", "von_mises_stress_MPa", shared_tmp / "p.png")
        with pytest.raises(ValueError, match="field = 'contact_pressure_MPa' not in"):
            render_field(xdmf, "contact_pressure_MPa", shared_tmp / "x.png")
        with pytest.raises(ValueError, match="has no unit suffix"):
            render_field(xdmf, "regions", shared_tmp / "r.png")
        render_field(xdmf, "regions", shared_tmp / "r.png", units="")
    comm.barrier()


def _image(png):
    import matplotlib.image

    return matplotlib.image.imread(png)
