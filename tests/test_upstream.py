"""--upstream and --of (issue 15): the gradient the output receives, and which name is differentiated."""

import json

import numpy as np
import pytest

import cgcalc
from conftest import APPLE


def evaluate(text, upstream=None, of=None, **bindings):
    return cgcalc.evaluate(cgcalc.parse(text), bindings, upstream=upstream, of=of)


def test_the_books_multiplication_node_with_upstream_1_3():
    result = evaluate("x*y", upstream=1.3, x=10, y=5)
    assert result.value == 50.0
    assert result.gradients == {"x": 6.5, "y": 13.0}


def test_the_books_addition_node_passes_1_3_on():
    result = evaluate("x + y", upstream=1.3, x=10, y=5)
    assert result.value == 15.0
    assert result.gradients == {"x": 1.3, "y": 1.3}


def test_upstream_scales_every_gradient_of_the_apple_example():
    result = evaluate("apple*apple_num*tax", upstream=2, **APPLE)
    assert result.gradients == {"apple": 4.4, "apple_num": 220.00000000000003, "tax": 400.0}


def test_affine_backward_with_a_given_dy():
    """The book's Affine layer on a batch of two, dY given: dX = dY·Wᵀ, dW = Xᵀ·dY, dB = Σ dY."""
    X = [[1.0, 2.0], [3.0, 4.0]]
    W = [[1.0, 0.0, 2.0], [0.0, 1.0, 1.0]]
    B = [1.0, 2.0, 3.0]
    dY = [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]
    result = evaluate("affine(X, W, B)", upstream=dY, X=X, W=W, B=B)
    assert result.warnings == []  # not "the sum of its elements": the upstream is given
    assert result.gradients["X"].tolist() == [[7.0, 5.0], [16.0, 11.0]]  # dY·Wᵀ
    assert result.gradients["W"].tolist() == [[13.0, 17.0, 21.0], [18.0, 24.0, 30.0]]  # Xᵀ·dY
    assert result.gradients["B"].tolist() == [5.0, 7.0, 9.0]  # the book's dB
    assert np.array_equal(result.gradients["X"], np.array(dY) @ np.array(W).T)


def test_a_number_as_upstream_of_an_array_value_is_that_number_everywhere():
    result = evaluate("x*y", upstream=3, x=[1.0, 2.0], y=5)
    assert result.gradients["x"].tolist() == [15.0, 15.0]
    assert result.gradients["y"] == 9.0


@pytest.mark.parametrize("upstream, message", [
    ([1.0, 2.0], "the upstream gradient has shape (2,) but the value has shape (): it must have "
                 "the value's shape (or be a number)"),
    (float("inf"), "the upstream gradient must be a finite number, not inf"),
    ("abc", "the upstream gradient must be a number or an array of numbers, not 'abc'"),
])
def test_an_upstream_that_does_not_fit_is_a_binding_error(upstream, message):
    with pytest.raises(cgcalc.BindingError) as caught:
        evaluate("x*y", upstream=upstream, x=10, y=5)
    assert caught.value.message == message


def test_of_differentiates_a_named_intermediate():
    text = "apple_price = apple*apple_num; price = apple_price*tax"
    result = evaluate(text, of="apple_price", **APPLE)
    assert result.value == 200.0
    assert result.gradients == {"apple": 2.0, "apple_num": 100.0, "tax": 0.0}
    assert evaluate(text, **APPLE).value == 220.00000000000003  # the program is unchanged


def test_of_a_reassigned_name_is_its_newest_value():
    result = evaluate("a = x*2; a = a + 1; b = a*a", of="a", x=1)
    assert (result.value, result.gradients) == (3.0, {"x": 2.0})


def test_of_an_unknown_name_says_which_names_there_are():
    with pytest.raises(cgcalc.UnknownNameError) as caught:
        evaluate("apple_price = apple*apple_num; apple_price*tax", of="orange", **APPLE)
    assert caught.value.message == ("orange is not a name of the program (its names: "
                                    "apple_price, apple, apple_num, tax)")


