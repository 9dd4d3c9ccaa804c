"""Issue 17's functions: log10 log2 atan atan2 sinh cosh pow hypot, and max/min of two inputs.

Their derivatives are checked against SymPy in test_oracle.py, their rules against their
backward in test_derivative.py and the three engines' agreement in test_three_modes.py;
here: exact values, the messages at the edges of their domains, and derivative programs.
"""

import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import cgcalc
from cgcalc.ops import FUNCTIONS, OPERATORS


def evaluate(text, **bindings):
    return cgcalc.evaluate(cgcalc.parse(text), bindings)


@pytest.mark.parametrize("text, bindings, value, gradients", [
    ("log10(x)", {"x": 100.0}, 2.0, {"x": 0.004342944819032518}),
    ("log2(x)", {"x": 8.0}, 3.0, {"x": 0.18033688011112042}),
    ("atan(x)", {"x": 1.0}, 0.7853981633974483, {"x": 0.5}),
    ("atan2(y, x)", {"y": 1.0, "x": -1.0}, 2.356194490192345, {"y": -0.5, "x": -0.5}),
    ("atan2(y, x)", {"y": 0.0, "x": 2.0}, 0.0, {"y": 0.5, "x": 0.0}),
    ("sinh(x)", {"x": 1.0}, 1.1752011936438014, {"x": 1.5430806348152437}),
    ("cosh(x)", {"x": 1.0}, 1.5430806348152437, {"x": 1.1752011936438014}),
    ("pow(x, y)", {"x": 2.0, "y": 3.0}, 8.0, {"x": 12.0, "y": 5.545177444479562}),
    ("hypot(x, y)", {"x": 3.0, "y": 4.0}, 5.0, {"x": 0.6, "y": 0.8}),
    ("hypot(x, y)", {"x": 1e300, "y": 1e300}, 1.4142135623730952e+300,
     {"x": 0.7071067811865475, "y": 0.7071067811865475}),  # no square overflows
])
def test_values_and_gradients(text, bindings, value, gradients):
    result = evaluate(text, **bindings)
    assert (result.value, result.gradients) == (value, gradients)


@pytest.mark.parametrize("y, x, gradients", [
    (1e-200, 1e-200, [5.000000000000001e+199, -5.000000000000001e+199]),  # was "undefined"
    (-1e-170, -2e-170, [-4.0000000000000004e+169, 2.0000000000000002e+169]),
    (3e-162, 0.0, [0.0, -3.3333333333333333e+161]),  # was -3.0360337996096593e+161
    (1e200, 1e200, [5e-201, -5e-201]),  # was 0
])
def test_atan2s_gradient_where_the_squares_leave_the_doubles(y, x, gradients):
    """x/(x² + y²) with x² + y² underflowed to 0 (or a subnormal that lost digits) or
    overflowed to inf; the distance from 0 stays a double: x/r/r. Arrays alike."""
    assert list(evaluate("atan2(y, x)", y=y, x=x).gradients.values()) == gradients
    arrays = evaluate("atan2(y, x)", y=[y, 3.0], x=[x, 4.0]).gradients
    assert [arrays["y"].tolist(), arrays["x"].tolist()] == [[gradients[0], 0.16],
                                                          [gradients[1], -0.12]]


def test_pow_is_the_power_operator_itself():
    assert FUNCTIONS["pow"] is OPERATORS["**"]
    program = cgcalc.parse("pow(x, 2)")
    assert program.ops[program.output] is OPERATORS["**"]
    assert cgcalc.derivative("pow(x, 3)", "x") is not None
    from cgcalc.render.source import to_source

    assert to_source(program) == "x**2"


