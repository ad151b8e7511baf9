"""The ``balloon`` case kind: :func:`fem.balloon.problem.solve_balloon` from a study's ``base``
table.

Reads ``params["calcification"]["grade"]``, ``params["balloon"]`` (``pressure_atm``,
``film_thickness_mm``, ``channel_diameter_mm``, ``record_every_atm``, ``geometry``,
``true_lumen``, ``equilibrium``, ``stress_free_in_situ``, ``failure_search``,
``failure_search_max_atm``, ``failure_search_step_atm``), ``params["wall_strength"]`` (damage and
rupture strength per layer, ``material_length_mm``), ``params["calcium"]["modulus_MPa"]`` /
``["poisson_ratio"]`` and ``params["mesh"]["level"]``. Returns the scalar results of
:meth:`fem.balloon.problem.BalloonResult.scalars` and the curves ``pressure_curve_atm``,
``confined_diameter_curve_mm`` (the channel) and ``free_diameter_curve_mm`` (the balloon alone);
the fields go to ``workdir/fields``, and the wall's state on the needle path
(:func:`fem.balloon.prestress.path_state`) to ``workdir/balloon_path_state.json``, where the
puncture
kind of the same case starts from it. A case whose wall cannot carry the balloon fails with the
reason. DOLFINx is imported inside :func:`run_balloon` so that ``nre study check`` stays fast.

:func:`check_balloon` (the kind's check hook) builds the case and the spec of the mesh it will
solve on, as :class:`fem.balloon.problem.BalloonProblem` does, without meshing: a calcium sheet
thicker than its layer, medial calcium wider than the channel side of the media, a channel so
wide that the needle's entry point leaves the segment, a Poisson ratio above the wall materials'
0.45 and every other refusal of the input dataclasses is reported by ``nre study check``. The
film fit to the catheter's rating is not repeated there (seconds per case): the rating is fixed
here and the fit holds over the whole range of ``balloon.film_thickness_mm``
(``tests/test_study_check.py``).
"""

from __future__ import annotations

from pathlib import Path

from studies.kinds import CaseInputs, input_issue, register_kind
from studies.schema import SCHEMA, Field

__all__ = ["case_from_params", "check_balloon", "run_balloon"]

