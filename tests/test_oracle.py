"""cgcalc's values and derivatives against oracles that share no code with cgcalc.

The oracles are SymPy (exact symbolic derivatives, evaluated with mpmath at 50
digits) and central differences of a high-precision mpmath evaluation of the same
function. Nothing here compares cgcalc with its own output.

1. Every operation on its own, at random points inside its domain.
2. Random expression trees over up to four variables; each is run both fully
   parenthesised and with minimal (Python-precedence) parentheses, with ``^`` and
   unary ``+`` sometimes; the SymPy expression is built from the tree, never from
   cgcalc text.
3. A variable (or an assigned name) used several times gets the sum of its uses.

Points where the mathematics is not well defined (domain errors, kinks of relu and
abs, poles), where the values get huge, or where the problem is ill conditioned in
double precision are rejected with ``assume``; everything else must agree.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache

import mpmath
import pytest
import sympy as sp
from hypothesis import HealthCheck, assume, event, given, note, settings
from hypothesis import strategies as st

import cgcalc

DPS = 50  # decimal digits for every mpmath evaluation of an oracle

SETTINGS = dict(deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])

VARS = ("x", "y", "z", "w")
# Plain symbols: real=True makes SymPy query assumptions (signs, realness) at every
# construction step, which can take minutes on a large random tree. The points are
# real anyway, and abs/relu below do not need the assumption.
SYM = {name: sp.Symbol(name) for name in VARS + ("a", "b", "c", "t", "u")}


def test_imports_this_worktree():
    """The tests must exercise the package next to them, not another checkout."""
    import pathlib
    here = pathlib.Path(__file__).resolve().parent.parent
    assert pathlib.Path(cgcalc.__file__).resolve().parent == here / "cgcalc"


# --- the oracle's mathematics ------------------------------------------------------------


# abs and relu of a real argument, as opaque SymPy functions with their textbook
# derivatives (sign and the unit step, both undefined at 0, where no test looks).
# SymPy's own Abs, Max and Piecewise try to decide the argument's sign symbolically
# when built, which can take minutes on a large random tree.


class Sign(sp.Function):
    nargs = 1

    def fdiff(self, argindex=1):
        return sp.S.Zero


class Step(sp.Function):
    nargs = 1

    def fdiff(self, argindex=1):
        return sp.S.Zero


class RealAbs(sp.Function):
    nargs = 1

    def fdiff(self, argindex=1):
        return Sign(self.args[0])


class Relu(sp.Function):
    nargs = 1

    def fdiff(self, argindex=1):
        return Step(self.args[0])


def _real_only(fn):
    """mpmath implementation for lambdify: a complex argument stays complex (rejected)."""
    return lambda a: a if isinstance(a, mpmath.mpc) else fn(a)


MP_NAMESPACE = {
    "Sign": _real_only(mpmath.sign),
    "Step": _real_only(lambda a: mpmath.mpf(1) if a > 0 else mpmath.mpf(0)),
    "RealAbs": _real_only(abs),
    "Relu": _real_only(lambda a: a if a > 0 else mpmath.mpf(0)),
}


def sp_sigmoid(a):
    return 1 / (1 + sp.exp(-a))


SP_FUNCTIONS = {
    "exp": sp.exp, "log": sp.log, "sqrt": sp.sqrt, "sin": sp.sin, "cos": sp.cos,
    "tan": sp.tan, "tanh": sp.tanh, "sigmoid": sp_sigmoid, "relu": Relu, "abs": RealAbs,
    "log10": lambda a: sp.log(a) / sp.log(10), "log2": lambda a: sp.log(a) / sp.log(2),
    "atan": sp.atan, "sinh": sp.sinh, "cosh": sp.cosh,
}

MP_FUNCTIONS = {
    "exp": mpmath.exp, "log": mpmath.log, "sqrt": mpmath.sqrt, "sin": mpmath.sin,
    "cos": mpmath.cos, "tan": mpmath.tan, "tanh": mpmath.tanh,
    "sigmoid": lambda a: 1 / (1 + mpmath.exp(-a)),
    "relu": lambda a: a if a > 0 else mpmath.mpf(0), "abs": abs,
    "log10": mpmath.log10, "log2": lambda a: mpmath.log(a, 2), "atan": mpmath.atan,
    "sinh": mpmath.sinh, "cosh": mpmath.cosh,
}


def mp_real(v) -> float | None:
    """A finite real oracle value as a float, else None (complex, nan, infinite)."""
    if isinstance(v, (int, float)):
        v = mpmath.mpf(v)
    elif isinstance(v, mpmath.mpc):
        if v.imag != 0:
            return None
        v = v.real
    elif not isinstance(v, mpmath.mpf):
        try:
            v = mpmath.mpf(v)
        except (TypeError, ValueError):
            return None
    if not mpmath.isfinite(v) or abs(v) > 1e300:
        return None
    return float(v)


@cache
def compiled(expr: sp.Expr, names: tuple[str, ...]):
    """One mpmath function returning [f, df/dname for each name]."""
    syms = [SYM[n] for n in names]
    exprs = [expr] + [sp.diff(expr, s) for s in syms]
    # zoo (complex infinity, e.g. 1/relu(x) where relu is 0) has no mpmath spelling.
    exprs = [e.xreplace({sp.zoo: sp.nan}) for e in exprs]
    return sp.lambdify(syms, exprs, modules=[MP_NAMESPACE, "mpmath"])


def oracle(expr: sp.Expr, point: dict[str, float], prec_bits: int | None = None):
    """Value and gradients of ``expr`` at ``point`` as mpmath numbers (high precision)."""
    names = tuple(sorted(point))
    fn = compiled(expr, names)
    args = [mpmath.mpf(point[n]) for n in names]  # exact: floats are binary
    ctx = mpmath.workprec(prec_bits) if prec_bits else mpmath.workdps(DPS)
    with ctx:
        try:
            out = fn(*args)
        except (ZeroDivisionError, ValueError, OverflowError, TypeError):
            return None
        out = [+v if isinstance(v, (mpmath.mpf, mpmath.mpc)) else v for v in out]
    return out[0], dict(zip(names, out[1:]))


def central_difference(f, point: dict[str, float], name: str, rel_h: float = 1e-7):
    """(f(v+h) - f(v-h)) / 2h in 50-digit arithmetic, h relative to |v|.

    With 50 digits, round-off is no concern, so the step may be a little smaller than
    the usual double-precision 1e-6; what is left is the truncation error, about
    h**2 / 6 times the third derivative.
    """
    v = point[name]
    h = rel_h * max(abs(v), 1e-3)
    with mpmath.workdps(DPS):
        base = {n: mpmath.mpf(p) for n, p in point.items()}
        hi = dict(base, **{name: base[name] + h})
        lo = dict(base, **{name: base[name] - h})
        fh, fl = f(hi), f(lo)
        if fh is None or fl is None:
            return None
        return mp_real((fh - fl) / (2 * mpmath.mpf(h)))


def close(got: float, want: float, rel: float, abs_: float) -> bool:
    return math.isfinite(got) and abs(got - want) <= rel * abs(want) + abs_


def run(text: str, bindings: dict[str, float]) -> cgcalc.Result:
    return cgcalc.evaluate(cgcalc.parse(text), bindings)


# --- 1. every operation on its own ------------------------------------------------------

x, y = SYM["x"], SYM["y"]


LOGS_AND_SQRT = ("log", "log10", "log2", "sqrt")  # defined for x > 0 (sqrt's derivative)


def finite(lo, hi):
    return st.floats(lo, hi, allow_nan=False, allow_infinity=False)


def away_from_zero(lo, hi):
    """|v| in [lo, hi], either sign."""
    return st.tuples(finite(lo, hi), st.booleans()).map(lambda p: -p[0] if p[1] else p[0])


def away_from_tan_poles(v: float) -> bool:
    return abs(math.cos(v)) > 1e-2  # |v - (pi/2 + k pi)| > ~0.01


def off_the_origin():
    """x and y of either sign, not both within 1e-3 of 0."""
    both = st.fixed_dictionaries({"x": finite(-1e3, 1e3), "y": finite(-1e3, 1e3)})
    return both.filter(lambda p: math.hypot(p["x"], p["y"]) > 1e-3)


def apart():
    """x and y of either sign, at least 1e-3 apart (and from 0, where the oracle's x + y
    + |x - y| would cancel a tiny x even at 50 digits)."""
    both = st.fixed_dictionaries({"x": away_from_zero(1e-3, 1e3), "y": away_from_zero(1e-3, 1e3)})
    return both.filter(lambda p: abs(p["x"] - p["y"]) > 1e-3)


@dataclass(frozen=True)
class OpCase:
    text: str  # the cgcalc program
    expr: sp.Expr  # the same function in SymPy
    points: st.SearchStrategy  # dicts variable -> value inside the domain


OP_CASES = {
    "exp": OpCase("exp(x)", sp.exp(x), st.fixed_dictionaries({"x": finite(-30, 30)})),
    "log": OpCase("log(x)", sp.log(x), st.fixed_dictionaries({"x": finite(1e-3, 1e6)})),
    "sqrt": OpCase("sqrt(x)", sp.sqrt(x), st.fixed_dictionaries({"x": finite(1e-3, 1e6)})),
    "sin": OpCase("sin(x)", sp.sin(x), st.fixed_dictionaries({"x": finite(-100, 100)})),
    "cos": OpCase("cos(x)", sp.cos(x), st.fixed_dictionaries({"x": finite(-100, 100)})),
    "tan": OpCase("tan(x)", sp.tan(x), st.fixed_dictionaries(
        {"x": finite(-10, 10).filter(away_from_tan_poles)})),
    "tanh": OpCase("tanh(x)", sp.tanh(x), st.fixed_dictionaries({"x": finite(-20, 20)})),
    "sigmoid": OpCase("sigmoid(x)", sp_sigmoid(x),
                      st.fixed_dictionaries({"x": finite(-40, 40)})),
    # |x| = sqrt(x**2): SymPy's own derivative, x/sqrt(x**2), not the sign we define.
    "relu": OpCase("relu(x)", (x + sp.sqrt(x**2)) / 2,
                   st.fixed_dictionaries({"x": away_from_zero(1e-3, 1e3)})),
    "abs": OpCase("abs(x)", sp.sqrt(x**2),
                  st.fixed_dictionaries({"x": away_from_zero(1e-3, 1e3)})),
    "neg": OpCase("-x", -x, st.fixed_dictionaries({"x": finite(-1e6, 1e6)})),
    "add": OpCase("x + y", x + y, st.fixed_dictionaries({"x": finite(-1e3, 1e3),
                                                          "y": finite(-1e3, 1e3)})),
    "sub": OpCase("x - y", x - y, st.fixed_dictionaries({"x": finite(-1e3, 1e3),
                                                          "y": finite(-1e3, 1e3)})),
    "mul": OpCase("x * y", x * y, st.fixed_dictionaries({"x": finite(-1e3, 1e3),
                                                          "y": finite(-1e3, 1e3)})),
    "div": OpCase("x / y", x / y, st.fixed_dictionaries({"x": finite(-1e3, 1e3),
                                                          "y": away_from_zero(1e-3, 1e3)})),
    "pow": OpCase("x ** y", x**y, st.fixed_dictionaries({"x": finite(1e-2, 1e2),
                                                          "y": finite(-5, 5)})),
    "pow_caret": OpCase("x ^ y", x**y, st.fixed_dictionaries({"x": finite(1e-2, 1e2),
                                                               "y": finite(-5, 5)})),
    # issue 17's functions
    "log10": OpCase("log10(x)", sp.log(x, 10), st.fixed_dictionaries({"x": finite(1e-3, 1e6)})),
    "log2": OpCase("log2(x)", sp.log(x, 2), st.fixed_dictionaries({"x": finite(1e-3, 1e6)})),
    "atan": OpCase("atan(x)", sp.atan(x), st.fixed_dictionaries({"x": finite(-1e3, 1e3)})),
    "sinh": OpCase("sinh(x)", sp.sinh(x), st.fixed_dictionaries({"x": finite(-30, 30)})),
    "cosh": OpCase("cosh(x)", sp.cosh(x), st.fixed_dictionaries({"x": finite(-30, 30)})),
    "pow_function": OpCase("pow(x, y)", x**y, st.fixed_dictionaries({"x": finite(1e-2, 1e2),
                                                                     "y": finite(-5, 5)})),
    # atan2(y, x) and hypot off the origin, where their derivatives are undefined
    "atan2": OpCase("atan2(y, x)", sp.atan2(y, x), off_the_origin().filter(
        lambda p: p["x"] > 0 or abs(p["y"]) > 1e-3)),  # its jump from pi to -pi at y = 0 > x
    "hypot": OpCase("hypot(x, y)", sp.sqrt(x**2 + y**2), off_the_origin()),
    # max and min off their kink x = y (where each input gets half: test_functions_more.py),
    # as (x + y ± |x - y|)/2 with |u| = sqrt(u**2), as relu above
    "max": OpCase("max(x, y)", (x + y + sp.sqrt((x - y)**2)) / 2, apart()),
    "min": OpCase("min(x, y)", (x + y - sp.sqrt((x - y)**2)) / 2, apart()),
    "max_of_a_number": OpCase("max(x, 0.5)", (x + sp.Rational(1, 2) + sp.sqrt(
        (x - sp.Rational(1, 2))**2)) / 2, st.fixed_dictionaries(
        {"x": away_from_zero(1e-3, 1e3).filter(lambda v: abs(v - 0.5) > 1e-3)})),
}
# x**k for a literal integer k: any sign of x, the exponent is not a variable.
for _k in range(-4, 5):
    _text = f"x ** {_k}" if _k >= 0 else f"x ** -{-_k}"
    OP_CASES[f"pow_int{_k}"] = OpCase(
        _text, x**_k, st.fixed_dictionaries(
            {"x": away_from_zero(1e-2, 1e2) if _k < 0 else finite(-1e2, 1e2)}))


@pytest.mark.parametrize("case", sorted(OP_CASES))
@settings(max_examples=50, **SETTINGS)
@given(data=st.data())
def test_operation_against_sympy_and_central_differences(case, data):
    spec = OP_CASES[case]
    point = data.draw(spec.points, label="point")
    program = cgcalc.parse(spec.text)
    result = cgcalc.evaluate(program, point)
    want = oracle(spec.expr, point)
    assert want is not None
    value, grads = mp_real(want[0]), {n: mp_real(g) for n, g in want[1].items()}
    assert value is not None and None not in grads.values()

    note(f"{spec.text} at {point}: value {result.value} vs {value}; "
         f"gradients {result.gradients} vs {grads}")
    assert close(result.value, value, 1e-12, 1e-300), "forward value differs from SymPy"
    assert set(result.gradients) == set(point)
    # The absolute floor covers tanh and sigmoid far out, where the derivative is
    # ~1e-9 or less and computing it from y (1 - y*y, y*(1 - y)) cancels.
    for name, want_grad in grads.items():
        assert close(result.gradients[name], want_grad, 1e-9, 1e-13), \
            f"d/d{name} differs from SymPy"

    def f(p):
        with mpmath.workdps(DPS):
            return mp_real_mp(compiled(spec.expr, tuple(sorted(p)))(
                *[mpmath.mpf(p[n]) for n in sorted(p)])[0])

    for name in point:
        fd = central_difference(f, point, name)
        assert fd is not None
        assert close(result.gradients[name], fd, 1e-6, 1e-12), \
            f"d/d{name} differs from the central difference {fd}"


def mp_real_mp(v):
    """Like mp_real but keeps the mpmath number (for differences at high precision)."""
    if isinstance(v, mpmath.mpc):
        if v.imag != 0:
            return None
        v = v.real
    v = mpmath.mpf(v)
    return v if mpmath.isfinite(v) else None


@pytest.mark.parametrize("name, value", [("pi", sp.pi), ("e", sp.E)])
def test_constants(name, value):
    assert run(name, {}).value == pytest.approx(float(value), rel=1e-15)
    r = run(f"x * {name} + {name} ** x", {"x": 1.5})
    want = oracle(x * value + value**x, {"x": 1.5})
    assert r.value == pytest.approx(float(want[0]), rel=1e-12)
    assert r.gradients["x"] == pytest.approx(float(want[1]["x"]), rel=1e-12)


# Constant-only subexpressions have no derivative to take: sqrt(1 - 1) is fine next
# to a variable, and so must sqrt(pi - pi) be.
CONSTANT_ONLY = [
    ("x + sqrt({c} - {c})", x + sp.sqrt(0), {"x": 1.0}),
    ("w*({c} - {c})**0.5", SYM["w"] * 0, {"w": 1.0}),
    ("x**({c} - {c} + 2)", x**2, {"x": -3.0}),
]
CONSTANT_ONLY_IDS = ["sqrt-of-0", "0-to-the-half", "negative-base"]


@pytest.mark.parametrize("template, expr, point", CONSTANT_ONLY, ids=CONSTANT_ONLY_IDS)
def test_constant_only_subexpressions_with_literals(template, expr, point):
    r = run(template.format(c="1"), point)
    want = oracle(expr, point)
    assert r.value == pytest.approx(float(want[0]), abs=1e-15)
    assert r.gradients == pytest.approx({n: float(g) for n, g in want[1].items()})


@pytest.mark.parametrize("constant", ["pi", "e"])
@pytest.mark.parametrize("template, expr, point", CONSTANT_ONLY, ids=CONSTANT_ONLY_IDS)
def test_constant_only_subexpressions_with_pi_and_e(template, expr, point, constant):
    r = run(template.format(c=constant), point)
    want = oracle(expr, point)
    assert r.value == pytest.approx(float(want[0]), abs=1e-15)
    assert r.gradients == pytest.approx({n: float(g) for n, g in want[1].items()})


# --- 2. random programs ------------------------------------------------------------------
#
# A tree is nested tuples:
#   ("var", name) | ("const", text) | ("named", "pi" | "e")
#   ("neg", t) | ("pos", t) | ("call", fname, t) | ("bin", op, left, right)
# where op is one of + - * / ** ^ (the last two both power).

# Every spelling the NUMBER terminal allows: 2, 2., .5, 1e1, 2.5e-1, 25E-2 ...
CONST_TEXTS = ["0.5", "1", "2", "3", "0.25", "1.5", "0.1", "10", "2.5", "7",
               ".5", "2.", "1e1", "2.5e-1", "25E-2", "0.3e+1"]
INT_EXPONENTS = ["2", "3", "1", "0.5", "4", "1.5"]
FUNCTION_NAMES = sorted(SP_FUNCTIONS)


BINARY_OPS = ["+", "-", "*", "/", "**", "^"]
UNARY_KINDS = ["call"] * 4 + ["neg", "neg", "pos"]


def trees(names: tuple[str, ...], max_leaves: int = 15) -> st.SearchStrategy:
    """Random trees with 1..max_leaves leaves (the count drawn first, so big trees are
    as common as small ones); a leaf is a variable 3 times in 5, else a number or
    pi or e."""
    return st.integers(1, max_leaves).flatmap(lambda n: _trees(names, n))


@st.composite
def _trees(draw, names, leaves: int, depth: int = 0):
    # A unary operation on top, at most ~8 deep: functions, a sign.
    if depth < 8 and draw(st.integers(0, 9)) >= 7:  # (shrinks towards no unary op)
        kind = draw(st.sampled_from(UNARY_KINDS))
        child = draw(_trees(names, leaves, depth + 1))
        if kind == "call":
            return ("call", draw(st.sampled_from(FUNCTION_NAMES)), child)
        return (kind, child)
    if leaves == 1:
        kind = draw(st.integers(0, 4))
        if kind <= 2:
            return ("var", draw(st.sampled_from(names)))
        if kind == 3:
            return ("const", draw(st.sampled_from(CONST_TEXTS)))
        return ("named", draw(st.sampled_from(["pi", "e"])))
    op = draw(st.sampled_from(BINARY_OPS))
    if op in ("**", "^") and draw(st.booleans()):
        # a literal exponent, possibly negative: x**2, x**-1, x**0.5 ...
        exponent = ("const", draw(st.sampled_from(INT_EXPONENTS)))
        if draw(st.booleans()):
            exponent = ("neg", exponent)
        return ("bin", op, draw(_trees(names, leaves - 1, depth + 1)), exponent)
    split = draw(st.integers(1, leaves - 1))
    return ("bin", op, draw(_trees(names, split, depth + 1)),
            draw(_trees(names, leaves - split, depth + 1)))


def to_sympy(tree, env: dict[str, sp.Expr] | None = None) -> sp.Expr:
    """The tree as a SymPy expression, built node by node (never from cgcalc text)."""
    kind = tree[0]
    if kind == "var":
        return (env or {}).get(tree[1], SYM.get(tree[1]))
    if kind == "const":
        # The exact binary value cgcalc reads, as a 60-digit Float: exact Rationals
        # would let SymPy compute things like 10**(7**4**...) exactly.
        return sp.Float(float(tree[1]), 60)
    if kind == "named":
        return sp.pi if tree[1] == "pi" else sp.E
    if kind == "neg":
        return -to_sympy(tree[1], env)
    if kind == "pos":
        return to_sympy(tree[1], env)
    if kind == "call":
        return SP_FUNCTIONS[tree[1]](to_sympy(tree[2], env))
    _, op, left, right = tree
    a, b = to_sympy(left, env), to_sympy(right, env)
    return {"+": lambda: a + b, "-": lambda: a - b, "*": lambda: a * b,
            "/": lambda: a / b, "**": lambda: a**b, "^": lambda: a**b}[op]()


# Python's precedence levels: sum < product < unary sign < power < atom.
SUM, PRODUCT, UNARY, POWER, ATOM = range(1, 6)


def to_text(tree, minimal: bool) -> str:
    """cgcalc source for the tree, fully parenthesised or with as few parentheses as Python needs."""
    return _text(tree, minimal)[0]


def _text(tree, minimal: bool) -> tuple[str, int]:
    kind = tree[0]
    if kind in ("var", "const", "named"):
        return tree[1], ATOM
    if kind == "call":
        return f"{tree[1]}({_text(tree[2], minimal)[0]})", ATOM

    def sub(child, need: int) -> str:
        text, prec = _text(child, minimal)
        if not minimal:
            return text if prec == ATOM else f"({text})"
        return f"({text})" if prec < need else text

    if kind in ("neg", "pos"):
        sign = "-" if kind == "neg" else "+"
        # "--x" and "-+x" are two signs, in cgcalc as in Python
        return f"{sign}{sub(tree[1], UNARY)}" if minimal else f"{sign}{sub(tree[1], ATOM)}", UNARY
    _, op, left, right = tree
    if op in ("**", "^"):  # atom ** unary: right-associative, binds tighter than a left sign
        return f"{sub(left, ATOM)}{op}{sub(right, UNARY)}", POWER
    if op in ("*", "/"):  # left-associative: a right operand that is a product needs ()
        return f"{sub(left, PRODUCT)}{op}{sub(right, UNARY)}", PRODUCT
    return f"{sub(left, SUM)} {op} {sub(right, PRODUCT)}", SUM


def test_minimal_parentheses_follow_python():
    """The printer itself, checked against Python's parser on fixed trees."""
    import ast
    v = lambda n: ("var", n)  # noqa: E731
    cases = [
        (("neg", ("bin", "**", v("x"), ("const", "2"))), "-x**2"),
        (("bin", "**", ("neg", v("x")), ("const", "2")), "(-x)**2"),
        (("bin", "**", v("x"), ("bin", "**", v("y"), v("z"))), "x**y**z"),
        (("bin", "**", ("bin", "**", v("x"), v("y")), v("z")), "(x**y)**z"),
        (("bin", "**", v("x"), ("neg", v("y"))), "x**-y"),
        (("bin", "-", v("x"), ("bin", "-", v("y"), v("z"))), "x - (y - z)"),
        (("bin", "/", v("x"), ("bin", "*", v("y"), v("z"))), "x/(y*z)"),
        (("bin", "*", ("bin", "/", v("x"), v("y")), v("z")), "x/y*z"),
        (("bin", "*", v("x"), ("neg", v("y"))), "x*-y"),
    ]
    for tree, text in cases:
        assert to_text(tree, minimal=True) == text
        assert ast.dump(ast.parse(to_text(tree, minimal=True), mode="eval")) == \
            ast.dump(ast.parse(to_text(tree, minimal=False), mode="eval"))


