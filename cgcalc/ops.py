"""One small class per operation, like the book's layers: ``forward`` and ``backward``.

``forward(*xs)`` computes the node's value from its inputs' values.
``backward(dout, y, *xs)`` returns one gradient per input: the upstream gradient
``dout`` times the local derivative d y / d x_i (the chain rule), given the node's
own output ``y`` and inputs ``xs`` (what the book's layers "remember").

Adding an operation touches only this file: write a class and decorate it with
``@register``. Functions are looked up by ``symbol`` (``sin(x)``), operators by the
grammar's operator text (``+``, ``**``); the grammar needs no change for a function.
"""

from __future__ import annotations

import math
import operator
from typing import Callable, ClassVar

FUNCTIONS: dict[str, type[Op]] = {}
OPERATORS: dict[str, type[Op]] = {}


class Op:
    """An operation node's rules. Subclasses set the class attributes below."""

    name: ClassVar[str]  #: shown in tables and JSON ("mul")
    symbol: ClassVar[str]  #: how it is written ("*", "sin")
    arity: ClassVar[int]
    domain: ClassVar[str] = ""  #: where it is defined, for error messages
    forward: ClassVar[Callable[..., float]]
    backward: ClassVar[Callable[..., tuple[float, ...]]]
    #: The local derivative rule for ``--explain``: words, then d y / d input for each input,
    #: written with the inputs' names from ``OPERANDS`` and ``{y}`` for the node's own value.
    rule: ClassVar[tuple[str, tuple[str, ...]]] = ("", ())
    #: For a fused operation, the same function in the language itself, written with
    #: primitive operations of inputs named as in ``OPERANDS``; ``--expand`` draws it.
    expansion: ClassVar[str] = ""


#: How the inputs of an operation are called in ``rule`` and ``expansion``, by arity.
OPERANDS: dict[int, tuple[str, ...]] = {1: ("x",), 2: ("a", "b")}


def register(cls: type[Op]) -> type[Op]:
    """Make an operation known to the parser: operators by symbol, functions by name."""
    table = FUNCTIONS if cls.symbol[0].isalpha() else OPERATORS
    table[cls.symbol] = cls
    return cls


# Leaves: they have no inputs; the engine fills their values.


class Var(Op):
    """A free variable, one node shared by all its uses; its value is a binding."""

    name = symbol = "var"
    arity = 0


class Const(Op):
    """A number written in the program; every occurrence is its own node."""

    name = symbol = "const"
    arity = 0


# Operators.


@register
class Add(Op):
    name, symbol, arity = "add", "+", 2
    forward = staticmethod(operator.add)
    rule = "a sum passes the upstream gradient on unchanged", ("1", "1")

    @staticmethod
    def backward(dout, y, a, b):
        return dout, dout


@register
class Sub(Op):
    name, symbol, arity = "sub", "-", 2
    forward = staticmethod(operator.sub)
    rule = "a difference passes it on, negated for the right input", ("1", "-1")

    @staticmethod
    def backward(dout, y, a, b):
        return dout, -dout


@register
class Mul(Op):
    name, symbol, arity = "mul", "*", 2
    forward = staticmethod(operator.mul)
    rule = "a product swaps its inputs", ("{b}", "{a}")

    @staticmethod
    def backward(dout, y, a, b):
        return dout * b, dout * a  # "swap the inputs"


@register
class Div(Op):
    name, symbol, arity = "div", "/", 2
    domain = "the divisor must not be 0"
    forward = staticmethod(operator.truediv)
    rule = "one over the divisor, and minus the quotient over the divisor", ("1/{b}", "-{y}/{b}")

    @staticmethod
    def backward(dout, y, a, b):
        return dout / b, -dout * y / b


@register
class Pow(Op):
    name, symbol, arity = "pow", "**", 2
    domain = "a negative base needs an integer exponent, and 0 a non-negative one"
    forward = staticmethod(math.pow)  # raises instead of returning complex
    rule = "the power rule for the base, the power times the log of the base for the exponent", (
        "{b}·{a}**({b} - 1)", "{y}·log({a})")

    @staticmethod
    def backward(dout, y, a, b):
        da = dout * b * math.pow(a, b - 1.0) if b != 0.0 else 0.0
        if a > 0.0:
            db = dout * y * math.log(a)
        elif a == 0.0 and b > 0.0:
            db = 0.0  # 0**b stays 0 for every nearby b > 0
        else:
            db = math.nan  # a**b is undefined for nearby non-integer b
        return da, db