SCHEMA.add_section("base.balloon", [
    Field("film_thickness_mm", float, default=0.025, low=0.005, high=0.2, unit="mm",
          doc="Balloon film thickness"),
    Field("channel_diameter_mm", float, default=4.0, low=1.0, high=12.0, unit="mm",
          doc="Stress-free diameter of the subintimal channel"),
    Field("record_every_atm", float, default=2.0, low=0.0, low_open=True, high=30.0,
          unit="atm", doc="Record the state at every multiple of this pressure"),
    Field("geometry", str, default="section", choices=("section", "3d"),
          doc="Plane-strain cross-section or the 3-D segment"),
    Field("true_lumen", str, default="filled", choices=("filled", "open"),
          doc="Soft fill in the true lumen (stops the flap collapsing through it) or a void"),
    Field("equilibrium", str, default="continuation", choices=("continuation", "nested"),
          doc="Balloon-wall equilibrium: one pressure continuation, or the former nested "
              "search (regula falsi on the contact pressure)"),
    Field("stress_free_in_situ", list, item=str, default=["calcium"],
          choices=("intima", "media", "adventitia", "calcium"),
          doc="Regions stress-free in the axially pre-stretched (in-situ) state, not the mesh's"),
    Field("failure_search", bool, default=True,
          doc="Follow the wall's damage/rupture indicators along the pressure, past the case's "
              "pressure up to the film's burst or failure_search_max_atm"),
    Field("failure_search_max_atm", float, default=30.0, low=0.0, low_open=True, high=100.0,
          unit="atm", doc="Highest balloon pressure of the failure search [est]"),
    Field("failure_search_step_atm", float, default=1.0, low=0.01, high=10.0, unit="atm",
          doc="Largest pressure step while searching (indicators interpolated between)"),
])
#: Wall strengths (fem.balloon.wall_failure.WallStrengths: defaults and sources there and in the
#: README "Wall failure"); [est] marks an estimate to sweep.
SCHEMA.add_section("base.wall_strength", [
    Field("intima_damage_MPa", float, default=0.10, low=0.0, low_open=True, high=100.0,
          unit="MPa", doc="Intima/flap damage onset [est: low end of Anttila 2019]"),
    Field("intima_rupture_MPa", float, default=0.16, low=0.0, low_open=True, high=100.0,
          unit="MPa", doc="Intima/flap UTS (Teng 2015 fibrous cap ~0.16)"),
    Field("media_damage_MPa", float, default=0.17, low=0.0, low_open=True, high=100.0,
          unit="MPa", doc="Media damage onset (Anttila 2019: 0.10-0.24)"),
    Field("media_rupture_MPa", float, default=0.45, low=0.0, low_open=True, high=100.0,
          unit="MPa", doc="Media UTS (Holzapfel 2005 coronary 0.45; Teng 2009 carotid 0.5-1.2)"),
    Field("adventitia_damage_MPa", float, default=0.17, low=0.0, low_open=True, high=100.0,
          unit="MPa", doc="Adventitia damage onset (Anttila 2019 whole wall) [est]"),
    Field("adventitia_rupture_MPa", float, default=1.43, low=0.0, low_open=True, high=100.0,
          unit="MPa",
          doc="Adventitia UTS (Holzapfel 2005 coronary 1.43; Teng 2009 carotid 1.8-2.0)"),
    Field("calcium_damage_MPa", float, default=0.18, low=0.0, low_open=True, high=100.0,
          unit="MPa", doc="Calcium damage onset [est: = rupture, brittle]"),
    Field("calcium_rupture_MPa", float, default=0.18, low=0.0, low_open=True, high=100.0,
          unit="MPa", doc="Calcified plaque strength, tissue level (Holzapfel 2004: 0.18 at "
                          "stretch 1.02; goes with a ~9 MPa modulus)"),
    Field("material_length_mm", float, default=0.2, low=0.0, low_open=True, high=5.0,
          unit="mm", doc="Non-local averaging length of the indicators [est]"),
])


def case_from_params(params: dict):
    """The :class:`fem.balloon.inputs.BalloonCase` of a resolved ``base`` table."""
    from fem.balloon.inputs import BalloonCase, WallMaterials, WallStrengths
    from meshes import ArteryModelSpec, BalloonSpec, MeshSpec, calcification_for_grade

    b = params.get("balloon", {})
    calcium = params.get("calcium", {})
    thickness = calcium.get("thickness_mm", 0.0)
    calc = calcification_for_grade(params.get("calcification", {}).get("grade", "pacss-3"),
                                   **({"thickness_mm": float(thickness)} if thickness else {}))
    # The balloon's diameter and the oversizing are the puncture kind's rupture inputs: one
    # balloon for both kinds (rupture.oversizing > 0 sets the channel's rest diameter).
    rup = params.get("rupture", {})
    diameter = float(rup.get("balloon_diameter_mm", 5.0))
    over = float(rup.get("oversizing", 0.0))
    channel = diameter / over if over > 0.0 else float(b.get("channel_diameter_mm", 4.0))
    model = ArteryModelSpec(
        balloon=BalloonSpec(diameter_mm=diameter,
                            film_thickness_mm=float(b.get("film_thickness_mm", 0.025)),
                            channel_diameter_mm=channel),
        calcification=calc,
        mesh=MeshSpec(level=int(params.get("mesh", {}).get("level", 0))),
    )
    strength = params.get("wall_strength", {})
    return BalloonCase(
        model=model,
        pressure_atm=float(b.get("pressure_atm", 6.0)),
        record_every_atm=float(b.get("record_every_atm", 2.0)),
        geometry=b.get("geometry", "section"),
        true_lumen=b.get("true_lumen", "filled"),
        materials=WallMaterials(calcium_modulus_MPa=float(calcium.get("modulus_MPa", 1.0e3)),
                                calcium_poisson_ratio=float(calcium.get("poisson_ratio", 0.3))),
        strengths=WallStrengths(**{k: float(v) for k, v in strength.items()}),
        equilibrium=b.get("equilibrium", "continuation"),
        stress_free_in_situ=tuple(b.get("stress_free_in_situ", ["calcium"])),
        wall_failure_search=bool(b.get("failure_search", True)),
        failure_search_max_atm=float(b.get("failure_search_max_atm", 30.0)),
        failure_search_step_atm=float(b.get("failure_search_step_atm", 1.0)),
    )


