"""Forward and reverse passes over a parsed program, both plain loops over node ids.

Ids are a topological order (see :mod:`cgcalc.graph`), so the forward pass walks
them upwards and the reverse pass downwards: linear in the graph's size, no
recursion. Every value and every gradient that matters must be a finite real
number; the first one that is not is reported with its operation and place.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any, NamedTuple, TypeAlias

from .errors import BindingError, EvaluationError, UnboundVariableError, UnknownNameError
from .graph import Program
from .ops import CONSTANTS, Neg, Op

if TYPE_CHECKING:  # for the types alone: a program of numbers never imports NumPy
    from numpy import float64
    from numpy.typing import NDArray

#: What a variable may be bound to: a number, nested lists of numbers, or a NumPy array.
Binding: TypeAlias = "float | Sequence[Binding] | NDArray[Any]"
#: A value or a gradient: a float, or an array of float64 where the program has arrays.
Value: TypeAlias = "float | NDArray[float64]"


class NodeValue(NamedTuple):
    """One node after both passes, as the ``--nodes`` table and JSON show it."""

    id: int
    op: str
    name: str | None
    inputs: tuple[int, ...]
    value: Value
    grad: Value | None  #: d(output)/d(node), the gradient arriving; None where undefined
    #: d(node)/d(input) per input, None for an input where it is undefined; None for a leaf
    local: tuple[float | None, ...] | None


class Result:
    """The program's value, d(value)/d(variable) for each variable, and every node."""

    arrays = False  #: were values arrays? (then :class:`cgcalc.array_engine.ArrayResult`)
    exact = False  #: were values exact? (then :class:`cgcalc.exact.ExactResult`)

    def __init__(self, program: Program, values: Sequence[Value], grads: Sequence[Value | None],
                 variables: list[str], warnings: list[str]) -> None:
        self.program = program
        self.values = values  #: value of every node, by id
        self.grads = grads  #: d(output)/d(node) of every node, by id (None: none reached it)
        self.warnings = warnings  #: things worth saying that are not errors
        self.value: Value = values[program.output]
        self.gradients: dict[str, Value] = {
            name: grads[program.variables[name]] for name in variables
        }

    @cached_property
    def nodes(self) -> list[NodeValue]:
        """Every node in forward (topological) order."""
        p, values, grads, local = self.program, self.values, self.grads, self._local
        return [
            NodeValue(i, name, p.names.get(i), ins, values[i], self._grad(grads[i]),
                      local(op, values[i], [values[j] for j in ins]) if ins else None)
            for i, (op, name, ins) in enumerate(zip(p.ops, p.op_names(), p.inputs))
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

    # Shown in a notebook or a console: cgcalc.render.notebook, loaded only when asked for.
    def __repr__(self) -> str:
        from .render.notebook import result_repr

        return result_repr(self)

    def _repr_html_(self) -> str:
        from .render.notebook import html

        return html(self)

    def _repr_markdown_(self) -> str:
        from .render.notebook import markdown

        return markdown(self)

    def _repr_svg_(self) -> str | None:
        from .render.notebook import svg

        return svg(self)


def evaluate(program: Program, bindings: Mapping[str, Binding] | None = None,
             wrt: Iterable[str] | None = None, upstream=None, of: str | None = None) -> Result:
    """Run the forward and the reverse pass.

    ``upstream`` is the gradient the output receives (the book's ``dout``): 1 by
    default, a number or, for an array-valued program, an array of the output's shape;
    every gradient is then upstream times the derivative. ``of`` names an assigned
    intermediate (or a variable) to differentiate instead of the last statement.

    ``bindings`` maps each free variable to a number (``pi`` and ``e`` may be bound
    too, replacing the constants). ``wrt`` limits ``Result.gradients`` to those
    variables; asking for ``pi`` or ``e`` unbound differentiates with respect to the
    constant at its value. Raises :class:`UnknownNameError` for unbound variables,
    :class:`EvaluationError` for a value, or a reported gradient, that is not finite:
    a gradient nobody asked for may be undefined, and where a ReLU's mask or a zero
    upstream gradient stops it, an infinite or undefined gradient goes no further.

    A binding may be an array (nested lists or a NumPy array): then, or when the
    program uses an array operation, :mod:`cgcalc.array_engine` runs both passes.
    """
    bindings = dict(bindings or {})
    wrt = None if wrt is None else list(dict.fromkeys(wrt))
    if of is not None:
        program = program.with_output(program.named(of))
    implicit = {name: CONSTANTS[name] for name in wrt or ()
                if name in CONSTANTS and name in program.variables and name not in bindings}
    bindings.update(implicit)
    program = program.binding_constants(CONSTANTS.keys() & bindings.keys())
    if _arrays(program, bindings) or not (upstream is None or _is_number(upstream)):
        from .array_engine import evaluate_arrays

        return evaluate_arrays(program, bindings, wrt, implicit, upstream)
    values, variables, warnings = _leaf_values(program, bindings, quiet=implicit)
    _forward(program, values)
    names = _wrt(program, wrt, variables)
    grads = _backward(program, values, 1.0 if upstream is None else _upstream_number(upstream))
    _check_gradients(program, values, grads, names)
    return Result(program, values, grads, names, warnings)


def value(program: Program, bindings: Mapping[str, float] | None = None):
    """The forward pass alone: what the gradient check runs twice per input element."""
    bindings = dict(bindings or {})
    if _arrays(program, bindings):
        from .array_engine import forward_value

        return forward_value(program, bindings)
    values = _leaf_values(program, bindings)[0]
    _forward(program, values)
    return values[program.output]


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _upstream_number(upstream) -> float:
    """The upstream gradient as a float: a finite number, else a :class:`BindingError`."""
    if not _is_number(upstream) or not math.isfinite(as_float(upstream)):
        raise BindingError(f"the upstream gradient must be a finite number, not {upstream!r}")
    return float(upstream)


def _arrays(program: Program, bindings: dict) -> bool:
    """Does this evaluation need the array engine?"""
    return program.array_ops or not all(isinstance(v, (int, float)) for v in bindings.values())


def _wrt(program: Program, wrt: list[str] | None, variables: list[str]) -> list[str]:
    """The variables ``Result.gradients`` reports: all bound ones, or those asked for."""
    if wrt is None:
        return variables
    unknown = [name for name in wrt if name not in program.variables]
    if unknown:
        raise UnknownNameError(
            f"cannot differentiate with respect to {', '.join(unknown)}: not a variable of the "
            f"program (its variables: {', '.join(variables) or 'none'})", names=unknown)
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


def _leaf_values(program: Program, bindings: dict[str, float], convert=_number,
                 quiet: Iterable[str] = ()):
    """Values of variables and literals; the variables that got bindings; warnings.

    ``convert(name, value, program, node)`` checks a binding and returns its value;
    ``quiet`` names constants bound to their own value (by ``wrt``), which need no warning.
    """
    values = [0.0] * len(program)
    for node, value in program.constants.items():
        values[node] = value
    source, pos = program.source, program.pos
    missing = [name for name in program.free_variables() if name not in bindings]
    if missing:
        raise _unbound(program, missing)
    warnings, bound = [], []
    for name, node in program.variables.items():
        if name not in bindings:
            values[node] = CONSTANTS[name]
            continue
        values[node] = value = convert(name, bindings[name], program, node)
        bound.append(name)
        if name in CONSTANTS and name not in quiet:
            shown = f"={value:g}" if isinstance(value, float) else \
                " to an array" if isinstance(value, list) or hasattr(value, "shape") else f"={value}"
            warnings.append(f"the binding {name}{shown} replaces the constant {name}")
    for name in bindings:
        if name not in program.variables:
            warnings.append(f"{name} is bound but the program does not use it as a variable")
    return values, bound, warnings


NAMED = 5  #: unbound variables named in the message; the rest are counted


def _unbound(program: Program, missing: list[str]) -> UnboundVariableError:
    """The unbound variables, the first few by name (``names`` holds them all)."""
    names = ", ".join(missing[:NAMED])
    if len(missing) > NAMED:
        names += f" and {len(missing) - NAMED:,} more"
    return UnboundVariableError(f"unbound variable{'s' if len(missing) > 1 else ''} {names}",
                                program.source, program.pos[program.variables[missing[0]]],
                                missing)


class StepFailed(Exception):
    """An operation's forward rule raised: which node, and the error."""

    def __init__(self, node: int, error: Exception) -> None:
        super().__init__(node, error)
        self.node, self.error = node, error


def forward_steps(program: Program, values: list, forwards: list) -> None:
    """Each operation node's value from its inputs', in id order, by ``forwards`` (one rule
    per operation node: the float rules here, the exact ones in :mod:`cgcalc.exact`)."""
    node = -1
    try:
        for node, f, a, b in zip(program.op_ids, forwards, program.first, program.second):
            if b >= 0:
                values[node] = f(values[a], values[b])
            elif b == -1:
                values[node] = f(values[a])
            else:
                values[node] = f(*[values[i] for i in a])
    except (ArithmeticError, ValueError) as error:
        raise StepFailed(node, error) from None


def _forward(program: Program, values: list[float]) -> None:
    try:
        forward_steps(program, values, program.forwards)
    except StepFailed as failed:
        overflow = _first_nonfinite(values, range(failed.node))
        if overflow is not None:
            raise _overflow(program, values, overflow) from None
        raise _undefined(program, values, failed.node, failed.error) from None
    if not math.isfinite(sum(values)):  # fast; a sum of large finite values may overflow too
        overflow = _first_nonfinite(values, range(len(values)))
        if overflow is not None:
            raise _overflow(program, values, overflow)


def _backward(program: Program, values: list[float], upstream: float = 1.0) -> list[float]:
    """upstream · d(output)/d(node) for every node. A rule that fails for Python floats (a
    division by zero) gives IEEE infinities or NaNs instead, which flow on until a mask stops
    them; whether a gradient that matters is not finite is :func:`_check_gradients`' question."""
    grads = [0.0] * len(values)
    grads[program.output] = upstream
    for node, g, a, b in zip(reversed(program.op_ids), reversed(program.backwards),
                             reversed(program.first), reversed(program.second)):
        dout = grads[node]
        if not dout or g is None:
            continue  # nothing flows back through this node, or nothing needs it
        if b >= 0:
            try:
                da, db = g(dout, values[node], values[a], values[b])
            except (ArithmeticError, ValueError):
                da, db = _ieee_backward(program.ops[node], dout, values[node], [values[a], values[b]])
            grads[a] += da
            grads[b] += db
        elif b == -1:
            try:
                grads[a] += g(dout, values[node], values[a])[0]
            except (ArithmeticError, ValueError):
                grads[a] += _ieee_backward(program.ops[node], dout, values[node], [values[a]])[0]
        else:
            for i, gi in zip(a, backward_rule(program.ops[node], dout, values[node],
                                              [values[i] for i in a])):
                grads[i] += gi
    return grads


def backward_rule(op: type[Op], dout: float, y: float, xs: list[float]) -> tuple[float, ...]:
    """``op.backward`` on floats, with IEEE infinities or NaNs where Python's raise."""
    try:
        return op.backward(dout, y, *xs)
    except (ArithmeticError, ValueError):
        return _ieee_backward(op, dout, y, xs)


def _ieee_backward(op: type[Op], dout: float, y: float, xs: list[float]) -> tuple[float, ...]:
    """The operation's array rule on NumPy scalars, which divide by zero as IEEE says (only
    reached when the float rule raised, so a program of numbers rarely imports NumPy)."""
    import numpy as np

    from .array_engine import kernels

    with np.errstate(all="ignore"):
        local = kernels(op)[1](np.float64(dout), np.float64(y), *map(np.float64, xs))
    return tuple(math.nan if g is None else float(g) for g in local)


def _sent(program: Program, values: list[float], grads: list[float], node: int):
    """What the reverse pass sends from ``node`` to each of its inputs: the upstream
    gradient times each local derivative; None where the pass does not go."""
    ins = program.inputs[node]
    if not ins or not program.needs_grad[node]:
        return None
    if not grads[node]:
        return (0.0,) * len(ins)  # the reverse pass skips it: nothing flows
    return backward_rule(program.ops[node], grads[node], values[node], [values[i] for i in ins])


def _check_gradients(program: Program, values: list[float], grads: list[float],
                     names: list[str]) -> None:
    """Every reported gradient must be finite; the first that is not is blamed on the step
    of the reverse pass that made it (see :func:`blame`)."""
    for name in names:
        node = program.variables[name]
        if not math.isfinite(grads[node]):
            step, _, sent = blame(program, node, lambda u, k: _sent(program, values, grads, u)[k],
                                  lambda u: math.isfinite(grads[u]), math.isfinite)
            raise _gradient_error(program, values, name, step, sent, grads[node])


def blame(program: Program, node: int, sent, finite_upstream,
          finite) -> tuple[int | None, int, object]:
    """The step of the reverse pass where ``node``'s non-finite gradient comes from.

    Walks up from ``node`` along the uses that sent it something not finite; the first
    use whose own upstream gradient was finite made it (its local derivative is infinite
    or undefined, or the product overflowed). Returns that node, which of its inputs, and
    what it sent there; or (None, -1, None) when every single use sent a finite value and
    only their sum overflowed.
    ``sent(use, k)`` is what ``use`` sent along its input ``k``; ``finite(x)`` says whether
    every element of ``x`` is finite. A loop: ids only grow, nothing recurses.
    """
    uses: dict[int, list[tuple[int, int]]] = {}
    for use, ins in enumerate(program.inputs):
        for k, i in enumerate(ins):
            uses.setdefault(i, []).append((use, k))
    while True:
        for use, k in uses.get(node, ()):
            if program.needs_grad[use] and not finite(contribution := sent(use, k)):
                break
        else:
            return None, -1, None
        if finite_upstream(use):
            return use, k, contribution
        node = use


def _gradient_error(program: Program, values: list[float], name: str, step: int | None,
                    sent: float, grad: float) -> EvaluationError:
    """Words for a gradient of ``name`` that is not finite, made at ``step``."""
    if step is None:
        node = program.variables[name]
        return EvaluationError(f"the gradient of {name} overflows to {grad}: its uses together "
                               "send more than the largest float", program.source, program.pos[node])
    return step_error(program, values, step, sent)


def step_error(program: Program, values, step: int, sent: float) -> EvaluationError:
    """A step of the reverse pass that sent ``sent``, not finite: undefined or an overflow,
    as the operation's float rule says. ``values`` holds the step's value and its inputs'."""
    op = program.ops[step]
    try:
        op.backward(1.0, values[step], *[values[i] for i in program.inputs[step]])
        undefined = math.isnan(sent)
    except OverflowError:
        undefined = False
    except (ArithmeticError, ValueError):
        undefined = True
    reason = "is undefined" if undefined else "overflows"
    if undefined and op.domain:
        reason += f" ({op.domain})"
    return EvaluationError(f"the derivative of {_describe(program, values, step)} {reason}",
                           program.source, program.pos[step])


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
