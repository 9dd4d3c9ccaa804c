"""Notebooks and the library: a result and a program show themselves (repr, Markdown, HTML
with the picture, SVG), ``cgcalc.draw`` draws what ``cgcalc graph`` draws, and a real
notebook run by a real Jupyter kernel displays the apple-orange graph."""

from pathlib import Path

import pytest
from conftest import APPLE_ORANGE, APPLE_ORANGE_EXPR

import cgcalc

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def apple_orange():
    return cgcalc.evaluate(cgcalc.parse(APPLE_ORANGE_EXPR), APPLE_ORANGE)


def test_a_result_says_what_it_holds(apple_orange):
    assert repr(apple_orange) == ("<Result value=715 gradients={apple: 2.2, apple_num: 110, "
                                  "orange: 3.3, orange_num: 165, tax: 650}>")


def test_an_array_result_gives_shapes_and_leading_elements():
    result = cgcalc.evaluate(cgcalc.parse("sum(x*y)"), {"x": [[1, 2], [3, 4]], "y": 2})
    assert repr(result) == "<ArrayResult value=20 gradients={x: 2×2 array: 2, 2, 2, …; norm 4, y: 10}>"


def test_a_repr_counts_what_it_leaves_out():
    result = cgcalc.evaluate(cgcalc.parse("+".join(f"v{i}" for i in range(12))),
                             {f"v{i}": i for i in range(12)})
    assert repr(result).endswith("v8: 1, v9: 1, … 2 more}>")


def test_a_program_says_what_it_is():
    program = cgcalc.parse(APPLE_ORANGE_EXPR)
    assert repr(program) == ("<Program '(apple*apple_num + orange*orange_num)*t…': 9 nodes, "
                             "variables apple, apple_num, orange, orange_num, tax>")
    assert repr(cgcalc.parse("2*pi")) == "<Program '2*pi': 3 nodes, variables none>"
    assert program._repr_markdown_() == (
        "```\n(apple*apple_num + orange*orange_num)*tax\n```\n\n"
        "9 nodes; variables: `apple`, `apple_num`, `orange`, `orange_num`, `tax`\n")


def test_markdown_shows_the_value_and_the_variables_table(apple_orange):
    assert apple_orange._repr_markdown_() == """\
**`value` = 715**

| variable | value | ∂value/∂variable |
|:--|--:|--:|
| `apple` | 100 | 2.2 |
| `apple_num` | 2 | 110 |
| `orange` | 150 | 3.3 |
| `orange_num` | 3 | 165 |
| `tax` | 1.1 | 650 |
"""


def test_html_holds_the_picture_then_the_tables(apple_orange, graphviz):
    html = apple_orange._repr_html_()
    assert html.startswith("<svg ")
    assert html.endswith(
        "<p><b>value = 715</b></p>\n<table><tr><th>variable</th><th>value</th>"
        "<th>∂value/∂variable</th></tr><tr><td>apple</td><td>100</td><td>2.2</td></tr>"
        "<tr><td>apple_num</td><td>2</td><td>110</td></tr><tr><td>orange</td><td>150</td>"
        "<td>3.3</td></tr><tr><td>orange_num</td><td>3</td><td>165</td></tr><tr><td>tax</td>"
        "<td>1.1</td><td>650</td></tr></table>")
    assert html[:html.index("</svg>")] in apple_orange._repr_svg_()


def test_without_graphviz_a_notebook_shows_the_tables_alone(apple_orange, monkeypatch):
    monkeypatch.setenv("PATH", "")
    assert apple_orange._repr_svg_() is None
    assert apple_orange._repr_html_().startswith("<p><b>value = 715</b></p>")


@pytest.mark.parametrize("fmt", ["dot", "mermaid", "tree"])
def test_draw_draws_what_cgcalc_graph_draws(apple_orange, run, fmt):
    words = [f"{name}={value}" for name, value in APPLE_ORANGE.items()]
    assert cgcalc.draw(apple_orange, format=fmt) == \
        run("graph", APPLE_ORANGE_EXPR, *words, "--format", fmt).stdout


def test_draw_gives_graphviz_formats(apple_orange, graphviz):
    svg = cgcalc.draw(apple_orange)
    assert isinstance(svg, str) and svg.startswith("<?xml") and "715" in svg
    png = cgcalc.draw(apple_orange, format="png")
    assert isinstance(png, bytes) and png.startswith(b"\x89PNG")


def test_a_notebook_displays_the_apple_orange_graph(graphviz, tmp_path):
    """A real kernel runs a notebook that parses, evaluates and displays the example."""
    import nbclient  # the test extra brings them, and ipykernel for the kernel
    import nbformat

    notebook = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("import cgcalc\ncgcalc.__file__"),
        nbformat.v4.new_code_cell(f"program = cgcalc.parse({APPLE_ORANGE_EXPR!r})\nprogram"),
        nbformat.v4.new_code_cell(f"result = cgcalc.evaluate(program, {APPLE_ORANGE!r})\nresult"),
    ])
    # the kernel starts at the root of the repository, so it imports the cgcalc under test
    nbclient.NotebookClient(notebook, timeout=60, kernel_name="python3",
                            resources={"metadata": {"path": str(ROOT)}}).execute()
    imported, shown_program, shown_result = (cell.outputs[0] for cell in notebook.cells)
    assert imported["data"]["text/plain"] == repr(cgcalc.__file__)
    assert shown_program["data"]["text/markdown"].startswith(
        f"```\n{APPLE_ORANGE_EXPR}\n```")
    data = shown_result["data"]
    assert data["text/plain"].startswith("<Result value=715 gradients={apple: 2.2, ")
    assert data["image/svg+xml"].startswith("<?xml")
    assert data["image/svg+xml"] == cgcalc.draw(
        cgcalc.evaluate(cgcalc.parse(APPLE_ORANGE_EXPR), APPLE_ORANGE))
    assert ">715</text>" in data["image/svg+xml"] and ">650</text>" in data["image/svg+xml"]
    assert data["text/html"].startswith("<svg ")
    assert "| `tax` | 1.1 | 650 |" in data["text/markdown"]