#: Names the balloon case's inputs give in their errors -> the ``base`` key that sets them.
_KEYS = {
    "calcification.thickness_mm": "calcium.thickness_mm",
    "balloon.film_thickness_mm": "balloon.film_thickness_mm",
    "balloon.channel_diameter_mm": "balloon.channel_diameter_mm",
    "balloon.diameter_mm": "rupture.balloon_diameter_mm",
    "balloon.pressure_atm": "balloon.pressure_atm",
    "balloon.record_every_atm": "balloon.record_every_atm",
    "balloon.true_lumen": "balloon.true_lumen",
    "balloon.geometry": "balloon.geometry",
    "calcium_modulus_MPa": "calcium.modulus_MPa",
    "calcium_poisson_ratio": "calcium.poisson_ratio",
    "mesh.level": "mesh.level",
    # the needle path of the balloon model is fixed: a wide channel pushes its entry point on
    # the outer wall past the segment's end (channel_diameter_mm >= 8 mm with the defaults)
    "needle.entry_angle_deg": "balloon.channel_diameter_mm",
}


def check_balloon(params: dict) -> CaseInputs:
    """The case's inputs and mesh spec, or what building them refuses (module docstring)."""
    keys = dict(_KEYS)
    if not params.get("calcium", {}).get("thickness_mm", 0.0):  # the grade's thickness
        keys["calcification.thickness_mm"] = "calcification.grade"
    try:
        case = case_from_params(params)
        spec = case.mesh_spec()
    except ValueError as err:
        return CaseInputs(issues=(input_issue(err, keys, "calcification.grade"),))
    return CaseInputs(meshes=(("mesh.level", f"the balloon case's {case.geometry} mesh", spec),))


def run_balloon(params: dict, comm, workdir: Path) -> dict:
    """Solve one balloon case; see the module docstring."""
    from fem.balloon.problem import solve_balloon

    case = case_from_params(params)
    res = solve_balloon(case, comm, outdir=Path(workdir) / "fields")
    out = res.scalars()
    out["pressure_curve_atm"] = [c["pressure_atm"] for c in res.curve]
    out["confined_diameter_curve_mm"] = [c["channel_diameter_mm"] for c in res.curve]
    out["free_diameter_curve_mm"] = [c["free_balloon_diameter_mm"] for c in res.curve]
    out["contact_pressure_curve_atm"] = [c["contact_pressure_atm"] for c in res.curve]
    if res.path_state and comm.rank == 0:
        # Handed to the puncture kind of the same case (it runs next in the same workdir).
        from fem.balloon.prestress import PATH_STATE_FILE, PathState, write_path_state

        names = PathState.__dataclass_fields__
        write_path_state(PathState(**{k: v for k, v in res.path_state.items() if k in names}),
                         Path(workdir) / PATH_STATE_FILE)
    if not res.converged:
        out["status"] = "failed"
        out["reason"] = str(res.failure)
    return out


def _cost(params: dict) -> float:
    b = params.get("balloon", {})
    level = int(params.get("mesh", {}).get("level", 0))
    if b.get("equilibrium", "continuation") == "nested":
        # measured ~10-15 s per recorded pressure at level 0
        p = float(b.get("pressure_atm", 6.0))
        per_case = 15.0 * max(1.0, p / float(b.get("record_every_atm", 2.0)))
    else:
        # one continuation per case, recorded points nearly free: measured 7-26 CPU s at
        # level 0 (1.1-3.6 k cells, 43-54 Newton iterations); the failure search about doubles it
        per_case = 25.0 * (2.0 if b.get("failure_search", True) else 1.0)
    return per_case * 3.0**level * (25.0 if b.get("geometry") == "3d" else 1.0)


register_kind("balloon", run_balloon, cost_core_s=_cost, check=check_balloon)