def test_cli_upstream_table_json_explain_and_picture(run):
    table = run("x*y", "x=10", "y=5", "--upstream", "1.3")
    assert table.exit_code == 0
    assert table.stdout.splitlines()[0] == "value = 50"
    assert [line.split() for line in table.stdout.splitlines()[4:]] == [
        ["x", "10", "6.5"], ["y", "5", "13"]]
    doc = json.loads(run("x*y", "x=10", "y=5", "--upstream", "1.3", "--json").stdout)
    assert doc == {"value": 50.0, "gradients": {"x": 6.5, "y": 13.0}}
    explained = run("x*y", "x=10", "y=5", "--upstream", "1.3", "--explain").stdout.splitlines()
    assert "∂L/∂value = 1.3, the upstream gradient" in explained
    assert "  ∂L/∂x = ∂L/∂value · y = 1.3 · 5 = 6.5" in explained
    assert "  ∂L/∂y = ∂L/∂value · x = 1.3 · 10 = 13" in explained
    tree = run("graph", "x*y", "x=10", "y=5", "--upstream", "1.3", "--format", "tree").stdout
    assert tree.splitlines()[:3] == ["× = 50  ∂ 1.3", "├── x = 10  ∂ 6.5", "└── y = 5  ∂ 13"]
    dot = run("graph", "x*y", "x=10", "y=5", "--upstream", "1.3").stdout
    assert ('out_0 [label=<<TABLE BORDER="0" CELLSPACING="0" CELLPADDING="1"><TR><TD>50</TD></TR>'
            '<TR><TD PORT="line" HEIGHT="1" BORDER="1" SIDES="B" CELLPADDING="0"></TD></TR><TR><TD>'
            '<FONT COLOR="#d62728">1.3</FONT></TD></TR></TABLE>>') in dot  # 1.3 arrives at the output


def test_cli_upstream_array_is_json(run):
    result = run("affine(X, W, B)", "-v", "X=[[1, 2], [3, 4]]", "-v", "W=[[1, 0, 2], [0, 1, 1]]",
                 "-v", "B=[1, 2, 3]", "--upstream", "[[1, 2, 3], [4, 5, 6]]", "--json", "--wrt", "B")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["gradients"] == {"B": [5.0, 7.0, 9.0]}
    assert result.stderr == ""


def test_cli_of_and_its_errors(run):
    result = run("apple_price = apple*apple_num; price = apple_price*tax", "apple=100",
                 "apple_num=2", "tax=1.1", "--of", "apple_price", "--json")
    assert json.loads(result.stdout) == {"value": 200.0, "gradients": {
        "apple": 2.0, "apple_num": 100.0, "tax": 0.0}}
    bad = run("a = x*2; a*3", "x=1", "--of", "b")
    assert (bad.exit_code, bad.stdout) == (2, "")
    assert bad.stderr == "cgcalc: name error: b is not a name of the program (its names: a, x)\n"
    wrong = run("x*y", "x=10", "y=5", "--upstream", "abc")
    assert (wrong.exit_code, wrong.stdout) == (2, "")
    assert wrong.stderr == ("cgcalc: binding error: --upstream=abc: 'abc' is not a number "
                            "(a constant expression such as pi/4 is fine too)\n")


def test_of_works_on_expanded_programs(run):
    result = run("s = sigmoid(x); s*3", "x=0", "--expand", "--of", "s", "--json")
    assert json.loads(result.stdout) == {"value": 0.5, "gradients": {"x": 0.25}}


def test_the_table_says_the_gradients_are_of_l_downstream(run):
    """With an upstream gradient the table's gradients are ∂L/∂variable, not ∂value/∂variable."""
    out = run("x*y", "x=10", "y=5", "--upstream", "1.3")
    assert out.exit_code == 0
    assert out.stdout == ("value = 50\nupstream ∂L/∂value = 1.3\n\nvariable  value  ∂L/∂variable\n"
                          "x            10           6.5\ny             5            13\n")
    plain = run("x*y", "x=10", "y=5").stdout
    assert "upstream" not in plain and "∂value/∂variable" in plain
