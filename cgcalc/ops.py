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
from functools import cache
from typing import Callable, ClassVar

FUNCTIONS: dict[str, type[Op]] = {}
OPERATORS: dict[str, type[Op]] = {}


class Op:
    """An operation node's rules. Subclasses set the class attributes below."""

    name: ClassVar[str]  #: shown in tables and JSON ("mul")
    symbol: ClassVar[str]  #: how it is written ("*", "sin")
    arity: ClassVar[int | tuple[int, int | None]]  #: a count, or (fewest, most or None)
    domain: ClassVar[str] = ""  #: where it is defined, for error messages
    # Arrays (cgcalc.array_engine): the scalar rules above stay as they are; an operation
    # whose scalar rules cannot take arrays names a NumPy function or adds array kernels.
    numpy: ClassVar[str] = ""  #: NumPy function that is ``forward`` on arrays
    #: mpmath function that is ``forward`` on exact numbers (``--exact``) where the value
    #: leaves the rationals; without one, ``forward`` must be rational arithmetic
    mpmath: ClassVar[str] = ""
    array_forward: ClassVar[Callable[..., object] | None] = None
    array_backward: ClassVar[Callable[..., tuple] | None] = None
    array_only: ClassVar[bool] = False  #: defined on arrays only (``@``, ``sum``...)
    params: ClassVar[str] = ""  #: name of integer arguments after the first ("axis")
    forward: ClassVar[Callable[..., float]]
    backward: ClassVar[Callable[..., tuple[float, ...]]]
    #: The local derivative rule: words, then d y / d input for each input as an expression
    #: of the language, in the inputs' names from ``OPERANDS`` and ``y`` for the node's own
    #: value (``b*a**(b - 1)``). ``--explain`` prints it and :mod:`cgcalc.derivative` builds
    #: derivative programs from it; ``backward`` is the same rule on numbers, the fast path
    #: (a test checks they agree). Array-only operations give theirs in words.
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
    rule = "a product swaps its inputs", ("b", "a")

    @staticmethod
    def backward(dout, y, a, b):
        return dout * b, dout * a  # "swap the inputs"


@register
class Div(Op):
    name, symbol, arity = "div", "/", 2
    domain = "the divisor must not be 0"
    forward = staticmethod(operator.truediv)
    rule = "one over the divisor, and minus the quotient over the divisor", ("1/b", "-y/b")

    @staticmethod
    def backward(dout, y, a, b):
        return dout / b, -dout * y / b


@register
class Pow(Op):
    name, symbol, arity = "pow", "**", 2
    domain = "a negative base needs an integer exponent, and 0 a non-negative one"
    forward = staticmethod(math.pow)  # raises instead of returning complex
    rule = "the power rule for the base, the power times the log of the base for the exponent", (
        "b*a**(b - 1)", "y*log(a)")

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

    numpy = "power"
    mpmath = "power"

    @staticmethod
    def array_backward(dout, y, a, b):
        np = _np()
        da = np.where(b != 0.0, dout * b * np.power(a, b - 1.0), 0.0)
        db = np.where(a > 0.0, dout * y * np.log(a), np.where((a == 0.0) & (b > 0.0), 0.0, np.nan))
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
    rule = "the exponential is its own derivative", ("y",)

    @staticmethod
    def backward(dout, y, x):
        return (dout * y,)

    numpy = "exp"
    mpmath = "exp"


@register
class Log(Op):
    name = symbol = "log"
    arity = 1
    domain = "log is defined for x > 0"
    forward = staticmethod(math.log)
    rule = "one over the input", ("1/x",)

    @staticmethod
    def backward(dout, y, x):
        return (dout / x,)

    numpy = "log"
    mpmath = "log"


@register
class Sqrt(Op):
    name = symbol = "sqrt"
    arity = 1
    domain = "sqrt is defined for x >= 0, its derivative for x > 0"
    forward = staticmethod(math.sqrt)
    rule = "one over twice the square root", ("1/(2*y)",)

    @staticmethod
    def backward(dout, y, x):
        return (dout * 0.5 / y,)

    numpy = "sqrt"
    mpmath = "sqrt"


