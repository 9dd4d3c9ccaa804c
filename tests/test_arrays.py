"""Arrays: every new operation's gradient against central differences and hand-written NumPy,
broadcasting, the book's shapes and ReLU mask, shape errors, array bindings."""

import subprocess
import sys

import numpy as np
import pytest

import cgcalc
from cgcalc.check import gradient_check

rng = np.random.default_rng(5)
X = rng.normal(size=(3, 4))  # a batch of 3 rows
W = rng.normal(size=(4, 2))
G = rng.normal(size=(3, 2))  # upstream gradients, so no rule is checked at ones only
B = rng.normal(size=2)
P = rng.uniform(0.5, 1.0, size=(3, 4))
P /= P.sum(axis=1, keepdims=True)  # probabilities
T = np.eye(4)[[1, 3, 0]]  # one-hot targets
LABELS = np.array([1.0, 3.0, 0.0])
N = 3


def softmax(x):
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def run(text, **bindings):
    return cgcalc.evaluate(cgcalc.parse(text), bindings)


def spread(rows, cols, picks, g):
    """A zero matrix with g[r] at (r, picks[r]): the gradient of a max along axis 1."""
    out = np.zeros((rows, cols))
    out[np.arange(rows), picks] = g
    return out


# (program, bindings, gradients by hand in NumPy) for every new operation.
CASES = {
    "matmul": ("sum((X @ W) * G)", {"X": X, "W": W, "G": G},
               {"X": G @ W.T, "W": X.T @ G, "G": X @ W}),
    "matmul vector-matrix": ("sum((x @ W) * g)", {"x": X[0], "W": W, "g": G[0]},
                             {"x": W @ G[0], "W": np.outer(X[0], G[0])}),
    "matmul matrix-vector": ("sum((X @ w) * g)", {"X": X, "w": W[:, 0], "g": G[:, 0]},
                             {"X": np.outer(G[:, 0], W[:, 0]), "w": X.T @ G[:, 0]}),
    "matmul vector-vector": ("x @ y", {"x": X[0], "y": X[1]}, {"x": X[1], "y": X[0]}),
    "transpose": ("sum(transpose(X) * Y)", {"X": X, "Y": X.T * 2},
                  {"X": 2 * X, "Y": X.T}),
    "sum": ("sum(X) * 3", {"X": X}, {"X": np.full_like(X, 3.0)}),
    "sum axis 0": ("sum(sum(X, 0) * g)", {"X": X, "g": W[:, 0]},
                   {"X": np.broadcast_to(W[:, 0], X.shape), "g": X.sum(axis=0)}),
    "sum axis -1": ("sum(sum(X, -1) * g)", {"X": X, "g": G[:, 0]},
                    {"X": np.broadcast_to(G[:, :1], X.shape), "g": X.sum(axis=1)}),
    "mean": ("mean(X * X)", {"X": X}, {"X": 2 * X / X.size}),
    "mean axis 1": ("sum(mean(X, 1) * g)", {"X": X, "g": G[:, 0]},
                    {"X": np.broadcast_to(G[:, :1] / 4, X.shape), "g": X.mean(axis=1)}),
    "max": ("max(X) * 2", {"X": X},
            {"X": 2.0 * (np.arange(X.size) == X.argmax()).reshape(X.shape)}),
    "max axis 1": ("sum(max(X, axis=1) * g)", {"X": X, "g": G[:, 0]},
                   {"X": spread(3, 4, X.argmax(axis=1), G[:, 0]), "g": X.max(axis=1)}),
    "sum axis keyword": ("sum(sum(X, axis=0) * g)", {"X": X, "g": W[:, 0]},
                         {"X": np.broadcast_to(W[:, 0], X.shape), "g": X.sum(axis=0)}),
    "mean axis keyword": ("sum(mean(X, axis=-1) * g)", {"X": X, "g": G[:, 0]},
                          {"X": np.broadcast_to(G[:, :1] / 4, X.shape), "g": X.mean(axis=1)}),
    "min": ("min(X) * 2", {"X": X},
            {"X": 2.0 * (np.arange(X.size) == X.argmin()).reshape(X.shape)}),
    "min axis 1": ("sum(min(X, axis=1) * g)", {"X": X, "g": G[:, 0]},
                   {"X": spread(3, 4, X.argmin(axis=1), G[:, 0]), "g": X.min(axis=1)}),
    # element-wise, a row broadcast over the batch: its gradient is summed over the rows
    "maximum": ("sum(max(X, b) * Y)", {"X": X, "b": W[:, 1], "Y": P},
                {"X": P * (X > W[:, 1]), "b": (P * (X < W[:, 1])).sum(axis=0),
                 "Y": np.maximum(X, W[:, 1])}),
    "minimum": ("sum(min(b, X) * Y)", {"X": X, "b": W[:, 1], "Y": P},
                {"X": P * (X < W[:, 1]), "b": (P * (X > W[:, 1])).sum(axis=0),
                 "Y": np.minimum(X, W[:, 1])}),
    "reshape": ("sum(reshape(X, 2, -1) * Y)", {"X": X, "Y": X.reshape(2, 6) ** 2},
                {"X": X ** 2, "Y": X.reshape(2, 6)}),
    "softmax": ("sum(softmax(X) * Y)", {"X": X, "Y": P},
                {"X": softmax(X) * (P - (P * softmax(X)).sum(axis=1, keepdims=True)),
                 "Y": softmax(X)}),
    "log_softmax": ("sum(log_softmax(X) * Y)", {"X": X, "Y": P},
                    {"X": P - softmax(X) * P.sum(axis=1, keepdims=True),
                     "Y": X - X.max(axis=1, keepdims=True)
                     - np.log(np.exp(X - X.max(axis=1, keepdims=True)).sum(axis=1, keepdims=True))}),
    "cross_entropy one-hot": ("cross_entropy(Y, T)", {"Y": P, "T": T},
                              {"Y": -T / P / N, "T": -np.log(P) / N}),
    "cross_entropy indices": ("cross_entropy(Y, t)", {"Y": P, "t": LABELS},
                              {"Y": -T / P / N, "t": None}),
    "affine": ("sum(affine(X, W, b) * G)", {"X": X, "W": W, "b": B, "G": G},
               {"X": G @ W.T, "W": X.T @ G, "b": G.sum(axis=0), "G": X @ W + B}),
    "affine vector": ("sum(affine(x, W, b) * g)", {"x": X[0], "W": W, "b": B, "g": G[0]},
                      {"x": W @ G[0], "W": np.outer(X[0], G[0]), "b": G[0]}),
    "softmax_cross_entropy one-hot": ("softmax_cross_entropy(S, T)", {"S": X, "T": T},
                                      {"S": (softmax(X) - T) / N,
                                       "T": -np.log(softmax(X)) / N}),
    "softmax_cross_entropy indices": ("softmax_cross_entropy(S, t)", {"S": X, "t": LABELS},
                                      {"S": (softmax(X) - T) / N, "t": None}),
}


