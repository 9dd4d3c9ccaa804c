"""Derivative programs: ∂f/∂x written as a program of the language instead of computed as a number.

This is the engine's reverse pass run on expressions: from the program's value back to
the variables, each node's gradient is built as a node, the upstream gradient times the
operation's local derivative rule. That rule is ``Op.rule``, text of the language such
as ``b*a**(b - 1)``, parsed by cgcalc once per operation: the same text ``--explain``
prints. Every node is made by :meth:`Graph.make`, which folds constants, drops ``*1``,
``+0`` and ``*0``, and gives equal subexpressions one node, so a derivative's size is
linear in the program's. Printing (:func:`cgcalc.render.source.to_source`) names each
subexpression used more than once (``s = sigmoid(x)``) and writes the rest inline.

A derivative of a derivative differentiates the same graph again, so each further order
or mixed partial costs one more pass. :func:`hessian` builds the gradient once and lets
the engine's reverse pass differentiate it numerically, one row per variable.
"""

from __future__ import annotations

import contextlib
import functools
import math
from collections.abc import Iterable, Mapping, Sequence
from fractions import Fraction
from functools import cache
from typing import NamedTuple

from .engine import evaluate
from .engine import value as forward_value
from .render.source import literal_text
from .walk import written
from .errors import BindingError, CgcalcError, EvaluationError, UnknownNameError
from .graph import Program
from .ops import CONSTANTS, OPERANDS, Add, Const, Div, Mul, Neg, Op, Pow, Sign, Step, Sub, Var


class Graph:
    """An expression DAG made through :meth:`make`: ids are a topological order (inputs
    first) and equal expressions are one node, so shared subexpressions stay shared.

    ``exact`` (``--exact``): numbers are the Fractions their text says and are folded
    exactly, so that the derivative's literals are exact too (``1e16 + 1`` is not 1e16).
    """

    def __init__(self, exact: bool = False) -> None:
        self.exact = exact
        self.ops: list[type[Op]] = []
        self.args: list[tuple[int, ...]] = []
        self.value: dict[int, float] = {}  #: constant node -> its number
        self.name: dict[int, str] = {}  #: variable node -> its name
        self.hint: dict[int, str] = {}  #: node -> the name the program gave it, for printing
        self._memo: dict[tuple, int] = {}

    def _node(self, op: type[Op], args: tuple, key: tuple) -> int:
        node = self._memo.get(key)
        if node is None:
            node = self._memo[key] = len(self.ops)
            self.ops.append(op)
            self.args.append(args)
        return node

    def const(self, value: float) -> int:
        value = Fraction(value) if self.exact else value + 0.0  # + 0.0: -0.0 is 0
        node = self._node(Const, (), (Const, value))
        self.value[node] = value
        return node

    def var(self, name: str) -> int:
        node = self._node(Var, (), (Var, name))
        self.name[node] = name
        return node

    def make(self, op: type[Op], args: tuple[int, ...]) -> int:
        """The node ``op(args)``, simplified: constants folded, identities dropped."""
        folded = self._fold(op, args)
        if folded is not None:
            return folded
        simplify = _SIMPLER.get(op)
        simpler = simplify(self, *args) if simplify else None
        if simpler is not None:
            return simpler
        if op is Add or op is Mul:  # a*b and b*a are one node: the same number
            return self._node(op, args, (op, min(args), max(args)))
        return self._node(op, args, (op, args))

    def _fold(self, op: type[Op], args: tuple[int, ...]) -> int | None:
        """A constant for an operation of constants, where it is no longer to write
        (``2*3`` is 6, ``step(-1)`` is 0, but ``log(2)`` and ``1/3`` stay as written)."""
        values = [self.value.get(a) for a in args]
        if None in values:
            return None
        try:
            value = _exact_forward(op)(*values) if self.exact else op.forward(*values)
        except (ArithmeticError, ValueError):
            return None
        if not _writable(value):
            return None
        if op in (Neg, Step, Sign) or len(literal_text(value)) <= len(written(op, list(map(literal_text, values)))):
            return self.const(value)
        return None

    def constant(self, node: int, value: float) -> bool:
        return self.value.get(node) == value


def _writable(value) -> bool:
    """Can a fold's result be a literal: a finite float, or a Fraction whose decimal ends
    (1/3 stays a division)?"""
    if isinstance(value, float):
        return math.isfinite(value)
    from .render.exact_numbers import terminates

    return type(value) is Fraction and terminates(value)


def _exact_forward(op: type[Op]):
    from .exact_ops import forward

    return forward(op)