@pytest.mark.parametrize("args, message", [
    (["log10(x)", "x=0"], "evaluation error at 1:1: log10(0) is undefined (log10 is defined "
                          "for x > 0)\n  log10(x)\n  ^"),
    (["1 + log2(x)", "x=-1"], "evaluation error at 1:5: log2(-1) is undefined (log2 is defined "
                              "for x > 0)\n  1 + log2(x)\n      ^"),
    (["atan2(y, x)", "y=0", "x=0"], "evaluation error at 1:1: the derivative of atan2(0, 0) is "
     "undefined (atan2(y, x) is defined everywhere, its derivative except at y = x = 0)\n"
     "  atan2(y, x)\n  ^"),
    (["2*hypot(x, y)", "x=0", "y=0"], "evaluation error at 1:3: the derivative of hypot(0, 0) is "
     "undefined (hypot(x, y) is defined everywhere, its derivative except at x = y = 0)\n"
     "  2*hypot(x, y)\n    ^"),
    (["sinh(x)", "x=1000"], "evaluation error at 1:1: sinh(1000) overflows\n  sinh(x)\n  ^"),
    (["cosh(x)", "x=-710.5"], "evaluation error at 1:1: cosh(-710.5) overflows\n  cosh(x)\n  ^"),
    (["pow(x, 0.5)", "x=-1"], "evaluation error at 1:1: (-1) ** 0.5 is undefined (a negative "
     "base needs an integer exponent, and 0 a non-negative one)\n  pow(x, 0.5)\n  ^"),
    (["atan2(x)", "x=1"], "name error at 1:1: atan2 takes 2 arguments, got 1\n  atan2(x)\n  ^"),
    (["hypot(x, y, 1)", "x=1", "y=1"], "name error at 1:1: hypot takes 2 arguments, got 3\n"
     "  hypot(x, y, 1)\n  ^"),
])
def test_errors_at_the_edges_of_the_domains(run, args, message):
    result = run(*args)
    assert (result.exit_code, result.stdout) == (1 if "evaluation" in message else 2, "")
    assert result.stderr == f"cgcalc: {message}\n"


def test_undefined_derivatives_are_fine_where_nothing_asks_for_them():
    assert evaluate("atan2(0, 0) + x", x=1.0).gradients == {"x": 1.0}
    assert cgcalc.evaluate(cgcalc.parse("hypot(x, y)"), {"x": 0.0, "y": 0.0},
                           wrt=[]).value == 0.0