@register
class Sin(Op):
    name = symbol = "sin"
    arity = 1
    domain = "sin is defined for finite x"
    forward = staticmethod(math.sin)
    rule = "the cosine", ("cos(x)",)

    @staticmethod
    def backward(dout, y, x):
        return (dout * math.cos(x),)

    numpy = "sin"
    mpmath = "sin"
    array_backward = staticmethod(lambda dout, y, x: (dout * _np().cos(x),))


@register
class Cos(Op):
    name = symbol = "cos"
    arity = 1
    domain = "cos is defined for finite x"
    forward = staticmethod(math.cos)
    rule = "minus the sine", ("-sin(x)",)

    @staticmethod
    def backward(dout, y, x):
        return (-dout * math.sin(x),)

    numpy = "cos"
    mpmath = "cos"
    array_backward = staticmethod(lambda dout, y, x: (-dout * _np().sin(x),))


@register
class Tan(Op):
    name = symbol = "tan"
    arity = 1
    domain = "tan is defined for finite x"
    forward = staticmethod(math.tan)
    rule = "one plus the tangent squared", ("1 + y**2",)

    @staticmethod
    def backward(dout, y, x):
        return (dout * (1.0 + y * y),)

    numpy = "tan"
    mpmath = "tan"


@register
class Tanh(Op):
    name = symbol = "tanh"
    arity = 1
    forward = staticmethod(math.tanh)
    expansion = "1 - 2/(exp(2*x) + 1)"
    rule = "one minus tanh squared", ("1 - y**2",)

    @staticmethod
    def backward(dout, y, x):
        return (dout * (1.0 - y * y),)

    numpy = "tanh"
    mpmath = "tanh"


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
    mpmath = "sigmoid"
    rule = "the book's four steps of 1/(1 + exp(-x)) collapse into y(1 - y)", ("y*(1 - y)",)

    @staticmethod
    def backward(dout, y, x):
        return (dout * y * (1.0 - y),)

    @staticmethod
    def array_forward(x):
        np = _np()
        z = np.exp(-np.abs(x))  # the same two branches as _sigmoid, element by element
        return np.where(x >= 0.0, 1.0 / (1.0 + z), z / (1.0 + z))


@register
class Relu(Op):
    name = symbol = "relu"
    arity = 1
    rule = "a mask: the gradient passes only where the input is positive", ("step(x)",)

    @staticmethod
    def forward(x):
        return x if x > 0.0 else 0.0

    @staticmethod
    def backward(dout, y, x):
        return (dout if x > 0.0 else 0.0,)  # the book's mask: x <= 0 passes nothing

    array_forward = staticmethod(lambda x: _np().maximum(x, 0.0))
    array_backward = staticmethod(lambda dout, y, x: (_np().where(x > 0.0, dout, 0.0),))


@register
class Abs(Op):
    name = symbol = "abs"
    arity = 1
    forward = staticmethod(math.fabs)
    rule = "the sign of the input", ("sign(x)",)

    @staticmethod
    def backward(dout, y, x):
        return (dout if x > 0.0 else -dout if x < 0.0 else 0.0,)

    numpy = "abs"
    mpmath = "fabs"
    array_backward = staticmethod(  # where x is 0 nothing passes, even an infinite dout
        lambda dout, y, x: (_np().where(x > 0.0, dout, _np().where(x < 0.0, -dout, 0.0)),))


@register
class Step(Op):
    """1 where the input is positive, else 0: relu's derivative, the book's mask as a function."""

    name = symbol = "step"
    arity = 1
    rule = "a step is flat: its slope is 0 (at 0 too, taken as a mask)", ("0",)
    forward = staticmethod(lambda x: 1.0 if x > 0.0 else 0.0)
    backward = staticmethod(lambda dout, y, x: (0.0,))  # a mask: nothing passes, even inf
    array_forward = staticmethod(lambda x: _np().where(x > 0.0, 1.0, 0.0))
    array_backward = staticmethod(lambda dout, y, x: (_np().zeros(_np().shape(x)),))


