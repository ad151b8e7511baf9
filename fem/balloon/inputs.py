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
from fem.solid.materials import (
    MATERIAL_NAMES,
    CompressibleNeoHookean,
    HolzapfelGasserOgden,
    calcium,
    check_range,
    material_by_name,
)
from fem.solid.options import SolverOptions
from meshes.spec import ArteryModelSpec, ArterySectionSpec

GEOMETRIES = ("section", "3d")


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

    def build(self, regions, hoop=None) -> dict:
        """Materials of the regions present; HGO fibres follow ``hoop(X)`` when given."""
        table = {"intima": material_by_name(self.intima),
                 "media": _oriented(material_by_name(self.media), hoop),
                 "adventitia": _oriented(material_by_name(self.adventitia), hoop),
                 "calcium": calcium(self.calcium_modulus_MPa, self.calcium_poisson_ratio),
                 "lumen_fill": CompressibleNeoHookean.from_young(self.lumen_fill_modulus_MPa, 0.3)}
        return {r: table[r] for r in regions}


@dataclass(frozen=True, slots=True)
class WallStrengths:
    """Strengths (MPa) compared with the non-local maximum principal stress, and its length.

    Attributes:
        calcium_MPa: 0.18 MPa, tissue-level failure of iliac calcification (Cahalane 2018).
        intima_MPa: 0.16 MPa, UTS of fibrous intima / cap (Teng 2015).
        media_MPa: 0.24 MPa, upper end of the damage-onset stress 0.10-0.24 MPa (Anttila 2019).
        adventitia_MPa: 0.24 MPa [est], as media (Anttila 2019 tested the whole wall).
        material_length_mm: averaging length l [est]: a few collagen-fibre/calcium-grain sizes;
            a study should sweep it with the strengths.
    """

    calcium_MPa: float = 0.18
    intima_MPa: float = 0.16
    media_MPa: float = 0.24
    adventitia_MPa: float = 0.24
    material_length_mm: float = 0.2

    def __post_init__(self) -> None:
        for name in ("calcium_MPa", "intima_MPa", "media_MPa", "adventitia_MPa"):
            check_range(name, getattr(self, name), 0.0, 1e4, low_open=True, unit="MPa")
        check_range("material_length_mm", self.material_length_mm, 0.0, 5.0, low_open=True,
                    unit="mm")

    def of(self, region: str) -> float | None:
        """Strength of a wall region (None for the lumen fill, which is no tissue)."""
        return getattr(self, f"{region}_MPa", None)


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

    def __post_init__(self) -> None:
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