@pytest.mark.parametrize("text, bindings, expected", CASES.values(), ids=CASES.keys())
def test_gradient_matches_numpy_formula_and_central_differences(text, bindings, expected):
    result = run(text, **bindings)
    for name, grad in expected.items():
        if grad is None:  # class indices: no gradient
            assert result.gradients[name] is None
        else:
            assert np.shape(result.gradients[name]) == np.shape(bindings[name])
            np.testing.assert_allclose(result.gradients[name], grad, rtol=1e-12, atol=1e-14)
    check = gradient_check(cgcalc.parse(text), bindings)
    assert check.passed, check.variables
    assert all(v.max_rel < 1e-6 for v in check.variables if v.max_rel is not None)


def test_losses_match_numpy():
    assert run("cross_entropy(Y, T)", Y=P, T=T).value == pytest.approx(
        -np.sum(T * np.log(P)) / N, rel=1e-15)
    fused = run("softmax_cross_entropy(S, t)", S=X, t=LABELS).value
    assert fused == pytest.approx(-np.mean(np.log(softmax(X))[np.arange(3), [1, 3, 0]]), rel=1e-14)
    assert fused == pytest.approx(run("cross_entropy(softmax(S), T)", S=X, T=T).value, rel=1e-14)


ELEMENTWISE = ["-x", "x + 2", "2 - x", "x * 3", "1 / x", "x / 4", "x ** 3", "2 ** x",
               "exp(x)", "log(x)", "sqrt(x)", "sin(x)", "cos(x)", "tan(x)", "tanh(x)",
               "sigmoid(x)", "relu(x)", "abs(x)", "sigmoid(-x)"]


@pytest.mark.parametrize("text", ELEMENTWISE)
def test_elementwise_on_arrays_is_the_scalar_rule_per_element(text):
    xs = [0.3, 1.7, 2.5, -0.6] if "log" not in text and "sqrt" not in text else [0.3, 1.7, 2.5, 4.0]
    program = cgcalc.parse(text)
    array = cgcalc.evaluate(program, {"x": xs})
    for k, x in enumerate(xs):
        scalar = cgcalc.evaluate(program, {"x": x})
        assert array.value[k] == pytest.approx(scalar.value, rel=1e-15, abs=1e-300)
        assert array.gradients["x"][k] == pytest.approx(scalar.gradients["x"], rel=1e-15)


def test_book_shapes_vector_times_matrix():
    result = run("x @ W", x=[1.0, 0.5], W=[[1, 2, 3], [4, 5, 6]])
    assert result.value.shape == (3,)
    assert result.value.tolist() == [3.0, 4.5, 6.0]
    assert result.gradients["x"].shape == (2,) and result.gradients["W"].shape == (2, 3)


