"""``--exact``: the same two walks over the same graph, on exact rationals.

Number literals are the fractions their text says (``1.1`` is 11/10, never the float
nearest to it) and bindings are exact too, so ``+ - * /``, integer powers, ``abs``,
``relu`` and ``sqrt`` of a perfect square give exactly the book's numbers::

    >>> import cgcalc, cgcalc.exact
    >>> program = cgcalc.parse("(apple*apple_num + orange*orange_num)*tax")
    >>> result = cgcalc.exact.evaluate(program, {"apple": 100, "apple_num": 2,
    ...                                          "orange": 150, "orange_num": 3, "tax": "1.1"})
    >>> result.value, result.gradients["tax"]
    (Fraction(715, 1), Fraction(650, 1))

What leaves the rationals (``exp``, ``log``, ``sin``, ``sqrt(2)``, ``pi``...) is
computed by mpmath to ``digits`` significant digits (plus guard digits) and is an
mpmath number: approximate, and so is everything computed from it
(:func:`cgcalc.exact_ops.is_exact`). Each operation's value is
:func:`cgcalc.exact_ops.forward`; its local derivatives are its ``Op.rule`` expressions,
the ones ``--explain`` prints and ``cgcalc diff`` builds on, evaluated with those same
forwards (:class:`Formula`), so no derivative is written twice. The walks here are
loops over node ids like :mod:`cgcalc.engine`'s, reusing :mod:`cgcalc.walk`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from fractions import Fraction
from functools import cache

from . import walk
from .errors import BindingError, CgcalcError
from .exact_ops import ONE, PRECISION, ZERO, approximate, decimal_number, forward, is_exact, mp
from .graph import Program
from .ops import CONSTANTS, OPERANDS, Const, Mul, Op, Sign, Step, Var

DIGITS = 30  #: significant digits of what leaves the rationals, unless told
GUARD = 10  #: extra digits mpmath works with, so that the digits reported are right


class _Undefined:
    """A gradient that is not a number (a derivative divided by zero): it flows on through
    the reverse pass, absorbing whatever it meets, until a ReLU's or abs's mask stops it;
    it is an error only where it is reported, as the float engine's NaN."""

    def __repr__(self) -> str:
        return "undefined"

    def _absorb(self, *other):
        return self

    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = _absorb
    __truediv__ = __rtruediv__ = __neg__ = _absorb


UNDEFINED = _Undefined()


class ExactResult(walk.Result):
    """:class:`cgcalc.walk.Result` with Fractions (exact) and mpmath numbers (approximate)."""

    exact = True

    def __init__(self, program: Program, values: list, grads: list, variables: list[str],
                 warnings: list[str], digits: int) -> None:
        super().__init__(program, values, grads, variables, warnings)
        self.digits = digits  #: significant digits of the approximate numbers

    @staticmethod
    def _grad(grad):
        return None if grad is UNDEFINED else grad

    def _local(self, op: type[Op], y, xs: list) -> tuple:
        with working_precision(self.digits):
            locals_ = (rule.local(y, xs) for rule in local_rules(op))
            return tuple(None if d is UNDEFINED else d for d in locals_)

    @property
    def edge_grads(self) -> list:
        """What the reverse pass sent along each edge (None to an input that needs none)."""
        if "_edges" not in self.__dict__:
            with working_precision(self.digits):
                self._edges = [_sent(self.program, self.values, self.grads, node)
                               for node in range(len(self.values))]
        return self._edges


