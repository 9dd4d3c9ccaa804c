"""Graphviz DOT, written by cgcalc itself, and SVG or PNG made from it by Graphviz's ``dot``.

The graph runs left to right like the book's figures: variables and numbers as plain
text, operations in circles, each edge labelled with its forward value above and its
gradient below in red. A fused operation drawn with ``--expand`` sits in a dashed box
titled with its definition.
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


def graphviz(picture: Picture, fmt: str, timeout: float) -> bytes:
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
