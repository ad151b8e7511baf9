"""The balloon-wall equilibrium as one continuation in the balloon pressure (bordered Newton).

At balloon pressure ``P`` the wall (a :class:`fem.solid.hyperelastic.HyperelasticProblem`, state
``w``) is loaded by the balloon's contact pressure ``p_c``, a follower pressure on the channel,
and the film held at the channel's radius ``r(w)`` presses exactly ``p_c``. Both are unknowns.
The film's law is used in its inverse form (:class:`fem.balloon.confined.ConfinedFilm`): the
radius ``rho(P, p_c)`` at which the film at ``P`` presses ``p_c``, smooth and decreasing on
``[0, P]`` (``rho(P, P)``: the film wrinkles, ``rho(P, 0)``: the free balloon). The forward law
``p_c(r)`` is nearly vertical (the film is ~50 times stiffer than the wall) and clamped at 0 and
``P``, which makes Newton on it cycle between a slack and a free film. The equations are

    R(w, p_c) = 0                                      wall equilibrium (its residual),
    Phi(w, p_c) = max(min(a (P - p_c), rho(P, p_c) - r(w)), -a p_c) = 0,

the second a complementarity function: either the film is taut, ``r = rho(P, p_c)`` with
``0 <= p_c <= P``; or it is wrinkled, ``p_c = P`` with ``r <= rho(P, P)``; or it does not touch,
``p_c = 0`` with ``r >= rho(P, 0)``. ``a = |d rho / d p_c|`` makes the three branches
commensurate (mm). ``r = sqrt(A / pi)``, ``A(w)`` the deformed area the channel encloses.
Newton on the bordered system (taut branch)

    [ K    b ] [dw  ]     [ R          ]      K = dR/dw (the wall's tangent, its constraints),
    [ c^T  d ] [dp_c] = - [ rho - r(w) ]      b = dR/dp_c (the follower load per unit pressure),
                                              c = -dr/dw,  d = d rho / d p_c < 0,

by block elimination: one factorisation of ``K`` and two solves per iteration, ``K x1 = -R``,
``K x2 = b``, then ``dp_c = (r - rho - c.x1) / (d - c.x2)`` and ``dw = x1 - dp_c x2``. The
linearised film-minus-wall radius falls with ``p_c`` (``d - c.x2`` is minus the sum of the
film's and the wall's compliances), so the linearised complementarity problem is solved exactly
by clamping ``p_c + dp_c`` into ``[0, P]``: a wrinkled film (``p_c = P``) is chosen only where
the linearised wall stays inside the film, which keeps Newton from loading a soft wall with the
whole balloon pressure when the film would catch it. ``Phi`` serves the convergence test.

The balloon pressure is the continuation parameter: :meth:`BorderedContinuation.advance` steps
``P`` from the current state to a target in adaptive steps (grown after an easy solve, halved
and retried from the last converged state after a failed one), each step started from a secant
predictor along the path, so one ramp serves a whole case and every recorded pressure is a
point on it. Steps are also kept short where the channel opens fast (``radius_step``: the wall
alone under a wrinkled film, before the balloon holds the channel). The linear solver is the
wall problem's own (its SNES's KSP and options); at a target pressure the residual test is the
wall problem's (``snes_atol``, ``snes_rtol``, rounding floor) and the film equation must hold to
``film_rtol`` of the channel radius; points between targets only start the next step and are
converged to ``intermediate_rtol``.

Units: mm, N, MPa.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import dolfinx
import dolfinx.fem.petsc
import numpy as np
import ufl
from mpi4py import MPI
from petsc4py import PETSc

from fem.balloon.confined import ConfinedFilm
from fem.solid.hyperelastic import HyperelasticProblem

__all__ = ["BorderedContinuation", "ContinuationResult", "ContinuationStep", "nested_equilibrium"]

ATM_MPa = 0.101325


@dataclass(slots=True)
class ContinuationStep:
    """One bordered Newton solve at one balloon pressure (converged or not).

    ``film_state`` is the active branch at the last iterate: ``"taut"``, ``"wrinkled"``
    (``p_c = P``) or ``"free"`` (``p_c = 0``); ``film_residual_mm`` is ``Phi`` there.
    """

    step: int
    balloon_pressure_MPa: float
    contact_pressure_MPa: float
    converged: bool
    reason: str
    newton_iterations: int
    linear_iterations: int
    residual_norm: float
    film_residual_mm: float
    film_state: str
    wall_time_s: float


@dataclass(slots=True)
class ContinuationResult:
    """Record of :meth:`BorderedContinuation.advance` (``to_dict`` goes to JSON)."""

    converged: bool
    start_pressure_MPa: float
    target_pressure_MPa: float
    reached_pressure_MPa: float
    steps: list[ContinuationStep] = field(default_factory=list)
    failure: dict | None = None

    def to_dict(self) -> dict:
        return asdict(self)


class BorderedContinuation:
    """Balloon pressure continuation of the wall and the contact pressure together.

    Args:
        problem: the wall; its follower pressure load (``pressure_boundaries``) is the contact
            pressure, and its ``axial_stretch`` is held.
        channel: the boundary that encloses the channel (one of the problem's pressure
            boundaries, and the only one).
        area_integrand: UFL form of the channel's deformed enclosed area (times the deformed
            length in 3-D), a functional of ``problem.w``.
        area_scale: divides the assembled area (3-D: deformed length), so ``A / area_scale``
            is the section's area in mm^2.
        film: the film held by the channel (:class:`fem.balloon.confined.ConfinedFilm`).
        film_rtol: the film equation holds when ``|Phi| <= film_rtol * r``.
        radius_step: largest predicted change of the channel radius in one step, as a
            fraction of the radius (the rate ``dr/dP`` is the last step's secant; before the
            first step, the wall's tangent compliance if the film is wrinkled there). It
            keeps the steps short where the channel opens fast under a wrinkled film (the
            wall alone under the balloon pressure) and does not limit them once the film
            holds the channel.
        intermediate_rtol: relative residual tolerance of the points between the targets
            (the target itself is converged to the wall's ``snes_rtol``).
    """

    def __init__(self, problem: HyperelasticProblem, *, channel: str, area_integrand,
                 area_scale: Callable[[], float], film: ConfinedFilm,
                 film_rtol: float = 1e-10, radius_step: float = 0.08,
                 intermediate_rtol: float = 1e-6) -> None:
        if tuple(problem.pressure_boundaries) != (channel,):
            raise ValueError(f"channel = {channel!r} must be the wall's only pressure boundary "
                             f"(it has {problem.pressure_boundaries})")
        self.problem = problem
        self.film = film
        self.film_rtol = film_rtol
        self.radius_step = radius_step
        self.intermediate_rtol = intermediate_rtol
        self.area_scale = area_scale
        self.comm = problem.comm
        p = problem
        W = p.W
        v = ufl.TestFunction(W)
        vu = ufl.split(v)[0] if p.options.formulation == "mixed" else v
        _, F = p.kinematics()
        N = ufl.FacetNormal(p.mesh)
        if p.gdim == 2:
            N3, v3 = ufl.as_vector([N[0], N[1], 0.0]), ufl.as_vector([vu[0], vu[1], 0.0])
        else:
            N3, v3 = N, vu
        # dR/dp_c: the follower traction's work per unit pressure (hyperelastic.py's load term)
        load = ufl.det(F) * ufl.dot(ufl.inv(F).T * N3, v3)
        self._load_form = dolfinx.fem.form(load * p.ds(p.boundaries[channel]))
        self._area_form = dolfinx.fem.form(area_integrand)
        self._area_derivative_form = dolfinx.fem.form(ufl.derivative(area_integrand, p.w, v))
        self._b = dolfinx.fem.petsc.create_vector(W)
        self._c = dolfinx.fem.petsc.create_vector(W)
        self._x1 = p.w.x.petsc_vec.duplicate()
        self._x2 = p.w.x.petsc_vec.duplicate()
        self._rhs = p.w.x.petsc_vec.duplicate()
        self.balloon_pressure_MPa = 0.0
        self.contact_pressure_MPa = float(p.pressure_MPa)
        # secant predictor: d(w, p_c)/dP of the last converged step
        self._rate: tuple[np.ndarray, float] | None = None
        self._radius_rate: float | None = None  # dr/dP (mm/MPa) of the last step
        self._step_MPa: float | None = None
        self.steps: list[ContinuationStep] = []
        self._n_steps = 0

    # ------------------------------------------------------------------ pieces
    def area_mm2(self) -> float:
        a = self.comm.allreduce(dolfinx.fem.assemble_scalar(self._area_form), op=MPI.SUM)
        return float(a) / self.area_scale()

    def radius_mm(self) -> float:
        return math.sqrt(max(self.area_mm2(), 0.0) / math.pi)

    def film_equation(self, balloon_MPa: float, contact_MPa: float
                      ) -> tuple[float, str, float, float, float]:
        """``(Phi, branch, rho, d rho/d p_c, r)`` at the current wall state (module docstring)."""
        r = self.radius_mm()
        rho, slope = self.film.radius_extended(balloon_MPa, contact_MPa)
        a = abs(slope)
        branches = {"wrinkled": a * (balloon_MPa - contact_MPa), "taut": rho - r}
        branch = min(branches, key=branches.get)
        phi = branches[branch]
        if -a * contact_MPa > phi:
            phi, branch = -a * contact_MPa, "free"
        return phi, branch, rho, slope, r

    def _assemble_border(self, r: float) -> None:
        """``b = dR/dp_c`` (zero on constrained rows) and ``c = -dr/dw``."""
        p = self.problem
        for vec, form in ((self._b, self._load_form), (self._c, self._area_derivative_form)):
            with vec.localForm() as loc:
                loc.set(0.0)
            dolfinx.fem.petsc.assemble_vector(vec, form)
            vec.ghostUpdate(addv=PETSc.InsertMode.ADD, mode=PETSc.ScatterMode.REVERSE)
        dolfinx.fem.petsc.set_bc(self._b, p.bcs, alpha=0.0)
        # r = sqrt(A / pi) (A per area_scale): dr/dw = 1 / (2 pi r) dA/dw
        self._c.scale(-1.0 / (2.0 * math.pi * max(r, 1e-12) * self.area_scale()))

    # ------------------------------------------------------------------ Newton
    def solve_at(self, balloon_MPa: float, step: int = 0, *,
                 loose: bool = False) -> ContinuationStep:
        """Semi-smooth bordered Newton at balloon pressure ``balloon_MPa`` from the current
        (w, p_c). On return the state is the last iterate (the caller restores on failure).

        ``loose``: an intermediate point of the path, converged to ``intermediate_rtol``
        (relative residual; the film equation to 1e3 ``film_rtol``) instead of the wall's
        ``snes_rtol``: it only starts the next step.
        """
        p, opts = self.problem, self.problem.options
        rtol = max(opts.snes_rtol, self.intermediate_rtol) if loose else opts.snes_rtol
        film_rtol = self.film_rtol * (1e3 if loose else 1.0)
        snes = p.snes
        F, _ = snes.getFunction()
        A, P, _ = snes.getJacobian()
        ksp = snes.getKSP()
        x = p.w.x.petsc_vec
        atol = opts.snes_atol * p.pressure_scale_MPa * p.length_scale_mm**2
        pc = self.contact_pressure_MPa
        tic = time.perf_counter()
        its = lin = 0
        f0 = fprev = 0.0
        reason, fnorm, phi, branch = "DIVERGED_MAX_IT", math.nan, math.nan, ""
        alpha, dpc = 1.0, 0.0  # the last update's length, and its p_c part
        while True:
            p._set_load(pc, p.axial_stretch)
            try:
                snes.computeFunction(x, F)
                fnorm = F.norm()
                phi, branch, rho, slope, r = self.film_equation(balloon_MPa, pc)
                bad = not (math.isfinite(fnorm) and math.isfinite(phi))
            except (PETSc.Error, ValueError):
                bad = True
            if bad and its > 0 and alpha > 1.0 / 64.0:
                # the update left the domain (an element turned inside out): halve it
                alpha *= 0.5
                x.axpy(-alpha, self._x1)
                x.axpy(alpha * dpc, self._x2)
                x.ghostUpdate(addv=PETSc.InsertMode.INSERT, mode=PETSc.ScatterMode.FORWARD)
                pc -= alpha * dpc
                continue
            if bad:
                reason = "DIVERGED_FUNCTION_NANORINF"
                break
            if its <= 1:  # the load moves in the first update (p_c is an unknown)
                f0 = fprev = max(fnorm, f0 if its else 0.0)
            film_ok = abs(phi) <= film_rtol * r
            if film_ok and (fnorm <= atol or (its > 1 and fnorm <= rtol * f0)):
                reason = "CONVERGED_FNORM"
                break
            floor = opts.stagnation_rtol
            if (film_ok and floor > 0.0 and its >= 2 and fnorm <= floor * f0
                    and fnorm > 0.5 * fprev):
                reason = "CONVERGED_ROUNDING_FLOOR"
                break
            if its >= opts.snes_max_it:
                reason = "DIVERGED_MAX_IT"
                break
            if its > 1 and fnorm > 1e8 * f0:
                reason = "DIVERGED_DTOL"
                break
            fprev = fnorm
            try:
                snes.computeJacobian(x, A, P)
                self._assemble_border(r)
                ksp.setOperators(A, P)
                F.copy(self._rhs)
                self._rhs.scale(-1.0)
                ksp.solve(self._rhs, self._x1)
                lin += ksp.getIterationNumber()
                ksp.solve(self._b, self._x2)
                lin += ksp.getIterationNumber()
                if ksp.getConvergedReason() < 0:
                    raise PETSc.Error(int(ksp.getConvergedReason()))
            except (PETSc.Error, ValueError):
                reason = "DIVERGED_LINEAR_SOLVE"
                break
            # the linearised complementarity problem in p_c, solved exactly: the taut root,
            # clamped into [0, P] (the linearised film-minus-wall radius falls with p_c)
            dpc = (r - rho - self._c.dot(self._x1)) / (slope - self._c.dot(self._x2))
            dpc = min(max(pc + dpc, 0.0), balloon_MPa) - pc
            x.axpy(1.0, self._x1)
            x.axpy(-dpc, self._x2)
            x.ghostUpdate(addv=PETSc.InsertMode.INSERT, mode=PETSc.ScatterMode.FORWARD)
            pc += dpc
            alpha = 1.0
            its += 1
        finite = self.comm.allreduce(bool(np.all(np.isfinite(p.w.x.array))), op=MPI.LAND)
        converged = reason.startswith("CONVERGED") and finite
        self.contact_pressure_MPa = pc
        wall = self.comm.allreduce(time.perf_counter() - tic, op=MPI.MAX)
        return ContinuationStep(step=step, balloon_pressure_MPa=balloon_MPa,
                                contact_pressure_MPa=pc, converged=converged, reason=reason,
                                newton_iterations=its, linear_iterations=lin,
                                residual_norm=float(fnorm), film_residual_mm=float(phi),
                                film_state=branch, wall_time_s=wall)

    # ------------------------------------------------------------------ continuation
    def _tangent_radius_rate(self, balloon_MPa: float) -> ContinuationStep | None:
        """Set ``dr/dP`` from the wall's tangent compliance when the film is wrinkled now
        (``p_c = P``: the wall alone carries the balloon pressure); the record of that one
        factorisation, or None (taut or free film: no limit needed)."""
        p = self.problem
        tic = time.perf_counter()
        _, branch, _, _, r = self.film_equation(balloon_MPa, balloon_MPa)
        if branch != "wrinkled":
            return None
        snes = p.snes
        A, P, _ = snes.getJacobian()
        ksp = snes.getKSP()
        p._set_load(self.contact_pressure_MPa, p.axial_stretch)
        snes.computeJacobian(p.w.x.petsc_vec, A, P)
        self._assemble_border(r)
        ksp.setOperators(A, P)
        ksp.solve(self._b, self._x2)
        compliance = self._c.dot(self._x2)  # dr/dp_c of the wall alone
        self._radius_rate = compliance if compliance > 0.0 else None
        return ContinuationStep(
            step=self._n_steps, balloon_pressure_MPa=self.balloon_pressure_MPa,
            contact_pressure_MPa=self.contact_pressure_MPa, converged=True,
            reason="TANGENT_PREDICTOR", newton_iterations=1,
            linear_iterations=ksp.getIterationNumber(), residual_norm=0.0,
            film_residual_mm=0.0, film_state=branch,
            wall_time_s=self.comm.allreduce(time.perf_counter() - tic, op=MPI.MAX))

    def snapshot(self) -> tuple:
        """The continuation's state (wall, contact and balloon pressure, predictor, step)."""
        return (self.problem.w.x.array.copy(), self.contact_pressure_MPa,
                self.balloon_pressure_MPa, self._rate, self._step_MPa, self._radius_rate)

    def restore(self, state: tuple) -> None:
        """Go back to a :meth:`snapshot`."""
        w, pc, P, rate, step, self._radius_rate = state
        p = self.problem
        p.w.x.array[:] = w
        p.w.x.scatter_forward()
        self.contact_pressure_MPa, self.balloon_pressure_MPa = pc, P
        self._rate, self._step_MPa = rate, step
        p.pressure_MPa = pc
        p._set_load(pc, p.axial_stretch)

    def advance(self, target_MPa: float, *, max_step_MPa: float | None = None,
                on_step: Callable[[float], bool | None] | None = None) -> ContinuationResult:
        """Continue the equilibrium from the current balloon pressure to ``target_MPa``.

        Args:
            target_MPa: balloon pressure to reach (ends exactly on it).
            max_step_MPa: largest pressure step (None: no limit but the target).
            on_step: called with the balloon pressure after every converged step, in the
                converged state (e.g. to evaluate failure indicators along the path); when it
                returns True the continuation stops there (converged, short of the target).

        Returns:
            The record; on failure the state is the last converged one.
        """
        p, opts = self.problem, self.problem.options
        P0 = self.balloon_pressure_MPa
        res = ContinuationResult(converged=False, start_pressure_MPa=P0,
                                 target_pressure_MPa=target_MPa, reached_pressure_MPa=P0)
        span = target_MPa - P0
        if abs(span) <= 1e-14 * max(abs(target_MPa), 1.0):
            res.converged = True
            return res
        # step sizes: the ramp options of the wall problem, as fractions of this segment
        # (at least 1 atm, so that short segments are not crawled); the first step carries over
        scale = max(abs(span), ATM_MPa)
        h = self._step_MPa if self._step_MPa is not None else opts.initial_step * abs(span)
        h_min = opts.min_step * scale
        h_max = opts.max_step * scale if max_step_MPa is None else min(
            opts.max_step * scale, max_step_MPa)
        direction = math.copysign(1.0, span)
        fails_in_row = 0
        P = P0
        backup = (p.w.x.array.copy(), self.contact_pressure_MPa)
        if self._rate is None and self._radius_rate is None:
            rec = self._tangent_radius_rate(P0 + direction * min(h, h_max))
            if rec is not None:
                self._n_steps += 1
                res.steps.append(rec)
                self.steps.append(rec)
        r_now = self.radius_mm()
        while direction * (target_MPa - P) > 1e-14 * scale:
            if len(res.steps) >= opts.max_steps:
                res.failure = self._failure("max_steps", res)
                break
            h = min(h, h_max)  # the free step; h_try may stop short on the target
            h_try = min(h, abs(target_MPa - P))
            if self._radius_rate:
                h_try = min(h_try, self.radius_step * r_now / abs(self._radius_rate))
            P_try = P + direction * h_try
            if abs(target_MPa - P_try) < 1e-9 * scale:
                P_try = target_MPa
            if opts.predictor and self._rate is not None:
                rate_w, rate_pc = self._rate
                p.w.x.array[:] = backup[0] + (P_try - P) * rate_w
                p.w.x.scatter_forward()
                self.contact_pressure_MPa = min(max(backup[1] + (P_try - P) * rate_pc, 0.0),
                                                P_try)
            rec = self.solve_at(P_try, self._n_steps, loose=P_try != target_MPa)
            self._n_steps += 1
            res.steps.append(rec)
            self.steps.append(rec)
            if rec.converged:
                dP = P_try - P
                self._rate = ((p.w.x.array - backup[0]) / dP,
                              (self.contact_pressure_MPa - backup[1]) / dP)
                r_new = self.radius_mm()
                self._radius_rate = (r_new - r_now) / dP
                r_now = r_new
                P = P_try
                self.balloon_pressure_MPa = P
                p.pressure_MPa = self.contact_pressure_MPa
                backup = (p.w.x.array.copy(), self.contact_pressure_MPa)
                fails_in_row = 0
                if rec.newton_iterations <= 2:  # nearly linear here: stride out
                    h *= opts.grow_factor**2
                elif rec.newton_iterations <= opts.easy_iterations:
                    h *= opts.grow_factor
                if on_step is not None and on_step(P):
                    break
                continue
            p.w.x.array[:] = backup[0]
            p.w.x.scatter_forward()
            self.contact_pressure_MPa = backup[1]
            fails_in_row += 1
            h = h_try * opts.shrink_factor
            if h < h_min * (1 - 1e-12) or fails_in_row > opts.max_consecutive_failures:
                why = "min_step" if h < h_min * (1 - 1e-12) else "max_consecutive_failures"
                res.failure = self._failure(why, res)
                break
        p._set_load(self.contact_pressure_MPa, p.axial_stretch)
        p.pressure_MPa = self.contact_pressure_MPa
        self._step_MPa = h
        res.reached_pressure_MPa = P
        res.converged = res.failure is None
        return res

    def _failure(self, why: str, res: ContinuationResult) -> dict:
        last = res.steps[-1]
        return {"reason": why, "solver_reason": last.reason, "step": last.step,
                "balloon_pressure_MPa": last.balloon_pressure_MPa,
                "last_converged_pressure_MPa": self.balloon_pressure_MPa,
                "residual_norm": last.residual_norm,
                "film_residual_mm": last.film_residual_mm, "film_state": last.film_state}


def nested_equilibrium(balloon, pressure_MPa: float, *, rtol: float = 3e-3,
                       max_iter: int = 40) -> bool:
    """The former method: regula falsi on the contact pressure, a wall ramp per trial.

    ``g(p_c) = p_c - f(P, r(p_c))`` is monotone in ``p_c`` (``f`` falls as the channel opens
    and the channel opens with ``p_c``): bracketed by ``[0, f(P, r_now)]`` and solved by
    safeguarded regula falsi (Illinois), each evaluation a wall ramp
    (:meth:`fem.solid.hyperelastic.HyperelasticProblem.ramp`) from the last state known to lie
    below the root; a failed wall ramp counts as "too high". Stops when ``|g| <= rtol P``.
    Kept as the reference the continuation is checked against and for the benchmark
    (:mod:`hpc.benchmarks.balloon_equilibrium`).

    Args:
        balloon: a :class:`fem.balloon.problem.BalloonProblem` (its wall, film law, channel
            radius and ``wall_solves`` record, where every ramp is appended).
        pressure_MPa: balloon pressure.

    Returns:
        False if no wall state could carry the required contact pressure (a wall failure,
        recorded in ``balloon.wall_solves``).
    """
    problem = balloon.problem

    def g(pc: float, r: float) -> float:
        return pc - balloon.film_contact_pressure_MPa(pressure_MPa, r)

    def wall_at(contact_MPa: float) -> float | None:
        ramp = problem.ramp(pressure_MPa=contact_MPa)
        balloon.wall_solves.append(ramp)
        if not ramp.converged:
            return None
        balloon.contact_pressure_MPa = contact_MPa
        return balloon.channel_radius_mm()

    r_now = balloon.channel_radius_mm()
    pc_now = balloon.contact_pressure_MPa
    g_now = g(pc_now, r_now)
    if abs(g_now) <= rtol * max(pressure_MPa, 1e-12):
        return True
    # bracket [a, b] with g(a) <= 0 <= g(b)
    if g_now < 0.0:
        a, ga = pc_now, g_now
        b, gb = balloon.film_contact_pressure_MPa(pressure_MPa, r_now), math.nan
    else:
        a, ga = 0.0, math.nan
        b, gb = pc_now, g_now
    # Every trial is loaded upwards from the last state known to lie below the root (a):
    # unloading from a failed or overshot state is a different, harder path.
    saved_a = (problem.w.x.array.copy(), balloon.contact_pressure_MPa)

    def restore_a() -> None:
        w, pc = saved_a
        problem.w.x.array[:] = w
        problem.w.x.scatter_forward()
        problem.pressure_MPa = pc
        balloon.contact_pressure_MPa = pc

    side = 0
    tried_b = False
    for _ in range(max_iter):
        if math.isfinite(ga) and math.isfinite(gb) and gb > ga:
            x = b - gb * (b - a) / (gb - ga)
            x = min(max(x, a + 0.02 * (b - a)), b - 0.02 * (b - a))
        elif not tried_b:
            x = b
        else:
            x = 0.5 * (a + b)
        tried_b = True
        restore_a()
        r = wall_at(x)
        gx = math.inf if r is None else g(x, r)
        if r is not None and abs(gx) <= rtol * pressure_MPa:
            return True
        if gx > 0.0:  # too much contact pressure (or more than the wall can carry)
            b, gb = x, (gx if math.isfinite(gx) else math.nan)
            if side == 1 and math.isfinite(ga):
                ga *= 0.5  # Illinois: keep the stale end from stalling the secant
            side = 1
        else:
            a, ga = x, gx
            saved_a = (problem.w.x.array.copy(), x)
            if side == -1 and math.isfinite(gb):
                gb *= 0.5
            side = -1
        if b - a <= min(1e-6, 1e-3 * rtol) * pressure_MPa:
            break
    # out of iterations, or a bracket closed on a wall failure: end on the carried side,
    # and succeed only if balloon and wall agree there
    restore_a()
    r = balloon.channel_radius_mm()
    return abs(g(a, r)) <= 10 * rtol * pressure_MPa
