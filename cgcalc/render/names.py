"""What a person calls each node, the same in the tables, ``--explain`` and the pictures.

A name assigned again (``x = x*2; x*x``) names several nodes: the free variable keeps
the name it is bound by, and the assigned nodes are numbered in order, ``x₁``, ``x₂``,
so that no step reads ∂value/∂x = ∂value/∂x · 2. An operation nobody named is called by
its operation, numbered in id order (``mul₁``, ``mul₂``); a number by its value; the
program's value, when unnamed, ``value``. Generated names cannot clash with the
program's own, whose characters are ASCII.
"""

from __future__ import annotations

from ..graph import Program
from ..ops import Const, Var
from . import number

_SUBSCRIPT = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")


def subscript(text: str, n: int) -> str:
    """``text`` with ``n`` written below the line: ``x₁``."""
    return text + str(n).translate(_SUBSCRIPT)


class NodeNames:
    """``names[node]``: the name of a node. The program's own names are worked out at
    once (from its few named nodes); the numbered names of unnamed operations, which
    take a walk over every node, only when one is first asked for."""

    def __init__(self, program: Program, precision: int = 10) -> None:
        self.program, self.precision = program, precision
        by_name: dict[str, list[int]] = {}
        for node in sorted(program.names):
            by_name.setdefault(program.names[node], []).append(node)
        self.named: dict[int, str] = {}
        for name, nodes in by_name.items():
            first = 0 if program.ops[nodes[0]] is Var else 1  # a variable is version 0: x
            for n, node in enumerate(nodes, first):
                self.named[node] = name if len(nodes) == 1 or n == 0 else subscript(name, n)
        self.value_free = "value" not in by_name  #: may the unnamed output be called "value"?
        self._generated: dict[int, str] | None = None

    def __getitem__(self, node: int) -> str:
        program = self.program
        name = self.named.get(node)
        if name is not None:
            return name
        if node == program.output and self.value_free:
            return "value"
        if program.ops[node] is Const:
            return number(program.constants[node], self.precision)
        if self._generated is None:
            self._generated = self._number_unnamed()
        return self._generated[node]

    def _number_unnamed(self) -> dict[int, str]:
        """``mul₁``, ``mul₂``...: every unnamed operation node, numbered per operation."""
        program, counts, generated = self.program, {}, {}
        value = program.output if self.value_free else -1
        for node, (op, ins) in enumerate(zip(program.ops, program.inputs)):
            if ins and node not in self.named and node != value:
                counts[op.name] = n = counts.get(op.name, 0) + 1
                generated[node] = subscript(op.name, n)
        return generated
