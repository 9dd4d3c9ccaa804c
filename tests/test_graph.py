"""`cgcalc graph`: DOT and Mermaid read back structurally, SVG rendered by the real Graphviz."""

import json
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from html import unescape

import pytest

import cgcalc
from cgcalc.expand import expand
from cgcalc.render.dot import dot
from cgcalc.render.explain import explain
from cgcalc.render.mermaid import mermaid
from cgcalc.render.picture import Picture
from cgcalc.render.tree import render
from conftest import APPLE_ORANGE, APPLE_ORANGE_NAMED

AO_WORDS = [f"{name}={value}" for name, value in APPLE_ORANGE.items()]

# The book's figure: (source node's texts, target node's texts) -> (value above, gradient below).
APPLE_ORANGE_EDGES = {
    (("apple",), ("×", "apple_price")): ("100", "2.2"),
    (("apple_num",), ("×", "apple_price")): ("2", "110"),
    (("orange",), ("×", "orange_price")): ("150", "3.3"),
    (("orange_num",), ("×", "orange_price")): ("3", "165"),
    (("×", "apple_price"), ("+", "all_price")): ("200", "1.1"),
    (("×", "orange_price"), ("+", "all_price")): ("450", "1.1"),
    (("+", "all_price"), ("×", "price")): ("650", "1.1"),
    (("tax",), ("×", "price")): ("1.1", "650"),
    (("×", "price"), ("price",)): ("715", "1"),
}
RED = "#d62728"


def _tags_off(html):
    return unescape(re.sub(r"<[^>]+>", "", html))


def _reader(edge, node, br, red):
    """A tiny reader for what cgcalc writes: node texts, and edges (source, target, value,
    gradient); named groups in the patterns, ``br`` the line break, ``red`` the colour tag."""

    def read(text):
        nodes, edges = {}, []
        for line in text.splitlines():
            if m := re.fullmatch(edge, line):
                value, grad = (m["label"].split(br) + [None])[:2]
                if grad is not None:
                    assert grad.startswith(red), line
                    grad = _tags_off(grad)
                edges.append((m["source"], m["target"], _tags_off(value), grad))
            elif m := re.fullmatch(node, line):
                label = m["op"] if m["op"] is not None else m["leaf"]
                nodes[m["id"]] = tuple(_tags_off(part) for part in label.split(br))
        return nodes, edges

    return read


read_dot = _reader(r"\s*(?P<source>\w+) -> (?P<target>\w+) \[label=<(?P<label>.*)>\];",
                   r"\s*(?P<id>\w+) \[label=<(?:(?P<op>.*)>, shape=circle|(?P<leaf>.*)>, "
                   r"shape=plaintext).*\];",
                   "<BR/>", f'<FONT COLOR="{RED}">')
read_mermaid = _reader(r'\s*(?P<source>\w+) -->\|"(?P<label>.*)"\| (?P<target>\w+)',
                       r'\s*(?P<id>\w+)(?:\(\("(?P<op>.*)"\)\)|\["(?P<leaf>.*)"\]:::leaf)',
                       "<br/>", f"<span style='color:{RED}'>")


def by_texts(nodes, edges):
    """Edges keyed by the texts of their ends; each key must be unique."""
    keyed = {(nodes[a], nodes[b]): (value, grad) for a, b, value, grad in edges}
    assert len(keyed) == len(edges)
    return keyed


def picture(text, expanded=False, precision=10, **bindings):
    program, expansions = expand(cgcalc.parse(text)) if expanded else (cgcalc.parse(text), [])
    return Picture(cgcalc.evaluate(program, bindings), expansions, precision)


def test_dot_is_the_books_apple_orange_figure(run):
    result = run("graph", "-f", "-", *AO_WORDS, "--format", "dot", input=APPLE_ORANGE_NAMED)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("digraph cgcalc {\n  rankdir=LR;")
    nodes, edges = read_dot(result.stdout)
    assert by_texts(nodes, edges) == APPLE_ORANGE_EDGES
    assert sorted(nodes.values()) == sorted({a for a, _ in APPLE_ORANGE_EDGES}
                                            | {b for _, b in APPLE_ORANGE_EDGES})


