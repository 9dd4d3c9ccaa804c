"""Graphviz DOT, written by cgcalc itself, and SVG or PNG made from it by Graphviz's ``dot``.

The graph runs left to right like the book's figures: variables and numbers as plain
text, operations in circles, each edge labelled with its forward value above and its
gradient below in red. A fused operation drawn with ``--expand`` sits in a dashed box
titled with its definition.
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
  rankdir=LR; ordering=in;
  node [fontname="Helvetica", fontsize=14];
  edge [fontname="Helvetica", fontsize=11, arrowsize=0.7];"""


def dot(picture: Picture) -> str:
    """The DOT text of the picture."""
    lines = [_HEAD, *picture.node_lines(
        lambda node: _node(picture, node),
        lambda i, title: f'subgraph cluster_{i} {{ label=<{"<BR/>".join(map(escape, title))}>; '
                         'style=dashed; fontname="Helvetica"; fontsize=11;',
        "}")]
    lines.append(f"  {node_id(None)} [label=<{escape(picture.output_name)}>, shape=plaintext];")
    lines.extend(f"  {node_id(e.source)} -> {node_id(e.target)} [label=<{_numbers(e)}>];"
                 for e in picture.edges())
    lines.append("}")
    return "\n".join(lines) + "\n"


def drawn(picture: Picture, fmt: str) -> bytes:
    """The picture as ``fmt``: DOT or Mermaid text, or SVG or PNG made by Graphviz."""
    if fmt == "mermaid":
        from .mermaid import mermaid

        return mermaid(picture).encode("utf-8")
    text = dot(picture)
    return graphviz(text, fmt) if fmt in ("svg", "png") else text.encode("utf-8")


def _node(picture: Picture, node: int) -> str:
    text = escape(picture.texts[node])
    if picture.kinds[node] != "operation":
        return f"{node_id(node)} [label=<{text}>, shape=plaintext];"
    name = picture.names.get(node)
    if name:
        text += f'<BR/><FONT POINT-SIZE="10">{escape(name)}</FONT>'
    return f"{node_id(node)} [label=<{text}>, shape=circle, margin=0.02];"


def _numbers(edge: Edge) -> str:
    if edge.grad is None:
        return escape(edge.value)
    return f'{escape(edge.value)}<BR/><FONT COLOR="{GRAD_COLOR}">{escape(edge.grad)}</FONT>'


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
