"""`cgcalc graph`: DOT and Mermaid read back structurally, SVG rendered by the real Graphviz."""

import json
import re
from pathlib import Path
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


def _node_texts(label, br, red, totals, node):
    """A node's lines without tags; a red line is the variable's gradient, put in ``totals``."""
    label, _, total = label.partition(br + red)
    if total and totals is not None:
        totals[node] = _tags_off((red + total).replace(br, "; "))
    return tuple(_tags_off(part) for part in label.split(br))


NODE_DOT = (r"\s*(?P<id>n\d+|out) \[label=<(?:(?P<op>.*)>, shape=(?:circle|box, style=rounded)"
            r"|(?P<leaf>.*)>, shape=plaintext).*\];")


def read_dot(text, totals=None):
    """Node texts and edges (source, target, value, gradient) of cgcalc's DOT: each edge runs
    from its source into a node of its own holding the value, a line and the gradient, and on
    to its target. Variables' gradients go into ``totals``, by node id, when it is given."""
    nodes, labels, edges = {}, {}, []
    for line in text.splitlines():
        if m := re.fullmatch(r'\s*(?P<id>\w+_\d+) \[label=<<TABLE[^>]*>(?P<rows>.*)</TABLE>>, '
                             r'shape=plain, fontsize=11\];', line):
            cells = [cell.replace("<BR/>", "; ")
                     for cell in re.findall(r"<TD[^>]*>(.*?)</TD>", m["rows"])]
            assert cells[1] == "" and len(cells) in (2, 3), line  # value, the line, gradient
            grad = cells[2] if len(cells) == 3 else None
            if grad is not None:
                assert grad.startswith(f'<FONT COLOR="{RED}">'), line
                grad = _tags_off(grad)
            labels[m["id"]] = (_tags_off(cells[0]), grad)
        elif m := re.fullmatch(r"\s*(?P<source>\w+) -> (?P<e>\w+_\d+):line:w \[arrowhead=none\]; "
                               r"(?P=e):line:e -> (?P<target>\w+);", line):
            edges.append((m["source"], m["target"], *labels[m["e"]]))
        elif m := re.fullmatch(NODE_DOT, line):
            label = m["op"] if m["op"] is not None else m["leaf"]
            nodes[m["id"]] = _node_texts(label, "<BR/>", f'<FONT COLOR="{RED}"', totals, m["id"])
    return nodes, edges


def read_mermaid(text, totals=None):
    """Node texts and edges (source, target, value, gradient) of cgcalc's Mermaid."""
    br, red = "<br/>", f"<span style='color:{RED}'>"
    nodes, edges = {}, []
    for line in text.splitlines():
        if m := re.fullmatch(r'\s*(?P<source>\w+) -->\|"(?P<label>.*)"\| (?P<target>\w+)', line):
            value, grad = (m["label"].split(br) + [None])[:2]
            if grad is not None:
                assert grad.startswith(red), line
                grad = _tags_off(grad)
            edges.append((m["source"], m["target"], _tags_off(value), grad))
        elif m := re.fullmatch(r'\s*(?P<id>\w+)(?:\(\("(?P<op>.*)"\)\)|\("(?P<box>.*)"\)'
                               r'|\["(?P<leaf>.*)"\]:::leaf)', line):
            label = next(m[k] for k in ("op", "box", "leaf") if m[k] is not None)
            nodes[m["id"]] = _node_texts(label, br, red, totals, m["id"])
    return nodes, edges


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


X_TIMES_Y_PLUS_X = {(("x",), ("×",)): ("3", "4"), (("y",), ("×",)): ("4", "3"),
                    (("x",), ("+",)): ("3", "1"), (("×",), ("+",)): ("12", "1"),
                    (("+",), ("value",)): ("15", "1")}


def test_each_variable_shows_its_gradient_summed_over_its_uses():
    pic = picture("x*y + x", x=3, y=4)
    for read, text in ((read_dot, dot(pic)), (read_mermaid, mermaid(pic))):
        totals = {}
        nodes, edges = read(text, totals)
        assert by_texts(nodes, edges) == X_TIMES_Y_PLUS_X
        assert {nodes[node]: total for node, total in totals.items()} == {("x",): "5", ("y",): "3"}


