"""Forward and reverse passes over a parsed program, both plain loops over node ids.

Ids are a topological order (see :mod:`cgcalc.graph`), so the forward pass walks
them upwards and the reverse pass downwards: linear in the graph's size, no
recursion. Every value and every gradient that matters must be a finite real
number; the first one that is not is reported with its operation and place.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from functools import cached_property
from typing import NamedTuple

from .errors import BindingError, EvaluationError, UnknownNameError
from .graph import Program
from .ops import CONSTANTS, Neg, Op


class NodeValue(NamedTuple):
    """One node after both passes, as the ``--nodes`` table and JSON show it."""

    id: int
    op: str
    name: str | None
    inputs: tuple[int, ...]
    value: float
    grad: float | None  #: d(output)/d(node), the gradient arriving; None where undefined
    #: d(node)/d(input) per input, None for an input where it is undefined; None for a leaf
    local: tuple[float | None, ...] | None


class Result:
    """The program's value, d(value)/d(variable) for each variable, and every node."""

    arrays = False  #: were values arrays? (then :class:`cgcalc.array_engine.ArrayResult`)

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
        p, values, grads, local = self.program, self.values, self.grads, self._local
        return [
            NodeValue(i, op.name, p.names.get(i), ins, values[i], self._grad(grads[i]),
                      local(op, values[i], [values[j] for j in ins]) if ins else None)
            for i, (op, ins) in enumerate(zip(p.ops, p.inputs))
        ]

    @staticmethod
    def _grad(grad: float) -> float | None:
        """A node's gradient as shown: None where it is not finite (needed by nothing)."""
        return grad if math.isfinite(grad) else None

    def _local(self, op: type[Op], y, xs: list) -> tuple[float | None, ...] | None:
        """d(node)/d(input) per input; the array result overrides it."""
        return _local(op, y, xs)

    @cached_property
    def edge_grads(self) -> list[tuple[float, ...] | None]:
        """For every node, the gradient the reverse pass sent to each of its inputs.

        That is the upstream gradient times the local derivative, one per input; a node's
        gradient is the sum of what its uses sent it. None where the reverse pass does not
        go: leaves, and nodes that no variable reaches.
        """
        return [_sent(self.program, self.values, self.grads, node) for node in range(len(self.values))]


def evaluate(program: Program, bindings: Mapping[str, float] | None = None,
             wrt: Iterable[str] | None = None) -> Result:
    """Run the forward and the reverse pass.

    ``bindings`` maps each free variable to a number (``pi`` and ``e`` may be bound
    too, replacing the constants). ``wrt`` limits ``Result.gradients`` to those
    variables. Raises :class:`UnknownNameError` for unbound variables,
    :class:`EvaluationError` for a value or gradient that is not finite.

    A binding may be an array (nested lists or a NumPy array): then, or when the
    program uses an array operation, :mod:`cgcalc.array_engine` runs both passes.
    """
    bindings = dict(bindings or {})
    program = program.binding_constants(CONSTANTS.keys() & bindings.keys())
    if _arrays(program, bindings):
        from .array_engine import evaluate_arrays

        return evaluate_arrays(program, bindings, wrt)
    values, variables, warnings = _leaf_values(program, bindings)
    _forward(program, values)
    grads = _backward(program, values)
    return Result(program, values, grads, _wrt(program, wrt, variables), warnings)


def value(program: Program, bindings: Mapping[str, float] | None = None):
    """The forward pass alone: what the gradient check runs twice per input element."""
    bindings = dict(bindings or {})
    if _arrays(program, bindings):
        from .array_engine import forward_value

        return forward_value(program, bindings)
    values = _leaf_values(program, bindings)[0]
    _forward(program, values)
    return values[program.output]


def _arrays(program: Program, bindings: dict) -> bool:
    """Does this evaluation need the array engine?"""
    return program.array_ops or not all(isinstance(v, (int, float)) for v in bindings.values())


def _wrt(program: Program, wrt: Iterable[str] | None, variables: list[str]) -> list[str]:
    """The variables ``Result.gradients`` reports: all bound ones, or those asked for."""
    if wrt is None:
        return variables
    wrt = list(dict.fromkeys(wrt))
    unknown = [name for name in wrt if name not in program.variables]
    if unknown:
        raise UnknownNameError(
            f"cannot differentiate with respect to {', '.join(unknown)}: not a variable of the "
            f"program (its variables: {', '.join(variables) or 'none'})")
    return wrt


def as_float(value: int | float) -> float:
    """A number as a float; an int too large for one becomes an infinity (not finite, then)."""
    try:
        return float(value)
    except OverflowError:
        return math.inf if value > 0 else -math.inf


