"""Inputs of the balloon pressure problem: wall materials and strengths, the balloon case.

Frozen dataclasses validated on construction, without DOLFINx, so that ``nre study check`` can
build every case's inputs (and report what a run would refuse) in a process that never loads
the solvers. :mod:`fem.balloon.problem` (the solver; its docstring explains the model) uses and
re-exports them.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

import ufl

from fem.balloon.film import BalloonRating
from fem.balloon.wall_failure import WallStrengths  # noqa: F401  (re-exported)
from fem.solid.materials import (
    MATERIAL_NAMES,
    CompressibleNeoHookean,
    HolzapfelGasserOgden,
    axial_reference_state,
    calcium,
    check_range,
    material_by_name,
)
from fem.solid.options import SolverOptions
from meshes.spec import ArteryModelSpec, ArterySectionSpec

GEOMETRIES = ("section", "3d")
EQUILIBRIA = ("continuation", "nested")
#: Regions of the artery meshes.
REGIONS = ("intima", "media", "adventitia", "calcium", "lumen_fill")
#: The layers outside the channel whose rupture perforates the vessel.
OUTER_WALL = ("media", "adventitia")


@dataclass(frozen=True, slots=True)
class LayerHGO(HolzapfelGasserOgden):
    """HGO whose fibres follow the wall layer's own circumferential direction (``hoop(X)``)."""

    hoop: object = None

    def fibre_directions(self, X):
        e_t = self.hoop(X)
        e_z = ufl.as_vector([0.0, 0.0, 1.0])
        b = math.radians(self.beta_deg)
        return math.cos(b) * e_t + math.sin(b) * e_z, math.cos(b) * e_t - math.sin(b) * e_z


def _oriented(material, hoop):
    if isinstance(material, HolzapfelGasserOgden) and hoop is not None:
        fields = {f: getattr(material, f) for f in material.__dataclass_fields__}
        return LayerHGO(**fields, hoop=hoop)
    return material


@dataclass(frozen=True, slots=True)
class WallMaterials:
    """Material of each wall region: named sets of :mod:`fem.solid.materials` and the calcium
    modulus.

    Attributes:
        intima: diseased intima / flap (default ``fibrous-intima``: neo-Hookean mu 0.1 MPa).
        media: default ``femoral-media-hgo`` (collagen-stiffened human femoral wall [est]);
            ``femoral-wall-neohookean`` (mu 0.24 MPa) has a limit point below 1 atm of
            contact pressure; ``hgo-2000-media`` is the rabbit-carotid benchmark set.
        adventitia: default ``femoral-adventitia-hgo``.
        calcium_modulus_MPa: Young's modulus of calcium; poorly known, sweep 10 MPa-20 GPa.
        calcium_poisson_ratio: Poisson ratio of calcium.
        lumen_fill_modulus_MPa: Young's modulus of the soft compressible fill of a ``filled``
            true lumen (Poisson 0.3) [est]: two orders below the wall, it costs the flap little
            until the lumen is nearly closed, and then stops it passing through (in place of
            the flap's self-contact).
    """

    intima: str = "fibrous-intima"
    media: str = "femoral-media-hgo"
    adventitia: str = "femoral-adventitia-hgo"
    calcium_modulus_MPa: float = 1000.0
    calcium_poisson_ratio: float = 0.3
    lumen_fill_modulus_MPa: float = 0.005

    def __post_init__(self) -> None:
        check_range("lumen_fill_modulus_MPa", self.lumen_fill_modulus_MPa, 0.0, 1.0,
                    low_open=True, unit="MPa")
        for name in ("intima", "media", "adventitia"):
            if getattr(self, name) not in MATERIAL_NAMES:
                material_by_name(getattr(self, name))  # raises with the known names
        check_range("calcium_modulus_MPa", self.calcium_modulus_MPa, 1.0, 1.0e5, unit="MPa")
        check_range("calcium_poisson_ratio", self.calcium_poisson_ratio, 0.0, 0.45)

    def build(self, regions, hoop=None, *, in_situ_stretch: float = 1.0,
              stress_free_in_situ=()) -> dict:
        """Materials of the regions present; HGO fibres follow ``hoop(X)`` when given; the
        regions in ``stress_free_in_situ`` are stress-free at the axial stretch
        ``in_situ_stretch`` (:func:`fem.solid.materials.axial_reference_state`)."""
        table = {"intima": material_by_name(self.intima),
                 "media": _oriented(material_by_name(self.media), hoop),
                 "adventitia": _oriented(material_by_name(self.adventitia), hoop),
                 "calcium": calcium(self.calcium_modulus_MPa, self.calcium_poisson_ratio),
                 "lumen_fill": CompressibleNeoHookean.from_young(self.lumen_fill_modulus_MPa, 0.3)}
        return {r: (axial_reference_state(table[r], in_situ_stretch)
                    if r in stress_free_in_situ else table[r]) for r in regions}


