"""``--format tree``: the graph in the terminal, from the output back to the variables.

Each line is one use of a node: what it is, its value after ``=``, and after ``∂`` the
gradient sent back to it along that use (and, for a variable used more than once, its
gradient: the sum over its uses). Rich colours the text, but the lines are laid
out here by a loop over a stack: Rich's own ``Tree`` renders recursively, and a graph
may be 100,000 nodes deep. The inputs of a node are drawn once (a shared part of the
graph could otherwise repeat exponentially often), and lines deeper than ``MAX_DEPTH``
levels are left out and counted.
"""

from __future__ import annotations

from typing import IO, TYPE_CHECKING

from .picture import Edge, Picture

if TYPE_CHECKING:
    from rich.text import Text

MAX_DEPTH = 40  #: levels below the output that are drawn


def render(picture: Picture, file: IO[str] | None = None, max_depth: int = MAX_DEPTH) -> None:
    """Print the tree of the picture to ``file`` (by default the terminal, in colour)."""
    from rich.console import Console
    from rich.text import Text

    cluster_of = {node: cluster for cluster in picture.clusters for node in cluster.nodes}
    ending: dict[int, list[str]] = {}  # a cluster's title goes on its last node, outer first
    for cluster in picture.clusters:
        ending.setdefault(cluster.nodes[-1], []).append("; ".join(cluster.title))
    lines: list[Text] = []
    drawn: set[int] = set()  # nodes whose inputs have been drawn
    shown: set[int] = set()  # nodes that have a line
    stack: list[tuple[Edge, str, str, int]] = [(picture.output, "", "", 0)]
    while stack:
        edge, lead, below, depth = stack.pop()
        node = edge.source
        shown.add(node)
        line = _line(picture, edge, lead)
        if node in ending:
            line.append("".join(f"  ⟵ {title}" for title in ending[node]), style="dim")
        elif node in cluster_of:
            line.append(f"  (in {cluster_of[node].name})", style="dim")
        edges = picture.inputs[node]
        if edges and node in drawn:
            line.append("  (its inputs are drawn above)", style="dim")
        elif edges and depth >= max_depth:
            line.append("  (its inputs are too deep to draw)", style="dim")
        elif edges:
            drawn.add(node)
            for k in range(len(edges) - 1, -1, -1):
                end = k == len(edges) - 1
                stack.append((edges[k], below + ("└── " if end else "├── "),
                              below + ("    " if end else "│   "), depth + 1))
        lines.append(line)
    hidden = sum(picture.program.depends(picture.output.source)) - len(shown)
    if hidden:
        lines.append(Text(f"… {hidden} more nodes lie deeper than {max_depth} levels; "
                          "--format dot, svg or mermaid draws the whole graph", style="dim"))
    lines.append(Text("= forward value, ∂ the gradient sent back along the line's edge",
                      style="dim"))
    Console(file=file).print(Text("\n").join(lines), soft_wrap=True)


def _line(picture: Picture, edge: Edge, lead: str) -> Text:
    from rich.text import Text

    line = Text()
    line.append(lead, style="dim")
    node = edge.source
    kind, text = picture.kinds[node], picture.texts[node]
    if kind == "operation":
        line.append(text, style="bold")
        name = picture.names.get(node)
        line.append(f" {name} = " if name else " = ")
        line.append(edge.value, style="cyan")
    elif kind == "variable":
        line.append(f"{text} = ")
        line.append(edge.value, style="cyan")
    else:
        line.append(text, style="cyan")
    if edge.grad is not None:
        line.append("  ∂ ")
        line.append(edge.grad, style="green")
    total = picture.totals.get(node) if kind == "variable" else None
    if total is not None and total != edge.grad:
        line.append("  (∂ ")
        line.append(total, style="green")
        line.append(" over all its uses)")
    return line
