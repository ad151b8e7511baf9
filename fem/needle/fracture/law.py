"""Cohesive traction-separation law of a layer, and the per-layer fracture inputs.

The law (per unit area of the crack plane, opening ``delta`` = jump of the normal
displacement across the plane, mm; traction ``t``, MPa) is **bilinear with secant unloading**
(Camanho & Davila 2002; Turon et al. 2007; the law most FE codes offer, e.g. Abaqus'
``*DAMAGE EVOLUTION, TYPE=ENERGY, SOFTENING=LINEAR``):

* envelope ``t_env(delta)``: elastic ``K0 delta`` up to the strength ``sigma_c`` at
  ``delta_0 = sigma_c / K0``, then linear softening to zero at the failure opening
  ``delta_f = 2 G_c / sigma_c``; the area under it is ``G_c`` (``delta_0 << delta_f``);
* irreversibility: the largest opening reached, ``kappa`` (history, stored at each quadrature
  point), sets the damage; below ``kappa`` the traction unloads and reloads along the secant
  ``t = t_env(kappa) delta / kappa`` (to the origin, no permanent opening);
* closing (``delta < 0``): the faces cannot interpenetrate: ``t = K0 delta`` whatever the
  damage (a penalty contact of the faces, or of a face with its mirror image on a symmetry
  plane).

``K0`` is a numerical penalty, not a material property: ``K0 = penalty_factor * E / l`` with
``E`` the layer's modulus and ``l`` the smaller of the cohesive length and the layer
thickness (Turon et al. 2007 use ``K0 >= 50 E / t``; the default factor is 200), so the
compliance the interface adds is a small fraction of the bulk's over the process zone; the
answers are shown not to depend on it (tests: 4x the penalty changes the DCB's peak load by
less than 1 %). Energies per unit crack area (N/mm = 1e3 J/m^2): the work of separation to
``kappa`` is ``Phi(kappa) = int_0^kappa t_env``, of which ``t_env(kappa) kappa / 2`` is stored
(recovered on unloading) and the rest dissipated; a fully separated point has dissipated
``G_c``. Written with the damage ``D(kappa)``: ``t = (1 - D) K0 delta``.

Rate regularisation of the history: the history ``kappa`` follows the opening with a delay,
``d kappa / d tau = <delta - kappa>_+ / mu`` for a load parameter ``tau`` (the needle advance or
the opening, mm), integrated implicitly over a step: ``kappa_new = kappa + lag <delta -
kappa>_+``, ``lag = dtau / (mu + dtau)``. Where a crack front would jump from one element to the
next (a local snap-back that no displacement-controlled step can follow), the damage then
grows over a few ``mu`` of load instead of at once; ``mu -> 0`` is the rate-independent law,
and the answers are shown not to change when ``mu`` is divided by 10 (tests). (Regularising
the damage itself instead would over-weight small lags where ``1 - D`` is small.) The energy
dissipated is tracked step by step (work of the traction minus the change of stored energy).

The cohesive length ``l_cz = E G_c / sigma_c^2`` (Hillerborg; DOMAIN.md section 8) sets the size
of the process zone; the mesh must resolve it with several elements
(:meth:`CohesiveLaw.cohesive_length_mm`, checked before solving).

Units: mm, N, MPa (1 J/m^2 = 1e-3 N/mm).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from fem.solid.materials import check_range

__all__ = ["J_PER_M2", "CohesiveLaw", "cohesive_damage", "cohesive_stored_energy",
           "cohesive_traction"]

J_PER_M2 = 1.0e-3
"""One J/m^2 in N/mm."""


@dataclass(frozen=True, slots=True)
class CohesiveLaw:
    """Bilinear cohesive law of one layer (module docstring).

    Attributes:
        strength_MPa: cohesive strength ``sigma_c``, in (0, 1e5] MPa: the layer's tensile
            (rupture) strength on the scale of its modulus, not a damage-onset stress.
        fracture_energy_N_per_mm: fracture energy ``G_c``, in (0, 100] N/mm.
        source: where the two values come from (``[est]`` when estimated).
    """

    strength_MPa: float
    fracture_energy_N_per_mm: float
    source: str = ""

    def __post_init__(self) -> None:
        check_range("strength_MPa", self.strength_MPa, 0.0, 1e5, low_open=True, unit="MPa")
        check_range("fracture_energy_N_per_mm", self.fracture_energy_N_per_mm, 0.0, 100.0,
                    low_open=True, unit="N/mm")

    @property
    def failure_opening_mm(self) -> float:
        """``delta_f = 2 G_c / sigma_c`` (mm): the opening at which the traction is zero."""
        return 2.0 * self.fracture_energy_N_per_mm / self.strength_MPa

    def cohesive_length_mm(self, modulus_MPa: float) -> float:
        """``l_cz = E G_c / sigma_c^2`` (mm) for a bulk of Young's modulus ``modulus_MPa``."""
        return modulus_MPa * self.fracture_energy_N_per_mm / self.strength_MPa**2

    def penalty_MPa_per_mm(self, modulus_MPa: float, length_mm: float,
                           penalty_factor: float) -> float:
        """``K0 = penalty_factor * E / min(l_cz, length_mm)`` (MPa/mm), at least
        ``10 sigma_c / delta_f`` so that the elastic branch ends well before ``delta_f``."""
        length = min(self.cohesive_length_mm(modulus_MPa), length_mm)
        k0 = penalty_factor * modulus_MPa / length
        return max(k0, 10.0 * self.strength_MPa / self.failure_opening_mm)


