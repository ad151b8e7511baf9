"""The ``puncture`` case kind: :func:`fem.needle.puncture.solve_puncture` from a study's ``base``
table.

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
on the needle path that the balloon kind left in ``workdir`` (:mod:`fem.balloon.prestress`: the disc
rim is driven to the layer's in-plane stretch); ``prestress_source`` says which start was used.
An event that fails is recorded in its status and failure fields; the case
fails (``status = "failed"``) only when every event failed.

After the events, the balloon film, its burst and the devices (:func:`rupture_columns`; closed
forms of :mod:`fem.closed_form.rupture`, :mod:`fem.balloon.film` and
:mod:`fem.closed_form.feasibility`, the FE film of :mod:`fem.balloon.film_puncture` and,
with ``rupture.burst_model = "fe"``, the FE balloon of :mod:`fem.balloon.burst`; inputs
``params["rupture"]``, ``params["balloon"]`` (``film_thickness_mm``, ``channel_diameter_mm``),
``params["needle"]``, ``params["reentry_device"]["force_limit_N"]`` and the event forces):

* The film where the needle meets it (:func:`film_site`): the body of the balloon fitted to its
  rating, in its channel (rest diameter ``balloon_diameter_mm / oversizing``, radial stiffness
  ``wall_stiffness_MPa_per_mm``), or, when the case solved the balloon problem first, against a
  rigid wall at the channel diameter that problem reached. ``film_support`` ``"auto"``: on the
  wall where the film presses on it.
* ``balloon_rupture_mode`` (``"pinhole"`` / ``"tear"``, of the variant that applies),
  ``balloon_rupture_support`` (``"wall"`` / ``"free"``), ``balloon_rupture_mode_free`` /
  ``_wall``, ``balloon_stress_intensity_MPa_sqrt_m`` (applies) and ``_free_`` / ``_wall_``,
  ``balloon_pinhole_limit_atm`` (free film, small strain), ``balloon_hoop_stress_MPa`` (where the
  needle meets the film), ``balloon_film_contact_pressure_MPa``, ``balloon_film_diameter_mm``,
  ``balloon_folias_lambda``, ``balloon_folias_M_free``, ``balloon_folias_valid``.
* ``balloon_puncture_force_N`` / ``balloon_puncture_displacement_mm``: the FE film's F* and d*
  (``film_puncture_model = "fe"``, ``balloon_puncture_status`` / ``_criterion``), or the
  small-deflection closed form where it is valid (else None);
  ``balloon_puncture_force_closed_form_N``, ``balloon_film_closed_form_valid``,
  ``balloon_film_stretch_ratio`` always.
* After the rupture (:func:`fem.closed_form.rupture.post_rupture_state`):
  ``balloon_pressure_after_rupture_atm`` (pinhole: the pressure; tear: 0),
  ``balloon_deflated``, ``flap_prestress_after_rupture`` (``"balloon"`` / ``"residual"``).
  The flap event starts from that state: with the balloon's hand-over, a tear (the balloon
  deflates) sets the flap's pre-stretch to 1 (its residual, in-situ state), a pinhole keeps the
  balloon's; ``flap_start_state`` (``"balloon"``, ``"residual"`` or ``"none"``) says which.
* Burst (:func:`burst_columns`): ``balloon_burst_atm`` (mean film strength, in the channel),
  ``balloon_burst_mode``, ``balloon_burst_region``, ``balloon_burst_p999_atm`` (the strength's
  0.1 % quantile: what 99.9 % of balloons survive), ``balloon_free_burst_atm``,
  ``balloon_rated_burst_atm``, ``balloon_burst_above_rbp``, ``balloon_oversizing``,
  ``balloon_burst_model``.
* ``needle_euler_load_N``, ``needle_required_N`` (largest known force of outer wall, balloon
  film and flap), ``needle_limiting_event``, ``feasible_needle`` (the case's needle, any gauge:
  True / False / None when a needed force is unknown and the known ones are below the limit),
  ``feasible_needle_18G`` (the same value, present only when the gauge is 18: the column the
  maps read; for other gauges pass ``puncture:feasible_needle`` to the maps),
  ``reentry_device_limit_N``, ``feasible_reentry_device`` (the flap's F* against the device's
  limit; None when the flap failed or was not solved) and ``flap_punctured_by``
  (``"needle"``, ``"reentry_device"``, ``"needle+reentry_device"``, ``"neither"``, or None when
  unknown).

:func:`check_puncture` (the kind's check hook) builds the case, the disc spec of each event and
the rupture and feasibility inputs (the closed forms run before the solve), without meshing:
``nre study check`` reports what they refuse, e.g. ``rupture.support_radius_mm`` at or below the
needle's radius.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

from studies.kinds import CaseInputs, input_issue, register_kind
from studies.schema import SCHEMA, Field

if TYPE_CHECKING:
    from fem.closed_form.feasibility import NeedleColumn, ReentryDevice
    from fem.closed_form.rupture import FilmRupture
    from meshes.spec import BalloonSpec

__all__ = ["burst_columns", "case_from_params", "check_puncture", "film_puncture_case",
           "film_site", "rupture_columns", "rupture_inputs", "run_puncture"]

SCHEMA.add_section("base.needle", [
    Field("tip", str, default="lancet", choices=("lancet", "conical", "spherical", "flat"),
          doc="Needle tip (a lancet is a cone of its bevel angle in the axisymmetric model)"),
    Field("tip_angle_deg", float, default=30.0, low=5.0, high=89.0, unit="deg",
          doc="Bevel angle (lancet) or cone half-angle (conical)"),
    Field("friction_coefficient", float, default=0.0, low=0.0, high=2.0,
          doc="Coulomb friction between needle and tissue (0: frictionless)"),
    Field("tip_radius_mm", float, default=0.05, low=0.0, high=0.5, unit="mm",
          doc="Apex rounding of a conical or lancet tip"),
    Field("free_length_mm", float, default=70.0, low=0.0, low_open=True, high=500.0,
          unit="mm", doc="Unsupported needle length for Euler buckling [est: a 7 cm needle]"),
    Field("end_condition", str, default="pinned-pinned",
          choices=("fixed-free", "pinned-pinned", "fixed-pinned", "fixed-fixed"),
          doc="Needle end conditions for buckling (K = 2.0, 1.0, 0.699, 0.5) [est]"),
    Field("modulus_MPa", float, default=193000.0, low=1.0e3, high=1.0e6, unit="MPa",
          doc="Needle Young's modulus (304 stainless steel, 193 GPa)"),
])
SCHEMA.add_section("base.rupture", [
    Field("film_toughness_MPa_sqrt_m", float, default=4.0, low=0.0, low_open=True, high=50.0,
          unit="MPa*sqrt(m)", doc="Balloon film toughness K_c (sweep 2-6) [est]"),
    Field("film_modulus_MPa", float, default=1500.0, low=10.0, high=1.0e5, unit="MPa",
          doc="Balloon film Young's modulus for G = K_c^2/E (nylon-12 ~1.2-1.6 GPa) [est]"),
    Field("balloon_diameter_mm", float, default=5.0, low=2.0, high=12.0, unit="mm",
          doc="Balloon diameter at the puncture for the tear check (nominal 5.0 mm); "
              "replaced by the diameter reached when the case solved the balloon first"),
    Field("support_radius_mm", float, default=0.0, low=0.0, high=50.0, unit="mm",
          doc="Radius where the film's dimple ends in the closed-form force; 0 = the balloon "
              "radius [est]"),
    Field("film_strength_MPa", float, default=240.0, low=20.0, high=1000.0, unit="MPa",
          doc="Balloon film's mean tensile strength (burst and the needle's strength "
              "criterion) [est]"),
    Field("film_strength_cov", float, default=0.05, low=0.0, high=0.3,
          doc="Coefficient of variation of the film strength (the burst 99.9 % of balloons "
              "survive) [est]"),
    Field("oversizing", float, default=0.0, low=0.0, high=2.0,
          doc="Balloon nominal / channel rest diameter; 0 = balloon_diameter_mm / "
              "balloon.channel_diameter_mm"),
    Field("wall_stiffness_MPa_per_mm", float, default=0.3, low=0.0, low_open=True, high=1.0e5,
          unit="MPa/mm", doc="Channel wall's radial stiffness under the balloon (Winkler) "
                             "[est: E t / R^2, E 0.72 MPa, t 1.55 mm, R 2 mm]"),
    Field("film_support", str, default="auto", choices=("auto", "wall", "free"),
          doc="Where the needle meets the film: on the wall, free, or auto (on the wall where "
              "the film presses on it)"),
    Field("film_puncture_model", str, default="fe", choices=("fe", "closed_form"),
          doc="Needle force through the film: FE film, or the small-deflection closed form "
              "(reported only inside its range)"),
    Field("burst_model", str, default="closed_form", choices=("closed_form", "fe", "none"),
          doc="Balloon burst: body as a closed-end cylinder, FE balloon with cones, or none"),
])
SCHEMA.add_section("base.reentry_device", [
    Field("force_limit_N", float, default=1.5, low=0.0, low_open=True, high=100.0, unit="N",
          doc="Force a from-inside re-entry device can push its needle with (sweep 0.5-5) [est]"),
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
    Field("max_depth_factor", float, default=5.0, low=0.2, high=20.0,
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
    """The :class:`fem.needle.inputs.PunctureCase` of a resolved ``base`` table."""
    from fem.needle.inputs import J_PER_M2, FractureEnergies, PunctureCase, PunctureCriterion

    needle = params.get("needle", {})
    calcium = params.get("calcium", {})
    punct = params.get("puncture", {})
    fe = FractureEnergies(**{
        f"{t}_N_per_mm": punct.get(f"fracture_energy_{t}_J_per_m2", d) * J_PER_M2
        for t, d in (("adventitia", 290.0), ("media", 64.0), ("intima", 164.0),
                     ("calcium", 200.0))})
    thickness = calcium.get("thickness_mm", 0.0)
    mu = float(needle.get("friction_coefficient", 0.0))
    extra = {}
    if mu > 0.0:
        import dataclasses

        extra["contact"] = dataclasses.replace(PunctureCase().contact, friction_coefficient=mu)
    return PunctureCase(
        **extra,
        gauge=int(needle.get("gauge", 18)),
        tip=needle.get("tip", "lancet"),
        tip_angle_deg=float(needle.get("tip_angle_deg", 30.0)),
        tip_radius_mm=float(needle.get("tip_radius_mm", 0.05)),
        grade=params.get("calcification", {}).get("grade", "pacss-3"),
        calcium_thickness_mm=float(thickness) if thickness else None,
        calcium_modulus_MPa=float(calcium.get("modulus_MPa", 1.0e3)),
        calcium_poisson_ratio=float(calcium.get("poisson_ratio", 0.3)),
        balloon_pressure_atm=float(params.get("balloon", {}).get("pressure_atm", 6.0)),
        events=tuple(punct.get("events", ("outer_wall", "flap"))),
        disc_radius_factor=float(punct.get("disc_radius_factor", 4.0)),
        edge=punct.get("edge", "clamped"),
        max_depth_factor=float(punct.get("max_depth_factor", 5.0)),
        mesh_level=int(params.get("mesh", {}).get("level", 1)),
        criterion=PunctureCriterion(fracture=fe,
                                    crack_width_factor=float(punct.get("crack_width_factor",
                                                                       1.0))),
    )


#: Names the puncture case's inputs give in their errors -> the ``base`` key that sets them.
_KEYS = {
    "gauge": "needle.gauge",
    "tip": "needle.tip",
    "tip_angle_deg": "needle.tip_angle_deg",
    "tip_radius_mm": "needle.tip_radius_mm",
    "friction_coefficient": "needle.friction_coefficient",
    "calcium_thickness_mm": "calcium.thickness_mm",
    "calcification.thickness_mm": "calcium.thickness_mm",
    "calcium_modulus_MPa": "calcium.modulus_MPa",
    "calcium_poisson_ratio": "calcium.poisson_ratio",
    "balloon_pressure_atm": "balloon.pressure_atm",
    "events": "puncture.events",
    "disc_radius_factor": "puncture.disc_radius_factor",
    "edge": "puncture.edge",
    "max_depth_factor": "puncture.max_depth_factor",
    "mesh_level": "mesh.level",
    "crack_width_factor": "puncture.crack_width_factor",
    **{f"{t}_N_per_mm": f"puncture.fracture_energy_{t}_J_per_m2"
       for t in ("adventitia", "media", "intima", "calcium")},
    "NeedleColumn.free_length_mm": "needle.free_length_mm",
    "NeedleColumn.end_condition": "needle.end_condition",
    "NeedleColumn.modulus_MPa": "needle.modulus_MPa",
    "NeedleColumn.gauge": "needle.gauge",
    "FilmRupture.toughness_MPa_sqrt_m": "rupture.film_toughness_MPa_sqrt_m",
    "FilmRupture.modulus_MPa": "rupture.film_modulus_MPa",
    "FilmRupture.crack_width_factor": "puncture.crack_width_factor",
    "FilmRupture.support_radius_mm": "rupture.support_radius_mm",
    "balloon.diameter_mm": "rupture.balloon_diameter_mm",
    "balloon.film_thickness_mm": "balloon.film_thickness_mm",
    "balloon_rupture.pressure_atm": "balloon.pressure_atm",
    "ReentryDevice.force_limit_N": "reentry_device.force_limit_N",
}


def check_puncture(params: dict) -> CaseInputs:
    """The case's inputs and disc specs, or what building them refuses (module docstring)."""
    keys = dict(_KEYS)
    if not params.get("calcium", {}).get("thickness_mm", 0.0):  # the grade's thickness
        keys["calcification.thickness_mm"] = "calcification.grade"
    issues, meshes = [], []
    try:
        case = case_from_params(params)
        meshes = [("mesh.level", f"the puncture disc of event {event!r}",
                   case.disc_spec(event)) for event in case.events]
    except ValueError as err:
        issues.append(input_issue(err, keys, "calcification.grade"))
    try:
        rupture_columns(params, {})
    except ValueError as err:
        issues.append(input_issue(err, keys, "rupture.support_radius_mm"))
    return CaseInputs(issues=tuple(issues), meshes=tuple(meshes))


