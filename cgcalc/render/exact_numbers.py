"""Exact numbers (``--exact``) as text: tables, JSON, messages.

A Fraction whose decimal terminates is written as that decimal (``2.2``, ``715``); one
that does not is, in tables, the fraction when it is short (``1/3``) or its first digits
followed by ``…``, and in JSON a number to 17 significant digits beside its exact form
as a string. An approximate number (an mpmath number: something left the rationals) is
marked ``≈`` in tables and written to its digits in JSON. No ``-0``: a Fraction has none.
"""

from __future__ import annotations

import math
import sys
from contextlib import contextmanager
from fractions import Fraction

from ..exact_ops import is_exact

JSON_DIGITS = 17  #: significant digits of a non-terminating exact number in JSON


@contextmanager
def unlimited_digits():
    """Python refuses to print integers of more than 4,300 digits unless told; an exact
    number may have more."""
    limit = sys.get_int_max_str_digits()
    sys.set_int_max_str_digits(0)
    try:
        yield
    finally:
        sys.set_int_max_str_digits(limit)


def _terminating_digits(x: Fraction) -> int | None:
    """How many significant digits the decimal of ``x`` has, or None if it does not end."""
    q = x.denominator
    twos = (q & -q).bit_length() - 1
    q >>= twos
    fives = _power_of_five(q)
    if fives is None:
        return None
    scaled = abs(x.numerator) * 10 ** max(twos, fives) // x.denominator
    with unlimited_digits():  # for a caller outside one too (diff's literals)
        return len(str(scaled).rstrip("0")) or 1


def _power_of_five(q: int) -> int | None:
    """k where q = 5**k, else None; from q's length, not by dividing by 5 k times (which
    took 8 s for the 10**-99999 of a literal 1e-99999)."""
    near = round((q.bit_length() - 1) / math.log2(5))  # 5**k has floor(k·log2 5) + 1 bits
    return next((k for k in (near - 1, near, near + 1) if k >= 0 and 5 ** k == q), None)


def terminates(x: Fraction) -> bool:
    """Does the decimal of ``x`` end (2.2), or not (1/3)?"""
    return _terminating_digits(x) is not None


def literal(x: Fraction) -> str:
    """``x``, whose decimal ends, as a number of the language with every digit: ``2.2``,
    ``1e+30``; for the literals of derivative programs made with ``--exact``."""
    count = _terminating_digits(x)
    if count is None:
        raise ValueError(f"{x} has no decimal that ends")
    with unlimited_digits():
        return significant(x, count)


def _exponent(x: Fraction) -> int:
    """e with 10**e <= |x| < 10**(e+1), for x != 0."""
    x = abs(x)
    e = math.floor((x.numerator.bit_length() - x.denominator.bit_length()) * math.log10(2))
    while x < Fraction(10) ** e:
        e -= 1
    while x >= Fraction(10) ** (e + 1):
        e += 1
    return e


def significant(x: Fraction, digits: int, fixed_below: int = 21) -> str:
    """``x`` rounded to ``digits`` significant digits (half to even), trailing zeros
    dropped; positional for exponents from -6 up to ``fixed_below``, else 1.5e+30."""
    if x == 0:
        return "0"
    e = _exponent(x)
    m = round(abs(x) / Fraction(10) ** (e - digits + 1))
    if m == 10 ** digits:
        m, e = m // 10, e + 1
    text = str(m).rstrip("0") or "0"
    sign = "-" if x < 0 else ""
    if not -6 <= e < fixed_below:
        return f"{sign}{text[0]}{'.' + text[1:] if text[1:] else ''}e{e:+03d}"
    if e < 0:
        return f"{sign}0.{'0' * (-e - 1)}{text}"
    whole, fraction = text[:e + 1].ljust(e + 1, "0"), text[e + 1:]
    return f"{sign}{whole}{'.' + fraction if fraction else ''}"


def as_fraction(value) -> Fraction:
    """An mpmath number exactly as the Fraction it is (mantissa · 2**exponent)."""
    if is_exact(value):
        return value
    man, exp = map(int, value.man_exp)  # the mantissa without its sign
    man = -man if value < 0 else man
    return Fraction(man << exp) if exp >= 0 else Fraction(man, 1 << -exp)


def _approximate_text(value, digits: int, fixed_below: int = 21) -> str:
    """An mpmath number to ``digits`` significant digits."""
    if abs(value.exp) > 1 << 20:  # beyond any decimal of a few thousand digits: mpmath's text
        import mpmath

        return mpmath.nstr(value, digits)
    return significant(as_fraction(value), digits, fixed_below)


