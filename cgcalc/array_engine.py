"""Forward and reverse passes when values may be arrays: NumPy float64, broadcasting.

:func:`cgcalc.engine.evaluate` sends a program here when a binding is an array or the
program uses an array operation, so the scalar loops never pay for NumPy. The walk is
the scalar engine's (ids upwards, then downwards, no recursion); what differs is:

- each operation runs its array kernel (``Op.array_forward``, ``Op.numpy``, else its rules);
- a gradient is summed back over the axes its input was broadcast along ("unbroadcast"),
  so every gradient has its input's shape: a bias added to a batch gets the batch sum;
- an array-valued program is differentiated as the sum of its elements (the seed is ones);
- a gradient may be None: the input is not differentiable (class indices of a loss).

Shapes that do not fit, and the first value or gradient that is not finite, are reported
with both shapes or the offending element, and the place in the source.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from functools import cached_property

import numpy as np

from .bindings import MAX_DIMENSIONS
from .errors import BindingError, EvaluationError, line_col
from .graph import Program
from .ops import REDUCTIONS, Neg, Op, ShapeError, kernels
from .walk import (Result, _describe, _label, _leaf_values, _local, _number, _undefined, _wrt,
                   blame, step_error, written)


class ArrayResult(Result):
    """A :class:`Result` whose values and gradients may be ndarrays (0-d ones are floats)."""

    arrays = True

    @staticmethod
    def _grad(grad):
        """None for a gradient that does not exist or is not finite anywhere it matters."""
        return None if grad is None or not np.all(np.isfinite(grad)) else grad

    @cached_property
    def edge_grads(self) -> list[tuple | None]:
        """What the reverse pass sent along each edge, each of its input's shape (None for an
        input with no gradient); see :attr:`cgcalc.walk.Result.edge_grads`."""
        program, values, grads = self.program, self.values, self.grads
        sent: list[tuple | None] = []
        with np.errstate(all="ignore"):
            for node, (op, ins) in enumerate(zip(program.ops, program.inputs)):
                if not ins or grads[node] is None:
                    sent.append(None)
                    continue
                local = kernels(op)[1](grads[node], values[node], *[values[i] for i in ins])
                sent.append(tuple(None if g is None else _plain(_unbroadcast(g, np.shape(values[i])))
                                  for g, i in zip(local, ins)))
        return sent

    def _local(self, op: type[Op], y, xs: list) -> tuple[float | None, ...] | None:
        """d(node)/d(input) for scalar nodes; an array node's is a Jacobian, not shown (None)."""
        if np.ndim(y) or any(map(np.ndim, xs)):
            return None
        return tuple(None if d is None else float(d) for d in _local(op, y, xs))


def evaluate_arrays(program: Program, bindings: dict, wrt: list[str] | None = None,
                    quiet: Iterable[str] = (), upstream=None) -> Result:
    """Both passes with array values; see :func:`cgcalc.engine.evaluate`."""
    values, variables, warnings = _leaf_values(program, bindings, _binding, quiet)
    _forward(program, values)
    warnings += _axis_or_operand(program, values)
    out = values[program.output]
    if np.ndim(out) and upstream is None:
        warnings.append(f"the value is an array of shape {np.shape(out)}; the gradients are "
                        "those of the sum of its elements")
    names = _wrt(program, wrt, variables)
    grads = _backward(program, values, upstream)
    _check_gradients(program, values, grads, names)
    values = [_plain(v) for v in values]
    return ArrayResult(program, values, grads, names, warnings)


def forward_value(program: Program, bindings: dict):
    """The forward pass alone (for the gradient check)."""
    values = _leaf_values(program, bindings, _binding)[0]
    _forward(program, values)
    return _plain(values[program.output])


def _plain(value):
    """0-d results as Python floats, so scalars look and print as in the scalar engine."""
    return float(value) if isinstance(value, (np.generic, np.ndarray)) and value.ndim == 0 else value


def _binding(name: str, value, program: Program, node: int):
    """A number as a float, an array of numbers as float64; else a binding error."""
    if isinstance(value, (int, float)):
        return _number(name, value, program, node)
    if isinstance(value, list):
        _check_nesting(name, value)
    elif not isinstance(value, (np.ndarray, np.generic)):
        raise BindingError(f"{name} = {value!r} is neither a number nor an array of numbers")
    array = np.asarray(value)
    if array.dtype.kind not in "iuf" or array.size == 0:
        what = "is empty" if array.size == 0 else f"holds {array.dtype} values, not numbers"
        raise BindingError(f"{name} {what}")
    array = array.astype(np.float64, copy=False)
    finite = np.isfinite(array)
    if not finite.all():
        index = _first(~finite)
        raise EvaluationError(f"{name}{_index(index)} is bound to {array[index]}, not a finite "
                              "number", program.source, program.pos[node])
    return float(array) if array.ndim == 0 else array