def _number(name: str, value, program: Program, node: int) -> float:
    """A scalar binding as a float: a BindingError if not a number, an EvaluationError if not finite."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise BindingError(f"{name} = {value!r} is not a number")
    value = as_float(value)
    if not math.isfinite(value):
        raise EvaluationError(f"{name} is bound to {value}, not a finite number",
                              program.source, program.pos[node])
    return value


def _leaf_values(program: Program, bindings: dict[str, float], convert=_number):
    """Values of variables and literals; the variables that got bindings; warnings.

    ``convert(name, value, program, node)`` checks a binding and returns its value.
    """
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
        values[node] = value = convert(name, bindings[name], program, node)
        bound.append(name)
        if name in CONSTANTS:
            shown = f"={value:g}" if isinstance(value, float) else " to an array"
            warnings.append(f"the binding {name}{shown} replaces the constant {name}")
    for name in bindings:
        if name not in program.variables:
            warnings.append(f"{name} is bound but the program does not use it as a variable")
    return values, bound, warnings


def _forward(program: Program, values: list[float]) -> None:
    node = -1
    try:
        for node, f, _, a, b in program.operations:
            if b >= 0:
                values[node] = f(values[a], values[b])
            elif b == -1:
                values[node] = f(values[a])
            else:
                values[node] = f(*[values[i] for i in a])
    except (ArithmeticError, ValueError) as error:
        overflow = _first_nonfinite(values, range(node))
        if overflow is not None:
            raise _overflow(program, values, overflow) from None
        raise _undefined(program, values, node, error) from None
    if not math.isfinite(sum(values)):
        raise _overflow(program, values, _first_nonfinite(values, range(len(values))))


def _backward(program: Program, values: list[float]) -> list[float]:
    grads = [0.0] * len(values)
    grads[program.output] = 1.0
    node = len(values)
    try:
        for node, _, g, a, b in reversed(program.operations):
            dout = grads[node]
            if not dout or g is None:
                continue  # nothing flows back through this node, or nothing needs it
            if b >= 0:
                da, db = g(dout, values[node], values[a], values[b])
                grads[a] += da
                grads[b] += db
            elif b == -1:
                grads[a] += g(dout, values[node], values[a])[0]
            else:
                for i, gi in zip(a, g(dout, values[node], *[values[i] for i in a])):
                    grads[i] += gi
    except (ArithmeticError, ValueError) as error:
        raise _undefined(program, values, node, error, gradient=True) from None
    if not math.isfinite(sum(grads)):
        _blame_nonfinite_gradient(program, values, grads)
    return grads


def _sent(program: Program, values: list[float], grads: list[float], node: int):
    """What the reverse pass sends from ``node`` to each of its inputs: the upstream
    gradient times each local derivative; None where the pass does not go."""
    op, ins = program.ops[node], program.inputs[node]
    if not ins or not program.needs_grad[node]:
        return None
    if not grads[node]:
        return (0.0,) * len(ins)  # the reverse pass skips it: nothing flows
    return op.backward(grads[node], values[node], *[values[i] for i in ins])


def _blame_nonfinite_gradient(program: Program, values: list[float], grads: list[float]) -> None:
    """Name the first step of the reverse pass whose contribution to something that
    needs a gradient is not finite: walking downwards, the first such step still had a
    finite upstream gradient, since everything above it sent finite numbers.

    Finds nothing when the only non-finite gradients belong to nodes no variable is
    upstream of (a constant exponent, say), which is fine.
    """
    needs, inputs = program.needs_grad, program.inputs
    for node in range(len(values) - 1, -1, -1):
        sent = _sent(program, values, grads, node)
        for i, gi in zip(inputs[node], sent or ()):
            if needs[i] and not math.isfinite(gi):
                what = f"the derivative of {_describe(program, values, node)}"
                reason = "overflows" if math.isinf(gi) else "is undefined"
                op = program.ops[node]
                if op.domain and math.isnan(gi):
                    reason += f" ({op.domain})"
                raise EvaluationError(f"{what} {reason}", program.source, program.pos[node])


def local_derivatives(op: type[Op], y: float, xs: list[float]) -> tuple[float, ...] | None:
    """d y / d input for each input: the rule with an upstream gradient of 1; None if it fails."""
    try:
        return op.backward(1.0, y, *xs)
    except (ArithmeticError, ValueError):
        return None


def _local(op: type[Op], y: float, xs: list[float]) -> tuple[float | None, ...]:
    """d y / d input for each input as shown: None for each one that is not a finite
    number (all of them when the rule fails), so that one undefined input, such as the
    exponent of (x - 1)**2 at x < 1, does not hide the others."""
    local = local_derivatives(op, y, xs)
    if local is None:
        return (None,) * len(xs)
    return tuple(d if d is not None and math.isfinite(d) else None for d in local)


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