@pytest.mark.parametrize("text, wrt, printed", [
    ("log10(x)", "x", "1/(x*log(10))"),
    ("log2(x)", "x", "1/(x*log(2))"),
    ("atan(x)", "x", "1/(1 + x**2)"),
    ("atan2(y, x)", "y", "x/(y**2 + x**2)"),
    ("atan2(y, x)", "x", "-(y/(y**2 + x**2))"),
    ("sinh(x)", "x", "cosh(x)"),
    ("cosh(x)", "x", "sinh(x)"),
    ("hypot(x, y)", "x", "x/hypot(x, y)"),
    ("pow(x, y)", "x", "y*x**(y - 1)"),
])
def test_derivative_programs(run, text, wrt, printed):
    result = run("diff", text, "--wrt", wrt, "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["derivative"] == printed
    # read back, the printed derivative is the reverse pass's gradient
    point = {"x": 0.7, "y": -1.3}
    gradient = cgcalc.evaluate(cgcalc.parse(text), point, wrt=[wrt]).gradients[wrt]
    again = cgcalc.parse(printed)
    assert cgcalc.evaluate(again, {k: v for k, v in point.items() if k in again.variables},
                           wrt=[]).value == pytest.approx(gradient, rel=1e-15)


def test_exact_mode_gives_the_rational_ones_exactly(run):
    result = run("hypot(x, y)", "x=3", "y=4", "--exact", "--json")
    assert json.loads(result.stdout) == {"value": 5, "exact": True,
                                         "gradients": {"x": 0.6, "y": 0.8}}
    result = run("atan(x)", "x=8", "--exact", "--json")
    assert json.loads(result.stdout)["exact_gradients"] == {"x": "1/65"}


def installed_cgcalc():
    exe = Path(sys.executable).with_name("cgcalc")
    return str(exe) if exe.exists() else shutil.which("cgcalc")


def test_through_the_installed_command(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run([installed_cgcalc(), "atan2(y, x) + hypot(x, y) + log2(x)", "x=4", "y=3",
                           "--json"], capture_output=True, text=True, cwd=tmp_path, env=env,
                          timeout=60)
    assert (done.returncode, done.stderr) == (0, "")
    # -3/25 + 4/5 + 1/(4 log 2) and 4/25 + 3/5
    assert json.loads(done.stdout) == {"value": 7.643501108793284,
                                       "gradients": {"y": 0.76, "x": 1.0406737602222407}}


# -- max and min: of two inputs element-wise, of one array (or along an axis) a reduction ----------

@pytest.mark.parametrize("text, bindings, value, gradients", [
    ("max(x, y)", {"x": 1.0, "y": 2.0}, 2.0, {"x": 0.0, "y": 1.0}),
    ("min(x, y)", {"x": 1.0, "y": 2.0}, 1.0, {"x": 1.0, "y": 0.0}),
    ("max(x, 0)", {"x": -3.0}, 0.0, {"x": 0.0}),
    # at a tie each input gets half, as PyTorch's maximum and JAX's max: the sum stays 1
    ("max(x, y)", {"x": 1.0, "y": 1.0}, 1.0, {"x": 0.5, "y": 0.5}),
    ("min(x, y)", {"x": 1.0, "y": 1.0}, 1.0, {"x": 0.5, "y": 0.5}),
    ("max(x, x)", {"x": 1.0}, 1.0, {"x": 1.0}),
    ("min(x, 2*x)", {"x": 0.0}, 0.0, {"x": 1.5}),
    ("max(x, 0)", {"x": 0.0}, 0.0, {"x": 0.5}),  # relu(x) sends 0 there: relu is a mask
    # a mask, as relu's: the smaller input gets nothing, not 0 times sqrt's infinite slope
    ("max(x, sqrt(y))", {"x": 1.0, "y": 0.0}, 1.0, {"x": 1.0, "y": 0.0}),
])
def test_max_and_min_of_two_numbers(text, bindings, value, gradients):
    result = evaluate(text, **bindings)
    assert (result.value, result.gradients) == (value, gradients)
    arrays = cgcalc.evaluate(cgcalc.parse(text), {k: [v] for k, v in bindings.items()})
    assert (arrays.value.tolist(), {k: g.tolist() for k, g in arrays.gradients.items()}) == (
        [value], {k: [g] for k, g in gradients.items()})


def test_max_and_min_of_arrays_broadcast_and_split_ties():
    result = evaluate("sum(max(X, b) * g)", X=[[1.0, 5.0], [7.0, -2.0]], b=[1.0, 0.0],
                      g=[[1.0, 2.0], [3.0, 4.0]])
    assert result.value == 1 + 10 + 21 + 0
    assert result.gradients["X"].tolist() == [[0.5, 2.0], [3.0, 0.0]]
    assert result.gradients["b"].tolist() == [0.5, 4.0]  # summed over the rows


@pytest.mark.parametrize("text, value, gradient", [
    ("max(X)", 7.0, [[0.0, 0.0], [1.0, 0.0]]),
    ("min(X)", -2.0, [[0.0, 0.0], [0.0, 1.0]]),
    ("sum(max(X, axis=0) * g)", 7 + 10, [[0.0, 2.0], [1.0, 0.0]]),
    ("sum(min(X, axis=1) * g)", 1 - 4, [[1.0, 0.0], [0.0, 2.0]]),
    ("sum(min(X, axis=-1) * g)", 1 - 4, [[1.0, 0.0], [0.0, 2.0]]),
    ("sum(sum(X, axis=0) * g)", 8 + 6, [[1.0, 2.0], [1.0, 2.0]]),
    ("sum(sum(X, 0) * g)", 8 + 6, [[1.0, 2.0], [1.0, 2.0]]),  # sum's axis may go unnamed
    ("sum(mean(X, axis=1) * g)", 3 + 5, [[0.5, 0.5], [1.0, 1.0]]),
])
def test_reductions_and_their_axis_keyword(text, value, gradient):
    result = evaluate(text, X=[[1.0, 5.0], [7.0, -2.0]], g=[1.0, 2.0])
    assert result.value == value
    assert result.gradients["X"].tolist() == gradient


def test_an_axis_prints_with_its_keyword_and_reads_back():
    from cgcalc.render.source import to_source

    text = "max(X, axis=1) + sum(X, axis=0) + min(X) + max(X, Y) + mean(X, axis=-1)"
    program = cgcalc.parse("max(X, axis=1) + sum(X, 0) + min(X) + max(X, Y) + mean(X, axis=-1)")
    assert to_source(program) == text
    assert to_source(cgcalc.parse(text)) == text


@pytest.mark.parametrize("args, message", [
    (["sum(X, ax=1)", "-v", "X=[[1, 2]]"],
     "name error at 1:8: sum has no argument named ax; its keyword is axis, as in sum(X, axis=0)"
     "\n  sum(X, ax=1)\n         ^"),
    (["max(axis=1, X)", "-v", "X=[[1, 2]]"],
     "name error at 1:5: max takes an array and, after it, axis=: max(X, axis=0)\n"
     "  max(axis=1, X)\n      ^"),
    (["min(X, 1, axis=0)", "-v", "X=[[1, 2]]"],
     "name error at 1:11: min takes an array and, after it, axis=: min(X, axis=0)\n"
     "  min(X, 1, axis=0)\n            ^"),
    (["exp(x, axis=0)", "x=1"],
     "name error at 1:8: exp takes no keyword arguments\n  exp(x, axis=0)\n         ^"),
    (["reshape(X, shape=2)", "-v", "X=[1, 2]"],
     "name error at 1:12: reshape takes no keyword arguments\n  reshape(X, shape=2)\n"
     "             ^"),
    (["f(x) = 2*x\nf(x, axis=0)", "x=1"],
     "name error at 2:6: f takes no keyword arguments\n  f(x, axis=0)\n       ^"),
    (["max(X, axis=k)", "-v", "X=[1]", "k=0"],
     "name error at 1:13: the axis of max must be a constant integer, not depend on a variable\n"
     "  max(X, axis=k)\n              ^"),
    (["max(a, b, c)", "a=1", "b=2", "c=3"],
     "name error at 1:1: max takes 1 or 2 arguments, got 3\n  max(a, b, c)\n  ^"),
    (["min()"], "name error at 1:1: min takes 1 or 2 arguments, got 0\n  min()\n  ^"),
    (["max(x, axis=0)", "x=2"],
     "evaluation error at 1:1: max(x, axis=0): axis 0 is not an axis of shape ()\n"
     "  max(x, axis=0)\n  ^"),
])
def test_keyword_and_argument_errors(run, args, message):
    result = run(*args)
    assert result.stdout == ""
    assert result.stderr.startswith(f"cgcalc: {message}")
    assert result.exit_code == (1 if "evaluation" in message else 2)


OLD_SPELLING = ("cgcalc: warning: max(X, 0) at 1:5 compares the two element by element; the "
                "largest along axis 0 is max(X, axis=0) (and max(0, X) the element-wise one, "
                "without this warning)\n")


def test_the_old_axis_spelling_is_element_wise_now_and_says_so(run):
    """max(X, 0) was the largest along axis 0: an old program gets a warning, not a silently
    different number; max(0, X) and max(X, axis=0) say which one is meant."""
    X = "X=[[1, 5], [7, -2]]"
    old = run("sum(max(X, 0) * g)", "-v", X, "-v", "g=[1, 2]", "--json")
    assert (old.exit_code, old.stdout, old.stderr) == (
        0, '{"value": 18.0, "gradients": {"X": [[1.0, 2.0], [1.0, 0.0]], "g": [8.0, 5.0]}}\n',
        OLD_SPELLING)
    swapped = run("sum(max(0, X) * g)", "-v", X, "-v", "g=[1, 2]", "--json")
    assert (swapped.stdout, swapped.stderr) == (old.stdout, "")
    axis = run("sum(max(X, axis=0) * g)", "-v", X, "-v", "g=[1, 2]", "--json")
    assert (axis.stdout, axis.stderr) == (
        '{"value": 17.0, "gradients": {"X": [[0.0, 2.0], [1.0, 0.0]], "g": [7.0, 5.0]}}\n', "")
    minimum = run("min(X, -1)", "-v", X, "--json")
    assert minimum.stderr.startswith(
        "cgcalc: warning: min(X, -1) at 1:1 compares the two element by element; the smallest "
        "along axis -1 is min(X, axis=-1) (and min(-1, X) the element-wise one, without this "
        "warning)\n")


@pytest.mark.parametrize("text", ["max(X, 2)", "max(X, 0.5)", "max(X, y)", "max(x, 0)"])
def test_no_warning_where_no_axis_was_meant(run, text):
    """Not an axis of X, not a whole number, a variable, a number: never an axis."""
    result = run(text, "-v", "X=[[1, 5], [7, -2]]", "y=0", "x=3", "--json", "--wrt", "X")
    assert "compares the two" not in result.stderr


def test_batch_rows_are_numbers_and_get_no_warning(run, tmp_path):
    rows = tmp_path / "rows.csv"
    rows.write_text("x,y\n1,2\n3,3\n")
    result = run("batch", "max(x, 0) + min(x, y)", "--input", str(rows))
    assert (result.exit_code, result.stderr) == (0, "")
    assert [json.loads(line) for line in result.stdout.splitlines()] == [
        {"row": 1, "value": 2.0, "gradients": {"x": 2.0, "y": 0.0}},
        {"row": 2, "value": 6.0, "gradients": {"x": 1.5, "y": 0.5}}]


def test_max_and_min_derivative_programs(run):
    result = run("diff", "max(x, y)", "--wrt", "x")
    assert result.stdout == "(1 + sign(x - y))/2\n"
    result = run("diff", "min(x, y)", "--wrt", "y", "x=1", "y=1")
    assert result.stdout == "(1 + sign(x - y))/2\n# ∂value/∂y = 0.5\n"
    result = run("diff", "max(x, 0)*x", "--wrt", "x", "--json")
    assert json.loads(result.stdout)["derivative"] == "max(x, 0) + (1 + sign(x))/2*x"


def test_max_through_the_installed_command(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run([installed_cgcalc(), "max(x, y) + min(X, axis=0)", "x=2", "y=2", "-v",
                           "X=[3, 1]", "--json"], capture_output=True, text=True, cwd=tmp_path,
                          env=env, timeout=60)
    assert (done.returncode, done.stderr) == (0, "")
    assert json.loads(done.stdout) == {"value": 3.0, "gradients": {
        "x": 0.5, "y": 0.5, "X": [0.0, 1.0]}}


@pytest.mark.parametrize("args", [["y=0", "x=-1"], ["-v", "y=[0]", "-v", "x=[-1]"],
                                  ["y=0", "x=-1", "--exact"]])
def test_atan2_of_a_negative_zero_is_pi_in_every_mode(run, args):
    """atan2(-0.0, -1) was -pi with floats (outside (-pi, pi]) and pi with --exact."""
    value = json.loads(run("atan2(-y, x)", *args, "--json").stdout)["value"]
    assert float(value[0] if isinstance(value, list) else value) == math.pi


def test_a_negative_axis_is_written_as_a_number_in_the_message(run):
    """It was written sum(X, axis=neg): the minus sign's operation, not the number."""
    result = run("sum(X, axis=-3)", "-v", "X=[[1]]")
    assert result.exit_code == 1
    assert result.stderr.splitlines()[0] == ("cgcalc: evaluation error at 1:1: sum(X, axis=-3): "
                                             "axis -3 is not an axis of shape (1, 1)")
