"""The book's gradient check: backpropagation against central differences.

Backpropagation gives every gradient from one forward and one backward pass. Central
differences need two forward passes per input element, ``(f(x + h) - f(x - h)) / 2h``,
which is why backpropagation exists; comparing the two catches a wrong backward rule.
An array-valued program is checked as the sum of its elements, as it is differentiated.

The step is relative, ``h = step * max(1, |x|)``: a fixed h is lost in the rounding of a
large x (at x = 1e20, x + 1e-4 is x; at 1e8 the rounding of x**3 spoils its change).
But sin and exp vary on a scale of 1 whatever x is: at |x| > 1, where that estimate is
out of tolerance, a second one with ``h = step`` is made and the closer one kept (a wrong
backward rule is far from both). An estimate still out of tolerance is extrapolated
with a second difference over h/2 (Richardson's, of order h⁴), for a program that curves
sharply on the scale of h, such as 1/x near 0. Where x - h or x + h is outside the program's
domain (sqrt(x) at 1e-5), x is nearer than h to its edge, and differences over h would
feel it: the distance to the edge is found to within a factor of 10 and the step made
``step`` times that. At the edge itself, one-sided second-order differences are taken
from the side that is inside.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from .engine import evaluate, value
from .errors import CgcalcError, EvaluationError
from .graph import Program
from .exact_ops import is_exact
from .walk import Result, as_float

EDGE_SEARCH = 12  #: near an edge of the domain, h / 10**k is tried for k up to this


@dataclass(frozen=True)
class VariableCheck:
    """One variable: how far central differences are from backpropagation."""

    name: str
    shape: tuple[int, ...]
    max_abs: float | None  #: largest |numerical - backprop|; None: not differentiable
    max_rel: float | None  #: largest |numerical - backprop| / max(|numerical|, |backprop|)
    passed: bool | None  #: every element within the tolerance; None: skipped
    step: float | None = None  #: the largest h used for its elements; None: skipped
    near_edge: int = 0  #: elements near an edge of the domain, differenced with a smaller h
    one_sided: int = 0  #: elements at an edge, differenced from one side
    backprop: list[float] | None = None  #: the gradient by backpropagation, flat; None: skipped
    numerical: list[float] | None = None  #: the same by differences, element by element

    @property
    def worst(self) -> int | None:
        """The flat index of the element whose two gradients differ most."""
        if not self.backprop:
            return None
        gaps = [abs(n - b) for n, b in zip(self.numerical, self.backprop)]
        return gaps.index(max(gaps))

    @property
    def worst_at(self) -> tuple[int, ...]:
        """That element's index in the variable's shape (``()`` for a number)."""
        return _unravel(self.worst, self.shape) if self.shape else ()


@dataclass(frozen=True)
class GradientCheck:
    result: Result  #: the backpropagation run
    variables: list[VariableCheck]
    backprop_seconds: float  #: one forward and one backward pass
    numerical_seconds: float  #: every central difference
    forward_passes: int  #: how many the central differences took
    tol: float
    step: float  #: relative: h = step * max(1, |x|)

    @property
    def passed(self) -> bool:
        return all(v.passed is not False for v in self.variables)


def gradient_check(program: Program, bindings: Mapping, tol: float = 1e-6, step: float = 1e-4,
                   wrt: Iterable[str] | None = None, digits: int | None = None) -> GradientCheck:
    """Compare backpropagation with differences of relative step ``step`` for every variable.

    An element passes when |numerical - backprop| <= tol * max(1, |numerical|, |backprop|):
    an absolute tolerance for small gradients, a relative one for large. ``digits``:
    backpropagation on exact numbers (``--exact``, :func:`cgcalc.exact.evaluate`, with that
    many digits for what leaves the rationals; ``bindings`` may be exact); the
    differences, which are what floats are for, take the bindings as floats.
    """
    exact_bindings, bindings = bindings, _floats(bindings) if digits is not None else bindings
    value(program, bindings)  # a first pass loads what it needs (NumPy), so neither time counts it
    start = time.perf_counter()
    if digits is None:
        result = evaluate(program, bindings, wrt=wrt)
    else:
        from .exact import evaluate as evaluate_exact

        result = evaluate_exact(program, exact_bindings, wrt=wrt, digits=digits)
    backprop_seconds = time.perf_counter() - start
    start = time.perf_counter()
    checks, passes = [], 0
    for name, grad in result.gradients.items():
        point = _float(result.values[program.variables[name]])
        shape = tuple(getattr(point, "shape", ()))
        if grad is None:
            checks.append(VariableCheck(name, shape, None, None, None))
            continue
        differences = _Differences(program, bindings, name, point, _float(result.value))
        backprop = grad.ravel().tolist() if shape else [_float(grad)]
        numerical = []
        for k, b in enumerate(backprop):
            x = float(differences.flat[k])
            estimate = differences.derivative(k, step * max(1.0, abs(x)), step)
            if not _within(estimate[0], b, tol) and abs(x) > 1.0 and x + step != x != x - step:
                second = differences.derivative(k, step, step)
                estimate = min(estimate, second, key=lambda e: abs(e[0] - b))
            if not _within(estimate[0], b, tol) and estimate[2] == "central":
                estimate = min(estimate, _extrapolated(differences, k, estimate, step),
                               key=lambda e: abs(e[0] - b))
            numerical.append(estimate)
        passes += differences.passes
        worst_abs = worst_rel = 0.0
        passed = True
        for (n, _, _), b in zip(numerical, backprop):
            diff, scale = abs(n - b), max(abs(n), abs(b))
            worst_abs = max(worst_abs, diff)
            worst_rel = max(worst_rel, diff / scale if scale else 0.0)
            passed = passed and _within(n, b, tol)
        hows = [how for _, _, how in numerical]
        checks.append(VariableCheck(name, shape, worst_abs, worst_rel, passed,
                                    max(h for _, h, _ in numerical), hows.count("near edge"),
                                    hows.count("one-sided"), backprop, [n for n, _, _ in numerical]))
    return GradientCheck(result, checks, backprop_seconds, time.perf_counter() - start, passes,
                         tol, step)


class _Differences:
    """Difference quotients of the program's value by one variable, element by element."""

    def __init__(self, program: Program, bindings: Mapping, name: str, point, at_point) -> None:
        self.program, self.bindings, self.name = program, dict(bindings), name
        self.array = bool(getattr(point, "ndim", 0))
        self.point = point.copy() if self.array else point  # perturbed in place, one element at a time
        self.flat = self.point.reshape(-1) if self.array else [point]
        self.size = len(self.flat)
        self.at_point = at_point  #: the value at the point itself, f(x) (an array's elements)
        self.passes = 0  #: forward passes so far

    def derivative(self, k: int, h: float, step: float) -> tuple[float, float, str]:
        """d value / d element ``k`` from differences over ``h`` (near an edge of the
        domain, over ``step`` times the distance to it): the estimate, the h it used, and
        how ("central", "near edge" or "one-sided"). One that is not finite is an error."""
        where = self.name + ("".join(f"[{i}]" for i in _unravel(k, self.point.shape)) if self.array else "")
        estimate = self._quotient(k, h, step, where)
        if not math.isfinite(estimate[0]):
            raise EvaluationError(f"the difference quotient for {where} is {estimate[0]}: the "
                                  "program's value changes by more than a float holds over the step")
        return estimate

    def _quotient(self, k: int, h: float, step: float, where: str) -> tuple[float, float, str]:
        x = float(self.flat[k])
        if x + h == x or x - h == x:
            raise CgcalcError(f"the step {step:g} is too small for {where} = {x:.10g}: x + h and "
                              "x - h round to x (a step of 1e-15 or more always moves x)")
        first_error: list[tuple[float, EvaluationError]] = []

        def f(shifted: float):
            """The value with the element at ``shifted`` (an array's elements, copied before
            the element is put back); None outside the domain."""
            self.passes += 1
            self.flat[k] = shifted
            self.bindings[self.name] = self.point if self.array else shifted
            try:
                at = value(self.program, self.bindings)
                return at.copy() if getattr(at, "ndim", 0) else at
            except EvaluationError as error:
                first_error.append((shifted, error))
                return None
            finally:
                self.flat[k] = x

        up, down = f(x + h), f(x - h)
        if up is not None and down is not None:
            return _central(x, h, up, down), h, "central"
        for n in range(1, EDGE_SEARCH + 1):  # how near is the edge? within h / 10**n?
            near, small = h / 10**n, step * h / 10**n
            if x + small == x or x - small == x:
                break
            if f(x + near) is not None and f(x - near) is not None:
                up_small, down_small = f(x + small), f(x - small)
                if up_small is not None and down_small is not None:
                    return _central(x, small, up_small, down_small), small, "near edge"
        side = 1.0 if up is not None else -1.0 if down is not None else 0.0
        dx = (x + side * h) - x  # the step as the floats have it, signed
        far = f(x + 2 * dx) if side else None
        if far is None:
            shifted, error = first_error[0]
            raise EvaluationError(
                f"no difference quotient for {where} = {x:.10g}, the program is not defined on "
                f"either side of it: at {where} = {shifted:.10g}, {error.message}",
                error.source, error.pos)
        near_side = up if side > 0 else down
        # (-3 f(x) + 4 f(x + dx) - f(x + 2 dx)) / (2 dx), written with differences only
        slope = 3 * _difference(near_side, self.at_point) - _difference(far, near_side)
        return slope / (2 * dx), h, "one-sided"