def run_puncture(params: dict, comm, workdir: Path) -> dict:
    """Solve the puncture events of one case; see the module docstring."""
    import dataclasses

    from fem.balloon.prestress import PATH_STATE_FILE, read_path_state
    from fem.needle.puncture import solve_puncture

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
        if math.isfinite(state.channel_diameter_mm):
            # The film's state of the Folias check: in the channel the balloon problem reached.
            params = {**params, "rupture": {**params.get("rupture", {}),
                                            "channel_diameter_reached_mm":
                                                state.channel_diameter_mm}}
    # Bad rupture inputs fail before the solve. The rupture mode is known before the events
    # (closed forms): the flap, punctured after the film, starts from what the film's rupture
    # leaves (pinhole: the balloon holds its pressure and the flap keeps the balloon's stretch;
    # tear: the balloon deflates and the flap is back in its residual, in-situ state).
    after = rupture_columns(params, {}, film_fe={})["flap_prestress_after_rupture"]
    flap_start = source
    if source == "balloon" and after == "residual":
        case = dataclasses.replace(case, prestretch_flap=1.0)
        flap_start = "residual"
    fields = Path(workdir) / "fields"
    if comm.rank == 0:
        fields.mkdir(parents=True, exist_ok=True)
    comm.barrier()
    record = solve_puncture(case, comm, fields)
    out: dict = {"prestress_source": source, "flap_start_state": flap_start}
    forces = {}
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
        # "no_puncture" (travel limit) and "failed" events stay unknown
        if rec["status"] == "punctured":
            forces[event] = out[f"{event}_puncture_force_N"]
    out.update(rupture_columns(params, forces, film_fe=_film_fe(params, comm),
                               burst_fe=_burst_fe(params, comm)))
    if all(rec["status"] == "failed" for rec in record["events"].values()):
        out["status"] = "failed"
        out["reason"] = "; ".join(f"{e}: {r['failure']}" for e, r in record["events"].items())
    return out


