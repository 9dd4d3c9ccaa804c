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

import os
import shutil
import signal
import subprocess
from html import escape

from ..errors import RenderError
from ..faults import signals_held
from .picture import Edge, Picture, node_id

GRAD_COLOR = "#d62728"  #: the colour of gradients, as the book prints them in red

#: The most nodes of a program that Graphviz lays out for svg and png. Its time grows
#: steeply with the crossings of a shared variable's edges: x*1 + x*2 + ... + x*n took
#: 0.5 s of CPU at 120 nodes (n = 40), 4 s at 150, 16 s at 180 and 43 s at 210
#: (Graphviz 2.43).
MAX_NODES = 150
TIMEOUT = 30.0  #: seconds Graphviz may take, unless cgcalc graph --timeout says otherwise

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


def drawn(picture: Picture, fmt: str, timeout: float = TIMEOUT) -> bytes:
    """The picture as ``fmt``: DOT or Mermaid text, or what Graphviz makes of the DOT
    (svg, png, pdf, ...) within ``timeout`` seconds."""
    if fmt == "mermaid":
        from .mermaid import mermaid

        return mermaid(picture).encode("utf-8")
    return dot(picture).encode("utf-8") if fmt == "dot" else graphviz(picture, fmt, timeout)


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


def graphviz(picture: Picture, fmt: str, timeout: float = TIMEOUT) -> bytes:
    """The picture rendered by Graphviz's ``dot`` as ``fmt`` (svg, png), within ``timeout``
    seconds; pictures of more than :data:`MAX_NODES` nodes are refused."""
    nodes = len(picture.kinds)
    if nodes > MAX_NODES:
        raise RenderError(
            f"this graph has {nodes} nodes; --format {fmt} draws at most {MAX_NODES}, as "
            "Graphviz may take minutes for more; use --format dot (and run dot yourself) "
            "or --format tree")
    exe = shutil.which("dot")
    if exe is None:
        raise RenderError(
            f"--format {fmt} needs the dot command of Graphviz, which is not installed; install "
            "the graphviz package (apt-get install graphviz on Debian or Ubuntu, brew install "
            "graphviz on macOS), or use --format dot, mermaid or tree")
    out, err, code = _run(exe, fmt, dot(picture).encode("utf-8"), timeout)
    if code != 0:
        reason = err.decode("utf-8", "replace").strip()
        raise RenderError(f"Graphviz's dot failed (exit {code}): {reason}")
    return out


def _run(exe: str, fmt: str, text: bytes, timeout: float) -> tuple[bytes, bytes, int]:
    """``dot`` in a process group of its own, killed with whatever it started when time is
    up or when cgcalc is stopped (a signal, an error), so that none is left behind."""
    process = None
    try:
        with signals_held():  # a signal as dot starts waits until dot is known, to be killed
            process = subprocess.Popen([exe, f"-T{fmt}"], stdin=subprocess.PIPE,
                                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                       start_new_session=True)
        out, err = process.communicate(text, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise RenderError(f"Graphviz's dot did not finish in {timeout:g} s (--timeout); "
                          "use --format dot (and run dot yourself) or --format tree, or "
                          "give it longer") from None
    finally:
        if process is not None:
            with process:  # closes its pipes and waits for it
                if process.returncode is None:
                    os.killpg(process.pid, signal.SIGKILL)
    return out, err, process.returncode
