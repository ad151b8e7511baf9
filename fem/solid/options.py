"""Solver options of the hyperelastic problem (:mod:`fem.solid.hyperelastic`), without DOLFINx.

A frozen dataclass validated on construction: case inputs that carry solver options (e.g.
:class:`fem.balloon.inputs.BalloonCase`) can be built and checked by ``nre study check``
without loading the solvers. :mod:`fem.solid.hyperelastic` re-exports these names.
"""

from __future__ import annotations

from dataclasses import dataclass

from fem.solid.materials import check_range

FORMULATIONS = ("mixed", "displacement")
LINEAR_SOLVERS = ("mumps", "gamg", "fieldsplit", "auto")
#: The iterative solver of each formulation (``linear_solver="auto"`` above its size).
ITERATIVE_SOLVER = {"mixed": "fieldsplit", "displacement": "gamg"}
#: Default size (global unknowns) from which ``"auto"`` solves iteratively, by mesh dimension
#: (module docstring "Linear solvers"; the 3-D crossover is in the README).
ITERATIVE_MIN_DOFS = {2: 10**12, 3: 50_000}


@dataclass(frozen=True, slots=True)
class SolverOptions:
    """Discretisation, Newton and load-stepping options.

    Attributes:
        formulation: ``"mixed"`` (Taylor-Hood u-p, default) or ``"displacement"``.
        displacement_degree: Lagrange degree of u (mixed: 2, i.e. P2-P1; displacement: 1 or 2).
        linear_solver: ``"mumps"``, ``"gamg"`` (displacement formulation only),
            ``"fieldsplit"`` (mixed formulation only) or ``"auto"`` (module docstring).
        iterative_min_dofs: with ``"auto"``: the global number of unknowns from which the
            iterative solver of the formulation is used instead of MUMPS, >= 0 (None:
            :data:`ITERATIVE_MIN_DOFS` of the mesh's dimension).
        preconditioner_reuse: 0: the preconditioner (LU factors, AMG hierarchy) is rebuilt
            at every Newton iteration; N > 0: it is kept across Newton iterations and solves,
            the tangent solved by GMRES to ``ksp_rtol``, and rebuilt after a linear solve
            that needed more than N iterations (:mod:`fem.solid.solver`); -1: N from the
            problem size (:func:`fem.solid.solver.auto_reuse_iterations`).
        quadrature_degree: quadrature degree of the energy integrals (the exponential HGO
            energy would otherwise get a huge estimated degree).
        initial_step: first load-fraction step of a ramp, in (0, 1].
        min_step: smallest load-fraction step before the ramp gives up, in (0, initial_step].
        max_step: largest load-fraction step, in [initial_step, 1].
        grow_factor: step multiplier after an easy solve, >= 1.
        shrink_factor: step multiplier after a failed solve, in (0, 1).
        easy_iterations: a solve with at most this many Newton iterations is "easy".
        max_steps: most solves (converged or not) in one ramp.
        max_consecutive_failures: most failed solves in a row before giving up.
        predictor: start each Newton solve from a secant extrapolation of the last converged
            increment (within a ramp) instead of the last converged state.
        snes_rtol: relative residual tolerance of Newton.
        snes_atol: absolute residual tolerance in units of ``s * L^2`` (N) (s: pressure scale
            modulus, L: mesh size), i.e. dimensionless.
        snes_stol: Newton also stops (converged) when the update is below this fraction of the
            solution norm (0: off).
        stagnation_rtol: Newton also stops, converged, when the residual is below this
            fraction of its initial value and no longer halves per iteration: it has reached
            its rounding floor (next to 20 GPa calcium the stresses carry an absolute error
            ~1e-16 E, so ``snes_rtol`` can be out of reach at small loads). Such a step is
            recorded with ``snes_reason_name = "CONVERGED_ROUNDING_FLOOR"``. 0: off.
        snes_max_it: most Newton iterations per solve.
        ksp_rtol: relative tolerance of the iterative linear solver.
        petsc_options: extra SNES/KSP/PC options (no prefix), merged last.
    """

    formulation: str = "mixed"
    displacement_degree: int = 2
    linear_solver: str = "auto"
    iterative_min_dofs: int | None = None
    preconditioner_reuse: int = 0
    quadrature_degree: int = 4
    initial_step: float = 0.25
    min_step: float = 1.0e-3
    max_step: float = 1.0
    grow_factor: float = 1.5
    shrink_factor: float = 0.5
    easy_iterations: int = 5
    max_steps: int = 100
    max_consecutive_failures: int = 8
    predictor: bool = True
    snes_rtol: float = 1.0e-9
    snes_atol: float = 1.0e-12
    snes_stol: float = 0.0
    stagnation_rtol: float = 1.0e-6
    snes_max_it: int = 25
    ksp_rtol: float = 1.0e-10
    petsc_options: tuple[tuple[str, object], ...] = ()

    def __post_init__(self) -> None:
        if self.formulation not in FORMULATIONS:
            raise ValueError(f"formulation = {self.formulation!r} must be one of {FORMULATIONS}")
        if self.linear_solver not in LINEAR_SOLVERS:
            raise ValueError(
                f"linear_solver = {self.linear_solver!r} must be one of {LINEAR_SOLVERS}"
            )
        allowed = ("mumps", ITERATIVE_SOLVER[self.formulation], "auto")
        if self.linear_solver not in allowed:
            raise ValueError(
                f"linear_solver = {self.linear_solver!r} is not supported for the "
                f"{self.formulation} formulation; allowed: {allowed}"
            )
        if self.iterative_min_dofs is not None:
            check_range("iterative_min_dofs", self.iterative_min_dofs, 0, 10**12)
        check_range("preconditioner_reuse", self.preconditioner_reuse, -1, 10000)
        low_degree = 2 if self.formulation == "mixed" else 1
        check_range("displacement_degree", self.displacement_degree, low_degree, 3)
        check_range("quadrature_degree", self.quadrature_degree, 1, 12)
        check_range("initial_step", self.initial_step, 0.0, 1.0, low_open=True)
        check_range("min_step", self.min_step, 0.0, self.initial_step, low_open=True)
        check_range("max_step", self.max_step, self.initial_step, 1.0)
        check_range("grow_factor", self.grow_factor, 1.0, 10.0)
        check_range("shrink_factor", self.shrink_factor, 0.0, 1.0, low_open=True, high_open=True)
        check_range("easy_iterations", self.easy_iterations, 0, 100)
        check_range("max_steps", self.max_steps, 1, 100000)
        check_range("max_consecutive_failures", self.max_consecutive_failures, 1, 1000)
        check_range("snes_rtol", self.snes_rtol, 0.0, 1.0, low_open=True, high_open=True)
        check_range("snes_atol", self.snes_atol, 0.0, 1.0)
        check_range("snes_stol", self.snes_stol, 0.0, 1e-3)
        check_range("stagnation_rtol", self.stagnation_rtol, 0.0, 1e-3)
        check_range("snes_max_it", self.snes_max_it, 1, 1000)
        check_range("ksp_rtol", self.ksp_rtol, 0.0, 1.0, low_open=True, high_open=True)
