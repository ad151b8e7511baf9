"""Wall failure under the balloon: two labelled levels per layer, and the pressure of each.

Levels, per layer (intima / flap, media, adventitia, calcium), each a strength in MPa
compared with the layer's largest *non-local* maximum principal Cauchy stress:

* **damage onset**: the stress where the wall starts to lose stiffness irreversibly;
* **rupture**: the layer's ultimate tensile strength (UTS).

Defaults and sources (DOMAIN.md section 5; ``[est]`` marks an estimate to sweep):

=========== ======================================= ==========================================
layer       damage onset (MPa)                      rupture = UTS (MPa)
=========== ======================================= ==========================================
intima      0.10 [est] (low end of the whole-wall   0.16: fibrous intima / cap, carotid
            femoropopliteal range of Anttila 2019,  (Teng 2015); femoral plaques weaker; the
            kept below the cap's UTS)               coronary intima ~0.39 (Holzapfel 2005)
media       0.17: middle of 0.10-0.24, femoro-      0.45: coronary media, circumferential
            popliteal wall (Anttila 2019)           (Holzapfel 2005: 0.446 +- 0.194); carotid
                                                    0.5-1.2 (Teng 2009)
adventitia  0.17: as media (Anttila 2019 tested     1.43: coronary adventitia, circumferential
            the whole wall) [est for the layer]     (Holzapfel 2005: 1.43 +- 0.60); carotid
                                                    1.8-2.0 (Teng 2009)
calcium     0.18 = rupture [est]: brittle, no       0.18 +- 0.06 at stretch 1.02, iliac
            damage before fracture                  calcified plaque, tissue level (Holzapfel
                                                    2004)
=========== ======================================= ==========================================

Calcium's strength and modulus must come from the same scale: 0.18 MPa at a stretch of 1.02
is a tissue-level tangent modulus near 9 MPa; with a GPa (mineral-scale) modulus the calcium
takes stresses a tissue-level strength cannot be compared with.
:func:`calcium_scale_warning` says so when the implied failure strain ``strength / E`` is far
from the tissue-level 0.02.

The non-local stress is the implicit-gradient average over the material length ``l``
(Peerlings et al. 1996): ``s - l^2 lap(s) = sigma_1`` in the region, natural boundary
conditions, ``sigma_1`` the cell-wise (DG0) largest principal Cauchy stress. It converges with
the mesh where the pointwise peak under a sharp corner does not (DOMAIN.md section 8).
:class:`NonlocalStress` factorises each region's operator once (it lives on the reference
mesh) and re-solves it for every state, so the balloon problem can follow it along its
pressure continuation; :func:`crossing_pressures` turns that path into the pressure at which
each layer reaches each level (linear interpolation between the continuation's points, which
are at most ``failure_search_step_atm`` apart).

Units: MPa, mm, atm for the pressures of the results.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from fem.solid.materials import check_range

__all__ = ["LAYERS", "LEVELS", "SOURCES", "NonlocalStress", "WallStrengths",
           "calcium_scale_warning", "crossing_pressures"]

#: Tissue layers with a strength (the lumen fill has none).
LAYERS = ("intima", "media", "adventitia", "calcium")
#: Failure levels, in the order they are reached.
LEVELS = ("damage", "rupture")

#: Where each default strength comes from (README "Wall failure").
SOURCES = {
    ("intima", "damage"): "[est] low end of 0.10-0.24 MPa (Anttila 2019), below the cap UTS",
    ("intima", "rupture"): "Teng 2015 J Biomech: fibrous cap UTS ~0.16 MPa",
    ("media", "damage"): "Anttila 2019 Acta Biomater: 0.10-0.24 MPa (middle)",
    ("media", "rupture"): "Holzapfel 2005 AJP Heart: coronary media 0.45 MPa (Teng 2009: "
                          "carotid 0.5-1.2)",
    ("adventitia", "damage"): "Anttila 2019 (whole wall) [est for the layer]",
    ("adventitia", "rupture"): "Holzapfel 2005: coronary adventitia 1.43 MPa (Teng 2009: "
                               "carotid 1.8-2.0)",
    ("calcium", "damage"): "[est] = rupture (brittle)",
    ("calcium", "rupture"): "Holzapfel 2004 JBME: 0.18 +- 0.06 MPa at stretch 1.02 "
                            "(tissue level)",
}

#: Failure strain of calcified tissue at the tissue level (Holzapfel 2004: stretch 1.02).
CALCIUM_TISSUE_FAILURE_STRAIN = 0.02


@dataclass(frozen=True, slots=True)
class WallStrengths:
    """Damage-onset and rupture strengths (MPa) per layer, and the non-local length.

    Defaults and sources: module docstring (:data:`SOURCES`). Each damage-onset strength must
    not exceed the layer's rupture strength.

    Attributes:
        intima_damage_MPa, intima_rupture_MPa: the diseased intima and the flap.
        media_damage_MPa, media_rupture_MPa: the media.
        adventitia_damage_MPa, adventitia_rupture_MPa: the adventitia.
        calcium_damage_MPa, calcium_rupture_MPa: calcium (tissue-level strength).
        material_length_mm: averaging length l [est]: a few collagen-fibre/calcium-grain
            sizes; a study should sweep it with the strengths.
    """

    intima_damage_MPa: float = 0.10
    intima_rupture_MPa: float = 0.16
    media_damage_MPa: float = 0.17
    media_rupture_MPa: float = 0.45
    adventitia_damage_MPa: float = 0.17
    adventitia_rupture_MPa: float = 1.43
    calcium_damage_MPa: float = 0.18
    calcium_rupture_MPa: float = 0.18
    material_length_mm: float = 0.2

    def __post_init__(self) -> None:
        for layer in LAYERS:
            for level in LEVELS:
                name = f"{layer}_{level}_MPa"
                check_range(f"strengths.{name}", getattr(self, name), 0.0, 1e4,
                            low_open=True, unit="MPa")
            damage, rupture = self.of(layer, "damage"), self.of(layer, "rupture")
            if damage > rupture:
                raise ValueError(f"strengths.{layer}_damage_MPa = {damage!r} MPa is above "
                                 f"strengths.{layer}_rupture_MPa = {rupture!r} MPa: damage "
                                 "onset comes before rupture")
        check_range("strengths.material_length_mm", self.material_length_mm, 0.0, 5.0,
                    low_open=True, unit="mm")

    def of(self, region: str, level: str = "rupture") -> float | None:
        """Strength of a region at a level (None for a region without one: the lumen fill)."""
        if level not in LEVELS:
            raise ValueError(f"level = {level!r} must be one of {LEVELS}")
        return getattr(self, f"{region}_{level}_MPa", None)


def calcium_scale_warning(modulus_MPa: float, strength_MPa: float) -> str | None:
    """A warning when calcium's strength and modulus come from different scales, else None.

    The tissue-level strength 0.18 MPa goes with a failure strain of 0.02 (tangent modulus
    ~9 MPa). An implied failure strain ``strength / E`` more than 4 times off (below 0.005 or
    above 0.08) mixes scales: e.g. a mineral-scale GPa modulus with a tissue-level strength
    makes the calcium indicator an overestimate by about ``E / 9 MPa``.
    """
    strain = strength_MPa / modulus_MPa
    lo, hi = CALCIUM_TISSUE_FAILURE_STRAIN / 4.0, CALCIUM_TISSUE_FAILURE_STRAIN * 4.0
    if lo <= strain <= hi:
        return None
    e_match = strength_MPa / CALCIUM_TISSUE_FAILURE_STRAIN
    return (f"calcium strength {strength_MPa:g} MPa and modulus {modulus_MPa:g} MPa imply a "
            f"failure strain of {strain:.2g}, not the tissue-level "
            f"{CALCIUM_TISSUE_FAILURE_STRAIN:g} (Holzapfel 2004): they come from different "
            f"scales (a tissue-level modulus near {e_match:.3g} MPa goes with this strength); "
            "the calcium's damage and rupture pressures are not comparable with data")


def crossing_pressures(path: list[tuple[float, dict[str, float]]], strengths: WallStrengths,
                       regions) -> dict[tuple[str, str], float]:
    """Pressure (atm) at which each region's peak non-local stress first reaches each level.

    Args:
        path: ``(balloon pressure atm, {region: peak non-local stress MPa})`` in increasing
            pressure, from the in-situ state (0 atm) on.
        strengths: the levels.
        regions: the regions to look at (those with a strength).

    Returns:
        ``(region, level) -> pressure``; NaN where the level is not reached on the path.
        Between two points the stress is interpolated linearly in the pressure.
    """
    out = {}
    for region in regions:
        for level in LEVELS:
            s_lim = strengths.of(region, level)
            found = math.nan
            prev = None
            for p_atm, peaks in path:
                s = peaks.get(region, math.nan)
                if math.isfinite(s) and s >= s_lim:
                    if prev is None:
                        found = p_atm
                    else:
                        p0, s0 = prev
                        found = p0 + (p_atm - p0) * (s_lim - s0) / (s - s0) if s > s0 else p_atm
                    break
                if math.isfinite(s):
                    prev = (p_atm, s)
            out[(region, level)] = found
    return out


class NonlocalStress:
    """Per region, the largest implicit-gradient average of the max principal Cauchy stress.

    Args:
        problem: the wall (:class:`fem.solid.hyperelastic.HyperelasticProblem`).
        regions: the regions to evaluate (each must have a material).
        length_mm: material length ``l``.
    """

    def __init__(self, problem, regions, length_mm: float) -> None:
        import dolfinx
        import dolfinx.fem.petsc
        import ufl
        from petsc4py import PETSc

        from fem.solid.output import cauchy_stress

        self.problem = p = problem
        self.regions = [r for r in regions if r in p.materials]
        mesh = p.mesh
        self._V = V = dolfinx.fem.functionspace(mesh, ("Lagrange", 1))
        self._T = T = dolfinx.fem.functionspace(mesh, ("DG", 0, (3, 3)))
        self._S = S = dolfinx.fem.functionspace(mesh, ("DG", 0))
        self._sigma = dolfinx.fem.Function(T)
        self._s1 = dolfinx.fem.Function(S)
        pts = T.element.interpolation_points
        self._exprs = {r: (dolfinx.fem.Expression(cauchy_stress(p, r), pts),
                           p.cell_tags.find(p.regions[r]).astype(np.int32))
                       for r in p.materials}
        s, v = ufl.TrialFunction(V), ufl.TestFunction(V)
        dx = ufl.Measure("dx", domain=mesh, subdomain_data=p.cell_tags)
        self._solvers = {}
        n_owned = V.dofmap.index_map.size_local
        for region in self.regions:
            tag = p.regions[region]
            # Outside the region the field is held at zero (a tiny mass keeps it regular).
            a = dolfinx.fem.form((s * v + length_mm**2 * ufl.dot(ufl.grad(s), ufl.grad(v)))
                                 * dx(tag) + 1e-12 * s * v * dx)
            A = dolfinx.fem.petsc.assemble_matrix(a)
            A.assemble()
            ksp = PETSc.KSP().create(mesh.comm)
            ksp.setOptionsPrefix(f"{p.prefix}nonlocal_{region}_")
            ksp.setOperators(A)
            ksp.setType("preonly")
            ksp.getPC().setType("lu")
            ksp.getPC().setFactorSolverType("mumps")
            ksp.setFromOptions()
            L = dolfinx.fem.form(self._s1 * v * dx(tag))
            b = dolfinx.fem.petsc.create_vector(V)
            sbar = dolfinx.fem.Function(V)
            dofs = np.unique(V.dofmap.list[p.cell_tags.find(tag)])
            self._solvers[region] = (ksp, A, L, b, sbar, dofs[dofs < n_owned])

    def max_principal(self):
        """The cell-wise max principal Cauchy stress (DG0 Function, MPa) at the current state."""
        for expr, cells in self._exprs.values():
            self._sigma.interpolate(expr, cells0=cells)
        sig = self._sigma.x.array.reshape(-1, 3, 3)
        sig = 0.5 * (sig + np.swapaxes(sig, 1, 2))
        self._s1.x.array[:] = np.linalg.eigvalsh(sig)[:, -1] if len(sig) else 0.0
        self._s1.x.scatter_forward()
        return self._s1

    def peaks(self, max_principal=None) -> dict[str, float]:
        """Region -> largest non-local max principal stress (MPa), the same on every rank.

        Args:
            max_principal: a DG0 field to average (default: :meth:`max_principal` now).
        """
        import dolfinx.fem.petsc
        from mpi4py import MPI
        from petsc4py import PETSc

        if max_principal is None:
            self.max_principal()
        elif max_principal is not self._s1:
            self._s1.x.array[:] = max_principal.x.array
        comm = self.problem.comm
        out = {}
        for region, (ksp, _A, L, b, sbar, dofs) in self._solvers.items():
            with b.localForm() as loc:
                loc.set(0.0)
            dolfinx.fem.petsc.assemble_vector(b, L)
            b.ghostUpdate(addv=PETSc.InsertMode.ADD, mode=PETSc.ScatterMode.REVERSE)
            ksp.solve(b, sbar.x.petsc_vec)
            sbar.x.scatter_forward()
            local = float(sbar.x.array[dofs].max()) if len(dofs) else -np.inf
            out[region] = comm.allreduce(local, op=MPI.MAX)
        return out

    def destroy(self) -> None:
        for ksp, A, *_ in self._solvers.values():
            ksp.destroy()
            A.destroy()
        self._solvers = {}
