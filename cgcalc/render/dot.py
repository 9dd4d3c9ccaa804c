"""Graphviz DOT, written by cgcalc itself, and SVG or PNG made from it by Graphviz's ``dot``.

The graph runs left to right like the book's figures: variables and numbers as plain
text (a variable with its gradient, in red, under its name), operations in circles, or
in rounded boxes when their names are long. Graphviz places an edge's label beside the
edge where it finds room, which can be nearer to another edge; so each edge passes
through a small node of its own instead, its forward value above the line and its
gradient below in red, and no label can be read as another edge's. A fused operation
drawn with ``--expand`` sits in a dashed box titled with its definition.
"""

from __future__ import annotations

import shutil
import subprocess
from html import escape

from ..errors import RenderError
from .picture import Edge, Picture, node_id

GRAD_COLOR = "#d62728"  #: the colour of gradients, as the book prints them in red

_HEAD = """\
digraph cgcalc {
  rankdir=LR; ordering=in; nodesep=0.4;
  node [fontname="Helvetica", fontsize=14];
  edge [fontname="Helvetica", fontsize=11, arrowsize=0.7];"""


def dot(picture: Picture) -> str:
    """The DOT text of the picture."""
    cluster_of = {node: i for i, cluster in enumerate(picture.clusters) for node in cluster.nodes}

    def inside(edge: Edge) -> bool:  # an edge within a cluster has its numbers drawn there
        return edge.target is not None and cluster_of.get(edge.source, -1) == cluster_of.get(
            edge.target)

    lines = [_HEAD, *picture.node_lines(
        lambda node: "\n".join([_node(picture, node), *(
            _numbers_node(e, k) for k, e in enumerate(picture.inputs[node]) if inside(e))]),
        lambda i, title: f'subgraph cluster_{i} {{ label=<{"<BR/>".join(map(escape, title))}>; '
                         'style=dashed; fontname="Helvetica"; fontsize=11;',
        "}")]
    lines.append(f"  {node_id(None)} [label=<{escape(picture.output_name)}>, shape=plaintext];")
    for edges in (*picture.inputs, (picture.output,)):
        for k, e in enumerate(edges):
            if not inside(e):
                lines.append("  " + _numbers_node(e, k))
            lines.append(f"  {node_id(e.source)} -> {_numbers_id(e, k)}:line:w [arrowhead=none]; "
                         f"{_numbers_id(e, k)}:line:e -> {node_id(e.target)};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _numbers_id(edge: Edge, k: int) -> str:
    """The id of the node holding the numbers of the ``k``-th edge into ``edge.target``."""
    return f"{node_id(edge.target)}_{k}"


def _numbers_node(edge: Edge, k: int) -> str:
    return f"{_numbers_id(edge, k)} [label=<{_numbers(edge)}>, shape=plain, fontsize=11];"


#: operations with longer names are drawn in a box that fits them, not in a circle
CIRCLED = 5


def drawn(picture: Picture, fmt: str) -> bytes:
    """The picture as ``fmt``: DOT or Mermaid text, or what Graphviz makes of the DOT
    (svg, png, pdf, ...)."""
    if fmt == "mermaid":
        from .mermaid import mermaid

        return mermaid(picture).encode("utf-8")
    text = dot(picture)
    return text.encode("utf-8") if fmt == "dot" else graphviz(text, fmt)


def _node(picture: Picture, node: int) -> str:
    text = escape(picture.texts[node])
    if picture.kinds[node] != "operation":
        total = picture.totals.get(node)
        if total is not None:
            text += f'<BR/><FONT COLOR="{GRAD_COLOR}" POINT-SIZE="11">{_lines(total)}</FONT>'
        return f"{node_id(node)} [label=<{text}>, shape=plaintext];"
    shape = "circle" if len(picture.texts[node]) <= CIRCLED else 'box, style=rounded'
    name = picture.names.get(node)
    if name:
        text += f'<BR/><FONT POINT-SIZE="10">{escape(name)}</FONT>'
    return f"{node_id(node)} [label=<{text}>, shape={shape}, margin=0.02];"


def _numbers(edge: Edge) -> str:
    """The edge's own node: the value, a line the edge runs along (the port ``line``), and
    the gradient in red under it."""
    rows = [f"<TR><TD>{_lines(edge.value)}</TD></TR>",
            '<TR><TD PORT="line" HEIGHT="1" BORDER="1" SIDES="B" CELLPADDING="0"></TD></TR>']
    if edge.grad is not None:
        rows.append(f'<TR><TD><FONT COLOR="{GRAD_COLOR}">{_lines(edge.grad)}</FONT></TD></TR>')
    return f'<TABLE BORDER="0" CELLSPACING="0" CELLPADDING="1">{"".join(rows)}</TABLE>'


def _lines(text: str) -> str:
    """An array's text with its norm on a line of its own, to keep the picture narrow."""
    return "<BR/>".join(map(escape, text.split("; ")))


def graphviz(dot_text: str, fmt: str) -> bytes:
    """``dot_text`` rendered by Graphviz's ``dot`` as ``fmt`` (svg, png)."""
    exe = shutil.which("dot")
    if exe is None:
        raise RenderError(
            f"--format {fmt} needs the dot command of Graphviz, which is not installed; install "
            "the graphviz package (apt-get install graphviz on Debian or Ubuntu, brew install "
            "graphviz on macOS), or use --format dot, mermaid or tree")
    done = subprocess.run([exe, f"-T{fmt}"], input=dot_text.encode("utf-8"), capture_output=True)
    if done.returncode != 0:
        reason = done.stderr.decode("utf-8", "replace").strip()
        raise RenderError(f"Graphviz's dot failed (exit {done.returncode}): {reason}")
    return done.stdout
