"""Bindings from the command line: ``NAME=VALUE`` words and JSON objects.

A value is a number, a constant expression of the language itself (``pi/4``,
``2**-3``), which is parsed and evaluated, never ``eval``-ed, or a JSON array of
numbers (``[[1, 2], [3, 4]]``), which the array engine checks and converts.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from functools import cache, partial

from .errors import BindingError, CgcalcError, EvaluationError

MAX_DIMENSIONS = 64  #: NumPy's limit on an array's dimensions

_JSON_SYNTAX = re.compile(r'[\[\]{}"]')  # what nesting depth in JSON text depends on


@cache
def _name_pattern() -> re.Pattern[str]:
    """The grammar's own NAME terminal, so a binding's name follows the language."""
    from .parser import terminal_regex

    return re.compile(terminal_regex("NAME"))


@cache
def _number_pattern() -> re.Pattern[str]:
    """A signed NUMBER of the grammar (so ``1_000`` is no number, as in the language), or
    the infinity and NaN that Python writes, which the engine then reports as not finite."""
    from .parser import terminal_regex

    return re.compile(rf"\s*[+-]?(?:{terminal_regex('NUMBER')}|inf(?:inity)?|nan)\s*",
                      re.IGNORECASE)


def parse_binding(text: str) -> tuple[str, float | list]:
    """``"x=3"`` -> ``("x", 3.0)``; raises :class:`BindingError` for anything else."""
    name, value = _name_and_value(text)
    return name, parse_value(name, value)


def _name_and_value(text: str) -> tuple[str, str]:
    """``"x=pi/4"`` -> ``("x", "pi/4")``, the name checked, the value not yet read."""
    name, sep, value = text.partition("=")
    name = name.strip()
    if not sep or not name:
        raise BindingError(f"{text!r} is not a binding; write NAME=VALUE, e.g. x=3")
    if not _name_pattern().fullmatch(name):
        raise BindingError(f"{text!r}: {name!r} is not a variable name")
    return name, value


def _constant_value(name: str, text: str, evaluate: Callable, example: str):
    """The value of ``text``, one constant expression, by ``evaluate`` (float or exact).
    Text that is no such expression is a binding error; an expression whose value is
    undefined (``log(0)``, ``exp(1000)`` in floats) is the evaluation error it is, placed
    in ``text``."""
    from .parser import parse

    try:
        program = _constant_program(parse(text))
    except CgcalcError:
        raise BindingError(
            f"{name}={text}: {text.strip()!r} is not a number (a constant expression such as "
            f"{example} is fine too)") from None
    try:
        return evaluate(program).value
    except EvaluationError as error:
        raise EvaluationError(f"{name}={text.strip()}: {error.message}", error.source,
                              error.pos) from None


def _constant_program(program):
    """A binding's value is one expression of constants: ``1; 5`` or ``x = 1`` is not (its
    value would be the last statement's, silently another number than the first)."""
    if program.free_variables() or len(program.statements) != 1 or program.statements[0][0]:
        raise CgcalcError("not one constant expression")
    return program


def parse_value(name: str, text: str) -> float | list:
    """A number, a constant expression such as ``pi/4``, or a JSON array."""
    if _number_pattern().fullmatch(text):
        return float(text)
    if text.lstrip().startswith("["):
        return _json(text, f"{name}={text}: not a JSON array of numbers", name)
    from .engine import evaluate

    return _constant_value(name, text, evaluate, "pi/4")


def load_json_bindings(text: str, origin: str) -> dict[str, float | list]:
    """A JSON object of name -> number or array; errors point into the JSON text."""
    import json

    data = _json(text, f"{origin}: invalid JSON", origin, outer=1)
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
    """``--exact``: ``"x=1/3"`` -> ``("x", Fraction(1, 3))``, checked as :func:`parse_binding`
    (but never read as a float: ``x=10**400`` is a number here)."""
    name, value = _name_and_value(text)
    return name, exact_value(name, value, digits)


def exact_value(name: str, text: str, digits: int = 30):
    """``--exact``: a binding's text as an exact number, read by cgcalc's own parser
    (``1.1`` is 11/10, ``1/3`` one third); ``pi/4`` is an mpmath number to ``digits``.
    A number is the fraction its text says, of any size (``1e400``, as in ``--vars``)."""
    from .exact import evaluate
    from .exact_ops import decimal_number

    if text.lstrip().startswith("["):
        raise CgcalcError(f"{name}: --exact works on numbers; arrays compute with floats "
                          "(drop --exact)")
    if _number_pattern().fullmatch(text):
        try:
            return decimal_number(text)
        except ValueError:  # inf or nan: the engine says that it is not finite
            return float(text)
    return _constant_value(name, text, partial(evaluate, digits=digits), "1/3")


def exact_json_bindings(text: str, origin: str) -> dict:
    """``--exact``: a JSON object of bindings with its numbers as the fractions their text
    says (``1.1`` is 11/10); checked as :func:`load_json_bindings` checks it."""
    import json
    from fractions import Fraction

    from .exact_ops import decimal_number

    checked = load_json_bindings(text, origin)
    exact = json.loads(text, parse_float=decimal_number, parse_int=Fraction)
    return {name: exact[name] if not isinstance(value, list) else value
            for name, value in checked.items()}


def _json(text: str, invalid: str, what: str, outer: int = 0):
    """JSON text read, or a binding error pointing into it: invalid, arrays nested deeper
    than NumPy allows (``outer`` levels around them), or an integer too long for Python."""
    import json

    _check_depth(text, what, outer)
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise BindingError(f"{invalid}: {error.msg}", text, error.pos) from None
    except ValueError:  # an integer longer than Python reads: 4,300 digits unless changed
        digits = sys.get_int_max_str_digits()
        long = re.search(rf"\d{{{digits + 1},}}", text)
        raise BindingError(f"{what}: an integer of more than {digits:,} digits is too large",
                           text, long.start() if long else None) from None


def _check_depth(text: str, what: str, outer: int) -> None:
    """Arrays in JSON text (inside ``outer`` levels) nested no deeper than NumPy allows.
    Python's json reader recurses once per level, so depth is checked first, by a loop
    over the brackets and quotes alone."""
    depth, in_string = 0, False
    for match in _JSON_SYNTAX.finditer(text):
        char, at = match[0], match.start()
        if char == '"':
            if not (in_string and _escaped(text, at)):
                in_string = not in_string
        elif in_string:
            continue
        elif char in "[{":
            depth += 1
            if depth > MAX_DIMENSIONS + outer:
                raise BindingError(f"{what}: an array nested more than {MAX_DIMENSIONS} deep; "
                                   f"arrays have at most {MAX_DIMENSIONS} dimensions", text, at)
        else:
            depth -= 1


def _escaped(text: str, at: int) -> bool:
    """Whether the character at ``at`` follows an odd number of backslashes."""
    start = at
    while start and text[start - 1] == "\\":
        start -= 1
    return (at - start) % 2 == 1
