"""The book's gradient check: backpropagation against central differences.

Backpropagation gives every gradient from one forward and one backward pass. Central
differences need two forward passes per input element, ``(f(x + h) - f(x - h)) / 2h``,
which is why backpropagation exists; comparing the two catches a wrong backward rule.
An array-valued program is checked as the sum of its elements, as it is differentiated.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from .engine import Result, evaluate, value
from .errors import EvaluationError
from .graph import Program


@dataclass(frozen=True)
class VariableCheck:
    """One variable: how far central differences are from backpropagation."""

    name: str
    shape: tuple[int, ...]
    max_abs: float | None  #: largest |numerical - backprop|; None: not differentiable
    max_rel: float | None  #: largest |numerical - backprop| / max(|numerical|, |backprop|)
    passed: bool | None  #: every element within the tolerance; None: skipped


@dataclass(frozen=True)
class GradientCheck:
    result: Result  #: the backpropagation run
    variables: list[VariableCheck]
    backprop_seconds: float  #: one forward and one backward pass
    numerical_seconds: float  #: every central difference
    forward_passes: int  #: how many the central differences took
    tol: float
    step: float

    @property
    def passed(self) -> bool:
        return all(v.passed is not False for v in self.variables)


def gradient_check(program: Program, bindings: Mapping, tol: float = 1e-6, step: float = 1e-4,
                   wrt: Iterable[str] | None = None) -> GradientCheck:
    """Compare backpropagation with central differences of step ``step`` for every variable.

    An element passes when |numerical - backprop| <= tol * max(1, |numerical|, |backprop|):
    an absolute tolerance for small gradients, a relative one for large.
    """
    value(program, bindings)  # a first pass loads what it needs (NumPy), so neither time counts it
    start = time.perf_counter()
    result = evaluate(program, bindings, wrt=wrt)
    backprop_seconds = time.perf_counter() - start
    start = time.perf_counter()
    checks, passes = [], 0
    for name, grad in result.gradients.items():
        point = result.values[program.variables[name]]
        shape = tuple(getattr(point, "shape", ()))
        if grad is None:
            checks.append(VariableCheck(name, shape, None, None, None))
            continue
        numerical = _central_differences(program, bindings, name, point, step)
        passes += 2 * len(numerical)
        backprop = grad.ravel().tolist() if shape else [grad]
        worst_abs = worst_rel = 0.0
        passed = True
        for n, b in zip(numerical, backprop):
            diff, scale = abs(n - b), max(abs(n), abs(b))
            worst_abs = max(worst_abs, diff)
            worst_rel = max(worst_rel, diff / scale if scale else 0.0)
            passed = passed and diff <= tol * max(1.0, scale)
        checks.append(VariableCheck(name, shape, worst_abs, worst_rel, passed))
    return GradientCheck(result, checks, backprop_seconds, time.perf_counter() - start, passes,
                         tol, step)


def _central_differences(program: Program, bindings: Mapping, name: str, point,
                         step: float) -> list[float]:
    """d value / d name, element by element in C order, from two forward passes each."""
    bindings = dict(bindings)
    array = getattr(point, "ndim", 0)
    if array:
        point = point.copy()  # perturbed in place, one element at a time
    flat = point.reshape(-1) if array else [point]
    numerical = []
    for k in range(len(flat)):
        x = float(flat[k])
        sides = []
        for shifted in (x + step, x - step):
            flat[k] = shifted
            bindings[name] = point if array else shifted
            try:
                sides.append(_total(value(program, bindings)))
            except EvaluationError as error:
                where = "".join(f"[{i}]" for i in _unravel(k, point)) if array else ""
                raise EvaluationError(f"central difference at {name}{where} = {shifted:.10g}: "
                                      f"{error.message}", error.source, error.pos) from None
        flat[k] = x
        numerical.append((sides[0] - sides[1]) / ((x + step) - (x - step)))
    return numerical


def _unravel(k: int, array) -> tuple[int, ...]:
    import numpy as np

    return tuple(map(int, np.unravel_index(k, array.shape)))


def _total(result) -> float:
    """The program's value, summed if it is an array (as backpropagation seeds it)."""
    return float(result.sum()) if getattr(result, "ndim", 0) else result
