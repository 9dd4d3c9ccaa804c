"""`cgcalc check`: backpropagation against central differences, on scalars and on arrays."""

import json

import pytest
from hypothesis import given, settings, strategies as st

import cgcalc
from cgcalc.check import gradient_check
from conftest import APPLE_ORANGE, APPLE_ORANGE_EXPR
from test_cli_arrays import TWO_LAYER, TWO_LAYER_LOSS


def test_scalar_program_passes_with_both_times():
    check = gradient_check(cgcalc.parse(APPLE_ORANGE_EXPR), APPLE_ORANGE)
    assert check.passed and check.forward_passes == 10
    assert [v.name for v in check.variables] == list(APPLE_ORANGE)
    assert all(v.shape == () and v.max_abs < 1e-6 for v in check.variables)
    assert check.backprop_seconds > 0 and check.numerical_seconds > 0


def test_central_differences_of_a_known_derivative():
    check = gradient_check(cgcalc.parse("x**3"), {"x": 2.0}, step=1e-3)
    (x,) = check.variables
    assert x.step == 2e-3  # relative: step * max(1, |x|)
    assert x.max_abs == pytest.approx(4e-6, rel=1e-3)  # the central difference error is h**2 exactly


def test_two_layer_network_passes_through_the_cli(run):
    result = run("check", TWO_LAYER_LOSS, "--vars", TWO_LAYER, "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["passed"] is True and doc["tolerance"] == 1e-6 and doc["step"] == 1e-4
    assert {name: v["shape"] for name, v in doc["variables"].items()} == {
        "X": [3, 4], "W1": [4, 5], "b1": [5], "W2": [5, 3], "b2": [3], "t": [3, 3]}
    assert all(v["passed"] and v["max_abs_diff"] < 1e-8 for v in doc["variables"].values())
    assert doc["forward_passes"] == 2 * (12 + 20 + 5 + 15 + 3 + 9)
    assert set(doc["seconds"]) == {"backprop", "central_differences"}


def test_table(run):
    result = run("check", "x*y", "x=2", "y=3")
    assert result.exit_code == 0
    lines = [line.rstrip() for line in result.stdout.splitlines()]
    assert lines[:5] == [
        "value = 6", "",
        "variable  shape   backprop  numerical       h  max abs diff  max rel diff  check",
        "x         scalar         3          3  0.0002       2.2e-12       7.4e-13  pass",
        "y         scalar         2          2  0.0003             0             0  pass"]
    assert lines[6].startswith("backpropagation      1 forward and 1 backward pass")
    assert lines[7].startswith("central differences  4 forward passes, h = 0.0001 × max(1, |x|)")
    assert lines[9] == "passed: tolerance 1e-06 (absolute, relative above 1)"


def test_both_gradients_are_shown_in_the_variables_shape(run):
    """The JSON and the table show what was compared, not only how far apart it was."""
    doc = json.loads(run("check", "sum(W*x**2)", "-v", "W=[[1, 2], [3, 4]]", "x=3",
                         "--json").stdout)
    w, x = doc["variables"]["W"], doc["variables"]["x"]
    assert w["backprop"] == [[9.0, 9.0], [9.0, 9.0]] and x["backprop"] == 60.0
    assert [len(row) for row in w["numerical"]] == [2, 2]
    assert all(abs(n - 9.0) < 1e-6 for row in w["numerical"] for n in row)
    assert abs(x["numerical"] - 60.0) < 1e-6
    assert max(abs(n - 9.0) for row in w["numerical"] for n in row) == w["max_abs_diff"]
    table = run("check", "sum(W*x**2)", "-v", "W=[[1, 0], [0, 0]]", "-v", "x=[2, 3]").stdout
    assert "x         (2,)           4          4" in table  # 2·x·W at the element off most: x[0]
    assert "an array's gradients are shown at its element that differs most: W[" in table
    assert ", x[0]\n" in table


def test_a_kink_fails_with_exit_1(run):
    result = run("check", "relu(x)", "x=0", "--json")
    assert result.exit_code == 1
    doc = json.loads(result.stdout)  # the report is printed before the failure
    assert doc["passed"] is False
    assert doc["variables"]["x"] == {"shape": [], "backprop": 0.0, "numerical": 0.5,
                                     "max_abs_diff": 0.5, "max_rel_diff": 1.0,
                                     "passed": False, "step": 1e-4, "near_edge": 0, "one_sided": 0}
    assert result.stderr == ("cgcalc: gradient check failed: x: backpropagation and central "
                             "differences differ by more than --tol 1e-06\n")
    assert run("check", "relu(x)", "x=0", "--tol", "1").exit_code == 0


def test_class_indices_are_skipped_and_wrt_limits(run):
    result = run("check", "softmax_cross_entropy(s, t)", "-v", "s=[[1, 2, 3]]", "-v", "t=[2]",
                 "--json")
    doc = json.loads(result.stdout)
    assert doc["passed"] is True
    assert doc["variables"]["t"] == {"shape": [1], "backprop": None, "numerical": None,
                                     "max_abs_diff": None, "max_rel_diff": None,
                                     "passed": None, "step": None, "near_edge": 0, "one_sided": 0}
    assert "skipped: not differentiable" in run("check", "softmax_cross_entropy(s, t)", "-v",
                                                "s=[[1, 2, 3]]", "-v", "t=[2]").stdout
    only = json.loads(run("check", "x*y", "x=2", "y=3", "--wrt", "y", "--json").stdout)
    assert list(only["variables"]) == ["y"] and only["forward_passes"] == 2


@pytest.mark.parametrize("text, x", [("x**3", 1e8), ("x", 1e20), ("x**2 + 1e30", 3e15)])
def test_the_step_is_relative_to_x(run, text, x):
    """A fixed h = 1e-4 is rounded away at 1e20 (a division by zero) or swamped at 1e8."""
    result = run("check", text, f"x={x!r}", "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)["variables"]["x"]
    assert doc["passed"] is True and doc["step"] == 1e-4 * x and doc["max_rel_diff"] < 1e-8


@pytest.mark.parametrize("text, x", [("sin(x)", 1000.0), ("exp(x)", 100.0), ("sin(x)", 50.0)])
def test_functions_that_vary_on_a_scale_of_1_get_a_second_opinion(text, x):
    """h = 1e-4·|x| is too coarse for sin(x) at x = 1000; h = 1e-4 is not, and is kept."""
    (v,) = gradient_check(cgcalc.parse(text), {"x": x}).variables
    assert v.passed and v.step == 1e-4 and v.max_rel < 1e-8


@pytest.mark.parametrize("text, x, gradient", [
    ("1/x", 0.1, -100.0), ("x**-1", 0.04553890745498235, -482.20841605307766),
    ("tan(z**2)*z", -1.2610417362075323, 8374.14136313537),
])
def test_a_program_that_curves_sharply_on_the_scale_of_h_passes(text, x, gradient):
    """Central differences over h = 1e-4 were out of --tol for right gradients (1/x at 0.1:
    -100.0001, FAIL); extrapolated with a difference over h/2 they are within it."""
    program = cgcalc.parse(text)
    (v,) = gradient_check(program, {program.free_variables()[0]: x}).variables
    assert v.passed and v.backprop == [gradient] and v.max_rel < 1e-7


def test_a_wrong_gradient_is_as_far_from_the_extrapolated_one(run):
    """relu at its kink: the mask's 0 against the differences' 0.5, over h and over h/2."""
    doc = json.loads(run("check", "relu(x)", "x=0", "--json").stdout)
    assert (doc["passed"], doc["variables"]["x"]["numerical"], doc["forward_passes"]) == (False, 0.5, 4)


def test_a_step_too_small_to_move_x_is_a_clear_error(run):
    result = run("check", "x", "x=1", "--step", "1e-300")
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr == ("cgcalc: error: the step 1e-300 is too small for x = 1: x + h and "
                             "x - h round to x (a step of 1e-15 or more always moves x)\n")
    assert run("check", "x", "x=0", "--step", "1e-300").exit_code == 0  # 0 ± 1e-300 is not 0
    assert run("check", "x", "x=1", "--step", "0").exit_code == 2


def test_near_an_edge_of_the_domain_the_step_shrinks(run):
    """sqrt(x) at 1e-5: x - 1e-4 is outside; the edge is 1e-5 away, so h = 1e-4 × 1e-5."""
    result = run("check", "sqrt(x)", "x=1e-5")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[3:5] == [
        "x         scalar  158.113883  158.1138832  1e-09         2e-07       1.2e-09  pass",
        "x is nearer than h to an edge of the domain: there h = 0.0001 × the distance to it"]
    (x,) = gradient_check(cgcalc.parse("log(x)"), {"x": 5e-5}).variables
    assert x.passed and x.near_edge == 1 and x.step == pytest.approx(1e-9)
    doc = json.loads(run("check", "sqrt(x)", "-v", "x=[1e-5, 1, 1e-6]", "--json").stdout)
    assert doc["variables"]["x"]["near_edge"] == 2 and doc["variables"]["x"]["passed"] is True
    assert "x: 2 of its elements are nearer than h to an edge of the domain" in \
        run("check", "sqrt(x)", "-v", "x=[1e-5, 1, 1e-6]").stdout


def test_at_an_edge_of_the_domain_differences_are_one_sided(run):
    """x**2.5 is defined for x >= 0 only: at 0, f(0), f(h) and f(2h) give the slope 0."""
    (x,) = gradient_check(cgcalc.parse("x**2.5"), {"x": 0.0}).variables
    assert x.passed and x.one_sided == 1 and x.step == 1e-4
    assert x.max_abs == pytest.approx((2**2.5 - 4) / 2 * 1e-4**1.5)  # the second-order error
    result = run("check", "x**2.5", "x=0")
    assert ("x is at an edge of the domain: one-sided differences of second order, from the "
            "side inside it") in result.stdout.splitlines()


def test_a_point_with_no_side_inside_the_domain_is_named(run):
    result = run("check", "(-x*x)**1.5", "x=0")
    assert result.exit_code == 1 and result.stdout == ""
    assert result.stderr.splitlines()[0] == (
        "cgcalc: evaluation error at 1:7: no difference quotient for x = 0, the program is not "
        "defined on either side of it: at x = 0.0001, (-1e-08) ** 1.5 is undefined (a negative "
        "base needs an integer exponent, and 0 a non-negative one)")


@settings(derandomize=True, max_examples=300, deadline=None)
@given(st.sampled_from(["x**3", "x*x - 3*x", "sin(x)", "cos(x)*x", "sqrt(x*x + 1)", "x/(1 + x*x)",
                        "tanh(x/1000)*x", "log(1 + x*x)"]),
       st.floats(-1e12, 1e12, allow_nan=False))
def test_smooth_programs_pass_at_any_scale(text, x):
    """A right backward rule passes wherever x is, from 0 to 1e12 (none of these has an edge)."""
    (v,) = gradient_check(cgcalc.parse(text), {"x": x}).variables
    assert v.passed, (text, x, v)


@pytest.mark.parametrize("program", ["0.1", "sqrt(log2(2))", "pi"])
def test_a_program_without_variables_is_checked_without_a_table(run, program):
    """Before, the table of no rows stopped check with an internal error (exit 3)."""
    result = run("check", program)
    lines = [line.rstrip() for line in result.stdout.splitlines()]
    assert (result.exit_code, lines[2]) == (
        0, "no variables: the program is a constant, there is nothing to compare")
    assert lines[-1] == "passed: tolerance 1e-06 (absolute, relative above 1)"


@pytest.mark.parametrize("program, bindings, numerical", [
    # the elements' sum overflows: before, numerical nan, "FAIL", and with --json exit 3
    ("W", "W=[1e308, 1e308]", [1.0, 1.0]),
    # 2e16 + 2: the sum cancels the change of the small element; before, 20000.0000000022
    ("W*2", "W=[1e16, 1]", [2.0, 2.0]),
])
def test_an_array_value_is_differenced_element_by_element_then_summed(run, program, bindings,
                                                                      numerical):
    result = run("check", program, "-v", bindings, "--json")
    doc = json.loads(result.stdout)
    assert (result.exit_code, doc["passed"], doc["variables"]["W"]["numerical"]) == (0, True, numerical)
    assert "RuntimeWarning" not in result.stderr


def test_one_sided_differences_of_an_array_at_the_edge_of_its_domain(run):
    """As for a number (x**2.5 at 0, above), with a large element beside it whose sum with
    the others would overflow."""
    doc = json.loads(run("check", "X**2.5", "-v", "X=[0, 1e123, 1e123]", "--json").stdout)
    x = doc["variables"]["X"]
    assert doc["passed"] and x["one_sided"] == 1
    assert x["numerical"][0] == pytest.approx(-(2**2.5 - 4) / 2 * 1e-4**1.5)


def test_a_difference_quotient_that_overflows_is_an_evaluation_error(run):
    """tanh turns from -1 to 1 within the step: f(x + h) - f(x - h) is 3.4e308, more than a
    float holds. Before, the table said the check passed (inf against backprop's 0 is within
    a relative tolerance of inf) and --json stopped with an internal error (exit 3)."""
    for extra in ([], ["--json"]):
        result = run("check", "1.7e308*tanh((x - 0.5e-4)*1e7)", "x=0", *extra)
        assert (result.exit_code, result.stdout, result.stderr) == (
            1, "", "cgcalc: evaluation error: the difference quotient for x is inf: the "
                   "program's value changes by more than a float holds over the step\n")


@pytest.mark.parametrize("option, value, said", [
    ("--tol", "nan", "nan is not a finite number"),
    ("--tol", "1e400", "inf is not a finite number"),
    ("--step", "inf", "inf is not a finite number"),
    ("--step", "0", "0.0 is not in the range x>0"),
])
def test_a_tolerance_or_step_that_is_not_a_finite_positive_number_is_refused(run, option, value,
                                                                              said):
    """Before, nan and inf passed click's range: the JSON report then stopped with an
    internal error (exit 3), and the table compared against them."""
    result = run("check", "x", "x=1", option, value, "--json")
    assert (result.exit_code, result.stdout, result.stderr) == (
        2, "", f"cgcalc: usage error: Invalid value for '{option}': {said} "
               "(see 'cgcalc check --help')\n")
