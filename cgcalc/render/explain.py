"""``--explain``: the reverse pass in words, one chain-rule step per line.

The nodes come from the output back to the variables, in the order the reverse pass
visits them. For each node: how it was computed, its operation's local derivative rule
in words and symbols (``Op.rule``), then for each input the upstream gradient times the
local derivative::

    ∂price/∂apple_price = ∂price/∂price · tax = 1 · 1.1 = 1.1

A node used more than once first adds up what its uses sent back, and the explanation
ends with every variable's gradient as the sum over its uses.
"""

from __future__ import annotations

import re

from ..walk import Result, written
from ..ops import OPERANDS, Const, Op
from . import number
from .names import NodeNames

#: a local derivative that reads as one factor without parentheses: tax, 1/x, cos(x)
_PLAIN = re.compile(r"[\w.∂/]+(\([^()]*\))?")
_NAME = re.compile(r"\b[A-Za-z_]\w*\b")  #: a name in a rule: an operand, y, or a function


def derivatives(op: type[Op], args: list[str], y: str) -> list[str]:
    """d y / d input for each input as ``op.rule`` writes it, with ``args`` for the inputs
    and ``y`` for the node's value; "" for an input the operation gives no rule for."""
    names = dict(zip(OPERANDS[op.arity], args), y=y)
    rules = op.rule[1]
    return [_NAME.sub(lambda m: names.get(m[0], m[0]), rules[k]) if k < len(rules) else ""
            for k in range(op.arity)]


def explain(result: Result, precision: int = 10) -> list[str]:
    """The lines of the explanation (no colour, no Rich: plain text)."""
    program, values, grads = result.program, result.values, result.grads
    needs, sent = program.needs_grad, result.edge_grads
    ops, inputs = list(program.ops), list(program.inputs)  # read by node many times: made once
    out = program.output
    names = NodeNames(program, precision)
    top = names[out]

    def name(node: int) -> str:
        return number(values[node], precision) if ops[node] is Const and node != out \
            else names[node]

    seed = grads[out]  # the upstream gradient: 1 unless given, then d of some L downstream
    numerator = top if seed == 1 else "L"

    def d(node: int) -> str:
        return f"∂{numerator}/∂{name(node)}"

    def num(value: float) -> str:
        return number(value, precision)

    def factor(value: float | None) -> str:
        text = "undefined" if value is None else num(value)
        return f"({text})" if text.startswith("-") else text

    def total(node: int) -> str:
        """Its gradient as the sum of what its uses sent back."""
        terms = uses.get(node, [])
        if len(terms) < 2:
            return num(grads[node])
        return f"{num(terms[0])} + {' + '.join(map(factor, terms[1:]))} = {num(grads[node])}"

    # What each node's uses sent back to it, in the order the reverse pass added it up.
    reached = program.depends(out)
    steps = [node for node in range(out, -1, -1)
             if reached[node] and inputs[node] and needs[node]]
    uses: dict[int, list[float]] = {}
    for node in steps:
        for i, g in zip(inputs[node], sent[node]):
            if needs[i]:
                uses.setdefault(i, []).append(g)

    lines = [f"The reverse pass, from {top} back to the variables: each step multiplies the",
             "upstream gradient by the local derivative (the chain rule).", "",
             f"{d(out)} = {num(seed)}" + ("" if seed == 1 else ", the upstream gradient")]
    for node in steps:
        op, ins = ops[node], inputs[node]
        args, generic = [name(i) for i in ins], list(OPERANDS[op.arity])
        symbols = ", ".join(f"∂y/∂{a} = {r}"
                            for a, r in zip(generic, derivatives(op, generic, "y")) if r)
        rule = "; ".join(filter(None, (op.rule[0], symbols)))
        lines += ["", f"{name(node)} = {written(op, args)} = {num(values[node])}",
                  f"  y = {written(op, generic)}" + (f": {rule}" if rule else "")]
        if len(uses.get(node, ())) > 1:
            lines.append(f"  {d(node)} = {total(node)}, the sum over its uses")
        local = result.nodes[node].local
        for i, symbol, dlocal, g in zip(ins, derivatives(op, args, name(node)), local, sent[node]):
            if needs[i]:  # numbers have nothing to differentiate
                symbol = symbol or f"∂{name(node)}/∂{name(i)}"
                symbol = symbol if _PLAIN.fullmatch(symbol) else f"({symbol})"
                lines.append(f"  {d(i)} = {d(node)} · {symbol} = {factor(grads[node])} · "
                             f"{factor(dlocal)} = {num(g)}")
    if result.gradients:
        lines += ["", "Each variable's gradient is the sum over its uses:"]
        lines += [f"  {d(program.variables[v])} = {total(program.variables[v])}"
                  for v in result.gradients]
    return lines