def python_spelling(tree):
    """The same tree with ^ spelled ** (in Python ^ is xor, with another precedence)."""
    if tree[0] == "bin" and tree[1] == "^":
        tree = ("bin", "**") + tree[2:]
    return tuple(python_spelling(t) if isinstance(t, tuple) else t for t in tree)


@settings(max_examples=120, **SETTINGS)
@given(tree=trees(VARS))
def test_minimal_parentheses_parse_like_full_ones_in_python(tree):
    """Python's parser as the oracle for the printer: with minimal parentheses a random
    tree must parse to the same AST as fully parenthesised."""
    import ast
    tree = python_spelling(tree)
    minimal, full = to_text(tree, minimal=True), to_text(tree, minimal=False)
    note(f"{minimal}   vs   {full}")
    assert ast.dump(ast.parse(minimal, mode="eval")) == ast.dump(ast.parse(full, mode="eval"))


def tree_variables(tree) -> set[str]:
    if tree[0] == "var":
        return {tree[1]}
    return set().union(*(tree_variables(t) for t in tree[1:] if isinstance(t, tuple)))


class Rejected(Exception):
    pass


def mp_eval(tree, env: dict[str, object], trace: list | None = None):
    """Evaluate the tree in mpmath at the current precision, node by node.

    Raises Rejected where the derivative is not defined or is badly conditioned:
    near a kink of relu/abs, near a pole or the edge of a domain, a non-positive
    base whose exponent depends on a variable, huge intermediate values. ``trace``
    collects the side of every kink (relu/abs argument signs) so that a central
    difference can check that its neighbours lie on the same side.
    Returns (value, depends_on_a_variable).
    """
    kind = tree[0]
    if kind == "var":
        return env[tree[1]], True
    if kind == "const":
        return mpmath.mpf(float(tree[1])), False
    if kind == "named":
        return (+mpmath.pi if tree[1] == "pi" else +mpmath.e), False
    if kind in ("neg", "pos"):
        v, dep = mp_eval(tree[1], env, trace)
        return (-v if kind == "neg" else v), dep
    if kind == "call":
        name = tree[1]
        a, dep = mp_eval(tree[2], env, trace)
        if dep:
            if name in ("relu", "abs"):
                if abs(a) < 1e-6:
                    raise Rejected(f"{name} near its kink")
                if trace is not None:
                    trace.append(a > 0)
            if name in LOGS_AND_SQRT and a < 1e-6:
                raise Rejected(f"{name} near or outside its domain")
            if name == "tan" and abs(mpmath.cos(a)) < 1e-6:
                raise Rejected("tan near a pole")
        if name in LOGS_AND_SQRT and a <= 0:
            raise Rejected(f"{name} outside its domain")
        v = MP_FUNCTIONS[name](a)
    else:
        _, op, left, right = tree
        a, da = mp_eval(left, env, trace)
        b, db = mp_eval(right, env, trace)
        dep = da or db
        if op == "/":
            if b == 0 or (db and abs(b) < 1e-6):
                raise Rejected("division by (nearly) 0")
            v = a / b
        elif op in ("**", "^"):
            if a < 0 and b != int(b):
                raise Rejected("negative base, fractional exponent")
            if a == 0 and b <= 0:
                raise Rejected("0 to a non-positive power")
            if db and a <= 0:
                raise Rejected("d/d(exponent) of a non-positive base")
            if da and abs(a) < 1e-6 and (b != int(b) or b < 1):
                raise Rejected("power near its singular base 0")
            v = mpmath.power(a, b)
        else:
            v = {"+": a + b, "-": a - b, "*": a * b}[op]
    if isinstance(v, mpmath.mpc):
        raise Rejected("complex value")
    if not mpmath.isfinite(v) or abs(v) > 1e50:
        raise Rejected("huge intermediate value")
    return v, dep


