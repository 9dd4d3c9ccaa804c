"""Forward and reverse passes over a parsed program, both plain loops over node ids.

Ids are a topological order (see :mod:`cgcalc.graph`), so the forward pass walks
them upwards and the reverse pass downwards: linear in the graph's size, no
recursion. Every value and every gradient that matters must be a finite real
number; the first one that is not is reported with its operation and place.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property

from .errors import BindingError, EvaluationError, UnknownNameError
from .graph import Program
from .ops import CONSTANTS, Neg, Op


@dataclass(frozen=True, slots=True)
class NodeValue:
    """One node after both passes, as the ``--nodes`` table and JSON show it."""

    id: int
    op: str
    name: str | None
    inputs: tuple[int, ...]
    value: float
    grad: float  #: d(output)/d(node), the upstream gradient arriving at the node
    local: tuple[float, ...] | None  #: d(node)/d(input) per input; None where undefined


class Result:
    """The program's value, d(value)/d(variable) for each variable, and every node."""

    def __init__(self, program: Program, values: list[float], grads: list[float],
                 variables: list[str], warnings: list[str]) -> None:
        self.program = program
        self.values = values  #: value of every node, by id
        self.grads = grads  #: d(output)/d(node) of every node, by id
        self.warnings = warnings  #: things worth saying that are not errors
        self.value: float = values[program.output]
        self.gradients: dict[str, float] = {
            name: grads[program.variables[name]] for name in variables
        }

    @cached_property
    def nodes(self) -> list[NodeValue]:
        """Every node in forward (topological) order."""
        p, values, grads = self.program, self.values, self.grads
        return [
            NodeValue(i, op.name, p.names.get(i), ins, values[i], grads[i],
                      _local(op, values[i], [values[j] for j in ins]) if ins else None)
            for i, (op, ins) in enumerate(zip(p.ops, p.inputs))
        ]

    @cached_property
    def edge_grads(self) -> list[tuple[float, ...] | None]:
        """For every node, the gradient the reverse pass sent to each of its inputs.

        That is the upstream gradient times the local derivative, one per input; a node's
        gradient is the sum of what its uses sent it. None where the reverse pass does not
        go: leaves, and nodes that no variable reaches.
        """
        p, values, grads = self.program, self.values, self.grads
        sent: list[tuple[float, ...] | None] = []
        for node, (op, ins) in enumerate(zip(p.ops, p.inputs)):
            if not ins or not p.needs_grad[node]:
                sent.append(None)
            elif not grads[node]:
                sent.append((0.0,) * len(ins))  # the reverse pass skips it: nothing flows
            else:
                sent.append(op.backward(grads[node], values[node], *[values[i] for i in ins]))
        return sent


def evaluate(program: Program, bindings: Mapping[str, float] | None = None,
             wrt: Iterable[str] | None = None) -> Result:
    """Run the forward and the reverse pass.

    ``bindings`` maps each free variable to a number (``pi`` and ``e`` may be bound
    too, replacing the constants). ``wrt`` limits ``Result.gradients`` to those
    variables. Raises :class:`UnknownNameError` for unbound variables,
    :class:`EvaluationError` for a value or gradient that is not finite.
    """
    bindings = dict(bindings or {})
    values, variables, warnings = _leaf_values(program, bindings)
    _forward(program, values)
    grads = _backward(program, values)
    if wrt is not None:
        wrt = list(dict.fromkeys(wrt))
        unknown = [name for name in wrt if name not in program.variables]
        if unknown:
            raise UnknownNameError(
                f"cannot differentiate with respect to {', '.join(unknown)}: not a variable of the "
                f"program (its variables: {', '.join(variables) or 'none'})")
        variables = wrt
    return Result(program, values, grads, variables, warnings)


def _leaf_values(program: Program, bindings: dict[str, float]):
    """Values of variables and literals; the variables that got bindings; warnings."""
    values = [0.0] * len(program)
    for node, value in program.constants.items():
        values[node] = value
    source, pos = program.source, program.pos
    missing = [name for name in program.free_variables() if name not in bindings]
    if missing:
        flags = " ".join(f"-v {name}=VALUE" for name in missing)
        raise UnknownNameError(
            f"unbound variable{'s' if len(missing) > 1 else ''} {', '.join(missing)}; bind "
            f"{'them' if len(missing) > 1 else 'it'} with {flags}",
            source, pos[program.variables[missing[0]]])
    warnings, bound = [], []
    for name, node in program.variables.items():
        if name not in bindings:
            values[node] = CONSTANTS[name]
            continue
        value = bindings[name]
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise BindingError(f"{name} = {value!r} is not a number")
        if not math.isfinite(value):
            raise EvaluationError(f"{name} is bound to {value}, not a finite number",
                                  source, pos[node])
        values[node] = float(value)
        bound.append(name)
        if name in CONSTANTS:
            warnings.append(f"the binding {name}={value:g} replaces the constant {name}")
    for name in bindings:
        if name not in program.variables:
            warnings.append(f"{name} is bound but the program does not use it as a variable")
    return values, bound, warnings