def cohesive_damage(kappa, sigma, delta_f, k0):
    """Damage ``D(kappa)`` of the bilinear law and ``dD/dkappa`` (1/mm).

    ``t = (1 - D(kappa)) K0 delta`` is the envelope at ``delta = kappa`` and the secant below.
    """
    delta0 = sigma / k0
    k = np.maximum(kappa, delta0)
    soft = delta_f * (k - delta0) / (k * (delta_f - delta0))
    d = np.where(kappa <= delta0, 0.0, np.where(kappa < delta_f, soft, 1.0))
    dd = np.where((kappa > delta0) & (kappa < delta_f),
                  delta_f * delta0 / (k * k * (delta_f - delta0)), 0.0)
    return d, dd


def cohesive_traction(
    delta: npt.NDArray, kappa: npt.NDArray, sigma: npt.NDArray, delta_f: npt.NDArray,
    k0: npt.NDArray, lag: float | npt.NDArray = 1.0,
) -> tuple[npt.NDArray, npt.NDArray, npt.NDArray]:
    """Traction ``t`` (MPa), ``dt/d delta`` (MPa/mm) and the history after the step.

    Args:
        delta: opening (mm), any shape.
        kappa: history before this step: the largest opening reached (regularised), mm.
        sigma, delta_f, k0: strength (MPa), failure opening (mm), penalty (MPa/mm).
        lag: ``dtau / (mu + dtau)`` of the regularisation (1: none): the history moves a
            fraction ``lag`` of the way to the opening, ``kappa_new = kappa + lag <delta -
            kappa>_+``.

    Returns:
        ``(t, dt, kappa_new)`` with ``t = (1 - D(kappa_new)) K0 delta`` when open (loading past
        the history follows the envelope when ``lag = 1``; below it the secant), ``K0 delta``
        when closed.
    """
    loading = delta > kappa
    k_new = kappa + lag * np.maximum(delta - kappa, 0.0)
    d_new, dd_new = cohesive_damage(k_new, sigma, delta_f, k0)
    t = np.where(delta < 0.0, k0 * delta, (1.0 - d_new) * k0 * delta)
    dt = np.where(delta < 0.0, k0,
                  (1.0 - d_new) * k0 - np.where(loading, lag * k0 * delta * dd_new, 0.0))
    return t, dt, k_new


def cohesive_stored_energy(delta: npt.NDArray, damage: npt.NDArray,
                           k0: npt.NDArray) -> npt.NDArray:
    """Energy stored per unit crack area (N/mm): ``(1 - D) K0 delta^2 / 2`` when open,
    ``K0 delta^2 / 2`` when closed."""
    return np.where(delta < 0.0, 0.5 * k0 * delta**2, 0.5 * (1.0 - damage) * k0 * delta**2)


def cohesive_zone_elements(law: CohesiveLaw, modulus_MPa: float, size_mm: float) -> float:
    """Elements per cohesive length for an element size ``size_mm``."""
    return law.cohesive_length_mm(modulus_MPa) / size_mm if size_mm > 0 else math.inf
