"""Derivative programs and Hessians against SymPy (issue 15), sharing no code with cgcalc's rules.

A derivative program is a function; SymPy's ``diff`` gives the same function exactly.
They are compared as functions: both are evaluated at random points with mpmath at 50
digits (the program node by node with the mpmath functions below, SymPy's expression
by ``lambdify``), where rounding cannot hide a wrong formula; then the program's value
in doubles, as cgcalc computes it, is compared too where the point is well conditioned.

1. Every operation to order 3, by every sequence of its variables.
2. Random programs (the trees of ``test_oracle``) to order 2.
3. The Hessian of random programs: cgcalc.hessian against SymPy's second derivatives.

Run with CGCALC_ORACLE_COUNTS=1 and ``-s`` to print how many comparisons were made.
"""

from __future__ import annotations

import itertools
import os
from collections import Counter
from functools import cache

import mpmath
import pytest
import sympy as sp
from hypothesis import assume, given, note, settings
from hypothesis import strategies as st

import cgcalc
from cgcalc.engine import value as float_value
from cgcalc.ops import Var
from test_oracle import (DPS, MP_FUNCTIONS, MP_NAMESPACE, OP_CASES, SETTINGS, SYM, OpCase, Rejected,
                         Sign, Step, close, finite, mp_eval, mp_real, programs, to_sympy,
                         to_text, tree_variables)

COMPARED: Counter = Counter()


@pytest.fixture(scope="module", autouse=True)
def counts():
    yield
    if os.environ.get("CGCALC_ORACLE_COUNTS"):
        print("\noracle comparisons:", dict(sorted(COMPARED.items())))


class Undefined(Exception):
    """The program's value is not a finite real number at this point."""


def _real(v):
    if isinstance(v, mpmath.mpc) or not mpmath.isfinite(v):
        raise Undefined(str(v))
    return v


def _div(a, b):
    if b == 0:
        raise Undefined("division by 0")
    return a / b


def _log(a):
    if a <= 0:
        raise Undefined("log outside its domain")
    return mpmath.log(a)


MP_OPS = {
    **MP_FUNCTIONS, "log": _log,
    "add": lambda a, b: a + b, "sub": lambda a, b: a - b, "mul": lambda a, b: a * b,
    "div": _div, "pow": lambda a, b: _real(mpmath.power(a, b)), "neg": lambda a: -a,
    "step": lambda a: mpmath.mpf(1) if a > 0 else mpmath.mpf(0),
    "sign": lambda a: mpmath.mpf(mpmath.sign(a)),
    "hypot": mpmath.hypot, "atan2": mpmath.atan2, "maximum": max, "minimum": min,
}


def mp_program(program: cgcalc.Program, point: dict[str, float]):
    """A cgcalc program evaluated node by node with mpmath at the current precision."""
    values = []
    for node, (op, ins) in enumerate(zip(program.ops, program.inputs)):
        if op is Var:
            name = program.names[node]
            v = mpmath.mpf(point[name]) if name in point else \
                (+mpmath.pi if name == "pi" else +mpmath.e)
        elif not ins:
            v = mpmath.mpf(program.constants[node])
        else:
            v = _real(MP_OPS[op.name](*[values[i] for i in ins]))
        values.append(v)
    return values[program.output]


@cache
def sympy_derivatives(expr: sp.Expr, names: tuple[str, ...], sequences: tuple[tuple[str, ...], ...]):
    """One mpmath function returning SymPy's derivative of ``expr`` by each sequence."""
    syms = [SYM[n] for n in names]
    exprs = [sp.diff(expr, *[SYM[n] for n in seq]).xreplace({sp.zoo: sp.nan}) for seq in sequences]
    return sp.lambdify(syms, exprs, modules=[MP_NAMESPACE, "mpmath"])


def sympy_at(expr, point, sequences, prec_bits=None) -> list | None:
    names = tuple(sorted(point))
    fn = sympy_derivatives(expr, names, tuple(sequences))
    with mpmath.workprec(prec_bits) if prec_bits else mpmath.workdps(DPS):
        try:
            return [mp_real(v) if prec_bits else v
                    for v in fn(*[mpmath.mpf(point[n]) for n in names])]
        except (ZeroDivisionError, ValueError, OverflowError, TypeError):
            return None