@register
class Sign(Op):
    """-1, 0 or 1: abs's derivative (0 at 0, where abs has its kink)."""

    name = symbol = "sign"
    arity = 1
    rule = "a sign is flat: its slope is 0 (at 0 too, taken as a mask)", ("0",)
    forward = staticmethod(lambda x: 1.0 if x > 0.0 else -1.0 if x < 0.0 else 0.0)
    backward = staticmethod(lambda dout, y, x: (0.0,))
    numpy = "sign"
    array_backward = staticmethod(lambda dout, y, x: (_np().zeros(_np().shape(x)),))


# More functions (issue 17): base-10 and base-2 logs, atan and atan2, the hyperbolic
# sine and cosine, hypot, and the element-wise max and min of two inputs.

_LN10, _LN2 = math.log(10.0), math.log(2.0)


@register
class Log10(Op):
    name = symbol = "log10"
    arity = 1
    domain = "log10 is defined for x > 0"
    forward = staticmethod(math.log10)
    rule = "one over the input times log(10)", ("1/(x*log(10))",)
    mpmath = "log10"

    @staticmethod
    def backward(dout, y, x):
        return (dout / (x * _LN10),)

    numpy = "log10"


@register
class Log2(Op):
    name = symbol = "log2"
    arity = 1
    domain = "log2 is defined for x > 0"
    forward = staticmethod(math.log2)
    rule = "one over the input times log(2)", ("1/(x*log(2))",)
    expansion = "log(x)/log(2)"  # mpmath has no log2; --exact computes it from this

    @staticmethod
    def backward(dout, y, x):
        return (dout / (x * _LN2),)

    numpy = "log2"


@register
class Atan(Op):
    name = symbol = "atan"
    arity = 1
    forward = staticmethod(math.atan)
    rule = "one over one plus the input squared", ("1/(1 + x**2)",)
    mpmath = "atan"

    @staticmethod
    def backward(dout, y, x):
        return (dout / (1.0 + x * x),)

    numpy = "arctan"


@register
class Atan2(Op):
    """atan2(y, x): the angle of the point (x, y), in (-pi, pi], as Python's and NumPy's."""

    name = symbol = "atan2"
    arity = 2
    domain = "atan2(y, x) is defined everywhere, its derivative except at y = x = 0"
    # + 0.0 makes a y of -0.0 the 0 it equals: atan2(-0.0, -1) is -pi, outside (-pi, pi]
    forward = staticmethod(lambda a, b: math.atan2(a + 0.0, b))
    array_forward = staticmethod(lambda a, b: _np().arctan2(a + 0.0, b))
    rule = "x and minus y over the squared distance from 0, for y and for x", (
        "b/(a**2 + b**2)", "-a/(a**2 + b**2)")
    mpmath = "atan2"

    @staticmethod
    def backward(dout, y, a, b):
        r2 = a * a + b * b
        if not _NORMAL <= r2 < math.inf:  # the squares left the doubles: over r = hypot twice
            r = math.hypot(a, b)
            return dout * (b / r) / r, -dout * (a / r) / r
        return dout * b / r2, -dout * a / r2

    @staticmethod
    def array_backward(dout, y, a, b):
        np = _np()
        r2, r = a * a + b * b, np.hypot(a, b)
        outside = ~((r2 >= _NORMAL) & (r2 < np.inf))
        return (np.where(outside, dout * (b / r) / r, dout * b / r2),
                np.where(outside, -dout * (a / r) / r, -dout * a / r2))


#: the smallest normal double: a sum of squares below it has lost digits (1e-200**2 is 0)
_NORMAL = 2.2250738585072014e-308


@register
class Sinh(Op):
    name = symbol = "sinh"
    arity = 1
    domain = "sinh is defined for finite x"
    forward = staticmethod(math.sinh)
    rule = "the hyperbolic cosine", ("cosh(x)",)
    mpmath = "sinh"

    @staticmethod
    def backward(dout, y, x):
        return (dout * math.cosh(x),)

    numpy = "sinh"
    array_backward = staticmethod(lambda dout, y, x: (dout * _np().cosh(x),))


