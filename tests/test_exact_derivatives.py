"""``--exact`` for check, diff and hessian.

Oracles: SymPy's exact ``diff`` and ``hessian`` on random rational programs (values equal
exactly), and mpmath at a higher precision for what leaves the rationals.
"""

import json
from fractions import Fraction

import mpmath
import pytest
import sympy
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import cgcalc
from cgcalc.check import gradient_check
from cgcalc.differentiate import derivative, hessian, value_at
from cgcalc.exact_ops import is_exact
from cgcalc.render.source import to_source
from conftest import APPLE_ORANGE_EXPR

APPLE_ORANGE = {"apple": 100, "apple_num": 2, "orange": 150, "orange_num": 3,
                "tax": Fraction(11, 10)}
APPLE_ORANGE_WORDS = [APPLE_ORANGE_EXPR, "apple=100", "apple_num=2", "orange=150",
                      "orange_num=3", "tax=1.1"]


# Random rational programs and their SymPy expressions, built with a loop.

SYMBOLS = {name: sympy.Symbol(name, real=True) for name in "xyz"}
RATIONALS = st.fractions(min_value=-5, max_value=5, max_denominator=7)
STEPS = st.lists(st.tuples(st.sampled_from(["+", "-", "*", "/", "pow", "neg", "literal"]),
                           st.integers(0, 50), st.integers(0, 50), st.integers(-2, 3),
                           st.sampled_from(["1.1", "0.25", "3", "1e-3", "2.5"])),
                 min_size=1, max_size=7)


def rational_program(steps, point):
    """The program's text and SymPy expression; None where a step divides by 0."""
    texts, exprs = list(point), list(SYMBOLS.values())
    at = {SYMBOLS[n]: sympy.Rational(v.numerator, v.denominator) for n, v in point.items()}
    for kind, i, j, k, literal in steps:
        a, b = i % len(texts), j % len(texts)
        if kind == "neg":
            texts.append(f"-({texts[a]})")
            exprs.append(-exprs[a])
        elif kind == "literal":
            texts.append(f"{literal}*({texts[a]})")
            exprs.append(sympy.Rational(literal) * exprs[a])
        elif kind == "pow":
            texts.append(f"({texts[a]})**({k})")
            exprs.append(exprs[a] ** k)
        else:
            texts.append(f"({texts[a]}) {kind} ({texts[b]})")
            exprs.append({"+": sympy.Add, "-": lambda p, q: p - q, "*": sympy.Mul,
                          "/": lambda p, q: p / q}[kind](exprs[a], exprs[b]))
        if not exprs[-1].subs(at).is_finite:
            return None
    return texts[-1], exprs[-1], at


def fraction(value):
    assert value.is_Rational, value
    return Fraction(int(value.p), int(value.q))


@settings(derandomize=True, max_examples=60, deadline=None)
@given(STEPS, RATIONALS, RATIONALS, RATIONALS, st.sampled_from([["x"], ["x", "y"], ["z", "z"]]))
def test_diff_values_equal_sympys_exactly(steps, x, y, z, wrt):
    point = {"x": x, "y": y, "z": z}
    made = rational_program(steps, point)
    assume(made is not None)
    text, expr, at = made
    want = sympy.diff(expr, *[SYMBOLS[n] for n in wrt]).subs(at)
    assume(want.is_finite)
    program = cgcalc.parse(text)
    assume(set(wrt) <= set(program.variables))
    derived = derivative(program, wrt, exact=True)
    bindings = {name: point[name] for name in program.variables}
    got, _ = value_at(program, derived, wrt[0], bindings, digits=30)
    assert is_exact(got) and got == fraction(want)


@settings(derandomize=True, max_examples=40, deadline=None)
@given(STEPS, RATIONALS, RATIONALS, RATIONALS)
def test_hessians_equal_sympys_exactly(steps, x, y, z):
    point = {"x": x, "y": y, "z": z}
    made = rational_program(steps, point)
    assume(made is not None)
    text, expr, at = made
    program = cgcalc.parse(text)
    names = list(program.variables)
    want = sympy.hessian(expr, [SYMBOLS[n] for n in names]).subs(at)
    assume(all(entry.is_finite for entry in want))
    got = hessian(program, {name: point[name] for name in names}, digits=30)
    assert got.value == fraction(expr.subs(at)) and got.variables == names
    assert got.matrix == [[fraction(want[i, j]) for j in range(len(names))]
                          for i in range(len(names))]
    assert all(is_exact(entry) for row in got.matrix for entry in row)


