"""Forward and reverse passes over a parsed program, both plain loops over node ids.

Ids are a topological order (see :mod:`cgcalc.graph`), so the forward pass walks
them upwards and the reverse pass downwards: linear in the graph's size, no
recursion. Every value and every gradient that matters must be a finite real
number; the first one that is not is reported with its operation and place. What the
engines share lives in :mod:`cgcalc.walk`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from functools import partial

from .errors import BindingError, EvaluationError
from .graph import Program
from .ops import CONSTANTS, Add, Sub
from .walk import (Binding, Result, StepFailed, _first_nonfinite, _ieee_backward, _leaf_values,
                   _overflow, _sent, _undefined, _wrt, as_float, backward_rule,
                   blame, forward_steps, step_error)

_SUM, _DIFFERENCE = Add.backward, Sub.backward


def evaluate(program: Program | str, bindings: Mapping[str, Binding] | None = None,
             wrt: Iterable[str] | None = None, upstream=None, of: str | None = None) -> Result:
    """Run the forward and the reverse pass (on a program, or on its text, parsed first).

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
    if isinstance(program, str):
        from .parser import parse

        program = parse(program)
    bindings = {name: _real(value) for name, value in (bindings or {}).items()}
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
    seed = 1.0 if upstream is None else _upstream_number(upstream)
    grads = _backward(program, values, seed, every=False)
    every = partial(_backward, program, values, seed)
    _check_gradients(program, values, grads, names, every)
    return Result(program, values, grads, names, warnings, every)


def value(program: Program, bindings: Mapping[str, float] | None = None):
    """The forward pass alone: what the gradient check runs twice per input element."""
    bindings = dict(bindings or {})
    if _arrays(program, bindings):
        from .array_engine import forward_value

        return forward_value(program, bindings)
    values = _leaf_values(program, bindings)[0]
    _forward(program, values)
    return values[program.output]


def _real(value):
    """A Fraction or a Decimal as the float nearest it (the engines compute with floats;
    ``cgcalc.exact`` takes them exactly); any other binding as it is."""
    if type(value).__module__ in ("fractions", "decimal"):
        try:
            return as_float(value)
        except ValueError:  # a signalling NaN: said to be no number where it is checked
            pass
    return value


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


def _forward(program: Program, values: list[float]) -> None:
    try:
        forward_steps(program, values)
    except StepFailed as failed:
        overflow = _first_nonfinite(values, range(failed.node))
        if overflow is not None:
            raise _overflow(program, values, overflow) from None
        raise _undefined(program, values, failed.node, failed.error) from None
    if not math.isfinite(sum(values)):  # fast; a sum of large finite values may overflow too
        overflow = _first_nonfinite(values, range(len(values)))
        if overflow is not None:
            raise _overflow(program, values, overflow)


def _backward(program: Program, values: list[float], upstream: float = 1.0,
              every: bool = True) -> list[float]:
    """upstream · d(output)/d(node) for every node. A rule that fails for Python floats (a
    division by zero) gives IEEE infinities or NaNs instead, which flow on until a mask stops
    them; whether a gradient that matters is not finite is :func:`_check_gradients`' question.

    Unless ``every``, an operation node's gradient is dropped (its slot set to 0.0) once its
    own backward step has used it, so only the leaves' stay: the float objects of the others
    are freed as the pass goes, and their memory is reused for the next ones."""
    grads = [0.0] * len(values)
    grads[program.output] = upstream
    it = reversed(program.steps)
    for b, a, g, _, node in zip(it, it, it, it, it):
        dout = grads[node]
        if not every:
            grads[node] = 0.0
        if not dout:
            continue  # nothing flows back through this node
        if g is None or b < -1:  # no variable depends on it, or more than two inputs
            if g is not None or every:  # only every node's gradients want a dead end's inputs'
                ins = program.step_inputs(a, b)
                for i, gi in zip(ins, backward_rule(program.ops[node], dout, values[node],
                                                    [values[i] for i in ins])):
                    grads[i] += gi
        elif b >= 0:
            if g is _SUM or g is _DIFFERENCE:  # dout passes on, negated to a difference's
                grads[a] += dout                 # right input: no call needed
                grads[b] += dout if g is _SUM else -dout
                continue
            try:
                da, db = g(dout, values[node], values[a], values[b])
            except (ArithmeticError, ValueError):
                da, db = _ieee_backward(program.ops[node], dout, values[node], [values[a], values[b]])
            grads[a] += da
            grads[b] += db
        else:
            try:
                grads[a] += g(dout, values[node], values[a])[0]
            except (ArithmeticError, ValueError):
                grads[a] += _ieee_backward(program.ops[node], dout, values[node], [values[a]])[0]
    return grads


def _check_gradients(program: Program, values: list[float], grads: list[float],
                     names: list[str], every: Callable[[], list[float]]) -> None:
    """Every reported gradient must be finite; the first that is not is blamed on the step
    of the reverse pass that made it (see :func:`blame`), in every node's gradients, which
    ``every()`` computes again (``grads`` holds only the leaves')."""
    for name in names:
        node = program.variables[name]
        if not math.isfinite(grads[node]):
            grads = every()
            step, _, sent = blame(program, node, lambda u, k: _sent(program, values, grads, u)[k],
                                  lambda u: math.isfinite(grads[u]), math.isfinite)
            raise _gradient_error(program, values, name, step, sent, grads[node])


def _gradient_error(program: Program, values: list[float], name: str, step: int | None,
                    sent: float, grad: float) -> EvaluationError:
    """Words for a gradient of ``name`` that is not finite, made at ``step``."""
    if step is None:
        node = program.variables[name]
        return EvaluationError(f"the gradient of {name} overflows to {grad}: its uses together "
                               "send more than the largest float", program.source, program.pos[node])
    return step_error(program, values, step, sent)