def rupture_inputs(params: dict) -> tuple[float, float, BalloonSpec, FilmRupture, NeedleColumn,
                                          ReentryDevice]:
    """``(pressure_atm, needle_radius_mm, balloon, film, needle, device)`` of a ``base`` table.

    The inputs of :func:`fem.closed_form.rupture.balloon_rupture` and
    :func:`fem.closed_form.feasibility.assess_feasibility`; ``balloon`` carries the nominal
    diameter, the film thickness and the channel's rest diameter.
    """
    from fem.closed_form.feasibility import NeedleColumn, ReentryDevice
    from fem.closed_form.rupture import FilmRupture
    from meshes.spec import BalloonSpec

    needle_p = params.get("needle", {})
    rup = params.get("rupture", {})
    gauge = int(needle_p.get("gauge", 18))
    needle = NeedleColumn.from_gauge(
        gauge, free_length_mm=float(needle_p.get("free_length_mm", 70.0)),
        end_condition=needle_p.get("end_condition", "pinned-pinned"),
        modulus_MPa=float(needle_p.get("modulus_MPa", 193000.0)))
    balloon_p = params.get("balloon", {})
    balloon = BalloonSpec(
        diameter_mm=float(rup.get("balloon_diameter_mm", 5.0)),
        film_thickness_mm=float(balloon_p.get("film_thickness_mm", 0.025)),
        channel_diameter_mm=float(balloon_p.get("channel_diameter_mm", 4.0)))
    support = float(rup.get("support_radius_mm", 0.0))
    film = FilmRupture(
        toughness_MPa_sqrt_m=float(rup.get("film_toughness_MPa_sqrt_m", 4.0)),
        modulus_MPa=float(rup.get("film_modulus_MPa", 1500.0)),
        # the needle cuts the film as it cuts the tissue: one crack width for both
        crack_width_factor=float(params.get("puncture", {}).get("crack_width_factor", 1.0)),
        support_radius_mm=support if support > 0.0 else None)
    device = ReentryDevice(
        force_limit_N=float(params.get("reentry_device", {}).get("force_limit_N", 1.5)))
    pressure = float(balloon_p.get("pressure_atm", 6.0))
    return pressure, 0.5 * needle.outer_diameter_mm, balloon, film, needle, device