def check_against_oracles(texts, make_expr, point: dict[str, float], mp_f):
    """Evaluate each cgcalc program in ``texts`` (spellings of one function) and
    compare with SymPy and central differences.

    ``make_expr()`` builds the SymPy expression; it is called only once the point
    has passed ``mp_f``. ``mp_f(point, trace) -> mpf`` is the same function
    evaluated independently in mpmath (raising Rejected where the derivative is
    undefined or ill conditioned, recording kink sides in ``trace``); it drives the
    central differences and the conditioning checks. Rejected points are skipped
    with ``assume``.
    """
    try:
        _check_against_oracles(texts, make_expr, point, mp_f)
    except Rejected as why:
        note(f"rejected: {why}")
        assume(False)


def _check_against_oracles(texts, make_expr, point, mp_f):
    for text in texts:
        note(f"program: {text}")
    note(f"point: {point}")
    mp_point = {n: mpmath.mpf(v) for n, v in point.items()}  # exact
    kinks: list[bool] = []
    with mpmath.workdps(DPS):
        mp_value = mp_real(mp_f(mp_point, kinks))
    assume(mp_value is not None and abs(mp_value) <= 1e6)
    # Conditioning of the value: the tree evaluated in 53-bit arithmetic must agree
    # with the 50-digit value, else rounding, not cgcalc, decides the digits compared.
    with mpmath.workprec(53):
        low_value = mp_real(mp_f(mp_point, None))
    assume(low_value is not None and abs(low_value - mp_value) <= 1e-10 * (1.0 + abs(mp_value)))

    results = {}
    for text in texts:
        try:
            results[text] = result = run(text, point)
        except cgcalc.EvaluationError as error:
            note(f"cgcalc: {error}")
            event("cgcalc raised EvaluationError")
            assume(False)  # a domain error on cgcalc's side, e.g. a gradient through 0*log(-1)
        note(f"cgcalc value {result.value!r}, gradients {result.gradients} for {text}")
        assert set(result.gradients) == set(point)

    # The cheap oracles first (so that a failing case shrinks fast): the value of
    # the tree in mpmath, and central differences of it.
    def f(p):
        side: list[bool] = []
        try:
            v = mp_f(p, side)
        except Rejected:
            return None
        return v if side == kinks else None  # a kink between the point and p

    for n in point:
        # Two steps: when they agree, the truncation error of the smaller is ~100x
        # below their difference; else the function is too wiggly here to check.
        fd_coarse = central_difference(f, point, n, rel_h=1e-6)
        fd = central_difference(f, point, n, rel_h=1e-7)
        assume(fd is not None and fd_coarse is not None)  # leaves the domain, or a kink
        assume(abs(fd_coarse - fd) <= 1e-7 * abs(fd) + 1e-10 and abs(fd) <= 1e8)
        for text, result in results.items():
            assert close(result.gradients[n], fd, 1e-6, 1e-8), \
                f"d/d{n} of {text} at {point}: cgcalc {result.gradients[n]!r}, " \
                f"central difference {fd!r}"
    for text, result in results.items():
        assert close(result.value, mp_value, 1e-7, 1e-9), \
            f"value of {text} at {point}: cgcalc {result.value!r}, mpmath {mp_value!r}"

    # SymPy: the exact value and derivatives, evaluated at 50 digits.
    expr = make_expr()
    want = oracle(expr, point)
    assume(want is not None)
    value = mp_real(want[0])
    grads = {n: mp_real(g) for n, g in want[1].items()}
    assume(value is not None and None not in grads.values())
    assume(all(abs(g) <= 1e8 for g in grads.values()))
    # Conditioning of the derivatives: SymPy's formulas at 53 bits must agree too.
    low = oracle(expr, point, prec_bits=53)
    assume(low is not None)
    for n, g in grads.items():
        lg = mp_real(low[1][n])
        assume(lg is not None and abs(lg - g) <= 1e-10 * (1.0 + abs(g)))
    note(f"sympy  value {value!r}, gradients {grads}")

    for text, result in results.items():
        assert close(result.value, value, 1e-7, 1e-9), \
            f"value of {text} at {point}: cgcalc {result.value!r}, SymPy {value!r}"
        for n, g in grads.items():
            assert close(result.gradients[n], g, 1e-7, 1e-9), \
                f"d/d{n} of {text} at {point}: cgcalc {result.gradients[n]!r}, SymPy {g!r}"


