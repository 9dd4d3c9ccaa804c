"""`--explain`: the reverse pass line by line, with the book's numbers."""

import pytest

import cgcalc
from cgcalc.expand import expand
from cgcalc.ops import FUNCTIONS, OPERATORS, Neg
from cgcalc.render.explain import explain
from conftest import APPLE, APPLE_ORANGE, APPLE_ORANGE_NAMED

INTRO = ["upstream gradient by the local derivative (the chain rule).", ""]
MUL = "  y = a * b: a product swaps its inputs; ∂y/∂a = b, ∂y/∂b = a"
ADD = "  y = a + b: a sum passes the upstream gradient on unchanged; ∂y/∂a = 1, ∂y/∂b = 1"


def explained(text, **bindings):
    return explain(cgcalc.evaluate(cgcalc.parse(text), bindings))


def test_apple_orange_line_by_line_with_the_books_numbers(run):
    words = [f"{name}={value}" for name, value in APPLE_ORANGE.items()]
    result = run("-f", "-", *words, "--explain", input=APPLE_ORANGE_NAMED)
    assert result.exit_code == 0, result.output
    tables, _, steps = result.stdout.partition("\nThe reverse pass, from price back to the "
                                               "variables: each step multiplies the\n")
    assert tables.splitlines()[:3] == ["price = 715", "", "variable    value  ∂price/∂variable"]
    assert steps.splitlines() == INTRO[:1] + [
        "",
        "∂price/∂price = 1",
        "",
        "price = all_price * tax = 715",
        MUL,
        "  ∂price/∂all_price = ∂price/∂price · tax = 1 · 1.1 = 1.1",
        "  ∂price/∂tax = ∂price/∂price · all_price = 1 · 650 = 650",
        "",
        "all_price = apple_price + orange_price = 650",
        ADD,
        "  ∂price/∂apple_price = ∂price/∂all_price · 1 = 1.1 · 1 = 1.1",
        "  ∂price/∂orange_price = ∂price/∂all_price · 1 = 1.1 · 1 = 1.1",
        "",
        "orange_price = orange * orange_num = 450",
        MUL,
        "  ∂price/∂orange = ∂price/∂orange_price · orange_num = 1.1 · 3 = 3.3",
        "  ∂price/∂orange_num = ∂price/∂orange_price · orange = 1.1 · 150 = 165",
        "",
        "apple_price = apple * apple_num = 200",
        MUL,
        "  ∂price/∂apple = ∂price/∂apple_price · apple_num = 1.1 · 2 = 2.2",
        "  ∂price/∂apple_num = ∂price/∂apple_price · apple = 1.1 · 100 = 110",
        "",
        "Each variable's gradient is the sum over its uses:",
        "  ∂price/∂apple = 2.2",
        "  ∂price/∂apple_num = 110",
        "  ∂price/∂orange = 3.3",
        "  ∂price/∂orange_num = 165",
        "  ∂price/∂tax = 650",
    ]


def test_the_issues_example_line():
    lines = explained("apple_price = apple*apple_num; price = apple_price*tax", **APPLE)
    assert "  ∂price/∂apple_price = ∂price/∂price · tax = 1 · 1.1 = 1.1" in lines
    assert lines[-3:] == ["  ∂price/∂apple = 2.2", "  ∂price/∂apple_num = 110",
                          "  ∂price/∂tax = 200"]


def test_a_variable_used_several_times_sums_its_uses():
    lines = explained("x*x + 3*x", x=2)
    assert lines[3:] == [
        "∂value/∂value = 1",
        "",
        "value = mul₁ + mul₂ = 10",
        ADD,
        "  ∂value/∂mul₁ = ∂value/∂value · 1 = 1 · 1 = 1",
        "  ∂value/∂mul₂ = ∂value/∂value · 1 = 1 · 1 = 1",
        "",
        "mul₂ = 3 * x = 6",
        MUL,
        "  ∂value/∂x = ∂value/∂mul₂ · 3 = 1 · 3 = 3",  # the literal 3 has no line of its own
        "",
        "mul₁ = x * x = 4",
        MUL,
        "  ∂value/∂x = ∂value/∂mul₁ · x = 1 · 2 = 2",
        "  ∂value/∂x = ∂value/∂mul₁ · x = 1 · 2 = 2",
        "",
        "Each variable's gradient is the sum over its uses:",
        "  ∂value/∂x = 3 + 2 + 2 = 7",
    ]


def test_a_reassigned_name_has_its_versions_apart():
    assert explained("x = x*2; x*x", x=3)[3:] == [
        "∂value/∂value = 1",
        "",
        "value = x₁ * x₁ = 36",
        MUL,
        "  ∂value/∂x₁ = ∂value/∂value · x₁ = 1 · 6 = 6",
        "  ∂value/∂x₁ = ∂value/∂value · x₁ = 1 · 6 = 6",
        "",
        "x₁ = x * 2 = 6",
        MUL,
        "  ∂value/∂x₁ = 6 + 6 = 12, the sum over its uses",
        "  ∂value/∂x = ∂value/∂x₁ · 2 = 12 · 2 = 24",
        "",
        "Each variable's gradient is the sum over its uses:",
        "  ∂value/∂x = 24",
    ]
    lines = explained("h = a*2; h = h + 1; h", a=1)
    assert lines[3:6] == ["∂h₂/∂h₂ = 1", "", "h₂ = h₁ + 1 = 3"]
    assert "  ∂h₂/∂a = ∂h₂/∂h₁ · 2 = 1 · 2 = 2" in lines