def film_site(params: dict):
    """The film's state where the needle meets it (:func:`fem.closed_form.rupture.
    film_site_in_channel`), or None at 0 atm or where the fitted film has no state.

    ``params["rupture"]["channel_diameter_reached_mm"]`` (set by :func:`run_puncture` from the
    balloon problem's path state) makes the channel a rigid wall at that diameter.
    """
    from fem.closed_form.rupture import film_site_in_channel

    pressure, _, balloon, _, _, _ = rupture_inputs(params)
    rup = params.get("rupture", {})
    if pressure <= 0.0:
        return None
    over = float(rup.get("oversizing", 0.0))
    reached = rup.get("channel_diameter_reached_mm")
    try:
        return film_site_in_channel(
            pressure, balloon, oversizing=over if over > 0.0 else None,
            wall_stiffness_MPa_per_mm=float(rup.get("wall_stiffness_MPa_per_mm", 0.3)),
            support=rup.get("film_support", "auto"),
            channel_diameter_mm=float(reached) if reached else None)
    except ValueError:
        return None


def burst_columns(params: dict, fe: dict | None = None) -> dict:
    """The balloon's burst beside its rated burst pressure (README "Balloon burst").

    ``fe``: the record of :func:`fem.balloon.burst.solve_balloon_burst` (``burst_model =
    "fe"``, the confined balloon); else the body as a closed-end cylinder on the channel wall
    (:func:`fem.balloon.film.closed_end_burst`).
    """
    import math as _m

    from fem.balloon.film import (
        RBP_SURVIVAL,
        BalloonRating,
        closed_end_burst,
        fit_film_to_compliance,
        strength_quantile,
    )

    rup = params.get("rupture", {})
    model = rup.get("burst_model", "closed_form")
    if model == "none":
        return {}
    _, _, balloon, _, _, _ = rupture_inputs(params)
    rating = BalloonRating(balloon.diameter_mm, balloon.nominal_pressure_atm,
                           balloon.rated_burst_pressure_atm, balloon.compliance_pct_per_atm)
    strength = float(rup.get("film_strength_MPa", 240.0))
    p999 = strength_quantile(strength, float(rup.get("film_strength_cov", 0.05)),
                             1.0 - RBP_SURVIVAL)
    over = float(rup.get("oversizing", 0.0)) or balloon.diameter_mm / balloon.channel_diameter_mm
    k = float(rup.get("wall_stiffness_MPa_per_mm", 0.3))
    out = {"balloon_rated_burst_atm": rating.rated_burst_pressure_atm,
           "balloon_burst_model": model, "balloon_oversizing": over}
    if fe is not None:
        out |= {"balloon_burst_atm": fe.get("confined_burst_atm"),
                "balloon_burst_mode": fe.get("confined_burst_mode"),
                "balloon_burst_region": fe.get("confined_burst_region"),
                "balloon_burst_p999_atm": fe.get("confined_burst_p999_atm"),
                "balloon_free_burst_atm": fe.get("free_burst_atm")}
    else:
        material, d_ref = fit_film_to_compliance(rating, balloon.film_thickness_mm,
                                                 hoop_strength_MPa=strength)
        wall = dict(wall_radius_mm=0.5 * balloon.diameter_mm / over,
                    wall_stiffness_MPa_per_mm=k)
        try:
            mean = closed_end_burst(material, balloon.film_thickness_mm, 0.5 * d_ref, **wall)
            low = closed_end_burst(material, balloon.film_thickness_mm, 0.5 * d_ref,
                                   strength_MPa=p999, **wall)
            free = closed_end_burst(material, balloon.film_thickness_mm, 0.5 * d_ref)
            out |= {"balloon_burst_atm": mean.pressure_atm, "balloon_burst_mode": mean.mode,
                    "balloon_burst_region": "film_body",
                    "balloon_burst_p999_atm": low.pressure_atm,
                    "balloon_free_burst_atm": free.pressure_atm}
        except ValueError:
            out |= {"balloon_burst_atm": None, "balloon_burst_mode": "not_reached",
                    "balloon_burst_region": "", "balloon_burst_p999_atm": None,
                    "balloon_free_burst_atm": None}
    p999_atm = out.get("balloon_burst_p999_atm")
    out["balloon_burst_above_rbp"] = (None if p999_atm is None or not _m.isfinite(p999_atm)
                                      else bool(p999_atm >= rating.rated_burst_pressure_atm))
    return out


