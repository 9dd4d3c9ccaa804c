"""Every node has a readable name, the same in the tables, --explain and the pictures."""

import pytest

import cgcalc
from cgcalc.render.names import NodeNames


@pytest.mark.parametrize("text, names", [
    ("x = x*2; x*x", ["x", "2", "x₁", "value"]),  # the variable keeps the name it is bound by
    ("h = a*2; h = h + 1; h*h", ["a", "2", "h₁", "1", "h₂", "value"]),
    ("x = x*2; x = x*x", ["x", "2", "x₁", "x₂"]),
    ("x*x + 3*x", ["x", "mul₁", "3", "mul₂", "value"]),
    ("value*2", ["value", "2", "mul₁"]),  # "value" is taken: the output is called by its operation
    ("a = x*y; b = a; b*b", ["x", "y", "a", "value"]),  # a node keeps its first name
    ("7", ["value"]),
])
def test_node_names(text, names):
    program = cgcalc.parse(text)
    assert [NodeNames(program)[node] for node in range(len(program))] == names


def test_nodes_table_names_versions_and_unnamed_nodes(run):
    lines = run("x = x*2; x*x", "x=3", "--nodes").stdout.splitlines()
    assert lines[0] == "value = 36"
    assert lines[lines.index("nodes in forward order") + 1:] == [
        "id  name   op     inputs  value  local ∂  gradient",
        " 0  x      var                3                 24",
        " 1         const              2                 36",
        " 2  x₁     mul    x, 2        6     2, 3        12",
        " 3  value  mul    x₁, x₁     36     6, 6         1",
    ]
    named = run("x = x*2; x = x*x", "x=3").stdout.splitlines()
    assert named[:3] == ["x₂ = 36", "", "variable  value  ∂x₂/∂variable"]


def test_pictures_name_the_versions(run):
    mermaid = run("graph", "x = x*2; x = x*x", "x=3", "--format", "mermaid").stdout.splitlines()
    assert mermaid[2:7] == ['  n0["x<br/><span style=\'color:#d62728\'>24</span>"]:::leaf', '  n1["2"]:::leaf', '  n2(("×<br/>x₁"))',
                            '  n3(("×<br/>x₂"))', '  out["x₂"]:::leaf']
    tree = run("graph", "x = x*2; x*x", "x=3", "--format", "tree").stdout.splitlines()
    assert tree[:5] == ["× = 36  ∂ 1", "├── × x₁ = 6  ∂ 6", "│   ├── x = 3  ∂ 24", "│   └── 2  ∂ 36",
                        "└── × x₁ = 6  ∂ 6  (its inputs are drawn above)"]
    assert 'n2 [label=<×<BR/><FONT POINT-SIZE="10">x₁</FONT>>, shape=circle' in \
        run("graph", "x = x*2; x*x", "x=3").stdout
