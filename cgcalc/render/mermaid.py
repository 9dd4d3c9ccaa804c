"""A Mermaid flowchart, for Markdown pages that render Mermaid (GitHub, GitLab, MkDocs).

The same picture as the DOT output: left to right, operations in circles (long names in
rounded boxes), variables (with their gradients in red) and numbers as plain text, each
edge labelled with its forward value and, below it in red, its gradient (Mermaid draws
a label on its edge); a fused operation drawn with ``--expand`` is a titled subgraph.
"""

from __future__ import annotations

from html import escape

from .dot import CIRCLED, GRAD_COLOR
from .picture import Edge, Picture, node_id


def mermaid(picture: Picture) -> str:
    """The Mermaid text of the picture."""
    lines = ["flowchart LR", "  classDef leaf fill:none,stroke:none", *picture.node_lines(
        lambda node: _node(picture, node),
        lambda i, title: f'subgraph c{i} ["{"<br/>".join(map(_text, title))}"]',
        "end")]
    lines.append(f'  {node_id(None)}["{_text(picture.output_name)}"]:::leaf')
    lines.extend(f'  {node_id(e.source)} -->|"{_numbers(e)}"| {node_id(e.target)}'
                 for e in picture.edges())
    return "\n".join(lines) + "\n"


def _node(picture: Picture, node: int) -> str:
    text = _text(picture.texts[node])
    if picture.kinds[node] != "operation":
        total = picture.totals.get(node)
        if total is not None:
            text += f"<br/><span style='color:{GRAD_COLOR}'>{_text(total)}</span>"
        return f'{node_id(node)}["{text}"]:::leaf'
    name = picture.names.get(node)
    text += "<br/>" + _text(name) if name else ""
    if len(picture.texts[node]) <= CIRCLED:
        return f'{node_id(node)}(("{text}"))'
    return f'{node_id(node)}("{text}")'


def _text(text: str) -> str:
    """Text for a quoted Mermaid label: HTML-escaped, and no double quote to end it."""
    return escape(text, quote=False).replace('"', "#quot;")


def _numbers(edge: Edge) -> str:
    if edge.grad is None:
        return _text(edge.value)
    return f"{_text(edge.value)}<br/><span style='color:{GRAD_COLOR}'>{_text(edge.grad)}</span>"
