"""Every number in shared/REFERENCE.md, to the digit (IEEE doubles where it says so)."""

import math

import pytest

import cgcalc
from conftest import APPLE, APPLE_ORANGE, APPLE_ORANGE_EXPR


def run(text, **bindings):
    return cgcalc.evaluate(cgcalc.parse(text), bindings)


def test_apple_shopping():
    r = run("apple_price = apple*apple_num; price = apple_price*tax", **APPLE)
    assert [n.value for n in r.nodes if n.op == "mul"] == [200.0, 220.00000000000003]
    assert r.value == 220.00000000000003
    assert r.gradients == {"apple": 2.2, "apple_num": 110.00000000000001, "tax": 200.0}


def test_apple_shopping_single_expression_same_numbers():
    r = run("apple*apple_num*tax", **APPLE)
    assert r.value == 220.00000000000003
    assert r.gradients == {"apple": 2.2, "apple_num": 110.00000000000001, "tax": 200.0}


def test_apple_and_orange():
    r = run(APPLE_ORANGE_EXPR, **APPLE_ORANGE)
    assert [n.value for n in r.nodes if n.op != "var"] == [200.0, 450.0, 650.0, 715.0000000000001]
    assert r.value == 715.0000000000001
    assert r.gradients == {"apple": 2.2, "apple_num": 110.00000000000001,
                           "orange": 3.3000000000000003, "orange_num": 165.0, "tax": 650.0}
    # rounded as the book prints them
    assert [round(g, 10) for g in r.gradients.values()] == [2.2, 110, 3.3, 165, 650]


def test_apple_and_orange_as_the_book_names_its_nodes():
    r = run("apple_price = apple*apple_num\norange_price = orange*orange_num\n"
            "all_price = apple_price + orange_price\nprice = all_price*tax", **APPLE_ORANGE)
    named = {n.name: (n.value, n.grad) for n in r.nodes if n.op != "var"}
    assert named == {"apple_price": (200.0, 1.1), "orange_price": (450.0, 1.1),
                     "all_price": (650.0, 1.1), "price": (715.0000000000001, 1.0)}


def test_add_node_passes_upstream_unchanged():
    r = run("1.3*(x + y)", x=10, y=5)
    add = next(n for n in r.nodes if n.op == "add")
    assert (add.value, add.grad, add.local) == (15.0, 1.3, (1.0, 1.0))
    assert r.gradients == {"x": 1.3, "y": 1.3}


def test_mul_node_swaps_its_inputs():
    r = run("1.3*(x * y)", x=10, y=5)
    mul = r.nodes[3]
    assert (mul.op, mul.value, mul.grad) == ("mul", 50.0, 1.3)
    assert r.gradients == {"x": 6.5, "y": 13.0}


def test_square_and_chain_rule():
    r = run("(x + y)**2", x=3, y=4)
    assert r.value == 49.0
    assert r.gradients == {"x": 14.0, "y": 14.0}  # 2(x + y)


@pytest.mark.parametrize("x", [-3.0, -0.5, 0.0, 0.5, 3.0])
def test_exp_reciprocal_and_sigmoid_rules(x):
    y = 1 / (1 + math.exp(-x))
    assert run("exp(x)", x=x).gradients["x"] == math.exp(x)
    if x:
        assert run("1/x", x=x).gradients["x"] == pytest.approx(-(1 / x) ** 2, rel=1e-15)
    fused = run("sigmoid(x)", x=x)
    assert fused.value == pytest.approx(y, rel=1e-15)
    assert fused.gradients["x"] == pytest.approx(y * (1 - y), rel=1e-15)
    # the book's composite graph x -> *(-1) -> exp -> +1 -> 1/x gives the same derivative
    composite = run("1/(1 + exp(-x))", x=x)
    assert composite.gradients["x"] == pytest.approx(y * (1 - y), rel=1e-12)


@pytest.mark.parametrize("x, value, grad", [(1.0, 1.0, 1.0), (-0.5, 0.0, 0.0), (-2.0, 0.0, 0.0),
                                            (3.0, 3.0, 1.0), (0.0, 0.0, 0.0)])
def test_relu_mask(x, value, grad):
    r = run("relu(x)", x=x)
    assert (r.value, r.gradients["x"]) == (value, grad)


def test_shared_variable_gradient_is_the_sum_over_its_uses():
    r = run("x*x + 3*x", x=2)
    assert r.gradients == {"x": 7.0}
    assert sum(1 for n in r.nodes if n.op == "var") == 1