def test_mermaid_is_the_same_figure(run):
    result = run("graph", "-f", "-", *AO_WORDS, "--format", "mermaid", input=APPLE_ORANGE_NAMED)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("flowchart LR\n")
    assert by_texts(*read_mermaid(result.stdout)) == APPLE_ORANGE_EDGES


def test_shared_variable_is_one_node_with_an_edge_per_use():
    pic = picture("x*x + 3*x", x=2)
    for text in (dot(pic), mermaid(pic)):
        nodes, edges = read_dot(text) if text.startswith("digraph") else read_mermaid(text)
        assert [n for n, texts in nodes.items() if texts == ("x",)] == ["n0"]
        from_x = [(b, value, grad) for a, b, value, grad in edges if a == "n0"]
        assert from_x == [("n1", "2", "2"), ("n1", "2", "2"), ("n3", "2", "3")]  # 2 + 2 + 3 = 7


def test_unnamed_output_leaves_as_value_and_constants_show_their_number():
    nodes, edges = read_dot(dot(picture("2*x", x=5)))
    assert by_texts(nodes, edges) == {
        (("2",), ("×",)): ("2", "5"), (("x",), ("×",)): ("5", "2"), (("×",), ("value",)): ("10", "1")}


def test_constant_parts_carry_no_gradient():
    nodes, edges = read_dot(dot(picture("x*(2 + 3)", x=1)))
    assert by_texts(nodes, edges)[(("2",), ("+",))] == ("2", None)


def test_precision_rounds_like_the_tables(run):
    result = run("graph", "x/3", "x=1", "--precision", "3", "--format", "mermaid")
    assert by_texts(*read_mermaid(result.stdout))[(("/",), ("value",))] == ("0.333", "1")


def read_svg(data):
    """Node texts, and edges as (value text, its y, gradient text, its colour, its y)."""
    ns = {"svg": "http://www.w3.org/2000/svg"}
    root = ET.fromstring(data)
    nodes, edges = {}, []
    for g in root.iter("{http://www.w3.org/2000/svg}g"):
        title = g.find("svg:title", ns).text
        texts = g.findall("svg:text", ns)
        if g.get("class") == "node":
            nodes[title] = tuple(t.text for t in texts)
        elif g.get("class") == "edge":
            a, b = title.split("->")
            value, grad = texts
            assert float(value.get("y")) < float(grad.get("y")), "the value is drawn above"
            assert grad.get("fill") == RED and value.get("fill") is None
            edges.append((a, b, value.text, grad.text))
    return nodes, edges


def test_svg_rendered_by_graphviz_shows_the_books_numbers(run, graphviz, tmp_path):
    out = tmp_path / "apple_orange.svg"
    result = run("graph", "-f", "-", *AO_WORDS, "-o", str(out), input=APPLE_ORANGE_NAMED)
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert by_texts(*read_svg(out.read_bytes())) == APPLE_ORANGE_EDGES


def test_svg_to_stdout_and_png_to_a_file(run, graphviz, tmp_path):
    result = run("graph", "x*y", "x=2", "y=3", "--format", "svg")
    assert by_texts(*read_svg(result.stdout_bytes))[(("x",), ("×",))] == ("2", "3")
    png = tmp_path / "g.png"
    assert run("graph", "x*y", "x=2", "y=3", "-o", str(png)).exit_code == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_missing_graphviz_is_a_usage_error_naming_the_package(run, tmp_path):
    result = run("graph", "x", "x=1", "--format", "svg", env={"PATH": str(tmp_path)})
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.startswith("cgcalc: render error: --format svg needs the dot command "
                                    "of Graphviz, which is not installed; install the graphviz "
                                    "package (apt-get install graphviz on Debian or Ubuntu, "
                                    "brew install graphviz on macOS)")


