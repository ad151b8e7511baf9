"""The balloon problem's final state where the needle crosses the wall: the puncture's start.

The puncture events are solved on local axisymmetric discs (:mod:`fem.needle.puncture`); the balloon
problem (:mod:`fem.balloon.problem`) is the global solution around them. This module reads the
global
displacement on the needle path and reduces it to what the local model can carry: per event,
the in-plane stretch of the layers the needle crosses, which the disc's rim is then driven to
before the needle moves (:meth:`fem.needle.contact.AxisymmetricNeedleProblem.prestretch`). That is a
submodel driven on its boundary by the global solution, in the reduced form an axisymmetric
disc allows.

What is measured (on the needle path, the +x axis of the cross-section, ``y = 0``):

* hoop stretch ``lambda_t``: the deformed length of a short material fibre along the hoop
  direction (``y``) through the layer, ``|phi(X, +delta) - phi(X, -delta)| / (2 delta)``,
  averaged over points through the layer thickness;
* thickness stretch: deformed distance between the layer stack's two faces on the path over
  the reference thickness;
* axial stretch ``lambda_z``: the section's plane-strain axial stretch (1, or the in-situ
  axial pre-stretch when it was applied).

The disc is axisymmetric, so its in-plane stretch is equi-biaxial: it is given the geometric
mean of what the balloon adds to the in-situ state (axially pre-stretched, unpressurised),
``lambda = sqrt((lambda_t / lambda_t0) (lambda_z / lambda_z0))``, which keeps the area stretch
the balloon causes (and, for an incompressible layer, the thinning). The in-situ axial
pre-stretch itself is not handed over: calcium forms in the stretched vessel, so it is not
pre-stressed by it (the balloon problem models the same: its calcium is stress-free in the
in-situ state, ``BalloonCase.stress_free_in_situ``), and one rim stretch cannot give the soft
layers a pre-stress the calcium does not carry. What is lost: the difference between hoop and axial
stretch and the wall's curvature (stated in the README). The balloon pressure itself enters
the outer-wall event as the pressure-limited backing; on the flap it is balanced by the
true-lumen contents (see :mod:`fem.needle.puncture`).

Units: mm; stretches dimensionless.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from mpi4py import MPI

__all__ = ["PATH_STATE_FILE", "PathState", "path_state", "read_path_state", "write_path_state"]

#: Where a study case's balloon kind leaves the state for its puncture kind.
PATH_STATE_FILE = "balloon_path_state.json"

#: Half-length (mm) of the hoop fibre measured at each point.
_DELTA_MM = 0.02
#: Points through each layer stack's thickness.
_SAMPLES = 7


@dataclass(frozen=True, slots=True)
class PathState:
    """The wall's state on the needle path at the balloon pressure reached.

    Attributes:
        pressure_atm: balloon pressure of the state.
        axial_stretch: axial stretch of the section (plane strain).
        outer_wall_hoop_stretch, flap_hoop_stretch: mean hoop stretch through the layers.
        outer_wall_thickness_stretch, flap_thickness_stretch: deformed / reference thickness.
        channel_diameter_mm: equivalent diameter of the deformed channel (the confined
            balloon's diameter), NaN when not known.
        outer_wall_hoop_stretch_in_situ, flap_hoop_stretch_in_situ, axial_stretch_in_situ:
            the same stretches in the in-situ state (axial pre-stretch applied, no pressure);
            1 when the state is measured from the stress-free configuration.
    """

    pressure_atm: float
    axial_stretch: float
    outer_wall_hoop_stretch: float
    outer_wall_thickness_stretch: float
    flap_hoop_stretch: float
    flap_thickness_stretch: float
    channel_diameter_mm: float = math.nan
    outer_wall_hoop_stretch_in_situ: float = 1.0
    flap_hoop_stretch_in_situ: float = 1.0
    axial_stretch_in_situ: float = 1.0

    def in_plane_stretch(self, event: str) -> float:
        """Equi-biaxial stretch the balloon adds for the axisymmetric disc:
        ``sqrt((lambda_t / lambda_t0) (lambda_z / lambda_z0))``, relative to the in-situ state
        (``0``: axially pre-stretched, unpressurised)."""
        hoop = getattr(self, f"{event}_hoop_stretch") / getattr(self,
                                                                f"{event}_hoop_stretch_in_situ")
        return math.sqrt(hoop * self.axial_stretch / self.axial_stretch_in_situ)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["outer_wall_in_plane_stretch"] = self.in_plane_stretch("outer_wall")
        d["flap_in_plane_stretch"] = self.in_plane_stretch("flap")
        return d


def _eval_points(u, points: np.ndarray) -> np.ndarray:
    """Values of ``u`` at ``points`` (n, 3) on every rank (NaN where no rank has the point)."""
    import dolfinx.geometry

    mesh = u.function_space.mesh
    tree = dolfinx.geometry.bb_tree(mesh, mesh.topology.dim)
    cand = dolfinx.geometry.compute_collisions_points(tree, points)
    hits = dolfinx.geometry.compute_colliding_cells(mesh, cand, points)
    bs = int(np.prod(u.ufl_shape)) if u.ufl_shape else 1
    vals = np.full((len(points), bs), np.nan)
    n_local = mesh.topology.index_map(mesh.topology.dim).size_local
    for i in range(len(points)):
        cells = hits.links(i)
        cells = cells[cells < n_local]  # owned cells only: each point counted once
        if len(cells):
            vals[i] = np.reshape(u.eval(points[i:i + 1], cells[:1]), (-1, bs))[0]
    found = np.where(np.isnan(vals), 0.0, 1.0)
    total = mesh.comm.allreduce(np.nan_to_num(vals), op=MPI.SUM)
    count = mesh.comm.allreduce(found, op=MPI.SUM)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / np.maximum(count, 1.0), np.nan)


def _stack_state(u, x_in: float, x_out: float, plane_z: float | None) -> tuple[float, float]:
    """``(mean hoop stretch, thickness stretch)`` of the layers between ``x_in`` and ``x_out``
    on the +x axis."""
    gdim = u.function_space.mesh.geometry.dim

    def pts(xs, y):
        p = np.zeros((len(xs), 3))
        p[:, 0], p[:, 1] = xs, y
        if gdim == 3:
            p[:, 2] = plane_z
        return p

    t = x_out - x_in
    # Sample strictly inside the stack (a face point may sit in a neighbouring region).
    xs = x_in + t * (np.arange(_SAMPLES) + 0.5) / _SAMPLES
    up = _eval_points(u, pts(xs, _DELTA_MM))
    um = _eval_points(u, pts(xs, -_DELTA_MM))
    dx = np.zeros((len(xs), gdim))
    dx[:, 1] = 2.0 * _DELTA_MM
    fibre = dx + (up[:, :gdim] - um[:, :gdim])
    hoop = float(np.mean(np.linalg.norm(fibre, axis=1)) / (2.0 * _DELTA_MM))
    eps = 1e-3 * t
    ends = _eval_points(u, pts(np.array([x_in + eps, x_out - eps]), 0.0))
    span = np.zeros(gdim)
    span[0] = (x_out - eps) - (x_in + eps)
    thick = float(np.linalg.norm(span + ends[1, :gdim] - ends[0, :gdim]) / span[0])
    if not (math.isfinite(hoop) and math.isfinite(thick)):
        raise RuntimeError(f"the needle path x in [{x_in:g}, {x_out:g}] mm is not inside "
                           "the mesh")
    return hoop, thick


def path_state(balloon, pressure_atm: float | None = None,
               in_situ: PathState | None = None) -> PathState:
    """Measure the state of a solved :class:`fem.balloon.problem.BalloonProblem` on the needle path.

    Args:
        balloon: the balloon problem, in the state to hand over (its last equilibrium).
        pressure_atm: the pressure of that state, recorded (None: from the problem's curve).
        in_situ: the state measured before the balloon was inflated (after the axial
            pre-stretch), the reference of :meth:`PathState.in_plane_stretch`.
    """
    cs = balloon.cs
    art = balloon.model.artery
    u = balloon.problem.displacement
    plane_z = cs.needle_target()[2] if u.function_space.mesh.geometry.dim == 3 else None
    media_in = cs.x_b + cs.r_channel
    ow = _stack_state(u, media_in, cs.x_outer, plane_z)
    flap_in = cs.x_a + cs.r_lumen
    fl = _stack_state(u, flap_in, flap_in + art.flap_thickness_mm, plane_z)
    if pressure_atm is None:
        from fem.solid.materials import ATM_MPa

        pressure_atm = float(balloon.problem.pressure_MPa) / ATM_MPa
    ref = {}
    if in_situ is not None:
        ref = dict(outer_wall_hoop_stretch_in_situ=in_situ.outer_wall_hoop_stretch,
                   flap_hoop_stretch_in_situ=in_situ.flap_hoop_stretch,
                   axial_stretch_in_situ=in_situ.axial_stretch)
    return PathState(**ref, pressure_atm=float(pressure_atm),
                     axial_stretch=float(balloon.problem.axial_stretch),
                     outer_wall_hoop_stretch=ow[0], outer_wall_thickness_stretch=ow[1],
                     flap_hoop_stretch=fl[0], flap_thickness_stretch=fl[1],
                     channel_diameter_mm=2.0 * math.sqrt(
                         max(balloon.enclosed_area_mm2("channel_surface"), 0.0) / math.pi))


def write_path_state(state: PathState, path: str | os.PathLike) -> None:
    """Write the state as JSON, atomically (rank 0 only should call it)."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(state.to_dict(), indent=2))
    os.replace(tmp, path)


def read_path_state(path: str | os.PathLike) -> PathState:
    """Read a state written by :func:`write_path_state`."""
    data = json.loads(Path(path).read_text())
    names = PathState.__dataclass_fields__
    return PathState(**{k: float(v) for k, v in data.items() if k in names})
