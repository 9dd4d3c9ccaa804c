"""Numbers a person can trust (issue 13): overflow checks that cannot overflow, gradients of
constants, gradients nobody asked for, ReLU's mask, and errors sized for a person."""

import math

import pytest

import cgcalc


def run(text, wrt=None, **bindings):
    return cgcalc.evaluate(cgcalc.parse(text), bindings, wrt=wrt)


# -- finiteness is checked without summing every value ------------------------------------------

@pytest.mark.parametrize("text, bindings, value, gradients", [
    ("1e308 - 1e308", {}, 0.0, {}),
    ("x*1e308 - x*1e308", {"x": 1}, 0.0, {"x": 0.0}),
    ("1e308 + 0", {}, 1e308, {}),
    ("x + 0", {"x": 1e308}, 1e308, {"x": 1.0}),
    ("x + y", {"x": 1e308, "y": 1e308 - 1e300 * 9e7}, 1e308 + (1e308 - 1e300 * 9e7), {"x": 1.0, "y": 1.0}),
])
def test_large_finite_values_are_not_overflows(text, bindings, value, gradients):
    if not math.isfinite(value):
        pytest.skip("the case itself overflows")
    result = run(text, **bindings)
    assert result.value == value
    assert result.gradients == gradients


def test_a_gradient_that_only_overflows_as_a_sum_says_so():
    with pytest.raises(cgcalc.EvaluationError) as error:
        run("x*1e308 + x*1e308", x=1e-300)  # each use sends 1e308; together 2e308
    assert error.value.message == ("the gradient of x overflows to inf: its uses together send "
                                   "more than the largest float")


# -- the gradient of an unbound constant ---------------------------------------------------------

def test_asking_for_the_gradient_of_pi_differentiates_at_pi():
    result = run("sin(pi)*x", wrt=["pi"], x=2)
    assert result.gradients == {"pi": 2 * math.cos(math.pi)}  # -2, as PyTorch says
    assert result.warnings == []  # pi was not rebound by the user: nothing to warn about
    assert result.value == math.sin(math.pi) * 2


def test_asking_for_the_gradient_of_e_differentiates_at_e():
    result = run("log(e)*x", wrt=["e", "x"], x=3)
    assert result.gradients == {"e": 3 / math.e, "x": 1.0}


def test_the_cli_reports_the_gradient_of_pi(run_cli):
    out = run_cli("sin(pi)*x", "x=2", "--wrt", "pi", "--json")
    assert out.exit_code == 0
    assert out.stdout == '{"value": 2.4492935982947064e-16, "gradients": {"pi": -2.0}}\n'


@pytest.fixture
def run_cli(run):
    return run


# -- gradients nobody asked for, and finite answers where the rules divide by zero ---------------

def test_zero_to_a_positive_power_is_zero_with_gradient_zero():
    result = run("0**y", y=0.1)
    assert (result.value, result.gradients) == (0.0, {"y": 0.0})


def test_a_gradient_not_asked_for_does_not_fail_the_run():
    result = run("x**n", wrt=["x"], x=-2, n=3)
    assert (result.value, result.gradients) == (-8.0, {"x": 12.0})


def test_without_wrt_an_undefined_gradient_is_still_an_error():
    with pytest.raises(cgcalc.EvaluationError, match=r"the derivative of \(-2\) \*\* 3 is undefined"):
        run("x**n", x=-2, n=3)


@pytest.mark.parametrize("text", ["sqrt(relu(x))", "relu(x)**0.5", "relu(x)**0.5 + relu(x)",
                                  "log(relu(x) + 1) * sqrt(relu(x))"])
def test_relu_masks_an_infinite_upstream_gradient(text):
    result = run(text, x=-1)
    assert result.gradients == {"x": 0.0}  # PyTorch: 0 (the mask wins over inf and nan)


def test_relu_passes_a_finite_gradient_where_the_input_is_positive():
    assert run("sqrt(relu(x))", x=4).gradients == {"x": 0.25}


