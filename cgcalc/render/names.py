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


def node_names(program: Program, precision: int = 10) -> list[str]:
    """The name of every node, by id (numbers rounded to ``precision`` digits)."""
    uses: dict[str, int] = {}
    for name in program.names.values():
        uses[name] = uses.get(name, 0) + 1
    versions: dict[str, int] = {}  # versions of each reused name numbered so far
    unnamed: dict[str, int] = {}  # unnamed nodes of each operation numbered so far
    names = []
    for node, op in enumerate(program.ops):
        name = program.names.get(node)
        if name is not None and (uses[name] == 1 or op is Var):
            names.append(name)
        elif name is not None:
            versions[name] = versions.get(name, 0) + 1
            names.append(subscript(name, versions[name]))
        elif node == program.output and "value" not in uses:
            names.append("value")
        elif op is Const:
            names.append(number(program.constants[node], precision))
        else:
            unnamed[op.name] = unnamed.get(op.name, 0) + 1
            names.append(subscript(op.name, unnamed[op.name]))
    return names
