"""Ways to show a result: tables for people, JSON for programs, pictures of the graph.

``number`` is the one rounding rule every renderer uses, here so that importing it
loads nothing heavy (Rich is loaded by ``tables`` alone, NumPy by arrays alone).
"""

_EXACT_MODULES = ("fractions", "mpmath.ctx_mp_python")  #: where --exact's numbers come from
SMALL = 6  #: arrays with more elements are shown by their shape in one-line texts


def number(value: float, precision: int) -> str:
    """``value`` rounded to ``precision`` significant digits, for reading (JSON keeps all).
    An exact number (``--exact``: a Fraction, or an mpmath number when approximate) is
    written as :func:`cgcalc.render.exact_numbers.text` says: ``2.2``, ``1/3``, ``≈ 2.718``."""
    if type(value).__module__ in _EXACT_MODULES:
        from .exact_numbers import text as exact_text

        return exact_text(value, precision)
    text = f"{value:.{precision}g}"
    return "0" if text == "-0" else text


def value_text(value, precision: int) -> str:
    """A value on one line: a number rounded, a small array in full, a larger one by shape."""
    if not getattr(value, "ndim", 0):
        return number(value, precision)
    if value.size > SMALL:
        return f"{'×'.join(map(str, value.shape))} array"
    import numpy as np

    return np.array2string(value, separator=", ", max_line_width=10**6,
                           formatter={"float_kind": lambda v: number(v, precision)}).replace("\n", "")