def test_svg_puts_each_label_on_its_own_edge_value_above_gradient_below(run, graphviz):
    result = run("graph", "x*y + x", "x=3", "y=4", "--format", "svg")
    totals = {}
    nodes, edges = read_svg(result.stdout_bytes, totals)  # checks the layout
    assert by_texts(nodes, edges) == X_TIMES_Y_PLUS_X
    assert {nodes[node]: total for node, total in totals.items()} == {("x",): "5", ("y",): "3"}


TWO_LAYER_NET = "softmax_cross_entropy(affine(relu(affine(X, W1, b1)), W2, b2), t)"
TWO_LAYER = str(Path(__file__).resolve().parent.parent / "examples" / "two_layer.json")


def test_arrays_show_their_shape_once_their_first_elements_and_norm(run, graphviz):
    result = run("graph", TWO_LAYER_NET, "--vars", TWO_LAYER, "--format", "svg")
    assert result.exit_code == 0, result.output
    totals = {}
    nodes, edges = read_svg(result.stdout_bytes, totals)
    keyed = by_texts(nodes, edges)
    assert keyed[(("X",), ("affine",))] == ("3×4 array: 0.6, 0.9, -0.4, …; norm 2.027",
                                            "0.007222, 0.008814, -0.01828, …; norm 0.1105")
    assert keyed[(("b2",), ("affine",))] == ("3 array: -0.13, 0.15, 0.13",
                                             "-0.08781, 0.07342, 0.01439")
    assert keyed[(("softmax_cross_entropy",), ("value",))] == ("1.187799043", "1")
    assert {nodes[n]: t for n, t in totals.items()}[("b1",)] == \
        "-0.05509, 0.1264, 0.04665, …; norm 0.1639"
    box = ET.fromstring(result.stdout_bytes).find(f".//{SVG}g[{SVG}title='n9']")
    assert box.find(f"{SVG}ellipse") is None  # a rounded box that fits the name, 36 pt high
    ys = [float(y) for y in re.findall(r",(-?[\d.]+)", box.find(f"{SVG}path").get("d"))]
    assert max(ys) - min(ys) == 36


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


SVG = "{http://www.w3.org/2000/svg}"


def _path_points(d):
    """Points along an SVG path of Graphviz's: M, then cubic Bézier segments (C)."""
    xy = [tuple(map(float, p.split(","))) for p in re.findall(r"-?[\d.]+,-?[\d.]+", d)]
    points = [xy[0]]
    for k in range(1, len(xy) - 2, 3):
        p0, p1, p2, p3 = xy[k - 1:k + 3]
        for i in range(1, 21):
            t = i / 20
            points.append(tuple((1 - t) ** 3 * a + 3 * (1 - t) ** 2 * t * b + 3 * (1 - t) * t ** 2 * c
                                + t ** 3 * e for a, b, c, e in zip(p0, p1, p2, p3)))
    return points


def _centre(text):
    """Roughly where a text is drawn: its baseline start moved half its width on, and up."""
    size = float(text.get("font-size"))
    return (float(text.get("x")) + 0.55 * size * len(text.text) / 2,
            float(text.get("y")) - size / 3)


