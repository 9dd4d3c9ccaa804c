"""`cgcalc check`: backpropagation against central differences, on scalars and on arrays."""

import json

import pytest

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
    assert x.max_abs == pytest.approx(1e-6, rel=1e-3)  # the central difference error is h**2 exactly


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
    assert lines[:5] == ["value = 6", "", "variable  shape   max abs diff  max rel diff  check",
                         "x         scalar       3.3e-12       1.1e-12  pass",
                         "y         scalar             0             0  pass"]
    assert lines[6].startswith("backpropagation      1 forward and 1 backward pass")
    assert lines[7].startswith("central differences  4 forward passes, h = 0.0001")
    assert lines[9] == "passed: tolerance 1e-06 (absolute, relative above 1)"


def test_a_kink_fails_with_exit_1(run):
    result = run("check", "relu(x)", "x=0", "--json")
    assert result.exit_code == 1
    doc = json.loads(result.stdout)  # the report is printed before the failure
    assert doc["passed"] is False
    assert doc["variables"]["x"] == {"shape": [], "max_abs_diff": 0.5, "max_rel_diff": 1.0,
                                     "passed": False}
    assert result.stderr == ("cgcalc: gradient check failed: x: backpropagation and central "
                             "differences differ by more than --tol 1e-06\n")
    assert run("check", "relu(x)", "x=0", "--tol", "1").exit_code == 0


def test_class_indices_are_skipped_and_wrt_limits(run):
    result = run("check", "softmax_cross_entropy(s, t)", "-v", "s=[[1, 2, 3]]", "-v", "t=[2]",
                 "--json")
    doc = json.loads(result.stdout)
    assert doc["passed"] is True
    assert doc["variables"]["t"] == {"shape": [1], "max_abs_diff": None, "max_rel_diff": None,
                                     "passed": None}
    assert "skipped: not differentiable" in run("check", "softmax_cross_entropy(s, t)", "-v",
                                                "s=[[1, 2, 3]]", "-v", "t=[2]").stdout
    only = json.loads(run("check", "x*y", "x=2", "y=3", "--wrt", "y", "--json").stdout)
    assert list(only["variables"]) == ["y"] and only["forward_passes"] == 2


def test_errors_while_perturbing_name_the_point(run):
    result = run("check", "log(x)", "x=0.00005")
    assert result.exit_code == 1
    assert result.stderr.splitlines()[0] == (
        "cgcalc: evaluation error at 1:1: central difference at x = -5e-05: log(-5e-05) is "
        "undefined (log is defined for x > 0)")
    assert run("check", "x", "x=1", "--step", "0").exit_code == 2
