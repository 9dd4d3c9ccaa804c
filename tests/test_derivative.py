"""Derivative programs (issue 15): ∂f/∂x printed in the language, small, readable, and valid."""

import json
import math

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import cgcalc
from cgcalc.differentiate import derivative, hessian, rule_program
from cgcalc.engine import value as forward_value
from cgcalc.ops import FUNCTIONS, OPERATORS, OPERANDS, Neg
from cgcalc.render.source import to_source
from conftest import APPLE_ORANGE, APPLE_ORANGE_EXPR, APPLE_ORANGE_NAMED
from test_reliability import FAST, POINT, programs


def diff(text, *wrt, of=None):
    return to_source(cgcalc.derivative(text, list(wrt), of=of))


def test_library_names_and_no_cost_to_evaluation():
    """cgcalc.derivative and cgcalc.hessian are there; evaluating never loads their module."""
    import subprocess
    import sys

    assert cgcalc.derivative is derivative and cgcalc.hessian is hessian
    code = ("import sys, cgcalc; cgcalc.evaluate(cgcalc.parse('x*y'), {'x': 1, 'y': 2}); "
            "print('cgcalc.differentiate' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True).stdout == "False\n"


# -- they read as a person would write them -----------------------------------------------------

@pytest.mark.parametrize("text, wrt, printed", [
    (APPLE_ORANGE_EXPR, "tax", "apple*apple_num + orange*orange_num"),
    (APPLE_ORANGE_EXPR, "apple", "apple_num*tax"),
    (APPLE_ORANGE_EXPR, "orange_num", "orange*tax"),
    ("sigmoid(x)", "x", "s = sigmoid(x)\ns*(1 - s)"),
    ("-x**2", "x", "-2*x"),
    ("x**3", "x", "3*x**2"),
    ("(x + y)**2", "x", "2*(x + y)"),  # the book's chain rule
    ("x*1 + 0*y + x*0 + 0", "x", "1"),  # *1, +0 and *0 are gone
    ("2*3*x", "x", "6"),  # constants folded
    ("x/3", "x", "1/3"),  # ... where that is no longer to write
    ("exp(x)", "x", "exp(x)"),
    ("log(x)", "x", "1/x"),
    ("x/y", "y", "-(x/y/y)"),
    ("1/(1 + exp(-x))", "x", "ex = exp(-x)\nt = 1 + ex\nex*(1/t/t)"),  # two signs cancel
    ("cos(x)*y", "x", "-(sin(x)*y)"),
    ("2**x", "x", "2**x*log(2)"),
    ("relu(x)", "x", "step(x)"),  # a mask, not abs(x)/x
    ("abs(x)", "x", "sign(x)"),
    ("sin(x*y)", "x", "y*cos(x*y)"),
    ("x*y + 3", "y", "x"),
    ("tanh(x)", "x", "1 - tanh(x)**2"),
    # two constants whose product is longer to write: before, they swapped places for ever
    # (RecursionError, exit 3)
    ("3*0.1*x", "x", "3*0.1"),
    ("x + 3*0.1", "x", "1"),
    ("3 * 10 ^ -pow(x, 0)", "x", "0"),
])
def test_derivatives_read_naturally(text, wrt, printed):
    assert diff(text, wrt) == printed


def test_named_intermediates_keep_their_names_when_shared():
    assert diff("h = x*y; h*h + h", "x") == "h = x*y\ny*(2*h + 1)" or \
        diff("h = x*y; h*h + h", "x").startswith("h = x*y\n")
    assert diff(APPLE_ORANGE_NAMED, "tax") == "apple*apple_num + orange*orange_num"
    assert diff(APPLE_ORANGE_NAMED, "apple", of="apple_price") == "apple_num"


def test_second_and_mixed_derivatives():
    assert diff("sigmoid(x)", "x", "x") == "s = sigmoid(x)\nt = 1 - s\ns*t*(t - s)"
    assert diff("x**3*y", "x", "x", "y") == "6*x"
    assert diff("x*y", "x", "x") == "0"
    assert diff("x + y", "x", "y") == "0"  # y is gone after the first: 0, not an error


def test_generated_names_avoid_the_programs_own():
    printed = diff("s*sigmoid(x)", "x")
    assert printed == "s2 = sigmoid(x)\ns2*(1 - s2)*s"


def test_unknown_variable_and_array_operations_are_errors():
    with pytest.raises(cgcalc.UnknownNameError) as caught:
        derivative("x*y", "z")
    assert caught.value.message == ("cannot differentiate with respect to z: not a variable of "
                                    "the program (its variables: x, y)")
    with pytest.raises(cgcalc.CgcalcError) as caught:
        derivative("sum(x)", "x")
    assert caught.value.message == ("sum works on arrays; derivative programs are written for "
                                    "programs of numbers")


# -- they are the same functions ---------------------------------------------------------------

def outcome(program, bindings=POINT):
    try:
        return forward_value(program, bindings)
    except cgcalc.CgcalcError as error:
        return error.message


@settings(FAST, max_examples=50)
@given(programs(), st.data())
def test_printed_derivatives_parse_back_and_evaluate_alike(text, data):
    program = cgcalc.parse(text)
    assume(program.variables)
    wrt = data.draw(st.sampled_from(sorted(program.variables)), label="wrt")
    derived = derivative(program, wrt)
    printed = to_source(derived)
    again = cgcalc.parse(printed)
    assert to_source(again) == printed
    value = outcome(derived)
    assert outcome(again) == value  # the same number, or the same error
    try:
        gradient = cgcalc.evaluate(program, POINT, wrt=[wrt]).gradients[wrt]
    except cgcalc.CgcalcError:
        return
    if isinstance(value, float):  # where both are defined, they are one derivative
        assert math.isclose(value, gradient, rel_tol=1e-9, abs_tol=1e-9 * (1 + abs(gradient)))


def test_the_printed_text_runs_in_cgcalc_with_the_same_value(run):
    for args in [("sigmoid(x)", "x=0.5"), (APPLE_ORANGE_EXPR, "--wrt", "tax", *[
            f"{k}={v}" for k, v in APPLE_ORANGE.items()]), ("x**3*y", "--wrt", "x", "--order",
                                                            "2", "x=2", "y=3")]:
        doc = json.loads(run("diff", *args, "--json").stdout)
        bindings = [a for a in args if "=" in a]
        again = json.loads(run("-f", "-", *bindings, "--json", input=doc["derivative"]).stdout)
        assert again["value"] == doc["value"]


def test_size_is_linear_in_depth():
    """Nested sigmoids: each level adds the same few characters, never a copy of the rest."""
    sizes = [len(diff("sigmoid(" * n + "x" + ")" * n, "x")) for n in (10, 100, 1000)]
    per_level = [(b - a) / (m - n) for (a, n), (b, m) in zip(zip(sizes, (10, 100)),
                                                                 zip(sizes[1:], (100, 1000)))]
    assert sizes[0] == 305
    assert per_level[1] < 1.15 * per_level[0]  # no faster than linear (digits of s1000 aside)


def test_deep_programs_do_not_recurse():
    text = "sin(" * 5_000 + "x" + ")" * 5_000
    printed = diff(text, "x")
    assert printed.count("\n") == 4_998  # a name for each sin used twice (but the last)
    assert forward_value(cgcalc.parse(printed), {"x": 0.1}) == pytest.approx(
        cgcalc.evaluate(cgcalc.parse(text), {"x": 0.1}).gradients["x"], rel=1e-12)


# -- one description of each derivative ------------------------------------------------------------

SCALAR_OPS = sorted({op for op in (*FUNCTIONS.values(), *OPERATORS.values(), Neg)
                     if not op.array_only}, key=lambda op: op.name)


def test_every_rule_is_a_program_of_its_operands_and_y():
    for op in SCALAR_OPS:
        assert len(op.rule[1]) == op.arity, op.name
        for k in range(op.arity):
            rule = rule_program(op, k)
            assert set(rule.free_variables()) <= {*OPERANDS[op.arity], "y"}, op.name


def inputs(op):
    """Random inputs inside the operation's domain (and off its kinks)."""
    wide = st.floats(-20, 20, allow_nan=False).filter(lambda v: abs(v) > 1e-3)
    positive = st.floats(1e-3, 50, allow_nan=False)
    if op.name in ("log", "log10", "log2", "sqrt"):
        return st.tuples(positive)
    if op.name == "tan":
        return st.tuples(wide.filter(lambda v: abs(math.cos(v)) > 1e-2))
    if op.name == "pow":
        return st.tuples(positive, st.floats(-4, 4, allow_nan=False))
    if op.name == "div":
        return st.tuples(wide, wide)
    return st.tuples(*[wide] * op.arity)


@pytest.mark.parametrize("op", SCALAR_OPS, ids=lambda op: op.name)
@settings(max_examples=60, deadline=None, derandomize=True, database=None)
@given(data=st.data())
def test_numeric_backward_is_its_rule_evaluated(op, data):
    xs = data.draw(inputs(op))
    y = op.forward(*xs)
    bindings = dict(zip(OPERANDS[op.arity], xs), y=y)
    numeric = op.backward(1.0, y, *xs)
    for k in range(op.arity):
        rule = forward_value(rule_program(op, k), bindings)
        assert rule == numeric[k], (op.name, k, xs)


# -- Hessians ----------------------------------------------------------------------------------

def test_hessian_of_the_apple_example_is_its_bilinear_form():
    result = hessian(APPLE_ORANGE_EXPR, APPLE_ORANGE)
    assert result.value == 715.0000000000001
    assert result.variables == ["apple", "apple_num", "orange", "orange_num", "tax"]
    assert result.matrix == [
        [0.0, 1.1, 0.0, 0.0, 2.0],
        [1.1, 0.0, 0.0, 0.0, 100.0],
        [0.0, 0.0, 0.0, 1.1, 3.0],
        [0.0, 0.0, 1.1, 0.0, 150.0],
        [2.0, 100.0, 3.0, 150.0, 0.0],
    ]


def test_hessian_is_exactly_symmetric():
    result = hessian("x**2*y + sin(x*y) + exp(x*z)/y", {"x": 1, "y": 2, "z": -0.5})
    m = result.matrix
    assert all(m[i][j] == m[j][i] for i in range(3) for j in range(3))
    x, y = 1.0, 2.0
    assert m[0][0] == pytest.approx(2 * y - y * y * math.sin(x * y) + 0.25 * math.exp(-0.5) / y,
                                    rel=1e-14)


def test_hessian_of_a_named_intermediate_and_of_a_linear_program():
    assert hessian("a = x*x*y; a + y", {"x": 3, "y": 2}, of="a").matrix == [[4.0, 6.0], [6.0, 0.0]]
    assert hessian("x + 2*y", {"x": 1, "y": 1}).matrix == [[0.0, 0.0], [0.0, 0.0]]


# -- Jacobians ------------------------------------------------------------------------------------

def test_jacobian_of_softmax_is_diag_y_minus_y_yt():
    import numpy as np

    result = cgcalc.jacobian("softmax(x)", {"x": [1.0, 2.0, 3.0]})
    y = result.value
    assert result.warnings == []
    assert np.allclose(result.gradients["x"], np.diag(y) - np.outer(y, y), rtol=1e-15, atol=1e-16)


def test_jacobian_puts_the_values_shape_in_front():
    result = cgcalc.jacobian("x*y", {"x": [1.0, 2.0, 3.0], "y": 2.0})
    assert result.gradients["x"].tolist() == [[2.0, 0.0, 0.0], [0.0, 2.0, 0.0], [0.0, 0.0, 2.0]]
    assert result.gradients["y"].tolist() == [1.0, 2.0, 3.0]
    assert cgcalc.jacobian("x*y", {"x": 2, "y": 3}).gradients == {"x": 3.0, "y": 2.0}


def test_cli_jacobian(run):
    result = run("x*y", "-v", "x=[1, 2]", "y=3", "--jacobian", "--json")
    assert (result.exit_code, result.stderr) == (0, "")
    assert json.loads(result.stdout) == {"value": [3.0, 6.0], "gradients": {
        "x": [[3.0, 0.0], [0.0, 3.0]], "y": [1.0, 2.0]}}
    bad = run("x*y", "-v", "x=[1, 2]", "y=3", "--jacobian", "--upstream", "2")
    assert (bad.exit_code, bad.stdout) == (2, "")
    assert bad.stderr.startswith("cgcalc: usage error: --jacobian takes no --upstream")


def test_cli_jacobian_table_shows_no_upstream(run):
    """The table took the last pass's one-hot seed for an upstream gradient: 'upstream
    ∂L/∂value = [0, 1]' above a column '∂L/∂variable'."""
    result = run("x*y", "-v", "x=[1, 2]", "y=3", "--jacobian")
    assert (result.exit_code, result.stderr) == (0, "")
    assert result.stdout.splitlines() == [
        "value = [3, 6]  shape (2,)", "",
        "variable  shape   value   ∂value/∂variable",
        "x         (2,)    [1, 2]  [[3, 0],",
        "                           [0, 3]]",
        "y         scalar  3       [1, 2]"]


# -- the command line ----------------------------------------------------------------------------

def test_cli_diff(run):
    result = run("diff", APPLE_ORANGE_EXPR, "--wrt", "tax")
    assert (result.exit_code, result.stdout) == (0, "apple*apple_num + orange*orange_num\n")
    result = run("diff", "sigmoid(x)", "x=0.5")
    assert result.stdout == "s = sigmoid(x)\ns*(1 - s)\n# ∂value/∂x = 0.2350037122\n"
    doc = json.loads(run("diff", "sigmoid(x)", "x=0.5", "--json").stdout)
    assert doc == {"wrt": ["x"], "derivative": "s = sigmoid(x)\ns*(1 - s)",
                   "value": 0.2350037122015945}
    doc = json.loads(run("diff", "x**3*y", "--wrt", "x", "--order", "2", "--json").stdout)
    assert doc == {"wrt": ["x", "x"], "derivative": "2*x*(3*y)", "value": None}
    mixed = run("diff", "x**3*y**2", "--wrt", "x", "--wrt", "x", "--wrt", "y", "x=1", "y=1")
    assert mixed.stdout.splitlines()[-1] == "# ∂³value/∂x²∂y = 12"


@pytest.mark.parametrize("args, code, message", [
    (["x*y"], 2, "usage error: say which variable to differentiate by with --wrt NAME (the "
                 "program's variables: x, y) (see 'cgcalc diff --help')"),
    (["x*y", "--wrt", "x", "--wrt", "y", "--order", "2"], 2,
     "usage error: --order N takes one --wrt; for mixed partials repeat --wrt (--wrt x --wrt x "
     "--wrt y) (see 'cgcalc diff --help')"),
    (["x*y", "--wrt", "z"], 2, "name error: cannot differentiate with respect to z: not a "
                                "variable of the program (its variables: x, y)"),
    (["log(x)", "x=-1"], 1, "evaluation error at 1:1: log(-1) is undefined (log is defined for "
                            "x > 0)"),
    (["x*y", "--wrt", "x", "-v", "x=[1, 2]", "y=1"], 2,
     "binding error: derivatives are evaluated at numbers; x is bound to an array"),
])
def test_cli_diff_errors(run, args, code, message):
    result = run("diff", *args)
    assert (result.exit_code, result.stdout) == (code, "")
    assert result.stderr.splitlines()[0] == f"cgcalc: {message}"


def test_cli_hessian(run):
    result = run("hessian", "x**2*y", "x=3", "y=2")
    assert result.exit_code == 0
    assert result.stdout == ("value = 18\n\n∂²value/∂row∂column:\n"
                             "   x  y\nx  4  6\ny  6  0\n")
    doc = json.loads(run("hessian", "x**2*y", "x=3", "y=2", "--json").stdout)
    assert doc == {"value": 18.0, "variables": ["x", "y"], "hessian": [[4.0, 6.0], [6.0, 0.0]]}


def test_source_prints_matrix_products():
    """to_source wrote x @ W as a call, @(x, W), which does not parse."""
    assert to_source(cgcalc.parse("x @ W + b")) == "x @ W + b"


# -- the README's transcripts -------------------------------------------------------------------

def readme_transcripts():
    """($ command, output) pairs of the console blocks of the README's derivatives section."""
    import re
    import shlex
    from pathlib import Path

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Derivatives as programs")[1].split("\n## ")[0]
    pairs = []
    for block in re.findall(r"```console\n(.*?)```", section, re.S):
        for command in re.split(r"^(?=\$ )", block, flags=re.M)[1:]:
            line, _, output = command.partition("\n")
            pairs.append((shlex.split(line[2:])[1:], output))
    return pairs


@pytest.mark.parametrize("args, output", readme_transcripts())
def test_readme_transcripts_are_real_runs(run, args, output):
    result = run(*args)
    assert (result.exit_code, result.stdout) == (0, output)


@pytest.mark.parametrize("op", [FUNCTIONS["max"], FUNCTIONS["min"]], ids=lambda op: op.name)
@pytest.mark.parametrize("a, b", [(1.0, 1.0), (0.0, 0.0), (-2.5, -2.5), (1.0, 2.0), (2.0, -1.0)])
def test_max_and_min_rules_hold_at_ties_too(op, a, b):
    """At a tie each input gets half; the rule (1 ± sign(a - b))/2 says the same."""
    y = op.forward(a, b)
    numeric = op.backward(1.0, y, a, b)
    rules = [forward_value(rule_program(op, k), {"a": a, "b": b, "y": y}) for k in range(2)]
    assert list(numeric) == rules
    assert sum(numeric) == 1.0


def test_hessian_warns_about_the_bindings_as_eval_does(run):
    """Before, hessian said nothing of a binding the program does not use."""
    result = run("hessian", "x*y", "x=1", "y=2", "z=3", "--json")
    assert result.stderr == "cgcalc: warning: z is bound but the program does not use it as a variable\n"
    assert hessian("x*y", {"x": 1, "y": 2, "z": 3}).warnings == [
        "z is bound but the program does not use it as a variable"]


def test_derivatives_of_high_order_stop_with_a_message_before_they_swell(monkeypatch):
    """Each order about doubles a derivative of sigmoid: before, --order 20 ran past a
    minute and 600 MB. (The limit is lowered here to stop at the 9th order.)"""
    from cgcalc import differentiate

    monkeypatch.setattr(differentiate, "GROWTH_LIMIT", 1000)
    assert len(derivative("sigmoid(x)", ["x"] * 8)) == 678
    with pytest.raises(cgcalc.CgcalcError) as stopped:
        derivative("sigmoid(x)", ["x"] * 20)
    assert stopped.value.message == (
        "the derivative of order 9 has grown to 1,471 nodes, and each order about doubles it; "
        "cgcalc stops past 1,060: differentiate fewer times")