def _extrapolated(differences: _Differences, k: int, estimate: tuple[float, float, str],
                  step: float) -> tuple[float, float, str]:
    """Richardson's extrapolation of a central difference over h and one over h/2,
    (4·D(h/2) − D(h))/3, whose error is of order h⁴, not h²: where the program curves
    sharply on the scale of h (1/x at 0.1: -100.0001 for -100, out of --tol 1e-6) it
    still finds the derivative, and a wrong backward rule is as far from it as before."""
    coarse, h, _ = estimate
    fine, _, how = differences.derivative(k, h / 2, step)
    if how != "central":
        return estimate
    return (4 * fine - coarse) / 3, h, "central"


def _floats(bindings: Mapping) -> dict:
    """Exact bindings (Fractions, mpmath numbers) as floats, for the differences."""
    return {name: _float(number) for name, number in bindings.items()}


def _float(number):
    """An exact number as the float nearest to it; a float or an array as it is."""
    return as_float(number) if is_exact(number) or hasattr(number, "_mpf_") else number


def _within(numerical: float, backprop: float, tol: float) -> bool:
    return abs(numerical - backprop) <= tol * max(1.0, abs(numerical), abs(backprop))


def _central(x: float, h: float, up, down) -> float:
    return _difference(up, down) / ((x + h) - (x - h))


def _difference(a, b) -> float:
    """The program's value at one point less at another, summed over an array's elements
    (the sum is what backpropagation differentiates): the elements' differences are summed,
    not the elements, so a value whose elements' sum overflows, or cancels, still has its
    difference quotient."""
    if getattr(a, "ndim", 0):
        import numpy as np

        with np.errstate(over="ignore", invalid="ignore"):
            return float((a - b).sum())
    return a - b


def _unravel(k: int, shape: tuple[int, ...]) -> tuple[int, ...]:
    """The index of the ``k``-th element of an array of ``shape``, in C order."""
    import numpy as np

    return tuple(map(int, np.unravel_index(k, shape)))