class Formula:
    """An expression of the language in named operands, evaluated on exact numbers with
    each operation's exact forward: the local derivative of an operation by one input (its
    ``Op.rule`` expression as :func:`cgcalc.differentiate.rule_program` parses it, in its
    operands and ``y``, the node's value), or an operation's ``expansion``.

    Inside a formula, a step that is undefined (log(0)) is UNDEFINED, and a product with an
    exact 0 is 0 even when its other factor is undefined. A rule stops even an undefined
    upstream gradient where it is 0 because the operation does not change with that input
    there: a mask (``step``, ``sign``: relu's and abs's rules), the number 0 (step's), or
    a product with a factor that is an input or ``y`` and is 0 (``b*a**(b - 1)`` at
    ``b = 0``: x**0 is 1 for every x; ``y*log(a)`` at ``a = 0 < b``: 0**b is 0 for every
    b > 0). These are the float rules' cases (``Op.backward``), and a test checks that the
    two engines agree.
    """

    def __init__(self, rule: Program, operands: tuple[str, ...]) -> None:
        slots = {name: i for i, name in enumerate(operands)}
        self.steps: list[tuple] = []  #: per node of the rule: (how, what)
        for node, (rule_op, ins) in enumerate(zip(rule.ops, rule.inputs)):
            if rule_op is Var:
                name = rule.names[node]
                self.steps.append(("operand", slots[name]) if name in slots else
                                  ("constant", name))  # pi, e: mpmath's, at the precision
            elif rule_op is Const:
                self.steps.append(("number", literal(rule, node)))
            else:
                self.steps.append((forward(rule_op), ins, rule_op is Mul))
        self.output = rule.output
        self.fixed = None  #: the rule's value when it is one rational number (1, -1, 0)
        if all(how[0] != "operand" and how[0] != "constant" for how in self.steps):
            value = self.value(())
            self.fixed = value if is_exact(value) else None
        root = rule.ops[rule.output]
        self.mask = root in (Step, Sign) or self.fixed == 0
        #: the operands that are factors of the rule's product, which is flat where one is 0
        self.factors = [self.steps[i][1] for i in rule.inputs[rule.output]
                        if root is Mul and self.steps[i][0] == "operand"]

    def local(self, y, xs: list):
        """The local derivative at a node of value ``y`` and inputs ``xs``."""
        return self.fixed if self.fixed is not None else self.value((y, *xs))

    def value(self, operands: tuple):
        """The formula's value, its operands bound to ``operands`` (in their order)."""
        values: list = []
        for step in self.steps:
            how = step[0]
            if how == "operand":
                values.append(operands[step[1]])
            elif how == "number":
                values.append(step[1])
            elif how == "constant":
                values.append(_constant(step[1]))
            else:
                values.append(_apply(step, [values[i] for i in step[1]]))
        return values[self.output]

    def send(self, dout, y, xs: list):
        """What the node sends this input in the reverse pass: ``dout`` times the local
        derivative (UNDEFINED where either is, unless this rule is flat there)."""
        if self.fixed is not None and dout is not UNDEFINED:  # + and -: no product to take
            return dout if self.fixed == 1 else -dout if self.fixed == -1 else \
                _MUL(dout, self.fixed)
        local = self.local(y, xs)
        if dout is UNDEFINED:
            flat = local is not UNDEFINED and local == 0 and (
                self.mask or any((y, *xs)[slot] == 0 for slot in self.factors))
            return local if flat else UNDEFINED
        return UNDEFINED if local is UNDEFINED else _MUL(dout, local)


def _apply(step: tuple, args: list):
    """One operation of a rule on its arguments' values: UNDEFINED where it is undefined."""
    rule, _, is_product = step
    if any(arg is UNDEFINED for arg in args):
        zero = [arg for arg in args if arg is not UNDEFINED and arg == 0]
        return zero[0] if is_product and zero else UNDEFINED
    try:
        return rule(*args)
    except (ArithmeticError, ValueError):
        return UNDEFINED


@cache
def local_rules(op: type[Op]) -> tuple[Formula, ...]:
    """Per input of ``op``, its local derivative as a :class:`Formula`, made at first use."""
    from .differentiate import rule_program

    operands = ("y", *OPERANDS[op.arity])
    return tuple(Formula(rule_program(op, k), operands) for k in range(len(operands) - 1))


