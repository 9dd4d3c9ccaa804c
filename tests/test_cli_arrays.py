"""Arrays on the command line: the book's two-layer network from a JSON file, tables with
shapes, JSON nested lists, and array errors with their exit codes."""

import json
import re
from pathlib import Path

import numpy as np
import pytest

TWO_LAYER = str(Path(__file__).resolve().parent.parent / "examples" / "two_layer.json")
TWO_LAYER_LOSS = "softmax_cross_entropy(affine(relu(affine(X, W1, b1)), W2, b2), t)"


def two_layer_by_hand():
    """The book's TwoLayerNet.loss and .gradient, written out in NumPy."""
    p = {k: np.array(v, dtype=float) for k, v in json.loads(Path(TWO_LAYER).read_text()).items()}
    X, W1, b1, W2, b2, t = (p[k] for k in ("X", "W1", "b1", "W2", "b2", "t"))
    a1 = X @ W1 + b1
    z1 = np.maximum(a1, 0)
    a2 = z1 @ W2 + b2
    e = np.exp(a2 - a2.max(axis=1, keepdims=True))
    y = e / e.sum(axis=1, keepdims=True)
    n = X.shape[0]
    loss = -np.sum(t * np.log(y)) / n
    dy = (y - t) / n
    da1 = (dy @ W2.T) * (a1 > 0)
    grads = {"X": da1 @ W1.T, "W1": X.T @ da1, "b1": da1.sum(axis=0), "W2": z1.T @ dy,
             "b2": dy.sum(axis=0), "t": -np.log(y) / n}
    return loss, grads


def test_two_layer_network_from_a_json_file(run):
    result = run(TWO_LAYER_LOSS, "--vars", TWO_LAYER, "--json")
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    doc = json.loads(result.stdout)
    loss, grads = two_layer_by_hand()
    assert doc["value"] == loss or abs(doc["value"] - loss) < 1e-15
    assert list(doc["gradients"]) == ["X", "W1", "b1", "W2", "b2", "t"]
    for name, grad in grads.items():
        assert np.shape(doc["gradients"][name]) == grad.shape  # nested lists of the same shape
        np.testing.assert_allclose(doc["gradients"][name], grad, rtol=1e-12, atol=1e-16)


def test_two_layer_table_shows_shapes(run):
    result = run(TWO_LAYER_LOSS, "--vars", TWO_LAYER, "--precision", "3", "--wrt", "b1",
                 "--wrt", "b2", env={"TTY_COMPATIBLE": "1", "COLUMNS": "80", "NO_COLOR": "1"})
    assert result.exit_code == 0, result.output
    assert re.sub(r"\x1b\[[0-9;]*m", "", result.stdout).splitlines() == [
        "value = 1.19",
        "",
        "variable  shape  value                  ∂value/∂variable",
        "b1        (5,)   [-0.01,  0.14, -0.07,  [-0.0551,   0.126,  0.0466,",
        "                   0.04,  0.09]          -0.0733,  0.0172]",
        "b2        (3,)   [-0.13,  0.15,  0.13]  [-0.0878,  0.0734,  0.0144]",
    ]  # a terminal 80 columns wide: NumPy wraps the rows of arrays within their share of it


def test_relu_mask_table_and_warning(run):
    result = run("relu(x)", "-v", "x=[[1.0, -0.5], [-2.0, 3.0]]")
    assert result.exit_code == 0
    assert result.stdout.splitlines() == [
        "value = [[1, 0],",
        "         [0, 3]]  shape (2, 2)",
        "",
        "variable  shape   value           ∂value/∂variable",
        "x         (2, 2)  [[   1, -0.5],  [[1, 0],",
        "                   [  -2,    3]]   [0, 1]]",
    ]
    assert result.stderr == ("cgcalc: warning: the value is an array of shape (2, 2); the "
                             "gradients are those of the sum of its elements\n")


def test_large_arrays_are_summarised(run, tmp_path):
    data = tmp_path / "big.json"
    data.write_text(json.dumps({"x": np.arange(400.0).reshape(20, 20).tolist()}))
    out = run("sum(x * 2)", "--vars", str(data)).stdout
    assert "(20, 20)" in out and "..." in out
    assert len(out.splitlines()) < 20
    assert json.loads(run("sum(x * 2)", "--vars", str(data), "--json").stdout)["gradients"]["x"] \
        == np.full((20, 20), 2.0).tolist()  # JSON keeps every element


