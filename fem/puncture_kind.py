"""The ``puncture`` case kind: :func:`fem.puncture.solve_puncture` from a study's ``base`` table.

Reads ``params["needle"]["gauge"]`` (and ``tip``, ``tip_angle_deg``, ``tip_radius_mm``),
``params["calcification"]["grade"]``, ``params["balloon"]["pressure_atm"]``,
``params["calcium"]["modulus_MPa"]`` / ``["poisson_ratio"]`` / ``["thickness_mm"]`` (0 = the
grade's), ``params["mesh"]["level"]`` and ``params["puncture"][...]`` (events, disc size, edge,
fracture energies in J/m^2, crack width). The shared entries (grade, pressure, gauge, mesh level)
are registered by :mod:`studies.fields`; the rest here. DOLFINx is imported inside
:func:`run_puncture` so that ``nre study check`` stays fast.

Returns the scalar results per event (``<event>_puncture_force_N``,
``<event>_puncture_displacement_mm``, ``<event>_status``, iterations) and the curves
(``<event>_force_curve_d_mm`` / ``_F_N``); the contact pressure at F* goes to
``workdir/fields``. When the case solved the balloon problem first (``solve = ["balloon",
"puncture"]``) and ``puncture.prestress = "balloon"``, each event starts from the wall's state
on the needle path that the balloon kind left in ``workdir`` (:mod:`fem.prestress`: the disc
rim is driven to the layer's in-plane stretch); ``prestress_source`` says which start was used.
An event that fails is recorded in its status and failure fields; the case
fails (``status = "failed"``) only when every event failed.
"""

from __future__ import annotations

import math
from pathlib import Path

from studies.kinds import register_kind
from studies.schema import SCHEMA, Field

__all__ = ["case_from_params", "run_puncture"]

SCHEMA.add_section("base.needle", [
    Field("tip", str, default="lancet", choices=("lancet", "conical", "spherical", "flat"),
          doc="Needle tip (a lancet is a cone of its bevel angle in the axisymmetric model)"),
    Field("tip_angle_deg", float, default=45.0, low=5.0, high=89.0, unit="deg",
          doc="Bevel angle (lancet) or cone half-angle (conical)"),
    Field("tip_radius_mm", float, default=0.1, low=0.0, high=0.5, unit="mm",
          doc="Apex rounding of a conical or lancet tip"),
])
SCHEMA.add_section("base.calcium", [
    Field("modulus_MPa", float, default=1.0e3, low=1.0, high=1.0e5, unit="MPa",
          doc="Young's modulus of calcium (sweep 10 MPa .. 20 GPa)"),
    Field("poisson_ratio", float, default=0.3, low=0.0, high=0.5, high_open=True,
          doc="Poisson ratio of calcium"),
    Field("thickness_mm", float, default=0.0, low=0.0, high=3.0, unit="mm",
          doc="Calcium sheet thickness; 0 = the grade's"),
])
SCHEMA.add_section("base.puncture", [
    Field("events", list, item=str, default=["outer_wall", "flap"], min_items=1,
          choices=("outer_wall", "flap"), doc="Puncture events, in needle order"),
    Field("disc_radius_factor", float, default=4.0, low=2.0, high=20.0,
          doc="Disc radius in needle outer diameters"),
    Field("edge", str, default="clamped", choices=("clamped", "roller"),
          doc="Outer edge of the disc"),
    Field("prestress", str, default="balloon", choices=("balloon", "none"),
          doc="Start from the balloon problem's state on the needle path when the case "
              "solved it first (solve = [\"balloon\", \"puncture\"]), or stress-free"),
    Field("max_depth_factor", float, default=3.0, low=0.2, high=20.0,
          doc="Give up after this many wall thicknesses of needle travel"),
    Field("crack_width_factor", float, default=1.0, low=0.0, low_open=True, high=10.0,
          doc="Crack width in needle outer diameters"),
    Field("fracture_energy_adventitia_J_per_m2", float, default=290.0, low=0.0, low_open=True,
          high=1e5, unit="J/m^2", doc="Fracture energy of adventitia"),
    Field("fracture_energy_media_J_per_m2", float, default=64.0, low=0.0, low_open=True,
          high=1e5, unit="J/m^2", doc="Fracture energy of media"),
    Field("fracture_energy_intima_J_per_m2", float, default=164.0, low=0.0, low_open=True,
          high=1e5, unit="J/m^2", doc="Fracture energy of the diseased intima"),
    Field("fracture_energy_calcium_J_per_m2", float, default=200.0, low=0.0, low_open=True,
          high=1e5, unit="J/m^2", doc="Fracture energy of calcium"),
])


