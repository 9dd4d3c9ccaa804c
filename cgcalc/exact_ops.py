"""Every scalar operation's value on exact numbers, for ``--exact`` (:mod:`cgcalc.exact`).

A value is a :class:`~fractions.Fraction` while it is exact and an mpmath ``mpf`` once
something has left the rationals (``exp(1)``, ``sqrt(2)``): the type is the mark, so
whatever is computed from an approximate number is approximate too.

:func:`forward` makes one rule per operation, with nothing written per operation but
the few exact values in :data:`FORWARDS`: on Fractions, the operation's own ``forward``
where that is rational arithmetic (``+ - * /``, ``relu``, ``step``...); otherwise the
mpmath function its ``mpmath`` attribute names (``mpmath = "exp"``), imported at the
first such value and run at the working precision :data:`PRECISION` holds; an operation
mpmath has no function for is computed from its ``expansion``. A domain
error raises as the float rules do: ZeroDivisionError for a division by zero,
ValueError outside the domain (where mpmath's answer is complex or infinite).

The derivatives are not here: the reverse pass evaluates each operation's ``Op.rule``
with these rules (:mod:`cgcalc.exact`).
"""

from __future__ import annotations

import math
from fractions import Fraction
from functools import cache
from typing import Callable

from . import ops

ZERO, ONE = Fraction(0), Fraction(1)

#: A power whose exact value would need more bits than this is computed with mpmath.
MAX_POWER_BITS = 1 << 20


def decimal_number(text: str) -> Fraction:
    """The number a decimal's text says (``1.1`` is 11/10): a Fraction, unless writing it
    exactly would take more than MAX_POWER_BITS (``1e-9999999``, whose digits alone took
    minutes to print): then an mpmath number at the working precision, as such a power is."""
    mantissa, _, exponent = text.strip().lower().partition("e")
    if (len(mantissa) + abs(int(exponent or 0))) * 3.33 > MAX_POWER_BITS:  # log2(10) bits a digit
        return mp().mpf(text.strip())
    return Fraction(text)


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


# Powers and roots: rational where they can be.


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


def _rational_power(a: Fraction, b: Fraction) -> Fraction | None:
    """a**b where it is rational and not too large to write; 0 to a negative power raises."""
    if b.denominator != 1:
        root = _root(a, b.denominator) if a >= 0 else None
        if root is None:
            return None  # mpmath: irrational, or complex for a < 0 (a domain error)
        a, b = root, Fraction(b.numerator)
    n = b.numerator
    if a == 0 and n < 0:
        raise ZeroDivisionError("0 to a negative power")
    bits = abs(n) * (max(a.numerator.bit_length(), a.denominator.bit_length()) - 1)
    return a ** n if bits <= MAX_POWER_BITS else None


def _rational_sqrt(x: Fraction) -> Fraction | None:
    return _root(x, 2) if x >= 0 else None


def _at(point: Fraction, value: Fraction) -> Callable:
    """A function that is rational at one rational point alone (exp(0) = 1)."""
    return lambda x: value if x == point else None


def _exact_log(base: int) -> Callable:
    """A logarithm that is rational where x is a whole power of ``base`` (log10(1000) = 3)."""
    def log(x: Fraction) -> Fraction | None:
        if x <= 0 or (x.numerator != 1 and x.denominator != 1):
            return None
        k = round((math.log(x.numerator) - math.log(x.denominator)) / math.log(base))
        return Fraction(k) if Fraction(base) ** k == x else None
    return log


#: Exact values on Fractions where the generic rule would round or go to mpmath: the
#: value when it is rational, else None (then mpmath, by the operation's ``mpmath`` name).
FORWARDS: dict[type[ops.Op], Callable[..., Fraction | None]] = {
    ops.Pow: _rational_power,
    ops.Sqrt: _rational_sqrt,
    ops.Abs: abs,  # its float forward, math.fabs, rounds
    ops.Exp: _at(ZERO, ONE),
    ops.Log: _at(ONE, ZERO),
    ops.Sin: _at(ZERO, ZERO),
    ops.Cos: _at(ZERO, ONE),
    ops.Tan: _at(ZERO, ZERO),
    ops.Tanh: _at(ZERO, ZERO),
    ops.Sigmoid: _at(ZERO, Fraction(1, 2)),
    ops.Log10: _exact_log(10),
    ops.Log2: _exact_log(2),
    ops.Atan: _at(ZERO, ZERO),
    ops.Atan2: lambda y, x: ZERO if y == 0 and x > 0 else None,
    ops.Sinh: _at(ZERO, ZERO),
    ops.Cosh: _at(ZERO, ONE),
    ops.Hypot: lambda a, b: _rational_sqrt(a * a + b * b),
}


def _real(value):
    """An mpmath result that must be a finite real number; ValueError if it is not (log(-1)
    is complex, log(0) infinite: the float rule's domain error)."""
    if not hasattr(value, "_mpf_") or not mp().isfinite(value):
        raise ValueError("outside the domain")
    return value


def _exact(value, op: type[ops.Op]):
    """What an operation's forward gave for Fractions, as an exact number: a Fraction (or
    an mpmath number, from an expansion that left the rationals) as it is, an int or a
    float that is a whole number (relu's 0.0, step's 1.0) as a Fraction; any other float
    was rounded, and the operation needs an ``mpmath`` name."""
    if type(value) is Fraction or hasattr(value, "_mpf_"):
        return value
    if isinstance(value, int) or isinstance(value, float) and value.is_integer():
        return Fraction(value)
    raise AssertionError(f"{op.name}'s forward rounds an exact number: give the class an "
                         f"mpmath name (mpmath = \"...\")")


@cache
def forward(op: type[ops.Op]) -> Callable:
    """``op``'s value on exact numbers: exact on Fractions where it is rational, an mpmath
    number otherwise (and for any argument that is one)."""
    rational = FORWARDS.get(op)
    name, plain = op.mpmath, op.forward
    if not name and op.expansion:
        from .exact import expanded_forward

        plain = expanded_forward(op)

    def rule(*xs):
        for x in xs:
            if type(x) is not Fraction:
                break
        else:
            if rational is not None:
                value = rational(*xs)
                if value is not None:
                    return value
            elif not name:
                return _exact(plain(*xs), op)
        xs = [approximate(x) for x in xs]
        if name:
            return _real(getattr(mp(), name)(*xs))
        value = plain(*xs)
        return value if hasattr(value, "_mpf_") else mp().mpf(value)
    return rule
