"""Bindings from the command line: ``NAME=VALUE`` words and JSON objects.

A value is a number, a constant expression of the language itself (``pi/4``,
``2**-3``), which is parsed and evaluated, never ``eval``-ed, or a JSON array of
numbers (``[[1, 2], [3, 4]]``), which the array engine checks and converts.
"""

from __future__ import annotations

import re
from functools import cache

from .errors import BindingError, CgcalcError


@cache
def _name_pattern() -> re.Pattern[str]:
    """The grammar's own NAME terminal, so a binding's name follows the language."""
    from .parser import terminal_regex

    return re.compile(terminal_regex("NAME"))


def parse_binding(text: str) -> tuple[str, float | list]:
    """``"x=3"`` -> ``("x", 3.0)``; raises :class:`BindingError` for anything else."""
    name, sep, value = text.partition("=")
    name = name.strip()
    if not sep or not name:
        raise BindingError(f"{text!r} is not a binding; write NAME=VALUE, e.g. x=3")
    if not _name_pattern().fullmatch(name):
        raise BindingError(f"{text!r}: {name!r} is not a variable name")
    return name, parse_value(name, value)


def parse_value(name: str, text: str) -> float | list:
    """A number, a constant expression such as ``pi/4``, or a JSON array."""
    try:
        return float(text)
    except ValueError:
        pass
    if text.lstrip().startswith("["):
        import json

        try:
            return json.loads(text)
        except json.JSONDecodeError as error:
            raise BindingError(f"{name}={text}: not a JSON array of numbers: {error.msg}",
                               text, error.pos) from None
    from .engine import evaluate
    from .parser import parse

    try:
        program = parse(text)
        if program.free_variables():
            raise CgcalcError("not constant")
        return evaluate(program).value
    except CgcalcError:
        raise BindingError(
            f"{name}={text}: {text.strip()!r} is not a number (a constant expression such as "
            "pi/4 is fine too)") from None


def load_json_bindings(text: str, origin: str) -> dict[str, float | list]:
    """A JSON object of name -> number or array; errors point into the JSON text."""
    import json

    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise BindingError(f"{origin}: invalid JSON: {error.msg}", text, error.pos) from None
    if not isinstance(data, dict):
        raise BindingError(f"{origin}: expected a JSON object of name: number or array, "
                           f"got {type(data).__name__}")
    bindings = {}
    for name, value in data.items():
        if not _name_pattern().fullmatch(name):
            raise BindingError(f"{origin}: {name!r} is not a variable name")
        if isinstance(value, list):  # checked and converted by the array engine
            bindings[name] = value
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise BindingError(f"{origin}: {name} is {json.dumps(value)}, not a number or array")
        bindings[name] = value  # the engine makes it a float, and says if it is not finite
    return bindings


def exact_binding(text: str, digits: int = 30) -> tuple[str, object]:
    """``--exact``: ``"x=1/3"`` -> ``("x", Fraction(1, 3))``, checked as :func:`parse_binding`."""
    name, _ = parse_binding(text)
    return name, exact_value(name, text.partition("=")[2], digits)


def exact_value(name: str, text: str, digits: int = 30):
    """``--exact``: a binding's text as an exact number, read by cgcalc's own parser
    (``1.1`` is 11/10, ``1/3`` one third); ``pi/4`` is an mpmath number to ``digits``."""
    from .exact import evaluate
    from .parser import parse

    if text.lstrip().startswith("["):
        raise CgcalcError(f"{name}: --exact works on numbers; arrays compute with floats "
                          "(drop --exact)")
    try:
        program = parse(text)
        if program.free_variables():
            raise CgcalcError("not constant")
        return evaluate(program, digits=digits).value
    except CgcalcError:
        raise BindingError(
            f"{name}={text}: {text.strip()!r} is not a number (a constant expression such as "
            "1/3 is fine too)") from None


def exact_json_bindings(text: str, origin: str) -> dict:
    """``--exact``: a JSON object of bindings with its numbers as the fractions their text
    says (``1.1`` is 11/10); checked as :func:`load_json_bindings` checks it."""
    import json
    from fractions import Fraction

    checked = load_json_bindings(text, origin)
    exact = json.loads(text, parse_float=Fraction, parse_int=Fraction)
    return {name: exact[name] if not isinstance(value, list) else value
            for name, value in checked.items()}