def test_relu_mask_from_the_book():
    x = [[1.0, -0.5], [-2.0, 3.0]]
    result = run("relu(x)", x=x)
    assert result.value.tolist() == [[1.0, 0.0], [0.0, 3.0]]
    mask = result.gradients["x"] == 0  # the book's mask: where relu passes nothing back
    assert mask.tolist() == [[False, True], [True, False]]
    assert result.warnings == ["the value is an array of shape (2, 2); the gradients are those "
                               "of the sum of its elements"]


def test_bias_added_to_a_batch_gets_the_batch_summed_gradient():
    result = run("sum((X @ W + b) * G)", X=X, W=W, b=B, G=G)
    np.testing.assert_allclose(result.gradients["b"], G.sum(axis=0), rtol=1e-15)
    assert result.gradients["b"].shape == (2,)


@pytest.mark.parametrize("text, bindings, expected", [
    ("sum(X + c)", {"X": X, "c": 2.0}, {"X": np.ones((3, 4)), "c": 12.0}),
    ("sum(X * r)", {"X": X, "r": [[1.0], [2.0], [3.0]]},
     {"X": np.repeat([[1.0], [2.0], [3.0]], 4, axis=1), "r": X.sum(axis=1, keepdims=True)}),
    ("sum(X - v)", {"X": X, "v": [1.0, 2.0, 3.0, 4.0]}, {"X": np.ones((3, 4)), "v": -np.full(4, 3.0)}),
    ("sum(u / v)", {"u": [[1.0], [2.0]], "v": [1.0, 4.0]},
     {"u": np.array([[1.25], [1.25]]), "v": -np.array([3.0, 3.0]) / np.array([1.0, 16.0])}),
])
def test_broadcasting_gradients_are_summed_back_to_each_shape(text, bindings, expected):
    result = run(text, **bindings)
    for name, grad in expected.items():
        assert np.shape(result.gradients[name]) == np.shape(bindings[name])
        np.testing.assert_allclose(result.gradients[name], grad, rtol=1e-15)
    assert gradient_check(cgcalc.parse(text), bindings).passed


def test_scalar_results_are_floats_and_scalars_stay_scalar():
    result = run("sum(X) * c", X=[1, 2], c=2)
    assert type(result.value) is float and type(result.gradients["c"]) is float
    assert result.value == 6.0 and result.gradients["c"] == 3.0


def test_variable_the_value_does_not_reach_gets_zeros_of_its_shape():
    result = cgcalc.evaluate(cgcalc.parse("a = sum(X); 2"), {"X": [[1, 2]]})
    assert result.gradients["X"].tolist() == [[0.0, 0.0]]


def test_nodes_have_values_and_gradients_with_shapes():
    nodes = run("sum(relu(x))", x=[1.0, -1.0]).nodes
    assert [n.op for n in nodes] == ["var", "relu", "sum"]
    assert nodes[1].value.tolist() == [1.0, 0.0] and nodes[1].grad.tolist() == [1.0, 1.0]
    assert nodes[1].local is None  # a Jacobian: not shown
    assert run("sum(x) * c", x=[1.0], c=3).nodes[3].local == (3.0, 1.0)


@pytest.mark.parametrize("text, bindings, col, message", [
    ("x @ W", {"x": [1, 2, 3], "W": [[1, 2], [3, 4]]}, 3,
     "x @ W: shapes (3,) and (2, 2) do not fit: the last axis of the left (3) must equal the "
     "first of the right (2)"),
    ("y = x + v", {"x": [[1, 2, 3]], "v": [1, 2]}, 7,
     "x + v: shapes (1, 3) and (2,) do not broadcast together"),
    ("affine(X, W, b)", {"X": [[1, 2]], "W": [[1, 2, 3], [4, 5, 6]], "b": [1, 2]}, 1,
     "affine(X, W, b): b of shape (2,) does not fit W of shape (2, 3): b must have shape (3,)"),
    ("affine(X, W, b)", {"X": [[1, 2, 3]], "W": [[1, 2, 3], [4, 5, 6]], "b": [1, 2, 3]}, 1,
     "affine(X, W, b): x of shape (1, 3) and W of shape (2, 3) do not fit: the last axis of x "
     "(3) must equal the first of W (2)"),
    ("softmax_cross_entropy(S, t)", {"S": [[1, 2, 3]], "t": [[1, 0]]}, 1,
     "softmax_cross_entropy(S, t): t of shape (1, 2) fits neither as one-hot targets "
     "(shape (1, 3)) nor as class indices (shape (1,)) for scores of shape (1, 3)"),
    ("cross_entropy(y, t)", {"y": [[0.5, 0.5]], "t": [2]}, 1,
     "cross_entropy(y, t): class indices in t must be integers from 0 to 1"),
    ("sum(x, 2)", {"x": [[1, 2]]}, 1, "sum(x, axis=2): axis 2 is not an axis of shape (1, 2)"),
    ("max(x, axis=0.5)", {"x": [1, 2]}, 1,
     "max(x, axis=0.5): axis 0.5 is not an axis of shape (2,)"),
    ("reshape(x, 4)", {"x": [[1, 2, 3]]}, 1,
     "reshape(x, 4): shape (1, 3) (3 elements) cannot be reshaped to (4,)"),
    ("2 @ x", {"x": [1.0]}, 3, "2 @ x: @ multiplies vectors and matrices, not shapes () and "
     "(1,); multiply by a number with *"),
    ("softmax(s)", {"s": 2.0}, 1,
     "softmax(s): softmax works along the last axis of an array, not on a scalar"),
])
def test_shape_errors_name_both_shapes_and_the_place(text, bindings, col, message):
    with pytest.raises(cgcalc.EvaluationError) as info:
        run(text, **bindings)
    assert info.value.message == message
    assert info.value.line_col == (1, col) and info.value.exit_code == 1


