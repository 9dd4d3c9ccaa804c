"""Ways to show a result: tables for people, JSON for programs, pictures of the graph.

``number`` is the one rounding rule every renderer uses, here so that importing it
loads nothing heavy (Rich is loaded by ``tables`` alone, NumPy by arrays alone).
"""

LEADING = 3  #: elements of an array shown in one-line texts; the norm stands for the rest
ARRAY_DIGITS = 4  #: significant digits of those elements, so that a picture stays narrow
_EXACT_MODULES = ("fractions", "mpmath.ctx_mp_python")  #: where --exact's numbers come from


def number(value: float, precision: int) -> str:
    """``value`` rounded to ``precision`` significant digits, for reading (JSON keeps all).
    An exact number (``--exact``: a Fraction, or an mpmath number when approximate) is
    written as :func:`cgcalc.render.exact_numbers.text` says: ``2.2``, ``1/3``, ``≈ 2.718``."""
    if type(value).__module__ in _EXACT_MODULES:
        from .exact_numbers import text as exact_text

        return exact_text(value, precision)
    text = f"{value:.{precision}g}"
    return "0" if text == "-0" else text


def value_text(value, precision: int, shape: bool = True) -> str:
    """A value on one line: a number rounded; an array as its shape (unless ``shape`` is
    False: a gradient has its value's), its first elements and, when some are left out, its
    norm: ``3×4 array: 0.6, 0.9, -0.4, …; norm 2.04``."""
    if not getattr(value, "ndim", 0):
        return number(value, precision)
    import numpy as np

    digits = min(precision, ARRAY_DIGITS)
    flat = value.ravel()
    text = ", ".join(number(v, digits) for v in flat[:LEADING])
    if flat.size > LEADING:
        text += f", …; norm {number(np.linalg.norm(flat), digits)}"
    return f"{'×'.join(map(str, value.shape))} array: {text}" if shape else text