@st.composite
def programs(draw, max_leaves=15):
    n = draw(st.integers(1, 4), label="number of variables")
    names = VARS[:n]
    tree = draw(trees(names, max_leaves), label="tree")
    used = tree_variables(tree)
    if not used:  # a program without variables has no gradient to check
        tree = ("bin", "*", tree, ("var", names[0]))
        used = {names[0]}
    point = {name: draw(st.one_of(finite(-4, 4), finite(-30, 30)), label=name)
             for name in sorted(used)}
    return tree, point


@settings(max_examples=100, **SETTINGS)
@given(programs())
def test_random_programs_against_sympy(case):
    tree, point = case
    texts = (to_text(tree, minimal=True), to_text(tree, minimal=False))
    check_against_oracles(texts, lambda: to_sympy(tree), point,
                          lambda p, trace: mp_eval(tree, p, trace)[0])


# --- 3. shared variables and shared nodes: the sum over the uses -----------------------------


@pytest.mark.parametrize("text, expr", [
    ("x*x", x * x),
    ("x*x*x + x", x**3 + x),
    ("sin(x)*x - x/exp(x) + x**x", sp.sin(x) * x - x / sp.exp(x) + x**x),
    ("t = x*y; t*t + t", (x * y) ** 2 + x * y),
    ("t = sin(x)\nu = t*x + t\nu*t/y", (sp.sin(x) * x + sp.sin(x)) * sp.sin(x) / y),
])
def test_shared_uses_fixed(text, expr):
    point = {"x": 0.7, "y": 1.3}
    names = sorted(str(s) for s in expr.free_symbols)
    point = {n: point[n] for n in names}
    want = oracle(expr, point)
    r = run(text, point)
    assert r.value == pytest.approx(float(want[0]), rel=1e-12)
    for n in names:
        assert r.gradients[n] == pytest.approx(float(want[1][n]), rel=1e-12)