def compare(text: str, expr, point: dict[str, float], sequences, kind: str) -> None:
    """Each derivative program of ``text`` equals SymPy's at 50 digits; in doubles, where
    the derivative is well conditioned, its value is SymPy's to 1e-8."""
    want = sympy_at(expr, point, sequences)
    assume(want is not None)
    want_low = sympy_at(expr, point, sequences, prec_bits=53)
    for seq, exact, low in zip(sequences, want, want_low or [None] * len(want)):
        if isinstance(exact, mpmath.mpc) and exact.imag == 0:
            exact = exact.real
        if isinstance(exact, mpmath.mpc) or not mpmath.isfinite(exact):
            continue  # SymPy's formula is complex or infinite here: nothing to compare
        program = cgcalc.derivative(text, list(seq))
        note(f"∂/∂{'∂'.join(seq)}: {cgcalc.render.source.to_source(program)}")
        with mpmath.workdps(DPS):
            try:
                ours = mp_program(program, point)
            except Undefined as why:
                raise AssertionError(f"the derivative program is undefined ({why}) where "
                                     f"SymPy's is {exact}") from None
            # the formulas must agree; 1e-12 leaves room for constants folded in doubles
            # (1 + 0.1 is written 1.1, which differs from it by 1e-17)
            assert abs(ours - exact) <= 1e-12 * (1 + abs(exact)), \
                f"∂/∂{'∂'.join(seq)} of {text} at {point}: ours {ours}, SymPy {exact}"
        COMPARED[f"{kind} at 50 digits"] += 1
        value = mp_real(exact)
        if value is None or low is None or abs(value) > 1e8 or \
                abs(low - value) > 1e-10 * (1 + abs(value)):
            continue  # rounding, not cgcalc, would decide the digits compared in doubles
        try:
            got = float_value(program, point)
        except cgcalc.EvaluationError:
            continue
        assert close(got, value, 1e-8, 1e-10), f"{seq}: cgcalc {got!r}, SymPy {value!r}"
        COMPARED[f"{kind} in doubles"] += 1


# --- 1. every operation to order 3 ------------------------------------------------------------

x = SYM["x"]
CASES = {
    **OP_CASES,
    "step": OpCase("step(x)", Step(x), st.fixed_dictionaries({"x": finite(-10, 10)})),
    "sign": OpCase("sign(x)", Sign(x), st.fixed_dictionaries({"x": finite(-10, 10)})),
}


@pytest.mark.parametrize("case", sorted(CASES))
@settings(max_examples=12, **SETTINGS)
@given(data=st.data())
def test_every_operation_to_order_3(case, data):
    spec = CASES[case]
    point = data.draw(spec.points, label="point")
    names = sorted(point)
    sequences = [seq for order in (1, 2, 3) for seq in itertools.product(names, repeat=order)]
    compare(spec.text, spec.expr, point, sequences, "operations")


# --- 2. random programs to order 2 -----------------------------------------------------------

def well_defined(tree, point) -> bool:
    """The tree's value at the point, away from kinks, poles and domain edges (test_oracle)."""
    with mpmath.workdps(DPS):
        try:
            mp_eval(tree, {n: mpmath.mpf(v) for n, v in point.items()}, [])
        except Rejected:
            return False
    return True


@settings(max_examples=30, **SETTINGS)
@given(case=programs(max_leaves=10), data=st.data())
def test_random_programs_to_order_2(case, data):
    tree, point = case
    assume(well_defined(tree, point))
    names = sorted(point)
    pairs = list(itertools.product(names, repeat=2))
    chosen = data.draw(st.lists(st.sampled_from(pairs), min_size=1, max_size=3, unique=True),
                       label="second derivatives")
    sequences = [(n,) for n in names] + chosen
    compare(to_text(tree, minimal=True), to_sympy(tree), point, sequences, "random programs")


# --- 3. Hessians of random programs ------------------------------------------------------------

@settings(max_examples=40, **SETTINGS)
@given(case=programs(max_leaves=10))
def test_hessians_of_random_programs(case):
    tree, point = case
    assume(well_defined(tree, point))
    text = to_text(tree, minimal=True)
    try:
        result = cgcalc.hessian(text, point)
    except cgcalc.EvaluationError:
        assume(False)  # a value or derivative cgcalc finds undefined: test_oracle's concern
    names = sorted(point)
    assert sorted(result.variables) == names
    m = result.matrix
    assert all(m[i][j] == m[j][i] for i in range(len(m)) for j in range(len(m)))
    pairs = [(a, b) for a in result.variables for b in result.variables]
    expr = to_sympy(tree)
    exact = sympy_at(expr, point, pairs)
    low = sympy_at(expr, point, pairs, prec_bits=53)
    assume(exact is not None and low is not None)
    for (a, b), want, want_low in zip(pairs, exact, low):
        want = mp_real(want)
        assume(want is not None and want_low is not None and abs(want) <= 1e8)
        assume(abs(want_low - want) <= 1e-10 * (1 + abs(want)))
        got = m[result.variables.index(a)][result.variables.index(b)]
        assert close(got, want, 1e-7, 1e-9), f"∂²/∂{a}∂{b} of {text} at {point}: {got!r} vs {want!r}"
        COMPARED["Hessian entries"] += 1
