"""Tables never hide digits: in a terminal of any width, and in a pipe (whose width is unlimited)."""

import json
import re

import pytest

from cgcalc.render import number
from test_cli import APPLE_ORANGE_ARGS

STYLE = re.compile(r"\x1b\[[0-9;]*m")
NEURON = ["sigmoid(w*x + b)*tanh(z) - log(y)/x", "w=0.731", "x=-2.17", "b=0.3", "z=1.9",
          "y=0.0421", "--nodes"]


def shown(run, columns, *args, terminal=True):
    """stdout as a terminal of ``columns`` (colour codes taken off) or as a pipe shows it."""
    env = {"COLUMNS": str(columns), "NO_COLOR": "1", "FORCE_COLOR": None,
           "TTY_COMPATIBLE": "1" if terminal else "0"}
    result = run(*args, env=env)
    assert result.exit_code == 0, result.output
    return STYLE.sub("", result.stdout)


def numbers(run, *args, precision=10):
    """Every number of the document as the tables round it."""
    doc = json.loads(run(*args, "--json").stdout)
    found = [doc["value"], *doc["gradients"].values()]
    for node in doc.get("nodes", ()):
        found += [node["value"], node["grad"], *(node["local"] or ())]
    return {number(v, precision) for v in found if v is not None}


@pytest.mark.parametrize("terminal", [True, False], ids=["terminal", "pipe"])
@pytest.mark.parametrize("columns", [40, 80, 200])
@pytest.mark.parametrize("args, precision", [
    (APPLE_ORANGE_ARGS + ["--precision", "17"], 17),
    (APPLE_ORANGE_ARGS + ["--nodes"], 10),
    (NEURON, 10),
    (NEURON + ["--precision", "17"], 17),
])
def test_every_digit_is_shown(run, columns, terminal, args, precision):
    text = shown(run, columns, *args, terminal=terminal)
    assert "…" not in text
    words = set(re.findall(r"[-\d.e+]+", text.replace(",", " ")))
    assert numbers(run, *args, precision=precision) <= words
    assert not any(line.endswith(" ") for line in text.splitlines())
    if terminal:
        assert max(map(len, text.splitlines())) <= columns
    else:  # nothing wraps in a pipe: the same text at every width
        assert text == shown(run, 1000, *args, terminal=False)


def test_narrow_terminal_stacks_each_row(run):
    text = shown(run, 40, *APPLE_ORANGE_ARGS, "--precision", "17")
    assert text.splitlines()[:10] == [
        "value = 715.00000000000011",
        "",
        "variable          apple",
        "value             100",
        "∂value/∂variable  2.2000000000000002",
        "",
        "variable          apple_num",
        "value             2",
        "∂value/∂variable  110.00000000000001",
        "",
    ]
    assert shown(run, 80, *APPLE_ORANGE_ARGS, "--precision", "17").splitlines()[2:4] == [
        "variable                 value    ∂value/∂variable",
        "apple                      100  2.2000000000000002",
    ]  # 80 columns: the table fits


def test_narrow_terminal_stacks_the_nodes_and_the_check(run):
    nodes = shown(run, 60, *NEURON).split("nodes in forward order\n\n")[1].split("\n\n")
    assert nodes[0].splitlines() == ["id        0", "name      w", "op        var", "value     0.731",
                                     "gradient  -0.3519657073"]  # empty cells are left out
    assert nodes[4].splitlines() == ["id        4", "name      add₁", "op        add",
                                     "inputs    mul₁, b", "value     -1.28627", "local ∂   1, 1",
                                     "gradient  0.1621961785"]
    local = shown(run, 40, *NEURON, "--precision", "17").split("\n\n")[-2].splitlines()[-3:]
    assert local == ["local ∂   -0.46082949308755761,", "          0.67270647885786516",
                     "gradient  -1"]  # wrapped between the numbers
    check = shown(run, 40, "check", "x*y", "x=2", "y=3").splitlines()
    assert check[2:11] == ["variable      x", "shape         scalar", "backprop      3",
                           "numerical     3", "h             0.0002",
                          "max abs diff  2.2e-12", "max rel diff  7.4e-13", "check         pass", ""]
    assert check[-1] == "passed: tolerance 1e-06 (absolute, relative above 1)"


def test_a_terminal_narrower_than_an_element_keeps_the_arrays_layout(run):
    """At 20 columns an array's lines were broken in their indent and padding: lines of
    spaces alone, elements torn from their brackets (``[[`` over ``1.5,``)."""
    text = shown(run, 20, "X*2", "-v", "X=[[1.5, 2.25], [3, 4]]", "--wrt", "X")
    assert text.splitlines()[3:] == [
        "variable          X",
        "shape             (2,",
        "                  2)",
        "value             [[ 1.5,",
        "                    2.25],",
        "                   [   3,",
        "                       4]]",
        "∂value/∂variable  [[2,",
        "                    2],",
        "                   [2,",
        "                    2]]",
    ]