def expanded_forward(op: type[Op]):
    """The value of an operation that mpmath has no function for, from its ``expansion``
    (softplus's ``log(1 + exp(x))``)."""
    from .parser import parse

    formula = Formula(parse(op.expansion), OPERANDS[op.arity])

    def rule(*xs):
        value = formula.value(xs)
        if value is UNDEFINED:
            raise ValueError(f"{op.name} is undefined here")
        return value
    return rule


_MUL = forward(Mul)


def evaluate(program: Program, bindings: Mapping[str, object] | None = None,
             wrt: Iterable[str] | None = None, digits: int = DIGITS) -> ExactResult:
    """Both passes on exact numbers; as :func:`cgcalc.evaluate` otherwise.

    A binding is a Fraction, an int, a string the language reads (``"1.1"``, ``"1/3"``,
    ``"pi/4"``), or a float (taken at its exact binary value: pass ``"1.1"`` for eleven
    tenths). Raises :class:`~cgcalc.errors.CgcalcError` for arrays, which are floats.
    """
    wrt = None if wrt is None else list(dict.fromkeys(wrt))
    with working_precision(digits):
        program, values, variables, warnings = _forward_pass(program, bindings, wrt)
        names = walk._wrt(program, wrt, variables)
        grads = _backward(program, values)
        _check_gradients(program, values, grads, names)
    return ExactResult(program, values, grads, names, warnings, digits)


def value(program: Program, bindings: Mapping[str, object] | None = None,
          digits: int = DIGITS):
    """The forward pass alone (:func:`evaluate`'s value): a Fraction, or an mpmath number."""
    with working_precision(digits):
        program, values, _, _ = _forward_pass(program, bindings, None)
    return values[program.output]


def _forward_pass(program: Program, bindings: Mapping[str, object] | None,
                  wrt: list[str] | None) -> tuple[Program, list, list[str], list[str]]:
    """The program as evaluated (pi and e variables where bound), every node's value, the
    bound variables and the warnings; at the working precision."""
    if program.array_ops:
        raise CgcalcError("--exact works on numbers; this program uses array operations, "
                          "which compute with floats (drop --exact)")
    bindings = dict(bindings or {})
    implicit = [name for name in wrt or ()
                if name in CONSTANTS and name in program.variables and name not in bindings]
    digits = PRECISION.dps - GUARD
    bindings.update({name: _constant(name) for name in implicit})
    program = program.binding_constants(CONSTANTS.keys() & bindings.keys())
    convert = lambda name, value, program, node: _exact_binding(name, value, digits)
    values, variables, warnings = walk._leaf_values(program, bindings, convert, implicit)
    for node in program.constants:
        values[node] = literal(program, node)
    for name, node in program.variables.items():
        if name not in bindings:
            values[node] = _constant(name)
    _forward(program, values)
    return program, values, variables, warnings


class working_precision:
    """mpmath at ``digits`` + GUARD digits while a walk (or arithmetic on its results) runs;
    its precision as it was after."""

    def __init__(self, digits: int) -> None:
        self.dps = digits + GUARD

    def __enter__(self) -> None:
        import sys

        self.before = PRECISION.dps
        mpmath = sys.modules.get("mpmath")
        self.mp_before = mpmath.mp.dps if mpmath else None
        PRECISION.dps = self.dps
        if mpmath:  # mpmath numbers given (bindings) multiply at this precision, not the last
            mpmath.mp.dps = self.dps

    def __exit__(self, *error) -> None:
        import sys

        PRECISION.dps = self.before
        mpmath = sys.modules.get("mpmath")
        if mpmath:
            mpmath.mp.dps = self.mp_before or 15


def _constant(name: str):
    """pi or e, which are not rational: mpmath's, at the working precision."""
    return +getattr(mp(), name)


def exact_number(value, digits: int = DIGITS):
    """A binding value as an exact number (or an mpmath one, for ``pi/4``)."""
    if isinstance(value, str):
        from .bindings import exact_value

        return exact_value("value", value, digits)
    if isinstance(value, bool) or not isinstance(value, (int, float, Fraction)) and \
            not hasattr(value, "_mpf_"):
        raise TypeError
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError
    return value if hasattr(value, "_mpf_") else Fraction(value)


