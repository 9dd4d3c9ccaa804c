"""What the engines share: the result, leaf values, the forward walk, each operation's
backward rule on floats, the blame walk and the words of every error about a step.

The float engine (:mod:`cgcalc.engine`), the array engine (:mod:`cgcalc.array_engine`)
and the exact one (:mod:`cgcalc.exact`) all import this module and none of it imports
them, so the modules form a line: engine, array engine, walk, graph and ops.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any, NamedTuple, TypeAlias

from .errors import BindingError, EvaluationError, UnboundVariableError, UnknownNameError
from .graph import STEP, Program
from .ops import CONSTANTS, Neg, Op, kernels

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
                 variables: list[str], warnings: list[str],
                 every: Callable[[], Sequence[Value | None]] | None = None) -> None:
        self.program = program
        self.values = values  #: value of every node, by id
        self._grads, self._every = grads, every
        self.warnings = warnings  #: things worth saying that are not errors
        self.value: Value = values[program.output]
        self.gradients: dict[str, Value] = {
            name: grads[program.variables[name]] for name in variables
        }

    @property
    def grads(self) -> Sequence[Value | None]:
        """d(output)/d(node) of every node, by id (None: none reached it). The float engine
        keeps only the leaves' (``every`` computes them all, here when first asked for), so
        that a run that reports the variables' gradients never holds every node's."""
        if self._every is not None:
            self._grads, self._every = self._every(), None
        return self._grads

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
    constants = program.constants
    for node, value in zip(constants.ids, constants.numbers):
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


def forward_steps(program: Program, values: list, forwards: list | None = None) -> None:
    """Each operation node's value from its inputs', in id order, by the float rules of
    :attr:`Program.steps`, or by ``forwards`` (one rule per operation node: the exact ones
    of :mod:`cgcalc.exact`)."""
    node, wide, steps = -1, program.wide, program.steps
    if forwards is not None:
        steps = steps.copy()
        steps[1::STEP] = forwards
    it = iter(steps)
    try:
        for node, f, _, a, b in zip(it, it, it, it, it):
            if b >= 0:
                values[node] = f(values[a], values[b])
            elif b == -1:
                values[node] = f(values[a])
            else:
                values[node] = f(*[values[i] for i in wide[a]])
    except (ArithmeticError, ValueError) as error:
        raise StepFailed(node, error) from None


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
    """How ``op`` applied to ``args`` is written: ``log(x)``, ``a * b``, ``-x``,
    ``sum(X, axis=0)``."""
    if op.symbol[0].isalpha():
        if op.params == "axis" and len(args) == 2:
            args = [args[0], f"axis={args[1]}"]  # max(X, 0) would be the element-wise max
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