# Simplifications that keep every value: each returns a simpler node, or None for none.


def _add(g: Graph, a: int, b: int) -> int | None:
    if g.constant(a, 0.0):
        return b
    if g.constant(b, 0.0):
        return a
    if a == b:
        return g.make(Mul, (g.const(2.0), a))
    if g.ops[b] is Neg:
        return g.make(Sub, (a, g.args[b][0]))
    if g.value.get(b, 0.0) < 0:
        return g.make(Sub, (a, g.const(-g.value[b])))
    if g.ops[a] is Neg:
        return g.make(Sub, (b, g.args[a][0]))
    return None


def _sub(g: Graph, a: int, b: int) -> int | None:
    if g.constant(b, 0.0):
        return a
    if g.constant(a, 0.0):
        return g.make(Neg, (b,))
    if a == b:
        return g.const(0.0)
    if g.ops[b] is Neg:
        return g.make(Add, (a, g.args[b][0]))
    if g.value.get(b, 0.0) < 0:
        return g.make(Add, (a, g.const(-g.value[b])))
    return None


def _mul(g: Graph, a: int, b: int) -> int | None:
    if g.constant(a, 0.0) or g.constant(b, 0.0):
        return g.const(0.0)
    for one, other in ((a, b), (b, a)):
        if g.constant(one, 1.0):
            return other
        if g.constant(one, -1.0):
            return g.make(Neg, (other,))
    if b in g.value and a not in g.value:  # the constant first: 2*x
        return g.make(Mul, (b, a))
    if a in g.value and g.ops[b] is Mul and g.args[b][0] in g.value:  # 2*(3*x) is 6*x
        product = g.value[a] * g.value[g.args[b][0]]
        if _writable(product):
            return g.make(Mul, (g.const(product), g.args[b][1]))
    if g.ops[b] is Neg:  # x*-y is -(x*y), and so is -x*y: a sum then subtracts it
        return g.make(Neg, (g.make(Mul, (a, g.args[b][0])),))
    if g.ops[a] is Neg:
        return g.make(Neg, (g.make(Mul, (g.args[a][0], b)),))
    return None


def _neg(g: Graph, a: int) -> int | None:
    op = g.ops[a]
    if op is Neg:
        return g.args[a][0]
    if op is Sub:  # -(p - q) is q - p
        return g.make(Sub, g.args[a][::-1])
    if op is Mul and g.args[a][0] in g.value:  # -(2*x) is -2*x
        return g.make(Mul, (g.const(-g.value[g.args[a][0]]), g.args[a][1]))
    return None


def _div(g: Graph, a: int, b: int) -> int | None:
    if g.constant(b, 1.0):
        return a
    if g.constant(b, -1.0):
        return g.make(Neg, (a,))
    if g.constant(a, 0.0):
        return g.const(0.0)
    if g.ops[a] is Neg:  # signs float up, where two of them cancel: -x/y is -(x/y)
        return g.make(Neg, (g.make(Div, (g.args[a][0], b)),))
    if g.value.get(a, 0.0) < 0:
        return g.make(Neg, (g.make(Div, (g.const(-g.value[a]), b)),))
    if g.ops[b] is Neg:
        return g.make(Neg, (g.make(Div, (a, g.args[b][0])),))
    return None


def _pow(g: Graph, a: int, b: int) -> int | None:
    if g.constant(b, 1.0):
        return a
    if g.constant(b, 0.0) or g.constant(a, 1.0):
        return g.const(1.0)
    return None


_SIMPLER = {Add: _add, Sub: _sub, Mul: _mul, Neg: _neg, Div: _div, Pow: _pow}


# The reverse pass on expressions.


@cache
def rule_program(op: type[Op], k: int) -> Program:
    """d y / d input k of ``op``: its rule text parsed by cgcalc, in the operand names."""
    from .parser import parse

    program = parse(op.rule[1][k])
    unknown = set(program.free_variables()) - {*OPERANDS[op.arity], "y"}
    if unknown:
        raise ValueError(f"{op.name}.rule uses {', '.join(sorted(unknown))}, not only its "
                         f"inputs {', '.join(OPERANDS[op.arity])} and y")
    return program


