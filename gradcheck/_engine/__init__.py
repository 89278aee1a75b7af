"""The checker engine, shared by every checker (`check_grad`, `check_vjp`, `check_jacobian`).

Modules, each one idea, listed from the bottom of the import graph up (a module imports only
modules listed before it, plus `gradcheck._errors`, `_tree`, `_result`, `_progress`,
`_evidence`):

- `calls`: calling the user's code (the user's numpy error state; read-only arrays, fresh
  copies once it writes; notes of what it modified).
- `options`: the `Options` of one check and their one validator (mode, tolerances, step,
  ulps, seed).
- `numdiff`: the stencil, `Differences`, the step choice, and THE error model (module
  docstring; every other docstring refers to it).
- `problem`: the checked function prepared: working copies, base value, determinism, its
  rounding bound and step, the step ladder of one leaf's coordinates.
- `noise`: f's measured rounding noise (the floor of the rounding bound), probed locally.
- `analytic`: the user's gradient, deterministic, with its measured low-precision rounding.
- `judge`: numeric vs analytic, entry by entry, into a `Verdict`.
- `stacks`: evaluating f at many perturbed points (a loop, or one vectorized call).
- `complex_step`: the complex-step refinement, used only where it agrees.
- `full`, `fast`: the two run loops (every entry; random directions with bisection).
- `run`: the driver: prepare → analytic → noise → full | fast → stable → `CheckResult`.
"""
