"""Derivatives against oracles that share no code with cgcalc: SymPy and central differences.

1. Every operation alone, at random points inside its domain: cgcalc's value and
   gradient against SymPy's exact derivative (evaluated with mpmath at 30 digits) and
   against a central difference of that same mpmath function.
2. Random expression trees over up to three variables: the cgcalc text and the SymPy
   expression are both made from the tree (SymPy never reads cgcalc's text), and the
   value and every gradient must agree; points where the tree leaves its domain, hits
   a kink of relu or abs, or is badly conditioned are rejected.
"""

from __future__ import annotations

from functools import cache

import mpmath
import pytest
import sympy as sp
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import cgcalc

mpmath.mp.dps = 30
SETTINGS = settings(deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
X, Y, Z = SYMBOLS = sp.symbols("x y z", real=True)

UNARY = {
    "exp": (sp.exp, (-20, 20)),
    "log": (sp.log, (1e-3, 1e3)),
    "sqrt": (sp.sqrt, (1e-3, 1e3)),
    "sin": (sp.sin, (-10, 10)),
    "cos": (sp.cos, (-10, 10)),
    "tan": (sp.tan, (-1.4, 1.4)),
    "tanh": (sp.tanh, (-10, 10)),
    "sigmoid": (lambda a: 1 / (1 + sp.exp(-a)), (-30, 30)),
    "relu": (lambda a: sp.Piecewise((a, a > 0), (0, True)), (-10, 10)),
    "abs": (sp.Abs, (-10, 10)),
    "-": (lambda a: -a, (-10, 10)),
}
BINARY = {
    "+": (lambda a, b: a + b, (-10, 10), (-10, 10)),
    "-": (lambda a, b: a - b, (-10, 10), (-10, 10)),
    "*": (lambda a, b: a * b, (-10, 10), (-10, 10)),
    "/": (lambda a, b: a / b, (-10, 10), (0.1, 10)),
    "**": (lambda a, b: a ** b, (0.1, 5), (-3, 3)),
}


@cache
def oracle(expr: sp.Expr, names: tuple[str, ...]):
    """mpmath functions for the value and each partial derivative of ``expr``."""
    symbols = [sp.Symbol(n, real=True) for n in names]
    value = sp.lambdify(symbols, expr, modules="mpmath")
    grads = [sp.lambdify(symbols, sp.diff(expr, s), modules="mpmath") for s in symbols]
    return value, grads


def central(f, point: list[float], k: int) -> float:
    """(f(x + h) - f(x - h)) / 2h in 30-digit arithmetic, h relative to x_k."""
    h = mpmath.mpf(1e-8) * max(1, abs(point[k]))
    up, down = list(map(mpmath.mpf, point)), list(map(mpmath.mpf, point))
    up[k] += h
    down[k] -= h
    return float((f(*up) - f(*down)) / (2 * h))


def check(text: str, expr: sp.Expr, point: dict[str, float], rel: float = 1e-9) -> None:
    names = tuple(sorted(point))
    value, grads = oracle(expr, names)
    args = [point[n] for n in names]
    expected = complex(value(*map(mpmath.mpf, args)))
    assume(expected.imag == 0 and abs(expected.real) < 1e8)
    result = cgcalc.evaluate(cgcalc.parse(text), point)
    assert result.value == pytest.approx(expected.real, rel=rel, abs=1e-12)
    for k, name in enumerate(names):
        exact = complex(grads[k](*map(mpmath.mpf, args)))
        assume(exact.imag == 0 and abs(exact.real) < 1e8)
        got = result.gradients.get(name, 0.0)
        assert got == pytest.approx(exact.real, rel=rel, abs=1e-10), (name, "SymPy")
        assert got == pytest.approx(central(value, args, k), rel=1e-6, abs=1e-6), (name, "central")


def points(low: float, high: float):
    return st.floats(low, high, allow_nan=False, allow_infinity=False)


@pytest.mark.parametrize("name", UNARY)
@SETTINGS
@given(data=st.data())
def test_each_function_against_sympy_and_central_differences(name, data):
    function, (low, high) = UNARY[name]
    x = data.draw(points(low, high))
    if name in ("relu", "abs"):
        assume(abs(x) > 1e-6)  # their kink at 0
    text = "-x" if name == "-" else f"{name}(x)"
    check(text, function(X), {"x": x})


@pytest.mark.parametrize("symbol", BINARY)
@SETTINGS
@given(data=st.data())
def test_each_operator_against_sympy_and_central_differences(symbol, data):
    function, (la, ha), (lb, hb) = BINARY[symbol]
    x, y = data.draw(points(la, ha)), data.draw(points(lb, hb))
    check(f"x {symbol} y", function(X, Y), {"x": x, "y": y})


@SETTINGS
@given(points(-5, 5), points(-5, 5))
def test_a_shared_variable_gets_the_sum_of_its_uses(x, y):
    check("a = x*y; a*x + sin(x)*a - x", (X * Y) * X + sp.sin(X) * (X * Y) - X, {"x": x, "y": y})


# -- random trees --------------------------------------------------------------------------------

def trees():
    """(cgcalc text, SymPy expression, binding level) built together from one tree.

    The text is fully parenthesised or written with Python's precedence; both read
    as the same tree.
    """
    leaves = st.one_of(
        st.sampled_from([("x", X), ("y", Y), ("z", Z)]),
        st.sampled_from([0.5, 1.5, 2.0, 3.0]).map(lambda c: (repr(c), sp.Float(c, 30))),
    )

    def extend(inner):
        unary = st.tuples(st.sampled_from(sorted(set(UNARY) - {"-"})), inner).map(
            lambda t: (f"{t[0]}({t[1][0]})", UNARY[t[0]][0](t[1][1])))
        neg = inner.map(lambda a: (f"-({a[0]})", -a[1]))
        binary = st.tuples(inner, st.sampled_from(["+", "-", "*", "/"]), inner).map(
            lambda t: (f"({t[0][0]} {t[1]} {t[2][0]})", BINARY[t[1]][0](t[0][1], t[2][1])))
        square = inner.map(lambda a: (f"({a[0]})**2", a[1] ** 2))
        return st.one_of(unary, neg, binary, square)

    return st.recursive(leaves, extend, max_leaves=8).filter(lambda t: t[1].free_symbols)


@settings(SETTINGS, max_examples=300)
@given(trees(), points(-2, 2), points(-2, 2), points(0.1, 2))
def test_random_programs_against_sympy_and_central_differences(tree, x, y, z):
    text, expr = tree
    point = {name: v for name, v in (("x", x), ("y", y), ("z", z)) if name in text}
    assume(point)
    for name in point:  # away from the kinks of relu and abs, and from 0 for safety
        assume(abs(point[name]) > 1e-3)
    try:
        check(text, expr, point, rel=1e-7)
    except cgcalc.EvaluationError:
        assume(False)  # outside the domain: cgcalc said so, as it should
    except (ZeroDivisionError, ValueError, TypeError):
        assume(False)  # the oracle itself is undefined there