def test_a_derivatives_numbers_are_folded_exactly():
    """With floats 1e16 + 1 is 1e16; an exact derivative keeps its 1."""
    assert to_source(derivative("x*(1e16 + 1)", "x")) == "1e+16"
    assert derivative("x*(1e16 + 1)", "x", exact=True).source == "10000000000000001"
    assert derivative("x*(0.1 + 0.2)", "x", exact=True).source == "0.3"


def test_diff_prints_the_exact_literals(run):
    out = run("diff", "x*(1e16 + 1)", "x=1", "--exact", "--precision", "17")
    assert out.stdout == "10000000000000001\n# ∂value/∂x = 10000000000000001\n"


# What leaves the rationals: mpmath at a higher precision.

TRANSCENDENTAL = [
    ("exp(x)*sin(y)", lambda x, y: mpmath.exp(x) * mpmath.sin(y)),
    ("log(x + y)/sqrt(x)", lambda x, y: mpmath.log(x + y) / mpmath.sqrt(x)),
    ("x**y + tanh(x*y)", lambda x, y: x ** y + mpmath.tanh(x * y)),
]


@settings(derandomize=True, max_examples=20, deadline=None)
@given(st.sampled_from(range(len(TRANSCENDENTAL))), st.fractions(1, 4, max_denominator=9),
       st.fractions(1, 3, max_denominator=9), st.sampled_from([15, 30, 50]))
def test_derivatives_agree_with_mpmath_at_the_digits_asked_for(case, x, y, digits):
    source, f = TRANSCENDENTAL[case]
    program = cgcalc.parse(source)
    bindings = {"x": x, "y": y}
    d2, _ = value_at(program, derivative(program, ["x", "y"], exact=True), "x", bindings, digits)
    h = hessian(program, bindings, digits=digits)
    with mpmath.workdps(digits + 30):
        X, Y = mpmath.mpf(x.numerator) / x.denominator, mpmath.mpf(y.numerator) / y.denominator
        want = {(0, 0): mpmath.diff(f, (X, Y), (2, 0)), (0, 1): mpmath.diff(f, (X, Y), (1, 1)),
                (1, 1): mpmath.diff(f, (X, Y), (0, 2))}
        tolerance = mpmath.mpf(10) ** -digits
        d2 = mpmath.mpf(d2.numerator) / d2.denominator if is_exact(d2) else d2
        assert abs(d2 - want[0, 1]) <= abs(want[0, 1]) * tolerance
        for (i, j), expected in want.items():
            for got in {h.matrix[i][j], h.matrix[j][i]}:
                got = mpmath.mpf(got.numerator) / got.denominator if is_exact(got) else got
                assert abs(got - expected) <= abs(expected) * tolerance


# The commands.


def test_check_exact_reports_the_exact_gradients(run):
    out = run("check", *APPLE_ORANGE_WORDS, "--exact", "--json")
    assert out.exit_code == 0, out.output
    document = json.loads(out.stdout)
    assert out.stdout.startswith(
        '{"value": 715, "exact": true, "gradients": {"apple": 2.2, "apple_num": 110, '
        '"orange": 3.3, "orange_num": 165, "tax": 650}, "passed": true, ')
    assert document["variables"]["tax"]["passed"] is True
    table = run("check", *APPLE_ORANGE_WORDS, "--exact").stdout.splitlines()
    assert table[0] == "value = 715"
    assert table[2].split()[:3] == ["variable", "shape", "backprop"]
    assert [line.split()[2] for line in table[3:8]] == ["2.2", "110", "3.3", "165", "650"]


def test_check_exact_in_the_library_and_what_leaves_the_rationals(run):
    report = gradient_check(cgcalc.parse(APPLE_ORANGE_EXPR), APPLE_ORANGE, digits=30)
    assert report.passed and report.result.gradients["apple"] == Fraction(11, 5)
    out = run("check", "x/3 + exp(y)", "x=1", "y=0.5", "--exact", "--digits", "20", "--json")
    head = out.stdout.split(', "passed"')[0]
    assert head == ('{"value": 1.9820546040334614802, "exact": false, "gradients": '
                    '{"x": 0.33333333333333333, "y": 1.6487212707001281468}, '
                    '"exact_gradients": {"x": "1/3"}, "approximate_gradients": ["y"], '
                    '"digits": 20')