def test_an_unmasked_infinite_gradient_is_an_error_at_its_step():
    with pytest.raises(cgcalc.EvaluationError) as error:
        run("sqrt(2*x)", x=0)  # the product passes sqrt's infinite derivative on
    assert error.value.message.startswith("the derivative of sqrt(0) is undefined")


def test_abs_at_zero_passes_nothing_back_in_every_engine():
    """abs, like relu, sends 0 where its input is 0, even an infinite upstream gradient."""
    assert run("sqrt(abs(x))", x=0).gradients == {"x": 0.0}
    assert run("sqrt(abs(x))", x=[0.0, 4.0]).gradients["x"].tolist() == [0.0, 0.25]


def test_the_nodes_of_a_masked_path_show_undefined_gradients_as_none():
    result = run("sqrt(relu(x))", x=-1)
    by_op = {n.op: n for n in result.nodes}
    assert by_op["relu"].grad is None  # d value / d relu(x) is infinite at 0
    assert by_op["var"].grad == 0.0


# -- unbound variables: a message a person can read ----------------------------------------------

def test_many_unbound_variables_are_named_a_few_and_counted():
    text = " + ".join(f"v{k}" for k in range(100_000))
    with pytest.raises(cgcalc.UnboundVariableError) as error:
        run(text)
    assert error.value.message == "unbound variables v0, v1, v2, v3, v4 and 99,995 more"
    assert error.value.names == tuple(f"v{k}" for k in range(100_000))


def test_a_few_unbound_variables_are_all_named():
    with pytest.raises(cgcalc.UnknownNameError) as error:
        run("a*b")
    assert error.value.message == "unbound variables a, b"
    assert error.value.names == ("a", "b")


def test_the_command_line_says_how_to_bind_them():
    from click.testing import CliRunner

    from cgcalc.cli import cli

    def run_cli(*args):
        return CliRunner().invoke(cli, list(args), prog_name="cgcalc")

    text = " + ".join(f"v{k}" for k in range(100_000))
    assert run_cli(text).stderr.splitlines()[0] == (
        "cgcalc: name error at 1:1: unbound variables v0, v1, v2, v3, v4 and 99,995 more; bind "
        "them with -v v0=VALUE -v v1=VALUE -v v2=VALUE -v v3=VALUE -v v4=VALUE ... or --vars FILE")
    assert run_cli("a*b", "b=2").stderr == (
        "cgcalc: name error at 1:1: unbound variable a; bind it with -v a=VALUE\n  a*b\n  ^\n")


def test_unknown_names_are_given_by_name():
    with pytest.raises(cgcalc.UnknownNameError) as error:
        run("x*y", wrt=["x", "z", "w"], x=1, y=2)
    assert error.value.names == ("z", "w")
    with pytest.raises(cgcalc.UnknownNameError) as error:
        cgcalc.parse("sigmod(x)")
    assert error.value.names == ("sigmod",)


# -- arrays: a sum over a broadcast that overflows is an error, not inf ---------------------------

@pytest.mark.parametrize("flags", [[], ["--json"]])
def test_a_broadcast_gradient_whose_sum_overflows_is_an_error(run, flags):
    out = run("x*y", "x=1", "-v", "y=[1e308,1e308]", *flags)
    assert out.exit_code == 1
    assert out.stdout == ""
    assert out.stderr.splitlines()[0] == (
        "cgcalc: evaluation error at 1:2: x * y: the gradient reaching x overflows when summed "
        "over the axes it was broadcast along")


@pytest.mark.parametrize("word", ["x=1; y = 5", "x=y = 3", "x=1\n5"])
def test_a_binding_is_one_constant_expression_not_a_program(word):
    """`-v "x=1; y = 5"` once bound x to 5, the last statement's value: silently wrong."""
    from cgcalc.bindings import parse_binding

    with pytest.raises(cgcalc.BindingError, match="is not a number"):
        parse_binding(word)