def film_puncture_case(params: dict, site):
    """The FE needle-film event of a case (:mod:`fem.balloon.film_puncture`) at ``site``."""
    from fem.balloon.film_puncture import FilmPunctureCase, FilmState
    from fem.closed_form.rupture import ATM_MPA
    from fem.needle.geometry import Needle

    pressure, _, balloon, film, _, _ = rupture_inputs(params)
    needle_p = params.get("needle", {})
    p = pressure * ATM_MPA
    state = (FilmState.on_wall(p, site.radius_mm, site.contact_pressure_MPa)
             if site.support == "wall" else FilmState.free_balloon(p, site.radius_mm))
    needle = Needle.from_gauge(int(needle_p.get("gauge", 18)), tip=needle_p.get("tip", "lancet"),
                               tip_angle_deg=float(needle_p.get("tip_angle_deg", 30.0)),
                               tip_radius_mm=float(needle_p.get("tip_radius_mm", 0.05)))
    level = int(params.get("mesh", {}).get("level", 1))
    # energy criterion (global work): 0.04 mm at the needle is 3.7 % below 0.02 mm at 6 atm
    # (README "Balloon film: burst and needle"); finer per mesh level above 1
    return FilmPunctureCase(
        state, needle, film_thickness_mm=balloon.film_thickness_mm,
        film_modulus_MPa=film.modulus_MPa, toughness_MPa_sqrt_m=film.toughness_MPa_sqrt_m,
        crack_width_factor=film.crack_width_factor,
        patch_radius_mm=min(2.5, 1.2 * site.radius_mm),
        fine_size_mm=0.04 * 0.5 ** max(level - 1, 0), fine_radius_mm=0.8, coarse_size_mm=0.3,
        step_mm=0.02, max_depth_mm=3.0)


