"""Ways to show a result: tables for people, JSON for programs, pictures of the graph.

``number`` is the one rounding rule every renderer uses, here so that importing it
loads nothing heavy (Rich is loaded by ``tables`` alone, NumPy by arrays alone).
"""

SMALL = 6  #: arrays with more elements are shown by their shape in one-line texts


def number(value: float, precision: int) -> str:
    """``value`` rounded to ``precision`` significant digits, for reading (JSON keeps all)."""
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
