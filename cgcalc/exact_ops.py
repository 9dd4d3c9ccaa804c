"""Every scalar operation's rules on exact numbers, for ``--exact`` (:mod:`cgcalc.exact`).

A value is a :class:`~fractions.Fraction` while it is exact and an mpmath ``mpf`` once
something has left the rationals (``exp(1)``, ``sqrt(2)``): the type is the mark, so
whatever is computed from an approximate number is approximate too. Each rule takes
Fractions to a Fraction where the result is rational (``+ - * /``, integer powers,
``abs``, ``relu``, ``sqrt`` of a perfect square, ``exp(0)``...) and otherwise computes
with mpmath, imported at the first such operation, at the working precision
:data:`PRECISION` holds. Domain errors raise as the float rules do: ZeroDivisionError
for a division by zero, ValueError outside the domain.

One :class:`ExactRule` per operation in :data:`RULES`: its ``forward`` and, per input,
the gradient it sends back (``partials``, each ``(dout, y, *xs)``), so the reverse pass
computes only those an input needs: the exponent of ``x**2`` is never differentiated,
and no logarithm is taken.
"""

from __future__ import annotations

import operator
from fractions import Fraction
from typing import Callable, NamedTuple

from . import ops

ZERO, ONE, HALF = Fraction(0), Fraction(1), Fraction(1, 2)

#: A power whose exact value would need more bits than this is computed with mpmath.
MAX_POWER_BITS = 1 << 20


class _Precision:
    """The working precision (decimal digits) of mpmath while an exact evaluation runs."""

    dps = 40


PRECISION = _Precision()


def mp():
    """mpmath at the working precision, imported at the first number that is not rational."""
    import mpmath

    if mpmath.mp.dps != PRECISION.dps:
        mpmath.mp.dps = PRECISION.dps
    return mpmath


def is_exact(value) -> bool:
    """Is ``value`` an exact rational (not an mpmath approximation)?"""
    return type(value) is Fraction


def approximate(value):
    """``value`` as an mpmath number (a Fraction rounded to the working precision)."""
    if type(value) is Fraction:
        return mp().mpf(value.numerator) / value.denominator
    return value


def _exact_or_mp(exact: Callable, approx: Callable) -> Callable:
    """A rule that runs ``exact`` on Fractions and ``approx`` on mpmath numbers once any
    argument is one (Fractions and mpmath numbers do not mix by themselves). Arguments
    that are neither (the reverse pass's undefined gradient) are passed on as they are."""
    def rule(*xs):
        for x in xs:
            if type(x) is not Fraction and hasattr(x, "_mpf_"):
                break
        else:
            return exact(*xs)
        return approx(*[approximate(x) if type(x) is Fraction else x for x in xs])
    return rule


def _same(function: Callable) -> Callable:
    """A rule that is the same arithmetic on both kinds of number."""
    return _exact_or_mp(function, function)


def _zero_like(x):
    """0, exact when ``x`` is: a mask decided by ``x`` is as exact as ``x``."""
    return ZERO if type(x) is Fraction else mp().mpf(0)


# Powers and roots.