def rupture_columns(params: dict, forces: dict, film_fe: dict | None = None,
                    burst_fe: dict | None = None) -> dict:
    """Rupture-mode, film, burst and feasibility columns of a case (module docstring).

    Args:
        params: the resolved ``base`` table.
        forces: puncture force (N) of each punctured event (``"outer_wall"``, ``"flap"``);
            a missing, None or NaN entry is unknown.
        film_fe: the FE needle-film record (:meth:`FilmPunctureResult.to_dict`), if solved.
        burst_fe: the FE burst record, if solved (``burst_model = "fe"``).
    """
    from fem.closed_form.feasibility import assess_feasibility
    from fem.closed_form.rupture import balloon_rupture, post_rupture_state

    pressure, radius, balloon, film, needle, device = rupture_inputs(params)
    site = film_site(params)
    rup = balloon_rupture(pressure, radius, balloon, film, site)
    model = params.get("rupture", {}).get("film_puncture_model", "fe")
    cf_force = rup["film_puncture_force_N"] if rup["film_closed_form_valid"] else None
    if model == "fe":
        punctured = film_fe is not None and film_fe.get("status") == "punctured"
        film_force = film_fe.get("puncture_force_N") if punctured else None
        film_depth = film_fe.get("puncture_depth_mm") if punctured else None
    else:
        film_force = cf_force
        film_depth = rup["film_puncture_displacement_mm"] if cf_force is not None else None
    feas = assess_feasibility({"outer_wall": forces.get("outer_wall"),
                               "balloon_film": film_force,
                               "flap": forces.get("flap")}, needle, device)
    by = feas["flap_punctured_by"]
    after = post_rupture_state(rup["mode"], pressure)
    out = {
        "balloon_rupture_mode": rup["mode"],
        "balloon_rupture_support": rup["support"],
        "balloon_rupture_mode_free": rup["mode_free"],
        "balloon_rupture_mode_wall": rup["mode_wall"],
        "balloon_pinhole_limit_atm": rup["pinhole_limit_pressure_atm"],
        "balloon_stress_intensity_MPa_sqrt_m": rup["K_MPa_sqrt_m"],
        "balloon_stress_intensity_free_MPa_sqrt_m": rup["K_free_MPa_sqrt_m"],
        "balloon_stress_intensity_wall_MPa_sqrt_m": rup["K_wall_MPa_sqrt_m"],
        "balloon_hoop_stress_MPa": rup["sigma_wall_MPa"] if rup["support"] == "wall"
        else rup["sigma_MPa"],
        "balloon_film_contact_pressure_MPa": rup["contact_pressure_MPa"],
        "balloon_film_diameter_mm": 2.0 * site.radius_mm if site else None,
        "balloon_folias_lambda": rup["lambda"],
        "balloon_folias_M_free": rup["M"],
        "balloon_folias_valid": rup["folias_valid"],
        "balloon_puncture_model": model,
        "balloon_puncture_force_N": film_force,
        "balloon_puncture_displacement_mm": film_depth,
        "balloon_puncture_criterion": (film_fe or {}).get("criterion") if model == "fe" else
        ("energy" if cf_force is not None else None),
        "balloon_puncture_status": (film_fe or {}).get("status") if model == "fe" else None,
        "balloon_puncture_force_closed_form_N": rup["film_puncture_force_N"],
        "balloon_film_closed_form_valid": rup["film_closed_form_valid"],
        "balloon_film_stretch_ratio": rup["film_stretch_ratio"],
        "balloon_pressure_after_rupture_atm": after.pressure_atm,
        "balloon_deflated": after.deflated,
        "flap_prestress_after_rupture": after.flap_prestress,
        "needle_euler_load_N": feas["euler_load_N"],
        "needle_required_N": feas["needle_required_N"],
        "needle_limiting_event": feas["needle_limiting_event"],
        "feasible_needle": feas["feasible_needle"],
        "reentry_device_limit_N": feas["device_force_limit_N"],
        "feasible_reentry_device": feas["feasible_reentry_device"],
        "flap_punctured_by": None if by is None else ("+".join(by) or "neither"),
    }
    out |= burst_columns(params, burst_fe)
    if int(params.get("needle", {}).get("gauge", 18)) == 18:
        out["feasible_needle_18G"] = feas["feasible_needle"]
    return out