def read_svg(data, totals=None):
    """Node texts and edges (source, target, value, gradient) as Graphviz laid them out.

    Each edge's numbers are drawn in a node of its own that the edge runs through; read
    from the coordinates, its value must lie above the edge's line and its gradient (red)
    below, and every one of its texts must be nearer to one of the edge's own pieces (the
    curve in, the line between the numbers, the curve out) than to any other edge."""
    root = ET.fromstring(data)
    nodes, labels, pieces = {}, {}, {}
    for g in root.iter(f"{SVG}g"):
        title = g.find(f"{SVG}title").text
        texts = g.findall(f"{SVG}text")
        if g.get("class") == "edge":
            a, b = (end.split(":")[0] for end in title.split("->"))
            pieces[(a, b)] = _path_points(g.find(f"{SVG}path").get("d"))
        elif g.get("class") == "node" and re.fullmatch(r"\w+_\d+", title):
            (x0, line_y), (x1, _) = [tuple(map(float, point.split(","))) for point in
                                     g.find(f"{SVG}polyline").get("points").split()]
            pieces[(title, title)] = [(x0 + (x1 - x0) * i / 20, line_y) for i in range(21)]
            above = [t for t in texts if float(t.get("y")) < line_y]
            below = [t for t in texts if float(t.get("y")) > line_y]
            assert all(t.get("fill") is None for t in above), "the value is drawn above"
            assert all(t.get("fill") == RED for t in below), "the gradient is drawn below"
            labels[title] = ("; ".join(t.text for t in above),
                             "; ".join(t.text for t in below) or None, texts)
        elif g.get("class") == "node":
            black = tuple(t.text for t in texts if t.get("fill") is None)
            red = [t.text for t in texts if t.get("fill") == RED]
            nodes[title] = black
            if red and totals is not None:
                totals[title] = "; ".join(red)
    edges = []
    for label, (value, grad, texts) in labels.items():
        (a, _), = [key for key in pieces if key[1] == label != key[0]]
        (_, b), = [key for key in pieces if key[0] == label != key[1]]
        for text in texts:
            x, y = _centre(text)
            nearest = min(pieces, key=lambda key: min((px - x) ** 2 + (py - y) ** 2
                                                      for px, py in pieces[key]))
            assert label in nearest, f"{text.text!r} of {a}->{b} lies nearest to {nearest}"
        edges.append((a, b, value, grad))
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


@pytest.mark.parametrize("suffix, magic", [(".pdf", b"%PDF-"), (".jpg", b"\xff\xd8\xff"),
                                           (".jpeg", b"\xff\xd8\xff"), (".gif", b"GIF8"),
                                           (".eps", b"%!PS-Adobe")])
def test_graphviz_formats_follow_the_output_suffix(run, graphviz, tmp_path, suffix, magic):
    out = tmp_path / f"g{suffix}"
    assert run("graph", "x*y", "x=2", "y=3", "-o", str(out)).exit_code == 0
    assert out.read_bytes().startswith(magic)


def test_an_unknown_suffix_is_an_error_and_writes_nothing(run, tmp_path):
    out = tmp_path / "g.pdff"
    result = run("graph", "x*y", "x=2", "y=3", "-o", str(out))
    assert result.exit_code == 2 and result.stdout == "" and not out.exists()
    assert result.stderr.splitlines()[-1] == (
        f"cgcalc: usage error: cannot tell the format of {out} from its suffix .pdff; use one "
        "of .dot .gv .mmd .txt .svg .png .pdf .jpg .jpeg .gif .ps .eps, or give --format "
        "(see 'cgcalc graph --help')")


@pytest.mark.parametrize("fmt", ["png", "pdf", "jpg", "gif"])
def test_binary_formats_are_not_written_to_a_terminal(fmt):
    import os
    import pty

    leader, follower = pty.openpty()
    done = subprocess.run([sys.executable, "-c", "from cgcalc.cli import main; main()",
                           "graph", "x", "x=1", "--format", fmt], stdout=follower,
                          stderr=subprocess.PIPE, text=True, timeout=60)
    os.close(follower)
    os.close(leader)
    assert done.returncode == 2
    assert done.stderr.splitlines()[-1].startswith(
        f"cgcalc: usage error: a {fmt.upper()} is not for the terminal; write it with -o FILE")


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


def test_tree_gives_a_variable_used_twice_its_gradient(run):
    result = run("graph", "x*y + x", "x=3", "y=4", "--format", "tree")
    assert result.stdout.splitlines()[2:5] == [
        "│   ├── x = 3  ∂ 4  (∂ 5 over all its uses)",
        "│   └── y = 4  ∂ 3",
        "└── x = 3  ∂ 1  (∂ 5 over all its uses)",
    ]


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


@pytest.mark.parametrize("timeout", ["1e10", "1e300"])
def test_a_timeout_too_long_for_the_clock_is_a_usage_error(run, timeout):
    """Above about 9.2e9 s the selector's clock overflowed: an internal error (exit 3)."""
    result = run("graph", "x*2", "x=1", "--format", "svg", "--timeout", timeout)
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr.startswith("cgcalc: usage error: Invalid value for '--timeout': ")