def _check_nesting(name: str, value: list) -> None:
    """Nested lists must be rectangular, non-empty and hold numbers: say where they are not.

    Walks one depth at a time over a flat list of the items at that depth, no recursion.
    """
    level, shape = [value], []
    while isinstance(level[0], list):
        if len(shape) == MAX_DIMENSIONS:
            raise BindingError(f"{name} is nested more than {MAX_DIMENSIONS} deep; arrays have "
                               f"at most {MAX_DIMENSIONS} dimensions")
        size = len(level[0])
        for k, item in enumerate(level):
            if isinstance(item, list) and len(item) == size and size:
                continue
            where = name + _index(np.unravel_index(k, shape) if shape else ())
            if isinstance(item, list) and not item:
                raise BindingError(f"{where} is empty")
            first = name + _index((0,) * len(shape))
            got = f"has {_count(len(item))}" if isinstance(item, list) else "is a number"
            raise BindingError(f"{name} is ragged: {where} {got} but {first} has {_count(size)}")
        shape.append(size)
        level = [x for item in level for x in item]
    for k, item in enumerate(level):
        if isinstance(item, bool) or not isinstance(item, (int, float)):
            where = _index(np.unravel_index(k, shape)) if shape else ""
            kind = "a list" if isinstance(item, list) else repr(item)
            raise BindingError(f"{name}{where} is {kind}, not a number")


def _count(n: int) -> str:
    return f"{n} element{'' if n == 1 else 's'}"


def evaluate_rows(program: Program, columns: dict[str, np.ndarray], count: int):
    """Both passes for ``count`` independent rows at once: batch mode.

    ``columns`` binds every variable to an array of one value per row. Each row's
    gradient is its own (rows never mix: the program must be element-wise). Nothing is
    raised for a row whose value or gradients are not finite: it is marked in the
    returned mask, to be explained row by row. Returns (values, gradients, bad rows).
    """
    values, bound, _ = _leaf_values(program, columns, lambda name, value, program, node: value)
    bad = np.zeros(count, dtype=bool)
    _forward(program, values, bad)
    grads = _backward(program, values)
    for name in bound:
        grad = grads[program.variables[name]]
        if grad is not None:
            bad |= ~np.isfinite(grad)
    value = np.broadcast_to(values[program.output], (count,))
    return value, {name: np.broadcast_to(grads[program.variables[name]], (count,))
                   for name in bound}, bad


def _forward(program: Program, values: list, bad: np.ndarray | None = None) -> None:
    """The forward pass; a non-finite value is an error, or with ``bad`` marks its rows."""
    ops, inputs = program.ops, program.inputs
    with np.errstate(all="ignore"):  # non-finite results are found and explained below
        for node, ins in enumerate(inputs):
            if not ins:
                continue
            args = [values[i] for i in ins]
            try:
                y = kernels(ops[node])[0](*args)
            except ShapeError as error:
                raise _error(program, node, str(error)) from None
            except (ArithmeticError, ValueError) as error:
                raise _failure(program, values, node, error) from None
            if type(y) is np.ndarray and y.ndim == 0:
                y = y[()]
            finite = np.isfinite(y)
            if not finite.all():
                if bad is None:
                    raise _nonfinite(program, values, node, np.shape(y), _first(~finite), y)
                bad |= ~finite
            values[node] = y


def _local_grads(program: Program, values: list, grads: list, node: int) -> tuple:
    """What ``node`` sends each input, before summing over broadcast axes: the array rule,
    with nothing sent where an element-wise operation's upstream gradient is 0 (as the
    scalar pass skips such a node, so 0·sqrt(x) at 0 has gradient 0 in both)."""
    op, ins, dout = program.ops[node], program.inputs[node], grads[node]
    try:
        local = kernels(op)[1](dout, values[node], *[values[i] for i in ins])
    except (ArithmeticError, ValueError) as error:
        raise _failure(program, values, node, error, gradient=True) from None
    if op.array_only or np.all(dout != 0):
        return local
    return tuple(g if g is None or np.all(np.isfinite(g)) else np.where(dout == 0, 0.0, g)
                 for g in local)