def _local(g: Graph, op: type[Op], k: int, args: tuple[int, ...], node: int) -> int:
    """The local derivative of ``node`` = op(args) by its input k, as a node of ``g``."""
    rule = rule_program(op, k)
    operands = dict(zip(OPERANDS[op.arity], args), y=node)
    copied: list[int] = []
    for i, (rule_op, ins) in enumerate(zip(rule.ops, rule.inputs)):
        if rule_op is Var:
            name = rule.names[i]
            copied.append(operands[name] if name in operands else g.var(name))  # pi, e
        elif rule_op is Const:
            copied.append(g.const(_number_of(rule, i) if g.exact else rule.constants[i]))
        else:
            copied.append(g.make(rule_op, tuple(copied[j] for j in ins)))
    return copied[rule.output]


def _number_of(program: Program, node: int) -> Fraction:
    """A literal as the Fraction its text says (``--exact``)."""
    from .exact import literal

    return literal(program, node)


def copy_program(g: Graph, program: Program) -> int:
    """The part of ``program`` its value depends on, made in ``g``; the value's node."""
    reached = program.depends(program.output)
    new = [0] * len(program)
    for node, (op, ins) in enumerate(zip(program.ops, program.inputs)):
        if not reached[node]:
            continue
        if op is Var:
            new[node] = g.var(program.names[node])
        elif op is Const:
            new[node] = g.const(_number_of(program, node) if g.exact else program.constants[node])
        else:
            if op.array_only:
                raise CgcalcError(f"{op.symbol} works on arrays; derivative programs are written "
                                  "for programs of numbers", program.source, program.pos[node])
            new[node] = g.make(op, tuple(new[i] for i in ins))
            if node in program.names:
                g.hint.setdefault(new[node], program.names[node])
    return new[program.output]


def gradients(g: Graph, root: int, names: Sequence[str]) -> list[int]:
    """d root / d name for each name, as nodes of ``g``: one reverse pass over ids below root."""
    wrt = {g.var(name) for name in names}
    depends = [False] * (root + 1)  # does the node depend on a variable of wrt?
    for node in range(root + 1):
        depends[node] = node in wrt or any(depends[i] for i in g.args[node])
    upstream = {root: g.const(1.0)} if depends[root] else {}
    for node in range(root, -1, -1):
        up = upstream.get(node)
        if up is None or not g.args[node] or g.constant(up, 0.0):
            continue
        op, args = g.ops[node], g.args[node]
        for k, i in enumerate(args):
            if depends[i]:
                sent = g.make(Mul, (_local(g, op, k, args, node), up))
                upstream[i] = sent if i not in upstream else g.make(Add, (upstream[i], sent))
    zero = g.const(0.0)
    return [upstream.get(g.var(name), zero) for name in names]


# Printing: the graph as a program whose shared subexpressions are named once.


def to_program(g: Graph, roots: Sequence[int], avoid: Iterable[str] = ()) -> tuple[Program, list[int]]:
    """``roots`` as a program: a statement ``name = ...`` for every operation used more
    than once, the rest written inline; the last root is the program's value. Names are
    new (none of the graph's variables, nor ``avoid``). Returns the program and each
    root's node in it."""
    top = max(roots)
    uses = [0] * (top + 1)
    reached = [False] * (top + 1)
    for root in roots:
        reached[root] = True
    for node in range(top, -1, -1):
        if reached[node]:
            for i in g.args[node]:
                reached[i] = True
                uses[i] += 1
    shared = set(roots[:-1])
    named = [node for node in range(top + 1) if reached[node] and g.args[node]
             and (uses[node] > 1 or node in shared) and not _small(g, node)]
    names = _names(g, named, {*g.name.values(), *avoid})
    program = Program("")
    emitted: dict[int, int] = {}  # named graph node -> its node in the program
    for node in named:
        first = len(program)
        emitted[node] = _expression(g, program, node, emitted)
        program.statements.append((names[node], emitted[node], first))
        program.names[emitted[node]] = names[node]
    first = len(program)
    ids = [emitted[root] if root in emitted else _expression(g, program, root, emitted)
           for root in roots]
    program.statements.append((None, ids[-1], first))
    program.output = ids[-1]
    return program, ids


def _small(g: Graph, node: int) -> bool:
    """Not worth a name: a sign in front of a number or a name (``-x``)."""
    return g.ops[node] is Neg and not g.args[g.args[node][0]]


def _names(g: Graph, nodes: list[int], taken: set[str]) -> dict[int, str]:
    """A name for each node: the program's own where it is free, else from the operation
    (``s`` for sigmoid, ``t`` for an operator), numbered ``s2``, ``s3``, ...."""
    taken = taken | CONSTANTS.keys()
    counters: dict[str, int] = {}
    names = {}
    for node in nodes:
        name = g.hint.get(node)
        if name is None or name in taken:
            op = g.ops[node]
            base = ("ex" if op.symbol == "exp" else op.symbol[0]) if op.symbol[0].isalpha() else "t"
            k = counters.get(base, 1)
            while (name := base if k == 1 else f"{base}{k}") in taken:
                k += 1
            counters[base] = k + 1
        taken.add(name)
        names[node] = name
    return names