def test_check_exact_still_fails_a_wrong_gradient_by_the_float_differences(run):
    """The differences are floats: an error of 1e-3 in the value (a step in abs) shows."""
    out = run("check", "relu(x)", "x=0", "--exact")
    assert out.exit_code == 1
    assert out.stderr == ("cgcalc: gradient check failed: x: backpropagation and central "
                          "differences differ by more than --tol 1e-06\n")


def test_diff_exact(run):
    out = run("diff", "x**3*y", "--wrt", "x", "x=1/3", "y=0.7", "--exact")
    assert out.stdout == "3*x**2*y\n# ∂value/∂x = 7/30\n"
    out = run("diff", "x**3*y", "--wrt", "x", "x=1/3", "y=0.7", "--exact", "--json")
    assert out.stdout == ('{"wrt": ["x"], "derivative": "3*x**2*y", "value": '
                          '0.23333333333333333, "exact": true, "exact_value": "7/30"}\n')
    out = run("diff", "exp(x)*y", "--wrt", "x", "x=1", "y=0.7", "--exact", "--json",
              "--digits", "20")
    assert out.stdout == ('{"wrt": ["x"], "derivative": "exp(x)*y", "value": '
                          '1.9027972799213316648, "exact": false, "digits": 20}\n')
    out = run("diff", "x**3*y", "--wrt", "x", "--exact", "--json")
    assert out.stdout == '{"wrt": ["x"], "derivative": "3*x**2*y", "value": null}\n'


def test_hessian_exact(run):
    out = run("hessian", *APPLE_ORANGE_WORDS, "--exact", "--json")
    assert json.loads(out.stdout) == {
        "value": 715, "exact": True, "variables": list(APPLE_ORANGE),
        "hessian": [[0, 1.1, 0, 0, 2], [1.1, 0, 0, 0, 100], [0, 0, 0, 1.1, 3],
                    [0, 0, 1.1, 0, 150], [2, 100, 3, 150, 0]]}
    out = run("hessian", "x**2*y/3", "x=1", "y=2", "--exact", "--json")
    assert out.stdout == (
        '{"value": 0.66666666666666667, "exact": true, "exact_value": "2/3", "variables": '
        '["x", "y"], "hessian": [[1.3333333333333333, 0.66666666666666667], '
        '[0.66666666666666667, 0]], "exact_hessian": [["4/3", "2/3"], ["2/3", null]]}\n')
    out = run("hessian", "x**2*y/3", "x=1", "y=2", "--exact")
    assert out.stdout == ("value = 2/3\n\n∂²value/∂row∂column:\n     x    y\n"
                          "x  4/3  2/3\ny  2/3    0\n")
    out = run("hessian", "x*exp(y)", "x=1", "y=1", "--exact", "--json", "--digits", "12")
    assert out.stdout == (
        '{"value": 2.71828182846, "exact": false, "variables": ["x", "y"], "hessian": '
        '[[0, 2.71828182846], [2.71828182846, 2.71828182846]], "approximate_hessian": '
        '[["x", "y"], ["y", "x"], ["y", "y"]], "digits": 12}\n')


@pytest.mark.parametrize("command", ["check", "diff", "hessian"])
def test_arrays_refuse_exact(run, command):
    out = run(command, "sum(x*x)", "-v", "x=[1, 2]", "--exact")
    assert out.exit_code == 2
    assert out.stderr == ("cgcalc: error: x: --exact works on numbers; arrays compute with "
                          "floats (drop --exact)\n")
    out = run(command, "sum(x*x)", "x=1", "--exact")
    assert out.exit_code == 2
    assert out.stderr.startswith("cgcalc: error") and "array" in out.stderr


def test_the_installed_command(tmp_path):
    """Through the console script, as a user runs it."""
    import subprocess
    import sys
    from pathlib import Path

    cgcalc_script = str(Path(sys.executable).with_name("cgcalc"))
    out = subprocess.run([cgcalc_script, "hessian", "x**3*y/3", "x=1/2", "y=0.3", "--exact",
                          "--json"], capture_output=True, text=True, check=True)
    assert out.stdout == ('{"value": 0.0125, "exact": true, "variables": ["x", "y"], '
                          '"hessian": [[0.3, 0.25], [0.25, 0]]}\n')
    out = subprocess.run([cgcalc_script, "diff", "x**3*y/3", "--wrt", "x", "--wrt", "y",
                          "x=1/3", "y=0.3", "--exact"], capture_output=True, text=True, check=True)
    assert out.stdout == "1/3*(3*x**2)\n# ∂²value/∂x∂y = 1/9\n"