def _forward(program: Program, values: list[float]) -> None:
    ops, inputs = program.ops, program.inputs
    node = -1
    try:
        for node, ins in enumerate(inputs):
            if ins:
                values[node] = ops[node].forward(*[values[i] for i in ins])
    except (ArithmeticError, ValueError) as error:
        overflow = _first_nonfinite(values, range(node))
        if overflow is not None:
            raise _overflow(program, values, overflow) from None
        raise _undefined(program, values, node, error) from None
    if not math.isfinite(sum(values)):
        raise _overflow(program, values, _first_nonfinite(values, range(len(values))))


def _backward(program: Program, values: list[float]) -> list[float]:
    ops, inputs, needs = program.ops, program.inputs, program.needs_grad
    grads = [0.0] * len(values)
    grads[program.output] = 1.0
    node = len(values)
    try:
        for node in range(len(values) - 1, -1, -1):
            dout = grads[node]
            ins = inputs[node]
            if ins and dout and needs[node]:
                local = ops[node].backward(dout, values[node], *[values[i] for i in ins])
                for i, g in zip(ins, local):
                    grads[i] += g
    except (ArithmeticError, ValueError) as error:
        raise _undefined(program, values, node, error, gradient=True) from None
    if not math.isfinite(sum(grads)):
        bad = [i for i in range(len(grads) - 1, -1, -1)
               if needs[i] and not math.isfinite(grads[i])]
        if bad:
            node = bad[0]
            raise EvaluationError(
                f"the gradient reaching {_label(program, node)} = {_describe(program, values, node)}"
                f" is {grads[node]} (an overflow)", program.source, program.pos[node])
    return grads


def local_derivatives(op: type[Op], y: float, xs: list[float]) -> tuple[float, ...] | None:
    """d y / d input for each input: the rule with an upstream gradient of 1; None if it fails."""
    try:
        return op.backward(1.0, y, *xs)
    except (ArithmeticError, ValueError):
        return None


def _local(op: type[Op], y: float, xs: list[float]) -> tuple[float, ...] | None:
    local = local_derivatives(op, y, xs)
    return local if local is not None and all(map(math.isfinite, local)) else None


def _first_nonfinite(values: list[float], nodes: Iterable[int]) -> int | None:
    return next((i for i in nodes if not math.isfinite(values[i])), None)


def _overflow(program: Program, values: list[float], node: int) -> EvaluationError:
    return EvaluationError(f"{_describe(program, values, node)} overflows to {values[node]}",
                           program.source, program.pos[node])


def _undefined(program: Program, values: list[float], node: int, error: Exception,
               gradient: bool = False) -> EvaluationError:
    op = program.ops[node]
    what = f"the derivative of {_describe(program, values, node)}" if gradient else \
        _describe(program, values, node)
    if isinstance(error, OverflowError):
        reason = "overflows"
    else:
        reason = f"is undefined ({op.domain})" if op.domain else "is undefined"
    return EvaluationError(f"{what} {reason}", program.source, program.pos[node])


def written(op: type[Op], args: list[str]) -> str:
    """How ``op`` applied to ``args`` is written: ``log(x)``, ``a * b``, ``-x``."""
    if op.symbol[0].isalpha():
        return f"{op.symbol}({', '.join(args)})"
    return f"-{args[0]}" if op is Neg else f" {op.symbol} ".join(args)


def _describe(program: Program, values: list[float], node: int) -> str:
    """The operation applied to its input values, e.g. ``log(-1)`` or ``1 / 0``."""
    op, ins = program.ops[node], program.inputs[node]
    args = [f"{values[i]:.10g}" for i in ins]
    if not ins:
        return f"{_label(program, node)} ({values[node]:.10g})"
    if not op.symbol[0].isalpha():
        args = [f"({a})" if a.startswith("-") else a for a in args]
    return written(op, args)


def _label(program: Program, node: int) -> str:
    return program.names.get(node) or program.ops[node].name