def rename(tree, mapping):
    if tree[0] == "var":
        return ("var", mapping.get(tree[1], tree[1]))
    return tuple(rename(t, mapping) if isinstance(t, tuple) else t for t in tree)


@settings(max_examples=60, **SETTINGS)
@given(tree=trees(("a", "b", "c"), max_leaves=10), value=finite(-4, 4))
def test_shared_variable_gets_the_sum_of_its_uses(tree, value):
    """f(x, x, x) written with one variable x: d/dx is the sum of SymPy's three
    partial derivatives of f(a, b, c), each evaluated at a = b = c = x."""
    used = sorted(tree_variables(tree))
    assume(used)
    shared_tree = rename(tree, {n: "x" for n in used})
    text = to_text(shared_tree, minimal=True)
    note(f"program: {text}")

    with mpmath.workdps(DPS):
        try:
            mp_eval(shared_tree, {"x": mpmath.mpf(value)}, [])
        except Rejected:
            assume(False)
    distinct = to_sympy(tree)
    want = oracle(distinct, {n: value for n in used})
    assume(want is not None)
    partials = [mp_real(want[1][n]) for n in used]
    assume(None not in partials and mp_real(want[0]) is not None)
    total = sum(want[1][n] for n in used)
    expected = mp_real(total)
    assume(expected is not None and abs(expected) <= 1e8)
    # conditioning: the sum of partials at 53 bits must agree
    low = oracle(distinct, {n: value for n in used}, prec_bits=53)
    assume(low is not None and all(mp_real(low[1][n]) is not None for n in used))
    low_total = sum(float(low[1][n]) for n in used)
    assume(abs(low_total - expected) <= 1e-10 * (1 + sum(abs(p) for p in partials)))

    try:
        r = run(text, {"x": value})
    except cgcalc.EvaluationError:
        assume(False)
    note(f"partials {partials}, sum {expected}, cgcalc {r.gradients}")
    assert close(r.gradients["x"], expected, 1e-7, 1e-9 * (1 + sum(abs(p) for p in partials)))