@register
class Cosh(Op):
    name = symbol = "cosh"
    arity = 1
    domain = "cosh is defined for finite x"
    forward = staticmethod(math.cosh)
    rule = "the hyperbolic sine", ("sinh(x)",)
    mpmath = "cosh"

    @staticmethod
    def backward(dout, y, x):
        return (dout * math.sinh(x),)

    numpy = "cosh"
    array_backward = staticmethod(lambda dout, y, x: (dout * _np().sinh(x),))


@register
class Hypot(Op):
    """sqrt(a**2 + b**2) without the overflow of the squares."""

    name = symbol = "hypot"
    arity = 2
    domain = "hypot(x, y) is defined everywhere, its derivative except at x = y = 0"
    forward = staticmethod(math.hypot)
    rule = "each input over the hypotenuse", ("a/y", "b/y")
    mpmath = "hypot"

    @staticmethod
    def backward(dout, y, a, b):
        return dout * a / y, dout * b / y

    numpy = "hypot"


FUNCTIONS["pow"] = Pow  # pow(a, b) is a**b: the same node, printed as a**b


@register
class Maximum(Op):
    """max(a, b): the larger of two inputs, element by element (max(X) reduces, below).

    Where a = b the function has a kink; each input gets half the upstream gradient there,
    as PyTorch's maximum and JAX's lax.max do: the gradients still add up to the upstream
    one, and max(x, x) has the derivative 1 of x.
    """

    name, symbol, arity = "maximum", "max", 2
    rule = ("the gradient goes to the larger input, half to each where they are equal",
            ("(1 + sign(a - b))/2", "(1 - sign(a - b))/2"))
    forward = staticmethod(max)

    @staticmethod
    def backward(dout, y, a, b):  # a mask, as relu's: the smaller input gets nothing, even inf
        return (dout, 0.0) if a > b else (0.0, dout) if a < b else (0.5 * dout, 0.5 * dout)

    numpy = "maximum"

    @staticmethod
    def array_backward(dout, y, a, b):
        np = _np()
        return (np.where(a > b, dout, np.where(a < b, 0.0, 0.5 * dout)),
                np.where(a < b, dout, np.where(a > b, 0.0, 0.5 * dout)))


@register
class Minimum(Op):
    """min(a, b): the smaller of two inputs, element by element; half to each at a tie."""

    name, symbol, arity = "minimum", "min", 2
    rule = ("the gradient goes to the smaller input, half to each where they are equal",
            ("(1 - sign(a - b))/2", "(1 + sign(a - b))/2"))
    forward = staticmethod(min)

    @staticmethod
    def backward(dout, y, a, b):
        return (dout, 0.0) if a < b else (0.0, dout) if a > b else (0.5 * dout, 0.5 * dout)

    numpy = "minimum"

    @staticmethod
    def array_backward(dout, y, a, b):
        np = _np()
        return (np.where(a < b, dout, np.where(a > b, 0.0, 0.5 * dout)),
                np.where(a > b, dout, np.where(a < b, 0.0, 0.5 * dout)))


# Arrays: reductions, shapes and the book's layers. Their rules take NumPy arrays (or
# floats, as arrays with no axis) and never run in the scalar engine; integer arguments
# such as an axis are constants of the program, so their gradient is None.


def _np():
    """NumPy, imported at the first array so that scalar programs never load it."""
    import numpy

    return numpy


@cache
def kernels(op: type[Op]) -> tuple[Callable, Callable]:
    """The forward and backward an operation uses on arrays (and on NumPy scalars)."""
    forward = op.array_forward or (getattr(_np(), op.numpy) if op.numpy else op.forward)
    return forward, op.array_backward or op.backward


class ShapeError(ValueError):
    """Array inputs an operation cannot take; the array engine adds the names and the place."""


def _shape(x) -> str:
    return str(tuple(_np().shape(x)))


def _axis(value: float, x) -> int:
    """An axis argument as an index of x's axes (negative counts from the end)."""
    ndim = _np().ndim(x)
    if value != int(value) or not -ndim <= value < ndim:
        raise ShapeError(f"axis {value:g} is not an axis of shape {_shape(x)}")
    return int(value) % ndim


def _spread(dout, x, axis):
    """The upstream gradient of a reduction, spread back over the axes it removed."""
    np = _np()
    if axis is not None:
        dout = np.expand_dims(dout, _axis(axis, x))
    return np.broadcast_to(dout, np.shape(x))


