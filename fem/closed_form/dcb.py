"""Linear-elastic fracture mechanics of the double cantilever beam (DCB): the closed form the
cohesive law is verified against (DOMAIN.md section 8).

Two arms of height ``h`` (each), width ``b``, crack length ``a`` (load line to crack tip),
Young's modulus ``E`` (plane strain: ``E' = E / (1 - nu^2)``), loaded by opening forces ``P`` at
their ends. Slender-beam theory gives the compliance ``C = 2 a^3 / (3 E I)``, ``I = b h^3 / 12``,
and, with ``G = P^2 / (2 b) dC/da = G_c``, the propagation load

    P_c = b h sqrt(E h G_c / 12) / a.

The arms are not clamped at the crack tip: the uncracked ligament is an elastic foundation
that lets them rotate there. Kanninen's beam on an elastic foundation (Kanninen 1973, Int J
Fract 9:83) gives, for isotropic arms, the same formulas with the crack length augmented by
``chi h``, ``chi = 6^(-1/4) = 0.639`` (``a -> a + chi h`` in both).

Past the peak, under displacement control, the crack grows with ``P = P_c(a)`` and the
load-line opening (both arms) is ``Delta = P C(a)``, so ``P`` falls as ``Delta^(-1/2)``.

Units: mm, N, MPa (G_c in N/mm).
"""

from __future__ import annotations

import math

__all__ = ["dcb_chi", "dcb_compliance_mm_per_N", "dcb_propagation_load_N", "dcb_curve"]


def dcb_chi(poisson_ratio: float = 0.3) -> float:
    """Kanninen's crack-length correction factor ``chi = 6^(-1/4)`` of isotropic arms (the
    elastic-foundation rotation at the crack tip; independent of ``poisson_ratio``)."""
    del poisson_ratio
    return 6.0 ** -0.25


def _a_eff(a: float, h: float, nu: float, corrected: bool) -> float:
    return a + (dcb_chi(nu) * h if corrected else 0.0)


def dcb_compliance_mm_per_N(*, modulus_MPa: float, poisson_ratio: float, arm_height_mm: float,
                            width_mm: float, crack_length_mm: float,
                            plane_strain: bool = True, corrected: bool = True) -> float:
    """Load-line compliance ``C = 8 a_eff^3 / (E' b h^3)`` of both arms (mm/N)."""
    e = modulus_MPa / (1.0 - poisson_ratio**2) if plane_strain else modulus_MPa
    a = _a_eff(crack_length_mm, arm_height_mm, poisson_ratio, corrected)
    return 8.0 * a**3 / (e * width_mm * arm_height_mm**3)


def dcb_propagation_load_N(*, modulus_MPa: float, poisson_ratio: float, arm_height_mm: float,
                           width_mm: float, crack_length_mm: float,
                           fracture_energy_N_per_mm: float, plane_strain: bool = True,
                           corrected: bool = True) -> float:
    """``P_c = b h sqrt(E' h G_c / 12) / a_eff`` (N)."""
    e = modulus_MPa / (1.0 - poisson_ratio**2) if plane_strain else modulus_MPa
    a = _a_eff(crack_length_mm, arm_height_mm, poisson_ratio, corrected)
    h = arm_height_mm
    return width_mm * h * math.sqrt(e * h * fracture_energy_N_per_mm / 12.0) / a


def dcb_curve(opening_mm: float, *, modulus_MPa: float, poisson_ratio: float,
              arm_height_mm: float, width_mm: float, initial_crack_mm: float,
              fracture_energy_N_per_mm: float, plane_strain: bool = True,
              corrected: bool = True) -> float:
    """LEFM load (N) at the load-line opening ``opening_mm`` (both arms): linear up to the
    peak at the initial crack length, then ``P = P_c(a)`` with ``a`` from ``Delta = P C(a)``."""
    kw = dict(modulus_MPa=modulus_MPa, poisson_ratio=poisson_ratio,
              arm_height_mm=arm_height_mm, width_mm=width_mm, plane_strain=plane_strain,
              corrected=corrected)
    c0 = dcb_compliance_mm_per_N(crack_length_mm=initial_crack_mm, **kw)
    p0 = dcb_propagation_load_N(crack_length_mm=initial_crack_mm,
                                fracture_energy_N_per_mm=fracture_energy_N_per_mm, **kw)
    if opening_mm <= p0 * c0:
        return opening_mm / c0
    # P(a) C(a) = Delta with P ~ 1/a_eff and C ~ a_eff^3: a_eff^2 = Delta / (k_P k_C).
    e = modulus_MPa / (1.0 - poisson_ratio**2) if plane_strain else modulus_MPa
    h, b = arm_height_mm, width_mm
    k_p = b * h * math.sqrt(e * h * fracture_energy_N_per_mm / 12.0)
    k_c = 8.0 / (e * b * h**3)
    a_eff = math.sqrt(opening_mm / (k_p * k_c))
    return k_p / a_eff