def _upstream(upstream, shape: tuple):
    """The gradient the output receives: ones by default, a number everywhere, or an
    array of the output's shape; anything else is a :class:`BindingError`."""
    if upstream is None:
        return np.ones(shape) if shape else 1.0
    try:
        seed = np.asarray(upstream, dtype=np.float64)
    except (TypeError, ValueError):
        raise BindingError(f"the upstream gradient must be a number or an array of numbers, "
                           f"not {upstream!r}") from None
    if seed.shape not in (shape, ()):
        raise BindingError(f"the upstream gradient has shape {seed.shape} but the value has "
                           f"shape {shape}: it must have the value's shape (or be a number)")
    if not np.all(np.isfinite(seed)):
        raise BindingError("the upstream gradient must be finite: "
                           f"{seed.flat[int(np.argmin(np.isfinite(seed)))]} is not")
    return np.broadcast_to(seed, shape).copy() if shape else float(seed)


def _backward(program: Program, values: list, upstream=None) -> list:
    """The reverse pass. Infinite or undefined gradients flow on (a ReLU's mask may stop
    them); :func:`_check_gradients` or the batch's row mask judge the ones that matter."""
    inputs, needs = program.inputs, program.needs_grad
    grads: list = [None] * len(values)  # None: no gradient has reached the node yet
    out = program.output
    grads[out] = _upstream(upstream, np.shape(values[out]))
    undefined: set[int] = set()  # nodes that reach a non-differentiable input
    with np.errstate(all="ignore"):
        for node in range(len(values) - 1, -1, -1):
            ins = inputs[node]
            if not ins or grads[node] is None:
                continue
            if node in undefined:
                undefined.update(i for i in ins if needs[i])
                continue
            for i, g in zip(ins, _local_grads(program, values, grads, node)):
                if g is None:  # an integer argument, or class indices
                    if needs[i]:
                        undefined.add(i)
                    continue
                g = _unbroadcast(g, np.shape(values[i]))
                grads[i] = g if grads[i] is None else grads[i] + g
    grads = [_plain(np.zeros(np.shape(v)) if g is None else g) for g, v in zip(grads, values)]
    for node in undefined:  # not differentiable: None from here on
        grads[node] = None
    return grads


def _check_gradients(program: Program, values: list, grads: list, names: list[str]) -> None:
    """Every reported gradient must be finite everywhere; the first that is not is blamed
    on the step of the reverse pass that made it, as in the scalar engine."""
    for name in names:
        node = program.variables[name]
        grad = grads[node]
        if grad is None or np.all(np.isfinite(grad)):
            continue

        def sent(use: int, k: int):
            g = _local_grads(program, values, grads, use)[k]
            return None if g is None else _unbroadcast(g, np.shape(values[program.inputs[use][k]]))

        finite = lambda x: x is None or bool(np.all(np.isfinite(x)))  # noqa: E731
        with np.errstate(all="ignore"):
            step, k, _ = blame(program, node, sent, lambda use: finite(grads[use]), finite)
            if step is None:
                raise _error(program, node, "its gradient overflows: its uses together send "
                             "more than the largest float")
            g, i = _local_grads(program, values, grads, step)[k], program.inputs[step][k]
            finite_elements = np.isfinite(g)
            if finite_elements.all():  # each element finite; their sum over a broadcast is not
                raise _error(program, step, f"the gradient reaching {_label(program, i)} overflows "
                             "when summed over the axes it was broadcast along")
            raise _nonfinite(program, values, step, np.shape(g), _first(~finite_elements), g,
                             gradient=i)


def _unbroadcast(grad, shape: tuple):
    """Sum ``grad`` over the axes broadcasting added or stretched, back to ``shape``."""
    if np.shape(grad) == shape:
        return grad
    extra = np.ndim(grad) - len(shape)
    stretched = tuple(extra + k for k, n in enumerate(shape) if n == 1)
    grad = np.sum(grad, axis=tuple(range(extra)) + stretched, keepdims=True)
    return np.reshape(grad, shape)


def _first(mask) -> tuple[int, ...]:
    """Index of the first True element of a boolean array (() for a scalar)."""
    return tuple(int(k) for k in np.argwhere(mask)[0])


def _index(index) -> str:
    return "".join(f"[{int(k)}]" for k in index)