def _expression(g: Graph, program: Program, root: int, emitted: dict[int, int]) -> int:
    """Add ``root`` and its unnamed inputs to ``program`` (inputs first, a loop); its id."""
    made: dict[int, int] = {}

    def ref(node: int) -> int:
        if node in emitted:
            return emitted[node]
        if node in made:
            return made[node]
        if g.ops[node] is Var:
            return program.variable(g.name[node], 0)
        value = g.value[node]  # a number: its own node at every use, a sign in front if < 0
        if value < 0:
            return program.add(Neg, (program.constant(-value, 0),), 0)
        return program.constant(value, 0)

    stack = [root]
    while stack:
        node = stack[-1]
        if node in made or node in emitted and node != root:
            stack.pop()
            continue
        if not g.args[node]:
            made[node] = ref(node)
            stack.pop()
            continue
        waiting = [i for i in g.args[node] if g.args[i] and i not in made and i not in emitted]
        if waiting:
            stack.extend(waiting)
            continue
        stack.pop()
        made[node] = program.add(g.ops[node], tuple(ref(i) for i in g.args[node]), 0)
    return made[root]


# The library's entry points.


def derivative(program: Program | str, wrt: str | Sequence[str], of: str | None = None,
               exact: bool = False) -> Program:
    """∂f/∂wrt as a program of the language: parse it, print it, evaluate it, differentiate it.

    ``wrt`` is a variable's name, or several names to differentiate by one after the other
    (``["x", "x"]`` for the second derivative, ``["x", "y"]`` for a mixed partial). ``of``
    names an assigned intermediate to differentiate instead of the program's value.
    ``exact``: constants are folded as exact rationals, so that the derivative's literals
    are exact and :func:`cgcalc.exact.evaluate` gives its exact value (``--exact``).
    Raises :class:`UnknownNameError` for a name that is not a variable of the program.
    """
    from .parser import parse
    from .render.source import to_source

    if isinstance(program, str):
        program = parse(program)
    if of is not None:
        program = program.with_output(program.named(of))
    names = [wrt] if isinstance(wrt, str) else list(wrt)
    check_variables(program, names)
    g = Graph(exact)
    root = gradients(g, copy_program(g, program), names[:1])[0]
    limit = GROWTH_LIMIT + 10 * len(g.ops)  # set by the first derivative's size
    for order, name in enumerate(names[1:], 2):
        root = gradients(g, root, [name])[0]
        if len(g.ops) > limit:
            raise CgcalcError(
                f"the derivative of order {order} has grown to {len(g.ops):,} nodes, and each "
                f"order about doubles it; cgcalc stops past {limit:,}: differentiate fewer times")
    return parse(to_source(to_program(g, [root], program.variables)[0]))


#: nodes a derivative of a derivative may grow by, beyond ten times the first derivative's
#: size (a program's derivatives of higher orders swell: sigmoid's 10th has 3,000 nodes,
#: its 15th 115,000, each taking about 35 µs to build)
GROWTH_LIMIT = 250_000


def check_variables(program: Program, names: Sequence[str]) -> None:
    unknown = [name for name in dict.fromkeys(names) if name not in program.variables]
    if unknown or not names:
        variables = ", ".join(program.variables) or "none"
        what = ", ".join(unknown) if unknown else "nothing"
        raise UnknownNameError(f"cannot differentiate with respect to {what}: not a variable of "
                               f"the program (its variables: {variables})")


def value_at(program: Program, derived: Program, wrt: str, bindings: Mapping[str, float],
             digits: int | None = None) -> tuple[float, list[str]]:
    """The value of ``derived``, a derivative of ``program`` by ``wrt`` first, at a point of
    numbers that ``program`` and its gradient by ``wrt`` are defined at; and the warnings.
    ``digits``: on exact numbers (``--exact``; ``derived`` made with ``exact=True``), with
    that many digits for what leaves the rationals."""
    if digits is not None:
        from . import exact

        result = exact.evaluate(program, bindings, wrt=[wrt], digits=digits)
        evaluate_value = functools.partial(exact.value, digits=digits)
    else:
        for name, value in bindings.items():
            if not isinstance(value, (int, float)):
                raise BindingError(f"derivatives are evaluated at numbers; {name} is bound "
                                   "to an array")
        result = evaluate(program, bindings, wrt=[wrt])
        evaluate_value = forward_value
    try:
        return evaluate_value(derived, bindings), result.warnings
    except EvaluationError as error:
        raise EvaluationError(f"the derivative is not defined here: {error.message}",
                              error.source, error.pos) from None


