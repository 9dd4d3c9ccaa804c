"""Issue 17's functions: log10 log2 atan atan2 sinh cosh pow hypot, and max/min of two inputs.

Their derivatives are checked against SymPy in test_oracle.py, their rules against their
backward in test_derivative.py and the three engines' agreement in test_three_modes.py;
here: exact values, the messages at the edges of their domains, and derivative programs.
"""

import json
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
