"""``--expand``: fused operations replaced by their primitive graphs, between parse and engine.

An operation with an ``expansion`` (see :mod:`cgcalc.ops`) declares itself as a program
of the language, e.g. sigmoid as ``1/(1 + exp(-x))``. That text is parsed by cgcalc
once, and its nodes are copied in place of every node of the operation, so the engine
runs the book's primitive steps (×(−1), exp, +1, 1/x for the sigmoid) instead of the
fused rule. Nodes are copied in id order (:meth:`Program.splice`), so ids stay a
topological order; the calls of defined functions keep their nodes, renumbered.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from .graph import Call, Program
from .ops import OPERANDS, Const, Op, Var


@dataclass(frozen=True, slots=True)
class Expansion:
    """Where one fused node went: its operation and the ids of the nodes that replace it."""

    op: type[Op]
    inputs: tuple[int, ...]  #: ids of its inputs in the expanded program
    nodes: range  #: contiguous ids in the expanded program; the last one is the output


def expand(program: Program) -> tuple[Program, list[Expansion]]:
    """A copy of ``program`` with every fused node replaced by its expansion."""
    out = Program(program.source)
    new = [0] * len(program)  # old id -> new id (of the last node it became)
    first = [0] * (len(program) + 1)  # old id -> the first new id made for it
    expansions: list[Expansion] = []
    for node, (op, ins) in enumerate(zip(program.ops, program.inputs)):
        pos = program.pos[node]
        first[node] = len(out)
        if op is Var:
            new[node] = out.variable(program.names[node], pos)
        elif op is Const:
            new[node] = out.constant(program.constants[node], pos)
        elif op.expansion:
            template = _template(op)
            args = tuple(new[i] for i in ins)
            leaves = {template.variables[name]: arg for name, arg in zip(OPERANDS[op.arity], args)}
            new[node] = out.splice(template, leaves, pos)
            expansions.append(Expansion(op, args, range(first[node], len(out))))
        else:
            new[node] = out.add(op, tuple(new[i] for i in ins), pos)
    first[len(program)] = len(out)
    for node, name in program.names.items():
        out.names.setdefault(new[node], name)
    out.calls = [Call(call.function, tuple(new[i] for i in call.inputs),
                      range(first[call.nodes[0]], new[call.nodes[-1]] + 1) if call.nodes else range(0))
                 for call in program.calls]
    out.statements = [(name, new[node], first[start]) for name, node, start in program.statements]
    out.output = new[program.output]
    return out, expansions


@cache
def _template(op: type[Op]) -> Program:
    """The operation's expansion, parsed by cgcalc itself; its variables are its inputs."""
    from . import parse

    template = parse(op.expansion)
    unknown = set(template.variables) - set(OPERANDS[op.arity])
    if unknown:
        raise ValueError(f"{op.name}.expansion uses {', '.join(sorted(unknown))}, "
                         f"not only its inputs {', '.join(OPERANDS[op.arity])}")
    return template
