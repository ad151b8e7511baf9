"""Stresses and fields from a solved :class:`fem.solid.hyperelastic.HyperelasticProblem`.

* :func:`cauchy_stress` - the 3x3 Cauchy stress (MPa) of a region as a UFL expression;
* :func:`region_stress_summary` - per region: deformed volume, volume-averaged and peak
  hoop (about the vessel axis z), max principal and von Mises Cauchy stress;
* :func:`write_fields` - displacement, stress tensor, hoop, max principal, von Mises and the
  region tags to XDMF (ParaView: open the ``.xdmf``).

Means are exact quadrature integrals over the deformed region, ``int s J dX / int J dX``;
peaks are the largest values at the quadrature points of the region's cells (interior points:
less sensitive than nodal values to the stress singularities at re-entrant corners, which a
pointwise peak cannot resolve anyway; see DOMAIN.md sec. 8).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import basix
import basix.ufl
import dolfinx
import numpy as np
import ufl
from mpi4py import MPI

from fem.solid.hyperelastic import HyperelasticProblem


@dataclass(frozen=True, slots=True)
class RegionStress:
    """Cauchy-stress summary of one region (MPa, mm^3); JSON-ready via ``asdict``."""

    region: str
    volume_mm3: float
    mean_hoop_MPa: float
    peak_hoop_MPa: float
    mean_max_principal_MPa: float
    peak_max_principal_MPa: float
    mean_von_mises_MPa: float
    peak_von_mises_MPa: float

    def to_dict(self) -> dict:
        return asdict(self)


def cauchy_stress(problem: HyperelasticProblem, region: str):
    """Cauchy stress ``sigma = J^-1 P F^T`` (3x3 UFL, MPa) of ``region`` at the current state."""
    _, F = problem.kinematics()
    Fv = ufl.variable(F)
    psi = problem.strain_energy_density(region, Fv)
    return ufl.diff(psi, Fv) * Fv.T / ufl.det(Fv)


def hoop_direction(problem: HyperelasticProblem, axis_origin_mm: tuple[float, float] = (0.0, 0.0)):
    """Unit circumferential direction about the z axis at the *deformed* position (3-vector)."""
    u, _ = problem.kinematics()
    X = ufl.SpatialCoordinate(problem.mesh)
    x0 = X[0] + u[0] - axis_origin_mm[0]
    y0 = X[1] + u[1] - axis_origin_mm[1]
    r = ufl.sqrt(x0**2 + y0**2)
    return ufl.as_vector([-y0 / r, x0 / r, 0.0])


def _owned_cells(problem: HyperelasticProblem, region: str) -> np.ndarray:
    n_owned = problem.mesh.topology.index_map(problem.mesh.topology.dim).size_local
    cells = problem.cell_tags.find(problem.regions[region])
    return cells[cells < n_owned].astype(np.int32)


def _quadrature(problem: HyperelasticProblem) -> tuple[np.ndarray, np.ndarray]:
    cell = basix.CellType[problem.mesh.topology.cell_name()]
    return basix.make_quadrature(cell, problem.options.quadrature_degree)


def _reduce_region(values: np.ndarray, weights: np.ndarray, comm) -> tuple[float, float]:
    """Global weighted mean and max of ``values`` (arrays may be empty on a rank)."""
    total = comm.allreduce(float(np.sum(values * weights)), op=MPI.SUM)
    wsum = comm.allreduce(float(np.sum(weights)), op=MPI.SUM)
    peak = comm.allreduce(float(np.max(values)) if values.size else -np.inf, op=MPI.MAX)
    return (total / wsum if wsum > 0 else float("nan")), peak


def region_stress_summary(
    problem: HyperelasticProblem,
    regions: Sequence[str] | None = None,
    *,
    axis_origin_mm: tuple[float, float] = (0.0, 0.0),
) -> dict[str, RegionStress]:
    """Volume-averaged and peak Cauchy stresses per region at the current state.

    Args:
        problem: a (solved) problem.
        regions: region names (default: all regions that have a material).
        axis_origin_mm: (x, y) of the vessel axis for the hoop direction.

    Returns:
        Region name -> :class:`RegionStress` (same on every rank).
    """
    regions = list(problem.materials) if regions is None else list(regions)
    points, qweights = _quadrature(problem)
    e_t = hoop_direction(problem, axis_origin_mm)
    _, F = problem.kinematics()
    # |det of the reference-cell map| * J turns reference-cell weights into deformed volume.
    dvol = abs(ufl.JacobianDeterminant(problem.mesh)) * ufl.det(F)
    out = {}
    for region in regions:
        if region not in problem.materials:
            raise ValueError(f"region = {region!r} has no material; known: "
                             f"{sorted(problem.materials)}")
        sigma = cauchy_stress(problem, region)
        packed = ufl.as_vector([sigma[i, j] for i in range(3) for j in range(3)]
                               + [ufl.dot(e_t, sigma * e_t), dvol])
        expr = dolfinx.fem.Expression(packed, points)
        cells = _owned_cells(problem, region)
        vals = expr.eval(problem.mesh, cells).reshape(len(cells), len(qweights), 11)
        sig = vals[..., :9].reshape(-1, 3, 3)
        sig = 0.5 * (sig + np.swapaxes(sig, 1, 2))
        hoop = vals[..., 9].ravel()
        w = (vals[..., 10] * qweights[None, :]).ravel()
        eig = np.linalg.eigvalsh(sig) if len(sig) else np.zeros((0, 3))
        s1 = eig[:, -1]
        dev = sig - np.trace(sig, axis1=1, axis2=2)[:, None, None] / 3.0 * np.eye(3)
        vm = np.sqrt(1.5 * np.einsum("kij,kij->k", dev, dev))
        vol = problem.comm.allreduce(float(np.sum(w)), op=MPI.SUM)
        mean_h, peak_h = _reduce_region(hoop, w, problem.comm)
        mean_1, peak_1 = _reduce_region(s1, w, problem.comm)
        mean_vm, peak_vm = _reduce_region(vm, w, problem.comm)
        out[region] = RegionStress(region, vol, mean_h, peak_h, mean_1, peak_1, mean_vm, peak_vm)
    return out


def stress_fields(
    problem: HyperelasticProblem, *, axis_origin_mm: tuple[float, float] = (0.0, 0.0)
) -> dict[str, dolfinx.fem.Function]:
    """Cell-wise (DG0) Cauchy stress tensor, hoop, max principal and von Mises stress (MPa)."""
    mesh = problem.mesh
    T = dolfinx.fem.functionspace(mesh, ("DG", 0, (3, 3)))
    S = dolfinx.fem.functionspace(mesh, ("DG", 0))
    sigma_f = dolfinx.fem.Function(T, name="cauchy_stress_MPa")
    hoop_f = dolfinx.fem.Function(S, name="hoop_stress_MPa")
    pts = T.element.interpolation_points
    e_t = hoop_direction(problem, axis_origin_mm)
    for region in problem.materials:
        cells = problem.cell_tags.find(problem.regions[region]).astype(np.int32)
        sigma = cauchy_stress(problem, region)
        sigma_f.interpolate(dolfinx.fem.Expression(sigma, pts), cells0=cells)
        hoop_f.interpolate(dolfinx.fem.Expression(ufl.dot(e_t, sigma * e_t), pts), cells0=cells)
    sig = sigma_f.x.array.reshape(-1, 3, 3)
    sig = 0.5 * (sig + np.swapaxes(sig, 1, 2))
    s1 = dolfinx.fem.Function(S, name="max_principal_stress_MPa")
    s1.x.array[:] = np.linalg.eigvalsh(sig)[:, -1]
    dev = sig - np.trace(sig, axis1=1, axis2=2)[:, None, None] / 3.0 * np.eye(3)
    vm = dolfinx.fem.Function(S, name="von_mises_stress_MPa")
    vm.x.array[:] = np.sqrt(1.5 * np.einsum("kij,kij->k", dev, dev))
    return {"cauchy_stress": sigma_f, "hoop": hoop_f, "max_principal": s1, "von_mises": vm}


def write_fields(
    problem: HyperelasticProblem,
    path: str | os.PathLike,
    *,
    axis_origin_mm: tuple[float, float] = (0.0, 0.0),
    t: float = 0.0,
) -> None:
    """Write the current state to XDMF (ParaView-readable; ``path`` ends in ``.xdmf``).

    The displacement is interpolated to the mesh-geometry Lagrange space (P1 on a straight
    mesh), stresses are cell averages (DG0); region tags are written as mesh tags. Use
    "Warp By Vector" on ``displacement_mm`` in ParaView to see the deformed state.
    """
    mesh = problem.mesh
    degree = mesh.geometry.cmaps[0].degree
    Vg = dolfinx.fem.functionspace(mesh, ("Lagrange", degree, (mesh.geometry.dim,)))
    u_out = dolfinx.fem.Function(Vg, name="displacement_mm")
    u_out.interpolate(problem.displacement)
    fields = stress_fields(problem, axis_origin_mm=axis_origin_mm)
    with dolfinx.io.XDMFFile(mesh.comm, os.fspath(path), "w") as xdmf:
        xdmf.write_mesh(mesh)
        problem.cell_tags.name = "regions"
        xdmf.write_meshtags(problem.cell_tags, mesh.geometry)
        xdmf.write_function(u_out, t)
        for f in fields.values():
            xdmf.write_function(f, t)


def boundary_mean(problem: HyperelasticProblem, expr, boundary: str) -> float:
    """Mean of a scalar UFL expression over a reference boundary (``int expr dA / int dA``)."""
    ds = problem.ds(problem.boundaries[boundary])
    num = dolfinx.fem.form(expr * ds)
    den = dolfinx.fem.form(1.0 * ds)
    a = problem.comm.allreduce(dolfinx.fem.assemble_scalar(num), op=MPI.SUM)
    b = problem.comm.allreduce(dolfinx.fem.assemble_scalar(den), op=MPI.SUM)
    return float(a / b)
