"""A program printed back as source text, with as few parentheses as the grammar needs.

``parse(to_source(program))`` gives the same graph: the same operations, inputs,
names and value. Printing is iterative (an explicit stack), so a 100,000-deep
expression prints like any other, and it emits pieces into one list, never
re-copying a subexpression's text.
"""

from __future__ import annotations

from ..graph import Program
from ..ops import Const, Neg, Var

# Binding levels, mirroring grammars/cgcalc.lark (the round-trip tests keep them in step):
# sum < product < factor (a sign, or a power) < atom (number, name, call, parentheses).
SUM, PRODUCT, FACTOR, ATOM = 1, 2, 3, 4
_LEVEL = {"+": SUM, "-": SUM, "*": PRODUCT, "/": PRODUCT, "@": PRODUCT, "**": FACTOR}


def to_source(program: Program) -> str:
    """The program as text, one statement a line; ``+`` and ``-`` spaced, products and
    powers not, as the book writes them (``apple*apple_num + orange*orange_num``)."""
    lines = []
    scope: dict[str, int] = {}  # as the parser's: assigned name -> newest node
    bound: dict[int, str] = {}  # the reverse: earlier nodes are referred to by name
    for name, node, first in program.statements:
        parts: list[str] = []
        stack: list = [node]
        while stack:
            item = stack.pop()
            if isinstance(item, str):
                parts.append(item)
                continue
            op = program.ops[item]
            if op is Var:
                parts.append(program.names[item])
            elif item < first:
                parts.append(bound[item])
            elif op is Const:
                parts.append(literal_text(program.constants[item]))
            else:
                stack.extend(reversed(_pieces(program, item, first)))
        text = "".join(parts)
        lines.append(f"{name} = {text}" if name else text)
        if name:
            old = scope.get(name)
            scope[name], bound[node] = node, name
            if old is not None and old != node and bound.get(old) == name:  # name reassigned
                others = [other for other, n in scope.items() if n == old]
                if others:
                    bound[old] = others[-1]
                else:
                    del bound[old]
    return "\n".join(lines)


def literal_text(value) -> str:
    """A literal with every digit: a float's repr (``2`` for 2.0), or the decimal of an
    exact one (a derivative program's under ``--exact``)."""
    if not isinstance(value, float):
        from .exact_numbers import literal

        return literal(value)
    text = repr(value)
    return text[:-2] if text.endswith(".0") else text


def _pieces(program: Program, node: int, first: int) -> list:
    """A node as text pieces and child ids, children wrapped in parentheses where needed."""
    op, ins = program.ops[node], program.inputs[node]
    if op is Neg:
        return ["-", *_operand(program, ins[0], FACTOR, first)]
    level = _LEVEL.get(op.symbol)
    if level is None:  # a function call
        pieces: list = [op.symbol, "("]
        for i, arg in enumerate(ins):
            pieces += [", "] * bool(i) + ["axis="] * (i == 1 and op.params == "axis") + [arg]
        return pieces + [")"]
    left, right = ins
    if level == FACTOR:  # a power: its base is an atom, its exponent a factor
        return [*_operand(program, left, ATOM, first), "**",
                *_operand(program, right, FACTOR, first)]
    symbol = op.symbol if op.symbol in ("*", "/") else f" {op.symbol} "
    return [*_operand(program, left, level, first), symbol,
            *_operand(program, right, level + 1, first)]


def _operand(program: Program, node: int, needed: int, first: int) -> list:
    """``node`` as an operand that must bind at least as tightly as ``needed``;
    nodes of earlier statements are written as their names, atoms."""
    op = program.ops[node]
    level = ATOM if node < first else FACTOR if op is Neg else _LEVEL.get(op.symbol, ATOM)
    return ["(", node, ")"] if level < needed else [node]