def text(value, precision: int) -> str:
    """For tables: ``715``, ``2.2``, ``1/3``, ``0.1428571429…``, ``≈ 2.718281828``."""
    with unlimited_digits():
        if not is_exact(value):
            return "≈ " + _approximate_text(value, precision, precision)
        count = _terminating_digits(value)
        if count is not None and count <= precision:
            return significant(value, count, max(precision, count))
        fraction = f"{value.numerator}/{value.denominator}"
        if count is None and len(fraction) <= precision + 2:
            return fraction
        return significant(value, precision, precision) + "…"


def json_number(value, digits: int) -> tuple[str, str | None]:
    """A JSON number for ``value`` and, for an exact one that does not terminate, its exact
    form as a string (``"1/3"``); an approximate one is written to its ``digits``."""
    with unlimited_digits():
        if not is_exact(value):
            return _approximate_text(value, digits), None
        count = _terminating_digits(value)
        if count is not None:
            return significant(value, count), None
        return significant(value, JSON_DIGITS), f"{value.numerator}/{value.denominator}"


def exact_fields(value, digits: int) -> str:
    """``"value": 715, "exact": true`` and, for a value that does not terminate, its
    ``"exact_value"``; for an approximate one, the ``"digits"``: JSON object members."""
    import json

    number, exact_value = json_number(value, digits)
    parts = [f'"value": {number}', f'"exact": {"true" if is_exact(value) else "false"}']
    if exact_value:
        parts.append(f'"exact_value": {json.dumps(exact_value)}')
    if not is_exact(value):
        parts.append(f'"digits": {digits}')
    return ", ".join(parts)


def json_head(result) -> str:
    """``{"value", "exact", "exact_value"?, "gradients", "exact_gradients"?,
    "approximate_gradients"?, "digits"?}`` (the schema is in the README)."""
    import json

    value, exact_value = json_number(result.value, result.digits)
    parts = [f'"value": {value}', f'"exact": {"true" if is_exact(result.value) else "false"}']
    if exact_value:
        parts.append(f'"exact_value": {json.dumps(exact_value)}')
    numbers = {name: json_number(g, result.digits) for name, g in result.gradients.items()}
    parts.append('"gradients": {' + ", ".join(f"{json.dumps(name)}: {number}"
                                              for name, (number, _) in numbers.items()) + "}")
    exact = {name: form for name, (_, form) in numbers.items() if form}
    if exact:
        parts.append(f'"exact_gradients": {json.dumps(exact)}')
    approximate = [name for name, g in result.gradients.items() if not is_exact(g)]
    if approximate:
        parts.append(f'"approximate_gradients": {json.dumps(approximate)}')
    if approximate or not is_exact(result.value):
        parts.append(f'"digits": {result.digits}')
    return "{" + ", ".join(parts) + "}"


def hessian_json(hessian, digits: int) -> str:
    """``{"value", "exact", "exact_value"?, "variables", "hessian", "exact_hessian"?,
    "approximate_hessian"?, "digits"?}``: as eval's exact JSON, the matrix's entries as
    numbers, their exact forms where they do not terminate (``"exact_hessian"``: the
    fraction or null, entry by entry), and the entries that are approximate as
    ``[row, column]`` pairs of names."""
    import json

    names = hessian.variables
    value, exact_value = json_number(hessian.value, digits)
    parts = [f'"value": {value}', f'"exact": {"true" if is_exact(hessian.value) else "false"}']
    if exact_value:
        parts.append(f'"exact_value": {json.dumps(exact_value)}')
    parts.append(f'"variables": {json.dumps(names, ensure_ascii=False)}')
    numbers = [[json_number(entry, digits) for entry in row] for row in hessian.matrix]
    parts.append('"hessian": [' + ", ".join("[" + ", ".join(text for text, _ in row) + "]"
                                            for row in numbers) + "]")
    if any(form for row in numbers for _, form in row):
        parts.append(f'"exact_hessian": {json.dumps([[form for _, form in row] for row in numbers])}')
    approximate = [[names[i], names[j]] for i, row in enumerate(hessian.matrix)
                   for j, entry in enumerate(row) if not is_exact(entry)]
    if approximate:
        parts.append(f'"approximate_hessian": {json.dumps(approximate, ensure_ascii=False)}')
    if approximate or not is_exact(hessian.value):
        parts.append(f'"digits": {digits}')
    return "{" + ", ".join(parts) + "}"