def _per_input(dx, axis) -> tuple:
    """One gradient per input: the axis, when given, is an integer and has none."""
    return (dx,) if axis is None else (dx, None)


def _last_axis(x, what: str) -> None:
    if _np().ndim(x) == 0:
        raise ShapeError(f"{what} works along the last axis of an array, not on a scalar")


def _targets(x, t):
    """The one-hot targets T for scores or probabilities x, from one-hot t or class indices t."""
    np = _np()
    _last_axis(x, "the loss")
    if np.shape(t) == np.shape(x):
        return np.asarray(t, dtype=float), True
    if np.shape(t) != np.shape(x)[:-1]:
        raise ShapeError(
            f"t of shape {_shape(t)} fits neither as one-hot targets (shape {_shape(x)}) nor as "
            f"class indices (shape {tuple(np.shape(x)[:-1])}) for scores of shape {_shape(x)}")
    classes = np.shape(x)[-1]
    if not np.all((t == np.round(t)) & (t >= 0) & (t < classes)):
        raise ShapeError(f"class indices in t must be integers from 0 to {classes - 1}")
    return np.asarray(np.arange(classes) == np.expand_dims(t, -1), dtype=float), False


def _batch(x) -> int:
    """How many rows a loss averages over: all but the last axis (1 for a vector)."""
    return _np().size(x) // _np().shape(x)[-1]


def _softmax(x):
    _last_axis(x, "softmax")
    np = _np()
    e = np.exp(x - np.max(x, axis=-1, keepdims=True))  # the largest is exp(0): no overflow
    return e / np.sum(e, axis=-1, keepdims=True)


def _log_softmax(x):
    """x - log(sum(exp(x))) with the largest score shifted to 0, whose exp(0) = 1 is added
    by log1p: a confident row (scores 0 and -40) keeps its tiny loss e**-40 instead of
    rounding log(1 + e**-40) to 0."""
    _last_axis(x, "log_softmax")
    np = _np()
    top = np.expand_dims(np.argmax(x, axis=-1), -1)
    shifted = x - np.take_along_axis(x, top, axis=-1)
    others = np.exp(shifted)
    np.put_along_axis(others, top, 0.0, axis=-1)
    return shifted - np.log1p(np.sum(others, axis=-1, keepdims=True))


@register
class MatMul(Op):
    """Matrix product of vectors and matrices, as NumPy's ``@`` (the book's ``np.dot``)."""

    name, symbol, arity = "matmul", "@", 2
    rule = "a matrix product: each input gets the upstream gradient times the other, transposed", ("dY·{b}ᵀ", "{a}ᵀ·dY")
    array_only = True

    @staticmethod
    def forward(a, b):
        np = _np()
        if np.ndim(a) not in (1, 2) or np.ndim(b) not in (1, 2):
            raise ShapeError(f"@ multiplies vectors and matrices, not shapes {_shape(a)} and "
                             f"{_shape(b)}; multiply by a number with *")
        if np.shape(a)[-1] != np.shape(b)[0]:
            raise ShapeError(f"shapes {_shape(a)} and {_shape(b)} do not fit: the last axis of "
                             f"the left ({np.shape(a)[-1]}) must equal the first of the right "
                             f"({np.shape(b)[0]})")
        return a @ b

    @staticmethod
    def backward(dout, y, a, b):
        np = _np()
        a2, b2 = np.reshape(a, (-1, np.shape(a)[-1])), np.reshape(b, (np.shape(b)[0], -1))
        d2 = np.reshape(dout, (a2.shape[0], b2.shape[1]))  # vectors as one-row/column matrices
        return np.reshape(d2 @ b2.T, np.shape(a)), np.reshape(a2.T @ d2, np.shape(b))


@register
class Transpose(Op):
    name = symbol = "transpose"
    arity = 1
    rule = "the upstream gradient, transposed back", ("dYᵀ",)
    array_only = True
    forward = staticmethod(lambda x: _np().transpose(x))
    backward = staticmethod(lambda dout, y, x: (_np().transpose(dout),))