class Hessian(NamedTuple):
    """The matrix of second partial derivatives at one point."""

    value: float  #: the program's value there
    variables: list[str]  #: rows and columns, in the order of the gradients
    matrix: list[list[float]]  #: ∂²value/∂row∂column, exactly symmetric
    warnings: list[str] = []  #: about the bindings, as :attr:`cgcalc.Result.warnings`


def hessian(program: Program | str, bindings: Mapping[str, float] | None = None,
            of: str | None = None, digits: int | None = None) -> Hessian:
    """The Hessian of a program of numbers at ``bindings``, by every bound variable.

    The gradient is built once as a graph (:func:`gradients`), and the engine's reverse
    pass differentiates each of its components: row i is the gradient of ∂f/∂x_i. The
    two mixed partials of a pair are computed apart and agree to rounding wherever f is
    twice differentiable; their mean is given, so the matrix is exactly symmetric.
    ``digits``: on exact numbers (``--exact``, :func:`cgcalc.exact.evaluate`), where the two
    agree exactly, with that many digits for what leaves the rationals.
    """
    from .parser import parse

    if isinstance(program, str):
        program = parse(program)
    if digits is not None:
        from . import exact

        if of is not None:
            program = program.with_output(program.named(of))
        evaluate_at = functools.partial(exact.evaluate, digits=digits)
        first, zero, precision = evaluate_at(program, bindings), Fraction(0), \
            exact.working_precision(digits)
    else:
        evaluate_at, zero, precision = evaluate, 0.0, contextlib.nullcontext()
        first = evaluate(program, bindings, of=of)
    if first.arrays:
        raise BindingError("a Hessian is computed for programs of numbers; this one has arrays")
    program = first.program
    names = list(first.gradients)
    g = Graph(exact=digits is not None)
    components = gradients(g, copy_program(g, program), names)
    grad_program, roots = to_program(g, components or [g.const(0.0)])
    for name in names:
        grad_program.variable(name, 0)  # every bound variable, so no binding goes unused
    rows = []
    for name, root in zip(names, roots):
        try:
            result = evaluate_at(grad_program.with_output(root), bindings)
        except EvaluationError as error:
            raise EvaluationError(f"a second derivative by {name} is not finite here: "
                                  f"{error.message}") from None
        rows.append([result.gradients.get(other, zero) for other in names])
    with precision:  # --exact: the mean of two approximate partials to the digits asked for
        matrix = [[_mean(rows[i][j], rows[j][i]) for j in range(len(names))]
                  for i in range(len(names))]
    return Hessian(first.value, names, matrix, first.warnings)


def _mean(a, b):
    """Of two mixed partials: either, where they are equal (always, when exact)."""
    return a if a == b else 0.5 * a + 0.5 * b if isinstance(a, float) else (a + b) / 2


def jacobian(program: Program | str, bindings: Mapping | None = None,
             wrt: Sequence[str] | None = None, of: str | None = None):
    """For an array-valued program, each gradient with the value's shape in front: the
    reverse pass once per element of the value, with that element's upstream gradient 1
    and every other's 0. Returns a :class:`cgcalc.Result` of the value with its
    ``gradients`` replaced by the Jacobians (for a scalar value, the gradients); its nodes'
    gradients are no Jacobian's: the output's is ones (no upstream was given), the rest 0.
    (It was the last pass's, whose one-hot seed the tables showed as an upstream gradient.)"""
    import numpy as np

    from .parser import parse

    if isinstance(program, str):
        program = parse(program)
    result = evaluate(program, bindings, wrt=wrt, of=of, upstream=0.0)
    shape = np.shape(result.value)
    if not shape:
        return evaluate(program, bindings, wrt=wrt, of=of)
    rows = []
    for index in np.ndindex(shape):
        seed = np.zeros(shape)
        seed[index] = 1.0
        rows.append(evaluate(program, bindings, wrt=wrt, of=of, upstream=seed).gradients)
    result.gradients = {
        name: None if rows[0][name] is None else
        np.reshape([row[name] for row in rows], shape + np.shape(rows[0][name]))
        for name in rows[0]}
    result.grads[result.program.output] = np.ones(shape)
    return result