def test_nodes_show_shapes(run):
    result = run("h = x @ W; sum(h)", "-v", "x=[1, 2]", "-v", "W=[[1, 0], [0, 1]]", "--nodes")
    lines = [line.rstrip() for line in result.stdout.splitlines()]
    assert lines[lines.index("nodes in forward order") + 1].split() == [
        "id", "name", "op", "inputs", "shape", "value", "local", "∂", "gradient"]
    assert " 2  h      matmul  x, W    (2,)    [1, 2]             [1, 1]" in lines


def test_json_nodes_and_undefined_gradients(run):
    result = run("softmax_cross_entropy(s, t)", "-v", "s=[[1, 2, 3]]", "-v", "t=[2]", "--json",
                 "--nodes")
    doc = json.loads(result.stdout)
    assert doc["gradients"]["t"] is None  # class indices have no gradient
    assert np.shape(doc["gradients"]["s"]) == (1, 3)
    assert doc["nodes"][0]["value"] == [[1.0, 2.0, 3.0]]
    table = run("softmax_cross_entropy(s, t)", "-v", "s=[[1, 2, 3]]", "-v", "t=[2]").stdout
    assert table.splitlines()[-1].split() == ["t", "(1,)", "[2]", "undefined"]


def test_array_errors_exit_codes(run):
    shape = run("x @ W", "-v", "x=[1, 2, 3]", "-v", "W=[[1, 2], [3, 4]]")
    assert shape.exit_code == 1 and shape.stdout == ""
    assert shape.stderr.splitlines() == [
        "cgcalc: evaluation error at 1:3: x @ W: shapes (3,) and (2, 2) do not fit: the last axis "
        "of the left (3) must equal the first of the right (2)",
        "  x @ W",
        "    ^",
    ]
    ragged = run("sum(x)", "-v", "x=[[1, 2], [3]]")
    assert ragged.exit_code == 2
    assert ragged.stderr == ("cgcalc: binding error: x is ragged: x[1] has 1 element but x[0] "
                             "has 2 elements\n")
    nan = run("sum(x)", "--vars", "-", input='{"x": [1, NaN]}')
    assert nan.exit_code == 1
    assert nan.stderr.splitlines()[0] == ("cgcalc: evaluation error at 1:5: x[1] is bound to "
                                          "nan, not a finite number")
    bad_json = run("sum(x)", "-v", "x=[1, 2")
    assert bad_json.exit_code == 2
    assert bad_json.stderr.splitlines() == [
        "cgcalc: binding error at 1:6: x=[1, 2: not a JSON array of numbers: Expecting ',' "
        "delimiter", "  [1, 2", "       ^"]
    words = run("sum(x)", "--vars", "-", input='{"x": [1, "two"]}')
    assert words.exit_code == 2 and words.stderr == "cgcalc: binding error: x[1] is 'two', not a number\n"


def test_explain_is_for_programs_of_numbers(run):
    result = run("sum(x*x)", "-v", "x=[1, 2]", "--explain")
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == ("cgcalc: error: --explain draws programs of numbers; this one has "
                             "arrays (the tables and --json show them)\n")


def test_graph_of_the_two_layer_network_shows_shapes_and_leading_elements(run):
    from test_graph import by_texts, read_dot

    program = "softmax_cross_entropy(affine(relu(affine(X, W1, b1)), W2, b2), t)"
    vars_path = str(Path(__file__).resolve().parent.parent / "examples" / "two_layer.json")
    dot = run("graph", program, "--vars", vars_path, "--format", "dot", "--precision", "3")
    assert dot.exit_code == 0, dot.stderr
    grads = json.loads(run(program, "--vars", vars_path, "--json").stdout)["gradients"]
    b2 = ", ".join(f"{g:.3g}" for g in grads["b2"])
    edges = by_texts(*read_dot(dot.stdout))
    assert edges[(("b2",), ("affine",))] == ("3 array: -0.13, 0.15, 0.13", b2)
    assert edges[(("X",), ("affine",))] == ("3×4 array: 0.6, 0.9, -0.4, …; norm 2.03",
                                            "0.00722, 0.00881, -0.0183, …; norm 0.11")
    assert dot.stdout.count("[label=<affine>, shape=box, style=rounded") == 2