OPERATORS["^"] = Pow


class Neg(Op):
    """Unary minus; the grammar's sign rule builds it, so it is not registered."""

    name, symbol, arity = "neg", "-", 1
    forward = staticmethod(operator.neg)
    rule = "a minus sign multiplies by -1", ("-1",)

    @staticmethod
    def backward(dout, y, x):
        return (-dout,)


# Functions.


@register
class Exp(Op):
    name = symbol = "exp"
    arity = 1
    forward = staticmethod(math.exp)
    rule = "the exponential is its own derivative", ("{y}",)

    @staticmethod
    def backward(dout, y, x):
        return (dout * y,)


@register
class Log(Op):
    name = symbol = "log"
    arity = 1
    domain = "log is defined for x > 0"
    forward = staticmethod(math.log)
    rule = "one over the input", ("1/{x}",)

    @staticmethod
    def backward(dout, y, x):
        return (dout / x,)


@register
class Sqrt(Op):
    name = symbol = "sqrt"
    arity = 1
    domain = "sqrt is defined for x >= 0, its derivative for x > 0"
    forward = staticmethod(math.sqrt)
    rule = "one over twice the square root", ("1/(2·{y})",)

    @staticmethod
    def backward(dout, y, x):
        return (dout * 0.5 / y,)


@register
class Sin(Op):
    name = symbol = "sin"
    arity = 1
    domain = "sin is defined for finite x"
    forward = staticmethod(math.sin)
    rule = "the cosine", ("cos({x})",)

    @staticmethod
    def backward(dout, y, x):
        return (dout * math.cos(x),)


@register
class Cos(Op):
    name = symbol = "cos"
    arity = 1
    domain = "cos is defined for finite x"
    forward = staticmethod(math.cos)
    rule = "minus the sine", ("-sin({x})",)

    @staticmethod
    def backward(dout, y, x):
        return (-dout * math.sin(x),)


@register
class Tan(Op):
    name = symbol = "tan"
    arity = 1
    domain = "tan is defined for finite x"
    forward = staticmethod(math.tan)
    rule = "one plus the tangent squared", ("1 + {y}²",)

    @staticmethod
    def backward(dout, y, x):
        return (dout * (1.0 + y * y),)


@register
class Tanh(Op):
    name = symbol = "tanh"
    arity = 1
    forward = staticmethod(math.tanh)
    expansion = "1 - 2/(exp(2*x) + 1)"
    rule = "one minus tanh squared", ("1 - {y}²",)

    @staticmethod
    def backward(dout, y, x):
        return (dout * (1.0 - y * y),)


def _sigmoid(x: float) -> float:
    """1 / (1 + exp(-x)), written so that exp never overflows."""
    if x >= 0.0:
        return 1.0 / (1.0 + math.exp(-x))
    z = math.exp(x)
    return z / (1.0 + z)


@register
class Sigmoid(Op):
    name = symbol = "sigmoid"
    arity = 1
    forward = staticmethod(_sigmoid)
    expansion = "1/(1 + exp(-x))"
    rule = "the book's four steps of 1/(1 + exp(-x)) collapse into y(1 - y)", ("{y}·(1 - {y})",)

    @staticmethod
    def backward(dout, y, x):
        return (dout * y * (1.0 - y),)


@register
class Relu(Op):
    name = symbol = "relu"
    arity = 1
    rule = "a mask: the gradient passes only where the input is positive", ("1 if {x} > 0 else 0",)

    @staticmethod
    def forward(x):
        return x if x > 0.0 else 0.0

    @staticmethod
    def backward(dout, y, x):
        return (dout if x > 0.0 else 0.0,)  # the book's mask: x <= 0 passes nothing


@register
class Abs(Op):
    name = symbol = "abs"
    arity = 1
    forward = staticmethod(math.fabs)
    rule = "the sign of the input", ("sign({x})",)

    @staticmethod
    def backward(dout, y, x):
        return (dout if x > 0.0 else -dout if x < 0.0 else 0.0,)


#: Names that mean a number unless the program binds or assigns them.
CONSTANTS: dict[str, float] = {"pi": math.pi, "e": math.e}
