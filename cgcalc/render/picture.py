"""What every drawing of the graph shows, worked out once for DOT, Mermaid and the tree.

Operation nodes show their operator (and the name the program gave them), variables
their names, number literals their values. Each edge is one use of a node, so a variable
used twice is one node with two edges. An edge carries the forward value of its source
and the gradient the reverse pass sent back along it; the gradients on a node's outgoing
edges add up to its own. The program's value leaves the graph along one more edge, with
the gradient 1 that the reverse pass starts from. Each variable also carries its own
gradient, the sum over its uses. Numbers are rounded like the tables; an array shows its
shape once (on the value), its first elements and its norm.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from ..walk import Result, local_derivatives, written
from ..expand import Expansion
from ..graph import Call
from ..ops import OPERANDS, Const, Neg, Var
from .explain import derivatives
from . import number, value_text
from .names import NodeNames

#: Operators drawn as the book draws them; every other operation shows its symbol.
_SHOWN = {"*": "×", "-": "−"}


def node_id(node: int | None) -> str:
    """The node's identifier in DOT and Mermaid text; ``out`` for where the value leaves."""
    return "out" if node is None else f"n{node}"


@dataclass(frozen=True, slots=True)
class Edge:
    """One use of ``source``: its value, and the gradient sent back to it along this use."""

    source: int
    target: int | None  #: None for the edge along which the program's value leaves
    value: str
    grad: str | None  #: None where the reverse pass does not go (parts without variables)


@dataclass(frozen=True, slots=True)
class Cluster:
    """The primitive nodes of one fused operation, and a title to draw around them."""

    name: str  #: the fused operation's name
    title: tuple[str, ...]  #: its definition, then the fused node's own value and derivatives
    nodes: range


class Picture:
    """A result laid out for drawing: node kinds and texts, edges with their numbers."""

    def __init__(self, result: Result, expansions: Sequence[Expansion] = (),
                 precision: int = 10) -> None:
        program, values = result.program, result.values
        self.program = program
        self.kinds: list[str] = []  #: "variable", "constant" or "operation", by node id
        self.texts: list[str] = []  #: name, number or operator, by node id
        self.inputs: list[tuple[Edge, ...]] = []  #: the edges into each node, by node id
        edge_grads = result.edge_grads
        for node, (op, ins, sent) in enumerate(zip(program.ops, program.inputs, edge_grads)):
            if op is Var:
                self.kinds.append("variable")
                self.texts.append(program.names[node])
            elif op is Const:
                self.kinds.append("constant")
                self.texts.append(number(values[node], precision))
            else:
                self.kinds.append("operation")
                self.texts.append("×(−1)" if op is Neg else _SHOWN.get(op.symbol, op.symbol))
            self.inputs.append(tuple(
                Edge(i, node, value_text(values[i], precision),
                     None if sent is None or sent[k] is None
                     else value_text(sent[k], precision, shape=False))
                for k, i in enumerate(ins)))
        #: each variable's gradient, the sum over its uses (none where it is not finite)
        self.totals = {node: value_text(grad, precision, shape=False)
                       for node in program.variables.values()
                       if (grad := result._grad(result.grads[node])) is not None}
        names = NodeNames(program, precision)
        #: names the program assigned to operation nodes (x₁ for a name assigned again)
        self.names = {node: names[node] for node in program.names
                      if self.kinds[node] == "operation"}
        out = program.output
        self.output_name = names[out]
        self.output = Edge(out, None, value_text(result.value, precision),
                           value_text(result.grads[out], precision, shape=False))
        #: each fused operation drawn as its primitive graph, and each call of a function
        #: the program defined, outer ones before those they hold
        #: (a call before a fused node of the same nodes: the call holds the fused node)
        clusters = [Cluster(c.function.name, _call_title(c, values, precision), c.nodes)
                    for c in reversed(program.calls) if c.nodes]
        clusters += [Cluster(e.op.name, _title(e, values, precision), e.nodes)
                     for e in expansions if e.nodes]
        self.clusters = sorted(clusters, key=lambda c: (c.nodes.start, -len(c.nodes)))

    def edges(self) -> Iterator[Edge]:
        """Every edge: the uses of each node, in node order, then the output's."""
        for edges in self.inputs:
            yield from edges
        yield self.output

    def node_lines(self, node_line: Callable[[int], str],
                   open_line: Callable[[int, tuple[str, ...]], str],
                   close_line: str) -> list[str]:
        """The lines of each node in id order, the nodes of each cluster indented between the
        line that opens it (given its number and title) and ``close_line``; a cluster
        inside another (a call in a function's body) is nested in it."""
        opening: dict[int, list[tuple[int, tuple[str, ...]]]] = {}
        closing: dict[int, int] = {}
        for i, cluster in enumerate(self.clusters):
            opening.setdefault(cluster.nodes[0], []).append((i, cluster.title))
            closing[cluster.nodes[-1]] = closing.get(cluster.nodes[-1], 0) + 1
        lines, depth = [], 1
        for node in range(len(self.kinds)):
            for i, title in opening.get(node, ()):
                lines.append("  " * depth + open_line(i, title))
                depth += 1
            lines.extend("  " * depth + line for line in node_line(node).split("\n"))
            for _ in range(closing.get(node, 0)):
                depth -= 1
                lines.append("  " * depth + close_line)
        return lines


def _title(expansion: Expansion, values: list[float], precision: int) -> tuple[str, ...]:
    """``sigmoid(x) = 1/(1 + exp(-x))``, then what the fused node computes at this point."""
    op, names = expansion.op, list(OPERANDS[expansion.op.arity])
    xs = [values[i] for i in expansion.inputs]
    if any(getattr(x, "ndim", 0) for x in xs):  # arrays: the definition alone
        return (f"{written(op, names)} = {op.expansion}",)
    y = op.forward(*xs)
    fused = [f"∂y/∂{a} = {rule} = {number(d, precision)}" for a, rule, d in
             zip(names, derivatives(op, names, "y"), local_derivatives(op, y, xs) or ())]
    return (f"{written(op, names)} = {op.expansion}",
            ", ".join([f"fused: y = {number(y, precision)}", *fused]))


def _call_title(call: Call, values: list, precision: int) -> tuple[str, ...]:
    """``softplus(x) = log(1 + exp(x))``, then the call at this point: ``softplus(2) = 2.127``."""
    xs = [values[i] for i in call.inputs]
    y = values[call.nodes[-1]]
    if any(getattr(v, "ndim", 0) for v in (*xs, y)):  # arrays: the definition alone
        return (call.function.definition(),)
    return (call.function.definition(),
            f"{call.function.signature([number(x, precision) for x in xs])} = {number(y, precision)}")