def test_a_shared_named_node_adds_up_its_uses_before_passing_on():
    lines = explained("a = x*y; a*a - x", x=2, y=3)
    i = lines.index("a = x * y = 6")
    assert lines[i + 1:i + 5] == [
        MUL,
        "  ∂value/∂a = 6 + 6 = 12, the sum over its uses",
        "  ∂value/∂x = ∂value/∂a · y = 12 · 3 = 36",
        "  ∂value/∂y = ∂value/∂a · x = 12 · 2 = 24",
    ]
    assert lines[-2:] == ["  ∂value/∂x = -1 + 36 = 35", "  ∂value/∂y = 24"]


def test_negative_factors_in_parentheses_and_rules_written_with_the_inputs_names():
    lines = explained("relu(-x) + x**2 + cos(x)", x=3)
    assert "  ∂value/∂x = ∂value/∂cos₁ · (-sin(x)) = 1 · (-0.1411200081) = -0.1411200081" in lines
    assert "  ∂value/∂x = ∂value/∂pow₁ · (2*x**(2 - 1)) = 1 · 6 = 6" in lines
    assert "  ∂value/∂neg₁ = ∂value/∂relu₁ · step(neg₁) = 1 · 0 = 0" in lines
    assert "  ∂value/∂x = ∂value/∂neg₁ · (-1) = 0 · (-1) = 0" in lines
    assert "  y = relu(x): a mask: the gradient passes only where the input is positive; " \
           "∂y/∂x = step(x)" in lines
    assert lines[-1] == "  ∂value/∂x = -0.1411200081 + 6 + 0 = 5.858879992"


def test_expanded_sigmoid_shows_the_books_four_backward_steps():
    program, _ = expand(cgcalc.parse("sigmoid(x)"))
    lines = explain(cgcalc.evaluate(program, {"x": 0.5}))
    steps = [line for line in lines if line.startswith("  ∂value/∂")]
    assert steps == [
        "  ∂value/∂add₁ = ∂value/∂value · (-value/add₁) = 1 · (-0.387455619) = -0.387455619",  # −y²
        "  ∂value/∂exp₁ = ∂value/∂add₁ · 1 = (-0.387455619) · 1 = -0.387455619",
        "  ∂value/∂neg₁ = ∂value/∂exp₁ · exp₁ = (-0.387455619) · 0.6065306597 = -0.2350037122",
        "  ∂value/∂x = ∂value/∂neg₁ · (-1) = (-0.2350037122) · (-1) = 0.2350037122",
        "  ∂value/∂x = 0.2350037122",
    ]
    fused = explained("sigmoid(x)", x=0.5)
    assert "  ∂value/∂x = ∂value/∂value · (value*(1 - value)) = 1 · 0.2350037122 = 0.2350037122" \
        in fused


def test_every_operation_has_its_rule_in_words_and_symbols():
    for op in {*FUNCTIONS.values(), *OPERATORS.values(), Neg}:
        words, local = op.rule
        fewest, most = op.arity if isinstance(op.arity, tuple) else (op.arity, op.arity)
        assert words and fewest <= len(local) <= (most or len(local)), op.name
    text = ("relu(x) + abs(x) + sqrt(x) + exp(x) + log(x) + sin(x) + cos(x) + tan(x) + tanh(x)"
            " + sigmoid(x) + x**y + x/y - x*y + -x")
    lines = explained(text, x=0.5, y=2)
    # one step into x from every operation but + and -, whose inputs are not x itself
    assert sum(line.startswith("  ∂value/∂x = ∂value/∂") for line in lines) == 14


def test_output_that_is_a_variable_and_wrt(run):
    assert explained("x", x=2)[3:] == [
        "∂x/∂x = 1", "", "Each variable's gradient is the sum over its uses:", "  ∂x/∂x = 1"]
    result = run("x*y", "x=2", "y=3", "--explain", "--wrt", "y")
    assert result.stdout.splitlines()[-2:] == ["Each variable's gradient is the sum over its uses:",
                                               "  ∂value/∂y = 2"]


def test_explain_is_text_not_json(run):
    result = run("x", "x=1", "--explain", "--json")
    assert result.exit_code == 2
    assert "--explain prints text, not JSON" in result.stderr


@pytest.mark.parametrize("precision, line", [
    (3, "  ∂value/∂x = ∂value/∂value · 1/3 = 1 · 0.333 = 0.333"),
    (17, "  ∂value/∂x = ∂value/∂value · 1/3 = 1 · 0.33333333333333331 = 0.33333333333333331"),
])
def test_precision(run, precision, line):
    result = run("x/3", "x=1", "--explain", "--precision", str(precision))
    assert line in result.stdout.splitlines()