class _Reduction(Op):
    """sum, mean, max, min: over every element, or along one axis given as a constant."""

    arity = (1, 2)
    array_only = True
    params = "axis"
    reduce: ClassVar[str]  #: the NumPy function

    @classmethod
    def forward(cls, x, axis=None):
        return getattr(_np(), cls.reduce)(x, axis=None if axis is None else _axis(axis, x))


@register
class Sum(_Reduction):
    name = symbol = reduce = "sum"
    rule = "every element gets the upstream gradient of its sum", ("1",)

    @staticmethod
    def backward(dout, y, x, axis=None):
        return _per_input(_spread(dout, x, axis), axis)


@register
class Mean(_Reduction):
    name = symbol = reduce = "mean"
    rule = "every element gets the upstream gradient over the count", ("1/n",)

    @staticmethod
    def backward(dout, y, x, axis=None):
        np = _np()
        return _per_input(_spread(dout, x, axis) * (np.size(y) / np.size(x)), axis)


class Max(_Reduction):
    """The largest element; its gradient goes to the first arg-max alone."""

    name = symbol = reduce = "max"
    rule = "the gradient goes to the arg-max alone", ("1 at the arg-max, else 0",)
    arg: ClassVar[str] = "argmax"  #: the NumPy function that finds the element

    @classmethod
    def backward(cls, dout, y, x, axis=None):
        np = _np()
        dx = np.zeros(np.shape(x))
        if axis is None:
            dx.flat[getattr(np, cls.arg)(x)] = dout
        else:
            k = _axis(axis, x)
            where = np.expand_dims(getattr(np, cls.arg)(x, axis=k), k)
            np.put_along_axis(dx, where, np.expand_dims(dout, k), axis=k)
        return _per_input(dx, axis)


class Min(Max):
    """The smallest element; its gradient goes to the first arg-min alone."""

    name = symbol = reduce = "min"
    rule = "the gradient goes to the arg-min alone", ("1 at the arg-min, else 0",)
    arg = "argmin"


#: Names that mean a reduction with one argument or an axis (max(X), max(X, axis=0)) and
#: an element-wise operation of two arguments (max(a, b), in FUNCTIONS).
REDUCTIONS: dict[str, type[Op]] = {"max": Max, "min": Min}


@register
class Reshape(Op):
    """``reshape(x, 2, 3)``; one size may be -1, as in NumPy."""

    name = symbol = "reshape"
    arity = (2, None)
    rule = "the upstream gradient, reshaped back", ("1", "none: a shape")
    array_only = True
    params = "shape"

    @staticmethod
    def forward(x, *shape):
        np = _np()
        if any(n != int(n) for n in shape):
            raise ShapeError(f"the shape {shape} must be whole numbers")
        shape = tuple(int(n) for n in shape)
        try:
            return np.reshape(x, shape)
        except ValueError:
            raise ShapeError(f"shape {_shape(x)} ({np.size(x)} elements) cannot be reshaped "
                             f"to {shape}") from None

    @staticmethod
    def backward(dout, y, x, *shape):
        return (_np().reshape(dout, _np().shape(x)),) + (None,) * len(shape)


@register
class Softmax(Op):
    """exp(x) / sum(exp(x)) along the last axis."""

    name = symbol = "softmax"
    arity = 1
    rule = "the softmax Jacobian: y times (dY minus the sum of dY·y)", ("diag({y}) - {y}·{y}ᵀ",)
    array_only = True
    forward = staticmethod(_softmax)

    @staticmethod
    def backward(dout, y, x):
        return (y * (dout - _np().sum(dout * y, axis=-1, keepdims=True)),)


@register
class LogSoftmax(Op):
    name = symbol = "log_softmax"
    arity = 1
    rule = "dY minus softmax times the sum of dY", ("1 - softmax({x})",)
    array_only = True
    forward = staticmethod(_log_softmax)

    @staticmethod
    def backward(dout, y, x):
        np = _np()
        return (dout - np.exp(y) * np.sum(dout, axis=-1, keepdims=True),)