def _call(program: Program, node: int) -> str:
    """How a node is written, with its inputs' names: ``x @ W``, ``sum(h, axis=0)``."""
    op, ins = program.ops[node], program.inputs[node]
    return written(op, [_operand(program, i) for i in ins])


def _operand(program: Program, i: int) -> str:
    """An input as written: its name, or a number (``-3`` is a minus sign on 3)."""
    constants = program.constants
    if i in constants:
        return f"{constants[i]:g}"
    if program.ops[i] is Neg and i not in program.names:
        inner = program.inputs[i][0]
        if inner in constants:
            return f"-{constants[inner]:g}"
    return _label(program, i)


def _axis_or_operand(program: Program, values: list) -> list[str]:
    """``max(X, 1)`` of an array and a whole number was the largest along axis 1 until
    max(a, b) became element-wise (issue 17); it is said, so that an old program does not
    change its meaning silently. ``max(1, X)`` says the element-wise one without a word."""
    said = []
    for node in program.op_ids:
        op, ins = program.ops[node], program.inputs[node]
        if REDUCTIONS.get(op.symbol) in (None, op) or program.needs_grad[ins[1]]:
            continue  # not max(a, b) or min(a, b); a second input with a variable in it
        x, k = values[ins[0]], values[ins[1]]
        if np.ndim(k) or k != int(k) or not -np.ndim(x) <= k < np.ndim(x):
            continue
        line, column = line_col(program.source, program.pos[node])
        most = {"max": "largest", "min": "smallest"}[op.symbol]
        call = written(op, [_label(program, ins[0]), f"{k:g}"])
        said.append(f"{call} at {line}:{column} compares the two element by "
                    f"element; the {most} along axis {k:g} is {op.symbol}(X, axis={k:g}) (and "
                    f"{op.symbol}({k:g}, X) the element-wise one, without this warning)")
    return said


def _error(program: Program, node: int, message: str) -> EvaluationError:
    return EvaluationError(f"{_call(program, node)}: {message}", program.source, program.pos[node])


def _failure(program: Program, values: list, node: int, error: Exception,
             gradient: bool = False) -> EvaluationError:
    """An operation that raised: shapes that do not broadcast, else undefined as for scalars."""
    args = [values[i] for i in program.inputs[node]]
    try:
        np.broadcast_shapes(*map(np.shape, args))
    except ValueError:
        shapes = " and ".join(str(np.shape(a)) for a in args)
        return _error(program, node, f"shapes {shapes} do not broadcast together")
    if not any(map(np.ndim, args)):  # scalars: the scalar engine's words
        return _undefined(program, values, node, error, gradient)
    reason = program.ops[node].domain or str(error)
    what = "its derivative " if gradient else ""
    return _error(program, node, f"{what}is undefined ({reason})")


def _nonfinite(program: Program, values: list, node: int, shape: tuple, index: tuple, result,
               gradient: int | None = None) -> EvaluationError:
    """The first element of a value, or of the gradient to input ``gradient``, that is not finite.

    An element-wise operation redoes that element with its scalar rules, which raise
    or overflow exactly as in the scalar engine and so explain it the same way.
    """
    op, ins = program.ops[node], program.inputs[node]
    # an element is named only among several: a one-element array reads as its number
    where = f"{_call(program, node)} at {_index(index)}: " if math.prod(shape) > 1 else ""
    bad = float(np.asarray(result)[index])
    if not op.array_only:
        element = {i: float(np.broadcast_to(values[i], shape)[index]) for i in ins}
        args = [element[i] for i in ins]
        try:
            element[node] = op.forward(*args)
            if gradient is not None:  # the scalar engine's words for this element
                error = step_error(program, element, node, bad)
                return EvaluationError(where + error.message, program.source, program.pos[node])
        except (ArithmeticError, ValueError) as error:
            undefined = _undefined(program, element, node, error)
            return EvaluationError(where + undefined.message, program.source, program.pos[node])
        what = _describe(program, element, node)
    else:
        what = _call(program, node)
    if gradient is not None:
        what = f"the gradient reaching {_label(program, gradient)} from {what}"
    if math.isnan(bad) or op.array_only and op.domain:
        reason = f"is {bad} ({op.domain})" if op.domain else f"is {bad}"
    else:
        reason = f"overflows to {bad}"
    return EvaluationError(f"{where}{what} {reason}", program.source, program.pos[node])