def _film_fe(params: dict, comm) -> dict | None:
    """The FE needle-film event (``rupture.film_puncture_model = "fe"``), or None."""
    if params.get("rupture", {}).get("film_puncture_model", "fe") != "fe":
        return None
    site = film_site(params)
    if site is None:
        return None
    from fem.balloon.film_puncture import solve_film_puncture

    return solve_film_puncture(film_puncture_case(params, site), comm).to_dict()


def _burst_fe(params: dict, comm) -> dict | None:
    """The FE burst of the balloon in its channel (``rupture.burst_model = "fe"``), or None."""
    rup = params.get("rupture", {})
    if rup.get("burst_model", "closed_form") != "fe":
        return None
    from fem.balloon.burst import BalloonBurstCase, solve_balloon_burst
    from fem.balloon.film import BalloonRating

    _, _, balloon, _, _, _ = rupture_inputs(params)
    over = float(rup.get("oversizing", 0.0)) or balloon.diameter_mm / balloon.channel_diameter_mm
    case = BalloonBurstCase(
        rating=BalloonRating(balloon.diameter_mm, balloon.nominal_pressure_atm,
                             balloon.rated_burst_pressure_atm, balloon.compliance_pct_per_atm),
        film_thickness_mm=balloon.film_thickness_mm,
        film_strength_MPa=float(rup.get("film_strength_MPa", 240.0)),
        film_strength_cov=float(rup.get("film_strength_cov", 0.05)), oversizing=over,
        wall_stiffness_MPa_per_mm=float(rup.get("wall_stiffness_MPa_per_mm", 0.3)))
    return solve_balloon_burst(case, comm)


def _num(x: float) -> float | None:
    return None if x is None or not math.isfinite(float(x)) else float(x)


def _cost(params: dict) -> float:
    # Measured: ~20-60 core-s per event at level 1 on the 2-core test machine; x3 per level.
    # The FE film event and the FE burst: see the README ("Balloon film: burst and needle").
    level = int(params.get("mesh", {}).get("level", 1))
    events = len(params.get("puncture", {}).get("events", ["outer_wall", "flap"]))
    # FE film: 20-70 core-s serially at 6-10 atm, up to ~300 at 2 atm on the wall (README);
    # its tip zone is halved per level above 1. FE burst: ~25-110 core-s.
    rup = params.get("rupture", {})
    film = (60.0 * 4.0 ** max(level - 1, 0)
            if rup.get("film_puncture_model", "fe") == "fe" else 0.0)
    burst = 90.0 if rup.get("burst_model", "closed_form") == "fe" else 0.0
    return 40.0 * events * 3.0 ** (level - 1) + film + burst


register_kind("puncture", run_puncture, cost_core_s=_cost, check=check_puncture)