def case_from_params(params: dict):
    """The :class:`fem.puncture.PunctureCase` of a resolved ``base`` table."""
    from fem.puncture import J_PER_M2, FractureEnergies, PunctureCase, PunctureCriterion

    needle = params.get("needle", {})
    calcium = params.get("calcium", {})
    punct = params.get("puncture", {})
    fe = FractureEnergies(**{
        f"{t}_N_per_mm": punct.get(f"fracture_energy_{t}_J_per_m2", d) * J_PER_M2
        for t, d in (("adventitia", 290.0), ("media", 64.0), ("intima", 164.0),
                     ("calcium", 200.0))})
    thickness = calcium.get("thickness_mm", 0.0)
    return PunctureCase(
        gauge=int(needle.get("gauge", 18)),
        tip=needle.get("tip", "lancet"),
        tip_angle_deg=float(needle.get("tip_angle_deg", 45.0)),
        tip_radius_mm=float(needle.get("tip_radius_mm", 0.1)),
        grade=params.get("calcification", {}).get("grade", "pacss-3"),
        calcium_thickness_mm=float(thickness) if thickness else None,
        calcium_modulus_MPa=float(calcium.get("modulus_MPa", 1.0e3)),
        calcium_poisson_ratio=float(calcium.get("poisson_ratio", 0.3)),
        balloon_pressure_atm=float(params.get("balloon", {}).get("pressure_atm", 6.0)),
        events=tuple(punct.get("events", ("outer_wall", "flap"))),
        disc_radius_factor=float(punct.get("disc_radius_factor", 4.0)),
        edge=punct.get("edge", "clamped"),
        max_depth_factor=float(punct.get("max_depth_factor", 3.0)),
        mesh_level=int(params.get("mesh", {}).get("level", 1)),
        criterion=PunctureCriterion(fracture=fe,
                                    crack_width_factor=float(punct.get("crack_width_factor",
                                                                       1.0))),
    )


def run_puncture(params: dict, comm, workdir: Path) -> dict:
    """Solve the puncture events of one case; see the module docstring."""
    import dataclasses

    from fem.prestress import PATH_STATE_FILE, read_path_state
    from fem.puncture import solve_puncture

    case = case_from_params(params)
    state_file = Path(workdir) / PATH_STATE_FILE
    source = "none"
    if params.get("puncture", {}).get("prestress", "balloon") == "balloon" and \
            state_file.is_file():
        state = read_path_state(state_file)
        case = dataclasses.replace(
            case, edge="clamped",
            prestretch_outer_wall=min(max(state.in_plane_stretch("outer_wall"), 0.7), 2.0),
            prestretch_flap=min(max(state.in_plane_stretch("flap"), 0.7), 2.0))
        source = "balloon"
    fields = Path(workdir) / "fields"
    if comm.rank == 0:
        fields.mkdir(parents=True, exist_ok=True)
    comm.barrier()
    record = solve_puncture(case, comm, fields)
    out: dict = {"prestress_source": source}
    for event, rec in record["events"].items():
        out[f"{event}_prestretch"] = float(rec.get("prestretch", 1.0))
        out[f"{event}_status"] = rec["status"]
        out[f"{event}_puncture_force_N"] = _num(rec["puncture_force_N"])
        out[f"{event}_puncture_displacement_mm"] = _num(rec["puncture_displacement_mm"])
        out[f"{event}_threshold_Nmm"] = _num(rec["threshold_Nmm"])
        out[f"{event}_newton_iterations"] = int(rec.get("newton_iterations", 0))
        out[f"{event}_al_iterations"] = int(rec.get("al_iterations", 0))
        out[f"{event}_steps"] = int(rec.get("steps", 0))
        out[f"{event}_cells"] = int(rec["cells"])
        failure = rec.get("failure") or {}
        out[f"{event}_failure_reason"] = str(failure.get("reason", ""))
        curve = rec.get("curve", [])
        out[f"{event}_force_curve_d_mm"] = [float(d) for d, _ in curve]
        out[f"{event}_force_curve_F_N"] = [float(f) for _, f in curve]
    if all(rec["status"] == "failed" for rec in record["events"].values()):
        out["status"] = "failed"
        out["reason"] = "; ".join(f"{e}: {r['failure']}" for e, r in record["events"].items())
    return out


def _num(x: float) -> float | None:
    return None if x is None or not math.isfinite(float(x)) else float(x)


def _cost(params: dict) -> float:
    # Measured: ~20-60 core-s per event at level 1 on the 2-core test machine; x3 per level.
    level = int(params.get("mesh", {}).get("level", 1))
    events = len(params.get("puncture", {}).get("events", ["outer_wall", "flap"]))
    return 40.0 * events * 3.0 ** (level - 1)


register_kind("puncture", run_puncture, cost_core_s=_cost)
