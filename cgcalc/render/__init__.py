"""Ways to show a result: tables for people, JSON for programs, pictures of the graph.

``number`` is the one rounding rule every renderer uses, here so that importing it
loads nothing heavy (Rich is loaded by ``tables`` alone).
"""


def number(value: float, precision: int) -> str:
    """``value`` rounded to ``precision`` significant digits, for reading (JSON keeps all)."""
    text = f"{value:.{precision}g}"
    return "0" if text == "-0" else text