@pytest.mark.parametrize("text, bindings, message", [
    ("log(x)", {"x": [1.0, -2.0]}, "log(x) at [1]: log(-2) is undefined (log is defined for x > 0)"),
    ("exp(x)", {"x": [[1.0, 800.0]]}, "exp(x) at [0][1]: exp(800) overflows"),
    ("sqrt(x)", {"x": [4.0, 0.0]}, "sqrt(x) at [1]: the derivative of sqrt(0) is undefined "
     "(sqrt is defined for x >= 0, its derivative for x > 0)"),
    ("cross_entropy(y, t)", {"y": [[0.0, 1.0]], "t": [0]},
     "cross_entropy(y, t) is inf (the probability y must be > 0 wherever t is not 0; "
     "softmax_cross_entropy(x, t) takes the scores x and stays finite)"),
    ("x", {"x": [1.0, float("nan")]}, "x[1] is bound to nan, not a finite number"),
])
def test_values_that_are_not_finite_name_the_element(text, bindings, message):
    with pytest.raises(cgcalc.EvaluationError) as info:
        run(text, **bindings)
    assert info.value.message == message


@pytest.mark.parametrize("value, message", [
    ([[1, 2], [3]], "X is ragged: X[1] has 1 element but X[0] has 2 elements"),
    ([[1, 2], 3], "X is ragged: X[1] is a number but X[0] has 2 elements"),
    ([[1, 2], [3, "a"]], "X[1][1] is 'a', not a number"),
    ([1, True], "X[1] is True, not a number"),
    ([], "X is empty"),
    ([[1], []], "X[1] is empty"),
    ("12", "X = '12' is neither a number nor an array of numbers"),
    (np.array([True]), "X holds bool values, not numbers"),
])
def test_array_bindings_are_checked(value, message):
    with pytest.raises(cgcalc.BindingError) as info:
        run("sum(X)", X=value)
    assert info.value.message == message and info.value.exit_code == 2


def test_integer_arguments_must_be_constants_and_arity_ranges():
    with pytest.raises(cgcalc.UnknownNameError) as info:
        cgcalc.parse("sum(x, k)")
    assert info.value.message == "the axis of sum must be a constant integer, not depend on a variable"
    assert info.value.line_col == (1, 8)
    with pytest.raises(cgcalc.UnknownNameError, match="sum takes 1 or 2 arguments, got 3"):
        cgcalc.parse("sum(x, 0, 1)")
    with pytest.raises(cgcalc.UnknownNameError, match="reshape takes at least 2 arguments, got 1"):
        cgcalc.parse("reshape(x)")
    assert run("sum(x, -1 + 0)", x=[[1, 2]]).value.tolist() == [3.0]


def test_matmul_binds_like_multiplication():
    ops = [op.name for op in cgcalc.parse("a @ b * c + d").ops]
    assert ops == ["var", "var", "matmul", "var", "mul", "var", "add"]
    with pytest.raises(cgcalc.ParseError, match="expected a number, a name or '\\('"):
        cgcalc.parse("a @ @ b")


def test_scalar_programs_never_import_numpy():
    code = ("import sys, cgcalc; from click.testing import CliRunner; from cgcalc.cli import cli\n"
            "assert cgcalc.evaluate(cgcalc.parse('x*y'), {'x': 2, 'y': 3}).value == 6\n"
            "assert CliRunner().invoke(cli, ['x*y', 'x=2', 'y=3', '--nodes']).exit_code == 0\n"
            "assert CliRunner().invoke(cli, ['check', 'x*y', 'x=2', 'y=3']).exit_code == 0\n"
            "assert 'numpy' not in sys.modules, 'numpy was imported'")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