@register
class CrossEntropy(Op):
    """-sum(t * log(y)) / batch for probabilities y; t is one-hot or holds class indices.

    0·log 0 is 0: a probability of 0 where t is 0 adds nothing, and the derivative by t
    there, where t·log y is finite only at t = 0, is taken as 0 (as PyTorch's xlogy).
    Logs are taken only where they are used, so nothing non-finite is ever computed.
    """

    name = symbol = "cross_entropy"
    arity = 2
    rule = "minus t over y, averaged over the batch", ("-{b}/({a}·N)", "-log({a})/N")
    array_only = True
    domain = ("the probability y must be > 0 wherever t is not 0; softmax_cross_entropy(x, t) "
              "takes the scores x and stays finite")

    @staticmethod
    def forward(y, t):
        np = _np()
        targets, _ = _targets(y, t)
        used = targets != 0.0
        return -np.sum(targets * np.log(np.where(used, y, 1.0))) / _batch(y)

    @staticmethod
    def backward(dout, loss, y, t):
        np = _np()
        targets, one_hot = _targets(y, t)
        scale = -dout / _batch(y)
        used = targets != 0.0
        dy = np.where(used, scale * targets / np.where(used, y, 1.0), 0.0)
        if not one_hot:
            return dy, None  # class indices have no gradient
        positive = y > 0.0
        return dy, np.where(positive, scale * np.log(np.where(positive, y, 1.0)), 0.0)


@register
class Affine(Op):
    """The book's Affine layer X·W + b as one node: b is added to every row of the batch."""

    name = symbol = "affine"
    arity = 3
    rule = "the book's Affine layer", ("dY·Wᵀ", "Xᵀ·dY", "Σ dY over the batch")
    array_only = True

    @staticmethod
    def forward(x, w, b):
        np = _np()
        if np.ndim(x) not in (1, 2) or np.ndim(w) != 2:
            raise ShapeError(f"affine takes a vector or a batch x and a matrix W, not shapes "
                             f"{_shape(x)} and {_shape(w)}")
        if np.shape(x)[-1] != np.shape(w)[0]:
            raise ShapeError(f"x of shape {_shape(x)} and W of shape {_shape(w)} do not fit: the "
                             f"last axis of x ({np.shape(x)[-1]}) must equal the first of W "
                             f"({np.shape(w)[0]})")
        if np.shape(b) != np.shape(w)[1:]:
            raise ShapeError(f"b of shape {_shape(b)} does not fit W of shape {_shape(w)}: b "
                             f"must have shape {np.shape(w)[1:]}")
        return x @ w + b

    @staticmethod
    def backward(dout, y, x, w, b):
        np = _np()
        x2, d2 = np.reshape(x, (-1, w.shape[0])), np.reshape(dout, (-1, w.shape[1]))
        # the book's rules: dX = dY·Wᵀ, dW = Xᵀ·dY, db = dY summed over the batch
        return np.reshape(d2 @ w.T, np.shape(x)), x2.T @ d2, np.sum(d2, axis=0)


@register
class SoftmaxCrossEntropy(Op):
    """The book's Softmax-with-Loss layer: cross_entropy(softmax(x), t) as one node."""

    name = symbol = "softmax_cross_entropy"
    arity = 2
    rule = "the book's Softmax-with-Loss: (Y - T) / batch size", ("(softmax({a}) - {b})/N", "none: the labels")
    array_only = True

    @staticmethod
    def forward(x, t):
        np = _np()
        targets, _ = _targets(x, t)
        # stable: no log of a softmax, and a class whose log-probability overflows to -inf
        # counts only if its target is not 0
        picked = np.where(targets != 0.0, targets * _log_softmax(x), 0.0)
        return -np.sum(picked) / _batch(x)

    @staticmethod
    def backward(dout, loss, x, t):
        np = _np()
        targets, one_hot = _targets(x, t)
        scale = dout / _batch(x)
        dt = -scale * _log_softmax(x) if one_hot else None  # class indices have no gradient
        # the book's (Y - T) / batch_size, for targets that sum to 1; Y·sum(T) - T for any
        return scale * (_softmax(x) * np.sum(targets, axis=-1, keepdims=True) - targets), dt


#: Names that mean a number unless the program binds or assigns them.
CONSTANTS: dict[str, float] = {"pi": math.pi, "e": math.e}