def _iroot(n: int, k: int) -> int | None:
    """The integer k-th root of ``n >= 0`` if it is one, else None (Newton's method)."""
    if n < 2:
        return n
    if k > n.bit_length():
        return None  # 2**k > n: no integer above 1 has n as its k-th power
    x = 1 << -(-n.bit_length() // k)  # at least the root
    while True:
        y = ((k - 1) * x + n // x ** (k - 1)) // k
        if y >= x:
            return x if x ** k == n else None
        x = y


def _root(a: Fraction, k: int) -> Fraction | None:
    """The exact k-th root of ``a >= 0``, or None when it is not rational."""
    top = _iroot(a.numerator, k)
    bottom = None if top is None else _iroot(a.denominator, k)
    return None if bottom is None else Fraction(top, bottom)


def _exact_power(a: Fraction, b: Fraction):
    if b.denominator != 1:
        if a < 0:
            raise ValueError("a negative base needs an integer exponent")
        root = _root(a, b.denominator)
        if root is None:
            return _approx_power(approximate(a), approximate(b))
        a, b = root, Fraction(b.numerator)
    n = b.numerator
    if a == 0 and n < 0:
        raise ZeroDivisionError("0 to a negative power")
    bits = abs(n) * (max(a.numerator.bit_length(), a.denominator.bit_length()) - 1)
    if bits > MAX_POWER_BITS:
        return _approx_power(approximate(a), approximate(b))
    return a ** n


def _approx_power(a, b):
    if a < 0 and b != int(b):
        raise ValueError("a negative base needs an integer exponent")
    if a == 0 and b < 0:
        raise ZeroDivisionError("0 to a negative power")
    return mp().power(a, b)


power = _exact_or_mp(_exact_power, _approx_power)


def _power_db(dout, y, a, b):
    """d(a**b)/db = a**b · log(a); 0 where a = 0 < b, undefined for a < 0 (as the float rule)."""
    if a > 0:
        return dout * y * log(a)
    if a == 0 and b > 0:
        return _zero_like(a)
    raise ValueError("a**b is undefined for nearby non-integer b")


# Functions: exact at the one rational point where the value is rational, else mpmath.


def _function(name: str, at: Fraction, value: Fraction, domain: Callable | None = None):
    """mpmath's ``name``, exact at ``at`` (exp(0) = 1); ``domain(x)`` False raises ValueError."""
    def approx(x):
        if domain is not None and not domain(x):
            raise ValueError(f"{name} is undefined here")
        return getattr(mp(), name)(x)

    def exact(x):
        if domain is not None and not domain(x):
            raise ValueError(f"{name} is undefined here")
        if x == at:
            return value
        return approx(approximate(x))
    return _exact_or_mp(exact, approx)


exp = _function("exp", ZERO, ONE)
log = _function("log", ONE, ZERO, lambda x: x > 0)
sin = _function("sin", ZERO, ZERO)
cos = _function("cos", ZERO, ONE)
tan = _function("tan", ZERO, ZERO)
tanh = _function("tanh", ZERO, ZERO)


def _exact_sqrt(x: Fraction):
    if x < 0:
        raise ValueError("sqrt is undefined for x < 0")
    root = _root(x, 2)
    return root if root is not None else _approx_sqrt(approximate(x))


def _approx_sqrt(x):
    if x < 0:
        raise ValueError("sqrt is undefined for x < 0")
    return mp().sqrt(x)


sqrt = _exact_or_mp(_exact_sqrt, _approx_sqrt)


def _sigmoid(x):
    if x == 0:
        return HALF if type(x) is Fraction else mp().mpf(HALF.numerator) / 2
    return 1 / (1 + exp(-x))


sigmoid = _same(_sigmoid)


def _relu(x):
    return x if x > 0 else _zero_like(x)


def _mask(dout, x):
    """The gradient of relu (and abs) at ``x``: passed where x > 0, nothing where x <= 0,
    even when it is undefined (the book's mask stops it)."""
    return dout if x > 0 else _zero_like(x)


def _nothing(dout, x):
    """The derivative of step and sign: 0 everywhere it exists, a mask like relu's."""
    return _zero_like(x)


def _abs_partial(dout, x):
    if x < 0:
        return -dout
    return _mask(dout, x)


_POSITION = {"d": 0, "y": 1, "a": 2, "x": 2, "b": 3}  #: in (dout, y, *xs)


def _of(names: str, function: Callable, mixed: bool = True) -> Callable:
    """A gradient rule ``(dout, y, *xs)`` that is ``function`` of the arguments ``names``
    (``"d b"``: dout and the second input) alone, so that an approximate argument it does
    not use (the node's own value) leaves the result exact. ``mixed``: Fractions and
    mpmath numbers may meet in ``function``'s arithmetic (see :func:`_exact_or_mp`)."""
    picks = [_POSITION[name] for name in names.split()]
    function = _same(function) if mixed else function
    return lambda *args: function(*[args[k] for k in picks])


class ExactRule(NamedTuple):
    forward: Callable  #: the value from the inputs' values
    partials: tuple[Callable, ...]  #: per input: (dout, y, *xs) -> the gradient sent to it


def _pass(d):
    return d


RULES: dict[type[ops.Op], ExactRule] = {
    ops.Add: ExactRule(_same(operator.add), (_of("d", _pass, False),) * 2),
    ops.Sub: ExactRule(_same(operator.sub), (_of("d", _pass, False),
                                             _of("d", operator.neg, False))),
    ops.Mul: ExactRule(_same(operator.mul), (_of("d b", operator.mul), _of("d a", operator.mul))),
    ops.Div: ExactRule(_same(operator.truediv), (_of("d b", operator.truediv),
                                                 _of("d y b", lambda d, y, b: -d * y / b))),
    ops.Pow: ExactRule(power, (
        _of("d a b", lambda d, a, b: d * b * power(a, b - 1) if b != 0 else _zero_like(b)),
        _of("d y a b", _power_db))),
    ops.Neg: ExactRule(_same(operator.neg), (_of("d", operator.neg, False),)),
    ops.Exp: ExactRule(exp, (_of("d y", operator.mul),)),
    ops.Log: ExactRule(log, (_of("d x", operator.truediv),)),
    ops.Sqrt: ExactRule(sqrt, (_of("d y", lambda d, y: d / (2 * y)),)),
    ops.Sin: ExactRule(sin, (_of("d x", lambda d, x: d * cos(x)),)),
    ops.Cos: ExactRule(cos, (_of("d x", lambda d, x: -d * sin(x)),)),
    ops.Tan: ExactRule(tan, (_of("d y", lambda d, y: d * (1 + y * y)),)),
    ops.Tanh: ExactRule(tanh, (_of("d y", lambda d, y: d * (1 - y * y)),)),
    ops.Sigmoid: ExactRule(sigmoid, (_of("d y", lambda d, y: d * y * (1 - y)),)),
    ops.Relu: ExactRule(_same(_relu), (_of("d x", _mask, False),)),
    ops.Abs: ExactRule(_same(abs), (_of("d x", _abs_partial, False),)),
    ops.Step: ExactRule(_same(lambda x: _zero_like(x) + (1 if x > 0 else 0)),
                        (_of("d x", _nothing, False),)),
    ops.Sign: ExactRule(_same(lambda x: _zero_like(x) + (1 if x > 0 else -1 if x < 0 else 0)),
                        (_of("d x", _nothing, False),)),
}

# Issue 17's functions, compact (the exact engine is moving to Op.mpmath and the rules).
_log2 = _same(lambda x: _zero_like(x) if x == 1 else log(x) / log(Fraction(2)))
_atan2 = _exact_or_mp(lambda a, b: ZERO if a == 0 and b > 0 else mp().atan2(approximate(a),
                                                                             approximate(b)),
                      lambda a, b: mp().atan2(a, b))
RULES.update({
    ops.Log10: ExactRule(_function("log10", ONE, ZERO, lambda x: x > 0),
                         (_of("d x", lambda d, x: approximate(d / x) / log(Fraction(10))),)),
    ops.Log2: ExactRule(_log2, (_of("d x", lambda d, x: approximate(d / x) / log(Fraction(2))),)),
    ops.Atan: ExactRule(_function("atan", ZERO, ZERO), (_of("d x", lambda d, x: d / (1 + x * x)),)),
    ops.Atan2: ExactRule(_atan2, (_of("d a b", lambda d, a, b: d * b / (a * a + b * b)),
                                  _of("d a b", lambda d, a, b: -d * a / (a * a + b * b)))),
    ops.Sinh: ExactRule(_function("sinh", ZERO, ZERO), (_of("d x", lambda d, x: d * cosh(x)),)),
    ops.Cosh: ExactRule(_function("cosh", ZERO, ONE), (_of("d x", lambda d, x: d * sinh(x)),)),
    ops.Hypot: ExactRule(_same(lambda a, b: sqrt(a * a + b * b)),
                         (_of("d y a", lambda d, y, a: d * a / y),
                          _of("d y b", lambda d, y, b: d * b / y))),
})
sinh, cosh = RULES[ops.Sinh].forward, RULES[ops.Cosh].forward


def _larger(d, a, b):
    """max's gradient to a: all of it where a > b, half at a tie, nothing (a mask) below."""
    return d if a > b else _zero_like(a) if a < b else d / 2


RULES[ops.Maximum] = ExactRule(_same(max), (_of("d a b", _larger, False),
                                            _of("d b a", _larger, False)))
RULES[ops.Minimum] = ExactRule(_same(min), (_of("d b a", _larger, False),
                                            _of("d a b", _larger, False)))