@settings(max_examples=40, **SETTINGS)
@given(data=st.data())
def test_assigned_names_share_their_node(data):
    """t = T1(vars); u = T2(vars, t); T3(vars, t, u): SymPy substitutes, cgcalc shares nodes."""
    n = data.draw(st.integers(1, 3), label="number of variables")
    names = VARS[:n]
    t1 = data.draw(trees(names, 6), label="t")
    t2 = data.draw(trees(names + ("t",), 6), label="u")
    t3 = data.draw(trees(names + ("t", "u"), 8), label="output")
    used = (tree_variables(t1) | tree_variables(t2) | tree_variables(t3)) & set(names)
    assume(used)
    sep = data.draw(st.sampled_from(["; ", "\n"]), label="separator")
    texts = tuple(sep.join([f"t = {to_text(t1, minimal)}", f"u = {to_text(t2, minimal)}",
                            to_text(t3, minimal)]) for minimal in (True, False))
    point = {name: data.draw(finite(-4, 4), label=name) for name in sorted(used)}

    def mp_f(p, trace):
        env = dict(p)
        env["t"] = mp_eval(t1, env, trace)[0]
        env["u"] = mp_eval(t2, env, trace)[0]
        return mp_eval(t3, env, trace)[0]

    def make_expr():
        e1 = to_sympy(t1)
        e2 = to_sympy(t2, {"t": e1})
        return to_sympy(t3, {"t": e1, "u": e2})

    check_against_oracles(texts, make_expr, point, mp_f)