@dataclass(frozen=True, slots=True)
class BalloonCase:
    """One balloon pressure case.

    Attributes:
        model: geometry and mesh (grade, balloon diameter, sizes).
        pressure_atm: target balloon pressure in atm, (0, 30].
        record_every_atm: the state is recorded at every multiple of this pressure on the way.
        geometry: ``"section"`` (plane strain, default) or ``"3d"``.
        apply_axial_prestretch: stretch axially to ``model.artery.axial_prestretch`` first.
        true_lumen: ``"filled"`` (default: soft fill, see ``WallMaterials``) or ``"open"``
            (a void: the flap may buckle into it at a fraction of an atmosphere).
        materials, strengths: see their classes.
        solver: discretisation and Newton options (:class:`fem.solid.hyperelastic.SolverOptions`);
            the absolute Newton tolerance is raised to 1e-9 (dimensionless) because the
            equilibrium search makes load increments small enough that a relative tolerance
            on their tiny initial residual is below rounding.
        equilibrium: ``"continuation"`` (default): balloon pressure continuation of the wall
            and the contact pressure together (:mod:`fem.balloon.equilibrium`);
            ``"nested"``: the contact pressure found by regula falsi, a wall ramp per trial
            (the former method, kept as a check and for the benchmark).
        nested_rtol: the nested search stops when the film equation holds to this fraction
            of the balloon pressure.
        stress_free_in_situ: regions stress-free in the in-situ (axially pre-stretched) state
            rather than the mesh's (default: calcium, which forms in the stretched vessel);
            only with ``apply_axial_prestretch``.
        wall_failure_search: follow the damage and rupture indicators along the continuation
            from the in-situ state and on past ``pressure_atm`` (continuation only), for the
            pressure at which each layer reaches each level.
        failure_search_max_atm: the search stops here at the latest (or earlier at the film's
            limit point, where the free balloon bursts, or where the wall cannot be solved).
        failure_search_step_atm: largest pressure step of the continuation while searching:
            the indicators are interpolated linearly between its points.
    """

    model: ArteryModelSpec = field(default_factory=ArteryModelSpec)
    pressure_atm: float = 6.0
    record_every_atm: float = 2.0
    geometry: str = "section"
    apply_axial_prestretch: bool = True
    true_lumen: str = "filled"
    materials: WallMaterials = field(default_factory=WallMaterials)
    strengths: WallStrengths = field(default_factory=WallStrengths)
    solver: SolverOptions = field(default_factory=lambda: SolverOptions(snes_atol=1e-9))
    equilibrium: str = "continuation"
    nested_rtol: float = 3e-3
    stress_free_in_situ: tuple[str, ...] = ("calcium",)
    wall_failure_search: bool = True
    failure_search_max_atm: float = 30.0
    failure_search_step_atm: float = 1.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "stress_free_in_situ", tuple(self.stress_free_in_situ))
        for region in self.stress_free_in_situ:
            if region not in REGIONS:
                raise ValueError(f"balloon.stress_free_in_situ = {self.stress_free_in_situ!r}: "
                                 f"{region!r} is not a region; choose from {REGIONS}")
        check_range("balloon.failure_search_max_atm", self.failure_search_max_atm, 0.0, 100.0,
                    low_open=True, unit="atm")
        check_range("balloon.failure_search_step_atm", self.failure_search_step_atm, 0.01,
                    10.0, unit="atm")
        if self.equilibrium not in EQUILIBRIA:
            raise ValueError(f"balloon.equilibrium = {self.equilibrium!r} is not allowed: "
                             f"choose one of {EQUILIBRIA}")
        check_range("balloon.nested_rtol", self.nested_rtol, 0.0, 0.1, low_open=True)
        check_range("balloon.pressure_atm", self.pressure_atm, 0.0, 1.0e4, low_open=True,
                    unit="atm")
        check_range("balloon.record_every_atm", self.record_every_atm, 0.0, 1.0e4,
                    low_open=True, unit="atm")
        if self.true_lumen not in ("filled", "open"):
            raise ValueError(f"balloon.true_lumen = {self.true_lumen!r} is not allowed: choose "
                             "'filled' or 'open'")
        if self.geometry not in GEOMETRIES:
            raise ValueError(f"balloon.geometry = {self.geometry!r} is not allowed: choose one "
                             f"of {GEOMETRIES}")

    def mesh_model(self) -> ArteryModelSpec:
        """The artery model that is meshed: ``model`` with the true lumen as ``true_lumen``."""
        return dataclasses.replace(self.model, artery=dataclasses.replace(
            self.model.artery, lumen_content=self.true_lumen))

    def mesh_spec(self) -> ArteryModelSpec | ArterySectionSpec:
        """The spec of the mesh the problem is solved on: the cross-section at the needle's
        flap crossing (``geometry = "section"``) or the whole segment."""
        model = self.mesh_model()
        return ArterySectionSpec(model=model) if self.geometry == "section" else model

    def rating(self) -> BalloonRating:
        """The catheter's rating (nominal diameter and pressure, burst pressure, compliance)
        the film is fitted to."""
        b = self.model.balloon
        return BalloonRating(nominal_diameter_mm=b.diameter_mm,
                             nominal_pressure_atm=b.nominal_pressure_atm,
                             rated_burst_pressure_atm=b.rated_burst_pressure_atm,
                             compliance_pct_per_atm=b.compliance_pct_per_atm)

    def pressures_atm(self) -> list[float]:
        n = max(1, math.ceil(self.pressure_atm / self.record_every_atm - 1e-9))
        steps = [min(self.pressure_atm, (k + 1) * self.record_every_atm) for k in range(n)]
        return sorted(set(steps))