@pytest.mark.parametrize("suffix, start", [(".dot", "digraph"), (".gv", "digraph"),
                                           (".mmd", "flowchart"), (".txt", "×")])
def test_format_follows_the_output_suffix(run, tmp_path, suffix, start):
    out = tmp_path / f"g{suffix}"
    assert run("graph", "x*y", "x=2", "y=3", "-o", str(out)).exit_code == 0
    assert out.read_text(encoding="utf-8").startswith(start)


def test_unwritable_output(run):
    result = run("graph", "x", "x=1", "-o", "/nonexistent/dir/g.dot")
    assert result.exit_code == 2
    assert result.stderr == ("cgcalc: error: cannot write /nonexistent/dir/g.dot: "
                             "No such file or directory\n")


def test_graph_takes_eval_s_bindings_and_dash_expressions(run, tmp_path):
    point = tmp_path / "p.json"
    point.write_text('{"x": 3}')
    result = run("graph", "-x**2", "--vars", str(point), "--format", "mermaid")
    assert result.exit_code == 0, result.output
    assert by_texts(*read_mermaid(result.stdout))[(("×(−1)",), ("value",))] == ("-9", "1")


def test_tree_in_the_terminal(run):
    result = run("graph", "-f", "-", *AO_WORDS, "--format", "tree", input=APPLE_ORANGE_NAMED)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "× price = 715  ∂ 1",
        "├── + all_price = 650  ∂ 1.1",
        "│   ├── × apple_price = 200  ∂ 1.1",
        "│   │   ├── apple = 100  ∂ 2.2",
        "│   │   └── apple_num = 2  ∂ 110",
        "│   └── × orange_price = 450  ∂ 1.1",
        "│       ├── orange = 150  ∂ 3.3",
        "│       └── orange_num = 3  ∂ 165",
        "└── tax = 1.1  ∂ 650",
        "= forward value, ∂ the gradient sent back along the line's edge",
    ]


def test_tree_sets_values_and_gradients_apart_in_colour(run):
    result = run("graph", "x*y", "x=2", "y=3", "--format", "tree",
                 env={"FORCE_COLOR": "1", "NO_COLOR": None})
    assert result.stdout.splitlines()[1] == \
        "\x1b[2m├── \x1b[0mx = \x1b[36m2\x1b[0m  ∂ \x1b[32m3\x1b[0m"  # dim, cyan, green


def test_tree_draws_shared_inputs_once(run):
    result = run("graph", "a = x*y; a*a + 2", "x=1", "y=2", "--format", "tree")
    assert result.stdout.splitlines()[:6] == [
        "+ = 6  ∂ 1",
        "├── × = 4  ∂ 1",
        "│   ├── × a = 2  ∂ 2",
        "│   │   ├── x = 1  ∂ 8",
        "│   │   └── y = 2  ∂ 4",
        "│   └── × a = 2  ∂ 2  (its inputs are drawn above)",
    ]


def test_expand_draws_the_books_sigmoid_steps_next_to_the_fused_node(run):
    fused = by_texts(*read_dot(run("graph", "sigmoid(x)", "x=0.5").stdout))
    expanded = run("graph", "sigmoid(x)", "x=0.5", "--expand").stdout
    assert 'subgraph cluster_0 { label=<sigmoid(x) = 1/(1 + exp(-x))<BR/>fused: y = 0.6224593312, ' \
           "∂y/∂x = y*(1 - y) = 0.2350037122>" in expanded
    steps = by_texts(*read_dot(expanded))
    y, dy = "0.6224593312", "0.2350037122"  # sigmoid(0.5) and y(1 - y)
    assert fused == {(("x",), ("sigmoid",)): ("0.5", dy), (("sigmoid",), ("value",)): (y, "1")}
    assert steps == {
        (("x",), ("×(−1)",)): ("0.5", dy),                  # 4: × (−1)
        (("×(−1)",), ("exp",)): ("-0.5", "-" + dy),          # 3: × exp(−x)
        (("exp",), ("+",)): ("0.6065306597", "-0.387455619"),  # 2: + passes it on
        (("1",), ("+",)): ("1", "-0.387455619"),
        (("+",), ("/",)): ("1.60653066", "-0.387455619"),     # 1: × −y²
        (("1",), ("/",)): ("1", y),
        (("/",), ("value",)): (y, "1"),
    }


