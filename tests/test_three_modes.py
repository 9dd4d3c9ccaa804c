"""The same program as numbers, as one-element arrays and as a batch row gives the same
values, gradients and error messages (issue 13).

The programs come from their own generator (expression trees over every element-wise
operation, points on and around the domains' edges), not from the parser tests'.
"""

import math

import numpy as np
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import cgcalc
from cgcalc.array_engine import evaluate_rows

UNARY = ["-", "exp", "log", "sqrt", "sin", "cos", "tan", "tanh", "sigmoid", "relu", "abs",
         "log10", "log2", "atan", "sinh", "cosh"]
BINARY = ["+", "-", "*", "/", "**", "atan2", "hypot", "pow", "max", "min"]  # and f(a, b)
POINTS = [-2.0, -1.0, -0.5, 0.0, 0.5, 1.0, 2.0, 3.0]
SETTINGS = settings(max_examples=600, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow])


def trees():
    leaves = st.sampled_from(["x", "y", "x", "y", "0", "0.5", "1", "2", "3"])

    def grow(inner):
        unary = st.tuples(st.sampled_from(UNARY), inner).map(
            lambda t: f"(-{t[1]})" if t[0] == "-" else f"{t[0]}({t[1]})")
        binary = st.tuples(inner, st.sampled_from(BINARY), inner).map(
            lambda t: f"{t[1]}({t[0]}, {t[2]})" if t[1][0].isalpha() else f"({t[0]} {t[1]} {t[2]})")
        return unary | binary

    return st.recursive(leaves, grow, max_leaves=8)


def outcome_scalar(program, point):
    try:
        result = cgcalc.evaluate(program, point)
    except cgcalc.EvaluationError as error:
        return str(error)
    return result.value, result.gradients


def outcome_array(program, point):
    try:
        result = cgcalc.evaluate(program, {k: [v] for k, v in point.items()})
    except cgcalc.EvaluationError as error:
        return str(error)
    one = lambda v: float(np.asarray(v).reshape(-1)[0])  # noqa: E731
    return one(result.value), {k: one(g) for k, g in result.gradients.items()}


def outcome_batch(program, point):
    """What batch mode decides for this one row: bad, or its value and gradients."""
    try:
        value, grads, bad = evaluate_rows(program, {k: np.array([v]) for k, v in point.items()}, 1)
    except cgcalc.EvaluationError:  # a part made of constants fails for every row alike
        return "bad"
    if bad[0]:
        return "bad"
    return float(value[0]), {k: float(g[0]) for k, g in grads.items()}


def same_numbers(a, b) -> bool:
    (va, ga), (vb, gb) = a, b
    close = lambda p, q: math.isclose(p, q, rel_tol=1e-12, abs_tol=1e-300)  # noqa: E731
    return close(va, vb) and ga.keys() == gb.keys() and all(close(ga[k], gb[k]) for k in ga)


@SETTINGS
@given(trees(), st.sampled_from(POINTS), st.sampled_from(POINTS))
def test_numbers_arrays_and_batch_rows_agree(text, x, y):
    program = cgcalc.parse(text)
    point = {name: value for name, value in (("x", x), ("y", y)) if name in program.variables}
    scalar = outcome_scalar(program, point)
    array = outcome_array(program, point)
    batch = outcome_batch(program, point)
    if isinstance(scalar, str):
        assert array == scalar  # the very same message, caret and all
        assert batch == "bad"
        return
    # far from the edges NumPy's and libm's last bits may differ; the decision may not
    assume(all(math.isfinite(v) and abs(v) < 1e300 for v in [scalar[0], *scalar[1].values()]))
    assert not isinstance(array, str), array
    assert same_numbers(scalar, array)
    assert batch != "bad"
    assert same_numbers(scalar, batch)


def test_the_issue_example_zero_times_sqrt_agrees_in_all_three():
    program = cgcalc.parse("0*sqrt(x)")
    assert outcome_scalar(program, {"x": 0.0}) == (0.0, {"x": 0.0})
    assert outcome_array(program, {"x": 0.0}) == (0.0, {"x": 0.0})
    assert outcome_batch(program, {"x": 0.0}) == (0.0, {"x": 0.0})


def test_an_error_reads_the_same_for_a_number_and_a_one_element_array():
    program = cgcalc.parse("y = 2*x\nlog(y - 2)")
    message = outcome_scalar(program, {"x": 1.0})
    assert message == ("evaluation error at 2:1: log(0) is undefined (log is defined for x > 0)\n"
                       "  log(y - 2)\n  ^")
    assert outcome_array(program, {"x": 1.0}) == message
    assert outcome_batch(program, {"x": 1.0}) == "bad"
