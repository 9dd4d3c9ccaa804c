"""``cgcalc diff`` and ``cgcalc hessian`` as text and JSON (plain text: no Rich, no NumPy)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from itertools import groupby
from typing import TYPE_CHECKING

from . import number

if TYPE_CHECKING:
    from ..differentiate import Hessian

_SUPERSCRIPTS = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")


def partial(top: str, wrt: Sequence[str]) -> str:
    """``∂value/∂x``, ``∂²value/∂x²``, ``∂³value/∂x²∂y``: by ``wrt`` in the order taken."""
    def power(n: int) -> str:
        return str(n).translate(_SUPERSCRIPTS) if n > 1 else ""

    below = "".join(f"∂{name}{power(len(list(run)))}" for name, run in groupby(wrt))
    return f"∂{power(len(wrt))}{top}/{below}"


def diff_text(source: str, top: str, wrt: Sequence[str], value: float | None,
              precision: int) -> str:
    """The derivative program, then its value as a comment, so the text stays a program."""
    if value is None:
        return source
    return f"{source}\n# {partial(top, wrt)} = {number(value, precision)}"


def diff_json(source: str, wrt: Sequence[str], value: float | None,
              digits: int | None = None) -> str:
    """``{"wrt", "derivative", "value"}``; with ``--exact`` (``digits``) and a value, also
    ``"exact"`` and, as eval's exact JSON, ``"exact_value"`` or ``"digits"``."""
    head = json.dumps({"wrt": list(wrt), "derivative": source}, ensure_ascii=False)
    if digits is None or value is None:
        return head[:-1] + f', "value": {json.dumps(value, allow_nan=False)}}}'
    from .exact_numbers import exact_fields

    return head[:-1] + ", " + exact_fields(value, digits) + "}"


def hessian_text(hessian: Hessian, top: str, precision: int) -> str:
    """The value, then the matrix with the variables along both sides, numbers right-aligned."""
    names = hessian.variables
    cells = [[number(v, precision) for v in row] for row in hessian.matrix]
    left = max(map(len, [*names, ""]))
    widths = [max(len(name), *(len(row[j]) for row in cells)) for j, name in enumerate(names)]
    lines = [f"value = {number(hessian.value, precision)}", "",
             f"{partial(top, ['row', 'column'])}:" if names else "no variables: no Hessian",
             " " * left + "".join(f"  {name:>{w}}" for name, w in zip(names, widths))]
    lines += [f"{name:<{left}}" + "".join(f"  {c:>{w}}" for c, w in zip(row, widths))
              for name, row in zip(names, cells)]
    return "\n".join(lines if names else lines[:3])


def hessian_json(hessian: Hessian, digits: int | None = None) -> str:
    """``{"value", "variables", "hessian"}``; with ``--exact`` (``digits``), as
    :func:`cgcalc.render.exact_numbers.hessian_json` writes it."""
    if digits is not None:
        from .exact_numbers import hessian_json as exact_json

        return exact_json(hessian, digits)
    return json.dumps({"value": hessian.value, "variables": hessian.variables,
                       "hessian": hessian.matrix}, ensure_ascii=False, allow_nan=False)