def _exact_binding(name: str, value, digits: int):
    if isinstance(value, list) or hasattr(value, "shape"):
        raise CgcalcError(f"{name}: --exact works on numbers; arrays compute with floats "
                          "(drop --exact)")
    try:
        return exact_number(value, digits)
    except (TypeError, ValueError):
        raise BindingError(f"{name} = {value!r} is not a finite number") from None


@cache
def _number_pattern() -> re.Pattern[str]:
    from .parser import terminal_regex

    return re.compile(terminal_regex("NUMBER"))


def literal(program: Program, node: int) -> Fraction:
    """A number literal as the fraction its text says (``1.1`` is 11/10). A literal that
    is not in the source as written (one an expansion added) is its float, exactly; one
    that is a Fraction already (a derivative program's, made with ``--exact``) is itself."""
    value = program.constants[node]
    if type(value) is Fraction:
        return value
    match = _number_pattern().match(program.source, program.pos[node])
    if match and float(match[0]) == value:
        return decimal_number(match[0])
    return Fraction(value)


def _forward(program: Program, values: list) -> None:
    """The forward pass with each operation's exact rule; the first value that is
    undefined (1/0, log(-1)) is an error with its place, as in the float engine."""
    forwards = [forward(program.ops[node]) for node in program.op_ids]
    try:
        walk.forward_steps(program, values, forwards)
    except walk.StepFailed as failed:
        raise walk._undefined(program, _floats(values), failed.node, failed.error) from None


def _backward(program: Program, values: list) -> list:
    """d(output)/d(node) for every node, downwards over the ids; an input is sent only
    what it needs (nothing for a number: the exponent of ``x**2`` is never
    differentiated), and a node whose gradient is exactly 0 sends nothing."""
    grads = [ZERO] * len(values)
    grads[program.output] = ONE
    needs, ops, inputs = program.needs_grad, program.ops, program.inputs
    for node in reversed(program.op_ids):
        dout = grads[node]
        if not needs[node] or dout == 0:
            if needs[node] and not is_exact(dout):  # an approximate 0 makes its inputs' too
                for i in inputs[node]:
                    if needs[i]:
                        grads[i] = approximate(grads[i]) + dout
            continue
        ins, y = inputs[node], values[node]
        xs = [values[i] for i in ins]
        for i, rule in zip(ins, local_rules(ops[node])):
            if needs[i]:
                sent = rule.send(dout, y, xs)
                grads[i] = sent if grads[i] is ZERO else grads[i] + sent
    return grads



def _sent(program: Program, values: list, grads: list, node: int):
    """What ``node`` sent each input in the reverse pass (see ``walk._sent``)."""
    ins = program.inputs[node]
    if not ins or not program.needs_grad[node]:
        return None
    dout = grads[node]
    if dout == 0:  # the reverse pass skips it: nothing flows
        return tuple(dout if program.needs_grad[i] else None for i in ins)
    xs = [values[i] for i in ins]
    return tuple(rule.send(dout, values[node], xs) if program.needs_grad[i] else None
                 for i, rule in zip(ins, local_rules(program.ops[node])))


def _check_gradients(program: Program, values: list, grads: list, names: list[str]) -> None:
    """A reported gradient that is undefined is an error, blamed on the step that made it."""
    for name in names:
        node = program.variables[name]
        if grads[node] is UNDEFINED:
            defined = lambda g: g is not UNDEFINED
            step, _, _ = walk.blame(program, node,
                                      lambda use, k: _sent(program, values, grads, use)[k],
                                      lambda use: defined(grads[use]), defined)
            if step is None:  # every use sent a number: their sum is one
                raise AssertionError(f"the gradient of {name} is undefined")
            raise walk.step_error(program, _floats(values), step, math.nan)


def _floats(values: list) -> list[float]:
    """The values as floats, for messages that show them (``1 / 0``)."""
    return [walk.as_float(value) for value in values]
