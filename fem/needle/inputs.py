"""Inputs of the needle problems: contact settings, puncture criterion and puncture case.

Frozen dataclasses validated on construction, without DOLFINx, so that ``nre study check`` can
build every case's inputs (and report what a run would refuse) in a process that never loads
the solvers. The solvers that use them are :mod:`fem.needle.contact` (:class:`ContactSettings`)
and :mod:`fem.needle.puncture` (the rest; its docstring explains the model and the criterion);
both re-export these names.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from fem.solid.materials import check_range

EVENTS = ("outer_wall", "flap")
EDGES = ("clamped", "roller")
J_PER_M2 = 1.0e-3
"""One J/m^2 in N/mm."""


@dataclass(frozen=True, slots=True)
class ContactSettings:
    """How contact is enforced and how the needle is advanced.

    Attributes:
        penalty_factor: ``c`` in ``eps = c E_eff / h`` (dimensionless), in (0, 1e6].
        augmented_lagrangian: run Uzawa updates after each converged solve until the
            penetration tolerance is met. False: penalty only (see ``penalty_growth``).
        penalty_growth: with ``augmented_lagrangian=False``: 1 is the pure penalty method (one
            solve per step, penetration not enforced); > 1 is penalty continuation: after a
            converged solve whose penetration exceeds the tolerance, the penalty is multiplied
            by this factor and the solve repeated from the converged state, until the
            tolerance is met or ``max_penalty_factor`` is passed (a recorded failure). The
            penalty reached is kept for the following steps (it only grows).
        max_penalty_factor: largest ``c`` penalty continuation may reach.
        friction_coefficient: Coulomb coefficient ``mu`` between the needle and the tissue,
            in [0, 2]; 0 (default) is frictionless (see "Friction" in :mod:`fem.needle.contact`).
        friction_slip_mm: regularisation of the stick-slip switch (mm of tangential slip per
            needle step over which the friction traction reaches ``mu P``), > 0.
        stall_rtol: a Newton solve that stops on its line search or iteration limit is
            accepted (``CONVERGED_RESIDUAL_FLOOR``, counted in the record) when its residual
            force is below this fraction of the needle force (or of ``E_eff h^2``): 1e-7 is
            the rounding floor; up to 1e-4 leaves a force error far below the puncture
            criterion's, where a sharp tip makes the tangent nearly singular.
        penetration_tol_mm: absolute penetration tolerance (mm), > 0.
        penetration_rel_tol: tolerance relative to the needle advance ``d``, > 0; the tolerance
            used is the smaller of the two.
        max_al_iterations: most Uzawa updates per step; not reaching the tolerance is recorded
            as a failure of that step.
        quadrature_degree: quadrature degree of the contact (and support) surface integrals,
            shared by residual and Jacobian.
        smoothing_mm: width (in gap, mm) of the C1 rounding of the penalty ramp, > 0. Uzawa's
            fixed point then leaves a uniform penetration of ``smoothing_mm / 2`` on the
            active surface (the pressure is what equilibrium needs), so it must be below
            the penetration tolerance (checked against ``penetration_tol_mm``).
        support_stiffness_factor: ``k = factor * E_eff / h`` of the balloon backing (MPa/mm).
        initial_step_mm: first needle increment (mm).
        min_step_mm: smallest increment before an insertion gives up (mm).
        max_step_mm: largest increment (mm).
        grow_factor: increment multiplier after an easy step.
        shrink_factor: increment multiplier after a failed step.
        easy_iterations: a step whose Newton solves all took at most this many iterations is easy.
        max_steps: most solves (converged or not) in one insertion.
        max_history_step: largest growth of a cohesive quadrature point's history (opening)
            in one step, as a fraction of its failure opening (a larger one repeats the step
            smaller, down to ``min_step_mm``), in (0, 1].
    """

    penalty_factor: float = 10.0
    augmented_lagrangian: bool = True
    penalty_growth: float = 1.0
    max_penalty_factor: float = 1.0e6
    stall_rtol: float = 1.0e-7
    friction_coefficient: float = 0.0
    friction_slip_mm: float = 1.0e-4
    penetration_tol_mm: float = 1.0e-3
    penetration_rel_tol: float = 0.01
    max_al_iterations: int = 30
    quadrature_degree: int = 6
    smoothing_mm: float = 1.0e-5
    support_stiffness_factor: float = 10.0
    initial_step_mm: float = 0.02
    min_step_mm: float = 1.0e-5
    max_step_mm: float = 0.05
    grow_factor: float = 1.5
    shrink_factor: float = 0.5
    easy_iterations: int = 6
    max_steps: int = 400
    max_history_step: float = 0.25

    def __post_init__(self) -> None:
        check_range("penalty_factor", self.penalty_factor, 0.0, 1e6, low_open=True)
        check_range("penalty_growth", self.penalty_growth, 1.0, 1e3)
        check_range("max_penalty_factor", self.max_penalty_factor, self.penalty_factor, 1e9,
                    unit="(at least penalty_factor)")
        check_range("stall_rtol", self.stall_rtol, 0.0, 1e-3)
        check_range("friction_coefficient", self.friction_coefficient, 0.0, 2.0)
        check_range("friction_slip_mm", self.friction_slip_mm, 0.0, 1.0, low_open=True,
                    unit="mm")
        check_range("penetration_tol_mm", self.penetration_tol_mm, 0.0, 1.0, low_open=True,
                    unit="mm")
        check_range("penetration_rel_tol", self.penetration_rel_tol, 0.0, 1.0, low_open=True)
        check_range("max_al_iterations", self.max_al_iterations, 1, 1000)
        check_range("quadrature_degree", self.quadrature_degree, 1, 20)
        check_range("smoothing_mm", self.smoothing_mm, 0.0, self.penetration_tol_mm,
                    low_open=True, high_open=True, unit="mm (below penetration_tol_mm)")
        check_range("support_stiffness_factor", self.support_stiffness_factor, 0.0, 1e6,
                    low_open=True)
        check_range("initial_step_mm", self.initial_step_mm, 0.0, 10.0, low_open=True,
                    unit="mm")
        check_range("min_step_mm", self.min_step_mm, 0.0, self.initial_step_mm, low_open=True,
                    unit="mm (at most initial_step_mm)")
        check_range("max_step_mm", self.max_step_mm, self.initial_step_mm, 10.0,
                    unit="mm (at least initial_step_mm)")
        check_range("grow_factor", self.grow_factor, 1.0, 10.0)
        check_range("shrink_factor", self.shrink_factor, 0.0, 1.0, low_open=True,
                    high_open=True)
        check_range("easy_iterations", self.easy_iterations, 0, 100)
        check_range("max_steps", self.max_steps, 1, 100000)
        check_range("max_history_step", self.max_history_step, 0.0, 1.0, low_open=True)


@dataclass(frozen=True, slots=True)
class FractureEnergies:
    """Fracture energy per tissue, N/mm (1 J/m^2 = 1e-3 N/mm).

    Sources (DOMAIN.md section 5): media 64 J/m^2, the middle of the 51-76 J/m^2 of arterial
    medial dissection (Sommer 2008); adventitia 290 J/m^2, the low end of aortic wall values
    290-1700 J/m^2 (collagen-rich, tougher than media; Gokgol 2012) [est]; diseased intima
    164 J/m^2, the needle-measured liver value, for a soft fibrous tissue without a measurement
    of its own [est]; calcium 200 J/m^2 [est]: a brittle mineralised tissue like bone, with
    ``G = K^2 / E`` at ``K`` ~ 2 MPa m^0.5 and ``E`` ~ 20 GPa (cortical bone initiation
    toughness). Sweep these: they are the least known inputs.

    Attributes:
        adventitia_N_per_mm, media_N_per_mm, intima_N_per_mm, calcium_N_per_mm: each in
            (0, 100] N/mm.
    """

    adventitia_N_per_mm: float = 290.0 * J_PER_M2
    media_N_per_mm: float = 64.0 * J_PER_M2
    intima_N_per_mm: float = 164.0 * J_PER_M2
    calcium_N_per_mm: float = 200.0 * J_PER_M2

    def __post_init__(self) -> None:
        for name in ("adventitia_N_per_mm", "media_N_per_mm", "intima_N_per_mm",
                     "calcium_N_per_mm"):
            check_range(name, getattr(self, name), 0.0, 100.0, low_open=True, unit="N/mm")

    def of(self, tissue: str) -> float:
        return float(getattr(self, f"{tissue}_N_per_mm"))


@dataclass(frozen=True, slots=True)
class PunctureCriterion:
    """The energetic puncture criterion (:mod:`fem.needle.puncture`).

    Attributes:
        fracture: fracture energies per tissue.
        crack_width_factor: crack width in needle outer diameters, in (0, 10].
    """

    fracture: FractureEnergies = field(default_factory=FractureEnergies)
    crack_width_factor: float = 1.0

    def __post_init__(self) -> None:
        check_range("crack_width_factor", self.crack_width_factor, 0.0, 10.0, low_open=True)

    def threshold_Nmm(self, layers: tuple[tuple[str, float], ...], od_mm: float) -> float:
        """Energy (N mm) the crack through ``layers`` (tissue, thickness mm) costs."""
        width = self.crack_width_factor * od_mm
        return sum(self.fracture.of(t) * width * th for t, th in layers)


@dataclass(frozen=True, slots=True)
class PunctureCase:
    """One puncture case: needle, wall, calcium, balloon pressure, model and mesh.

    Attributes:
        gauge: needle gauge (18, 20, 21, 22), or 0 with ``outer_diameter_mm`` for a custom one.
        outer_diameter_mm: custom needle OD (mm), used when ``gauge == 0``.
        tip: needle tip (:data:`fem.needle.geometry.TIPS`); ``"lancet"`` is a cone of its bevel
        angle.
        tip_angle_deg: cone half-angle / bevel angle (deg).
        tip_radius_mm: apex rounding of a conical tip (mm); a sharp point makes the tissue fold
            at a single node, a tip radius of a few tens of um is what real needles have.
        grade: calcification grade string (:func:`meshes.calcification_for_grade`).
        calcium_thickness_mm: overrides the grade's sheet thickness (None: the grade's).
        calcium_layer: overrides the grade's layer, ``"intima"`` or ``"media"`` (None: grade's).
        calcium_modulus_MPa: Young's modulus of calcium, 1 .. 1e5 MPa.
        calcium_poisson_ratio: Poisson ratio of calcium.
        balloon_pressure_atm: balloon pressure (atm), >= 0.
        flap_thickness_mm, media_thickness_mm, adventitia_thickness_mm: None: ArterySpec
            defaults.
        adventitia_material, media_material, intima_material: names for
            :func:`fem.solid.materials.material_by_name`.
        events: which events to solve, in needle order.
        disc_radius_factor: disc radius in needle ODs, in [2, 20].
        edge: ``"clamped"`` or ``"roller"`` (u_z = 0, radially free) outer edge.
        max_depth_factor: give up (recorded) when no puncture by this many wall thicknesses.
        mesh_level: 0 coarsest; each level halves the element size near the needle.
        criterion: the puncture criterion and its data.
        contact: contact enforcement and stepping settings. The default is penalty
            continuation (``c`` from 10, x4 until the penetration is within 2 um or 1 % of
            the needle advance): Uzawa updates stalled Newton under sharp tips and next to
            calcium (see :mod:`fem.needle.contact`).
        prestretch_outer_wall, prestretch_flap: in-plane stretch of the layers where the
            needle crosses them, in [0.7, 2]: the pre-stressed state the balloon problem hands
            over (:func:`fem.balloon.prestress.path_state`); 1 is a stress-free start. A stretch
            other
            than 1 needs ``edge = "clamped"`` (the rim is where it is imposed).
        thin_cover_mm: a soft layer at most this thick that the needle meets first, lying on
            calcium, is cut before the calcium is loaded: it is left out of the disc (its
            fracture energy stays in the threshold), see :mod:`fem.needle.puncture`. 0: never.
    """

    gauge: int = 18
    outer_diameter_mm: float = 1.27
    tip: str = "lancet"
    tip_angle_deg: float = 30.0
    tip_radius_mm: float = 0.05
    grade: str = "pacss-3"
    calcium_thickness_mm: float | None = None
    calcium_layer: str | None = None
    calcium_modulus_MPa: float = 1.0e3
    calcium_poisson_ratio: float = 0.3
    balloon_pressure_atm: float = 6.0
    flap_thickness_mm: float | None = None
    media_thickness_mm: float | None = None
    adventitia_thickness_mm: float | None = None
    adventitia_material: str = "femoral-wall-neohookean"
    media_material: str = "femoral-wall-neohookean"
    intima_material: str = "fibrous-intima"
    events: tuple[str, ...] = EVENTS
    disc_radius_factor: float = 4.0
    edge: str = "clamped"
    max_depth_factor: float = 5.0
    mesh_level: int = 1
    criterion: PunctureCriterion = field(default_factory=PunctureCriterion)
    contact: ContactSettings = field(default_factory=lambda: ContactSettings(
        initial_step_mm=0.02, max_step_mm=0.05, penetration_tol_mm=2e-3,
        penetration_rel_tol=0.01, augmented_lagrangian=False, penalty_factor=10.0,
        penalty_growth=4.0, stall_rtol=1e-4))
    prestretch_outer_wall: float = 1.0
    prestretch_flap: float = 1.0
    thin_cover_mm: float = 0.15

    def __post_init__(self) -> None:
        from fem.needle.geometry import TIPS
        from meshes.spec import NEEDLE_GAUGES_MM

        if self.gauge not in (0, *NEEDLE_GAUGES_MM):
            raise ValueError(f"gauge = {self.gauge!r} must be 0 (custom) or one of "
                             f"{sorted(NEEDLE_GAUGES_MM)}")
        check_range("outer_diameter_mm", self.outer_diameter_mm, 0.1, 5.0, unit="mm")
        if self.tip not in TIPS:
            raise ValueError(f"tip = {self.tip!r} must be one of {TIPS}")
        check_range("tip_angle_deg", self.tip_angle_deg, 5.0, 89.0, unit="deg")
        check_range("tip_radius_mm", self.tip_radius_mm, 0.0, 0.5, unit="mm")
        if self.calcium_thickness_mm is not None:
            check_range("calcium_thickness_mm", self.calcium_thickness_mm, 0.05, 3.0, unit="mm")
        if self.calcium_layer not in (None, "intima", "media"):
            raise ValueError(f"calcium_layer = {self.calcium_layer!r} must be None, 'intima' "
                             "or 'media'")
        check_range("calcium_modulus_MPa", self.calcium_modulus_MPa, 1.0, 1e5, unit="MPa")
        check_range("calcium_poisson_ratio", self.calcium_poisson_ratio, 0.0, 0.5,
                    high_open=True)
        check_range("balloon_pressure_atm", self.balloon_pressure_atm, 0.0, 30.0, unit="atm")
        for name in ("flap_thickness_mm", "media_thickness_mm", "adventitia_thickness_mm"):
            if getattr(self, name) is not None:
                check_range(name, getattr(self, name), 0.05, 3.0, unit="mm")
        object.__setattr__(self, "events", tuple(self.events))
        if not self.events or any(e not in EVENTS for e in self.events):
            raise ValueError(f"events = {self.events!r} must be a non-empty subset of {EVENTS}")
        if self.edge not in EDGES:
            raise ValueError(f"edge = {self.edge!r} must be one of {EDGES}")
        check_range("disc_radius_factor", self.disc_radius_factor, 2.0, 20.0)
        check_range("max_depth_factor", self.max_depth_factor, 0.2, 20.0)
        check_range("mesh_level", self.mesh_level, 0, 5)
        check_range("thin_cover_mm", self.thin_cover_mm, 0.0, 1.0, unit="mm")
        for name in ("prestretch_outer_wall", "prestretch_flap"):
            check_range(name, getattr(self, name), 0.7, 2.0)
            if getattr(self, name) != 1.0 and self.edge != "clamped":
                raise ValueError(f"{name} = {getattr(self, name):g} needs edge = 'clamped' "
                                 f"(the pre-stretch is imposed on the rim), not {self.edge!r}")
        self.calcification()  # validates the grade and overrides
        from fem.solid.materials import MATERIAL_NAMES, material_by_name

        for name in ("adventitia_material", "media_material", "intima_material"):
            if getattr(self, name) not in MATERIAL_NAMES:
                material_by_name(getattr(self, name))  # raises with the known names

    # ------------------------------------------------------------------ derived data
    @property
    def od_mm(self) -> float:
        from meshes.spec import NEEDLE_GAUGES_MM

        return NEEDLE_GAUGES_MM[self.gauge][0] if self.gauge else float(self.outer_diameter_mm)

    def needle(self):
        from fem.needle.geometry import Needle

        kw = dict(tip=self.tip, tip_angle_deg=self.tip_angle_deg,
                  tip_radius_mm=self.tip_radius_mm if self.tip in ("conical", "lancet")
                  else 0.0)
        if self.gauge:
            return Needle.from_gauge(self.gauge, **kw)
        return Needle(outer_diameter_mm=self.outer_diameter_mm, **kw)

    def artery(self):
        from meshes.spec import ArterySpec

        kw = {k: getattr(self, k) for k in ("flap_thickness_mm", "media_thickness_mm",
                                             "adventitia_thickness_mm")
              if getattr(self, k) is not None}
        return ArterySpec(**kw)

    def calcification(self):
        from meshes.grades import calcification_for_grade

        over = {}
        if self.calcium_thickness_mm is not None:
            over["thickness_mm"] = self.calcium_thickness_mm
        if self.calcium_layer is not None:
            over["layer"] = self.calcium_layer
        return calcification_for_grade(self.grade, **over)

    def calcium_on_path(self) -> bool:
        """Whether a calcium sheet lies on the needle path (its arc covers 0 deg)."""
        calc = self.calcification()
        for centre in calc.sheet_centres_deg():
            off = (centre + 180.0) % 360.0 - 180.0
            if abs(off) <= 0.5 * calc.arc_deg:
                return True
        return False

    def layers(self, event: str) -> tuple[tuple[str, float], ...]:
        """``(tissue, thickness_mm)`` from the face the needle meets to the far face."""
        from meshes.spec import MIN_COVER_MM

        art, calc = self.artery(), self.calcification()
        tc = calc.thickness_mm if self.calcium_on_path() else 0.0
        if event == "outer_wall":
            stack = [("adventitia", art.adventitia_thickness_mm)]
            if tc and calc.layer == "media":
                tc = min(tc, art.media_thickness_mm - MIN_COVER_MM)
                stack += [("media", art.media_thickness_mm - tc), ("calcium", tc)]
            else:
                stack += [("media", art.media_thickness_mm)]
        elif event == "flap":
            if tc and calc.layer == "intima":
                tc = min(tc, art.flap_thickness_mm - MIN_COVER_MM)
                stack = [("intima", art.flap_thickness_mm - tc), ("calcium", tc)]
            else:
                stack = [("intima", art.flap_thickness_mm)]
        else:
            raise ValueError(f"event = {event!r} must be one of {EVENTS}")
        return tuple(stack)

    def mechanical_layers(self, event: str) -> tuple[tuple[str, float], ...]:
        """The layers the disc is made of: :meth:`layers` without a thin soft cover on
        calcium (``thin_cover_mm``), which the needle cuts before it loads the calcium."""
        layers = self.layers(event)
        if (len(layers) >= 2 and layers[1][0] == "calcium" and layers[0][0] != "calcium"
                and layers[0][1] <= self.thin_cover_mm + 1e-12):
            return layers[1:]
        return layers

    def disc_spec(self, event: str):
        from meshes.disc import LayeredDiscSpec

        layers = self.mechanical_layers(event)
        od = self.od_mm
        thickness = sum(t for _, t in layers)
        radius = self.disc_radius_factor * od
        scale = 0.5**self.mesh_level
        fine = min(od / 6.0, min(t for _, t in layers) / 2.0) * scale
        coarse = max(fine, min(thickness / 2.0, radius / 6.0))
        # The fine zone covers the depth the needle can reach, so the tip stays resolved.
        return LayeredDiscSpec(layers=layers, radius_mm=radius, fine_size_mm=fine,
                               fine_radius_mm=0.75 * od + self.tip_radius_mm,
                               coarse_size_mm=coarse, coarse_radius_mm=max(2.0 * od, radius / 2))

    def prestretch(self, event: str) -> float:
        return float(getattr(self, f"prestretch_{event}"))

    def to_dict(self) -> dict:
        return asdict(self)