@pytest.mark.parametrize("x", [-30.0, -3.0, -0.5, 0.0, 0.5, 3.0, 30.0])
@pytest.mark.parametrize("op", ["sigmoid", "tanh"])
def test_expansion_values_match_the_fused_node(op, x):
    text = f"s = {op}(w*x); s*3"
    fused = cgcalc.evaluate(cgcalc.parse(text), {"w": 1.5, "x": x})
    program, expansions = expand(cgcalc.parse(text))
    primitive = cgcalc.evaluate(program, {"w": 1.5, "x": x})
    assert [e.op.name for e in expansions] == [op]
    assert primitive.value == pytest.approx(fused.value, rel=1e-15)
    for name, grad in fused.gradients.items():  # equal but where the fused y(1 - y) rounds to 0
        assert primitive.gradients[name] == pytest.approx(grad, rel=1e-12, abs=1e-15)
    s = next(node for node, name in program.names.items() if name == "s")
    assert s == expansions[0].nodes[-1]  # the name now labels the expansion's output
    assert {program.pos[node] for node in expansions[0].nodes} == {text.index(op)}


def test_expansion_errors_point_at_the_fused_call(run):
    result = run("y = 2 + sigmoid(x)", "x=-800", "--expand")
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        "cgcalc: evaluation error at 1:9: exp(800) overflows", "  y = 2 + sigmoid(x)", "          ^"]


def test_eval_expand_shows_the_primitive_nodes(run):
    result = run("sigmoid(x)", "x=0", "--expand", "--nodes", "--json")
    assert [n["op"] for n in json.loads(result.stdout)["nodes"]] == [
        "var", "const", "const", "neg", "exp", "add", "div"]


DEEP = 100_000


def test_100000_deep_graphs_draw_without_recursion():
    result = cgcalc.evaluate(cgcalc.parse("x" + "*x" * DEEP), {"x": 1.0})
    pic = Picture(result)
    assert len(read_dot(dot(pic))[1]) == 2 * DEEP + 1
    assert mermaid(pic).count("-->") == 2 * DEEP + 1
    assert explain(result)[-1] == f"  ∂value/∂x = {' + '.join(['1'] * (DEEP + 1))} = {DEEP + 1}"
    from io import StringIO

    tree = StringIO()
    render(pic, file=tree)
    lines = tree.getvalue().splitlines()
    assert len(lines) == 2 * 40 + 3
    assert lines[40].endswith("× = 1  ∂ 1  (its inputs are too deep to draw)")
    assert lines[-2] == (f"… {DEEP - 41} more nodes lie deeper than 40 levels; "
                         "--format dot, svg or mermaid draws the whole graph")


def test_100000_nested_sigmoids_expand_without_recursion():
    program, expansions = expand(cgcalc.parse("sigmoid(" * DEEP + "x" + ")" * DEEP))
    assert len(expansions) == DEEP and len(program) == 6 * DEEP + 1
    result = cgcalc.evaluate(program, {"x": 0.0})
    assert 0.6 < result.value < 0.7


def test_drawing_dot_does_not_import_rich():
    code = ("import sys; from cgcalc.cli import cli; "
            "cli(['graph', 'x*y', 'x=1', 'y=2', '--format', 'mermaid'], standalone_mode=False); "
            "cli(['graph', 'x*y', 'x=1', 'y=2'], standalone_mode=False); "
            "assert 'rich' not in sys.modules, 'rich imported'")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "flowchart LR" in done.stdout and "digraph cgcalc" in done.stdout
