"""Text to graph: Lark's LALR parser calls :class:`Builder` at every reduction.

No parse tree is built and nothing recurses, so 100,000 nested parentheses parse
like any other input. ``grammars/cgcalc.lark`` is the one definition of the language;
the :class:`GrammarLexer` handed to Lark is compiled from that grammar's own terminals.
"""

from __future__ import annotations

import difflib
import math
import re
import threading
from functools import cache
from pathlib import Path

from lark import Lark, Token
from lark.exceptions import UnexpectedInput
from lark.lexer import Lexer

from .errors import ParseError, UnknownNameError
from .graph import Program
from .ops import FUNCTIONS, OPERATORS, Neg

_HERE = Path(__file__).resolve().parent


def grammar_path() -> Path:
    """The grammar inside an installed package, else the one in the source tree."""
    for path in (_HERE / "grammars" / "cgcalc.lark", _HERE.parent / "grammars" / "cgcalc.lark"):
        if path.is_file():
            return path
    raise FileNotFoundError("cgcalc.lark is missing from the installation")


class GrammarLexer(Lexer):
    """One compiled regex built from the grammar's terminals, longest literal first.

    It also lets newlines inside parentheses pass as white space, as Python does, so
    a long expression may span lines without ending its statement.
    """

    def __init__(self, conf) -> None:
        terminals = sorted(
            conf.terminals,
            key=lambda t: (-t.priority, -t.pattern.max_width, -len(t.pattern.value), t.name),
        )
        self._finditer = re.compile(
            "|".join(f"(?P<{t.name}>{t.pattern.to_regexp()})" for t in terminals)
        ).finditer
        self._ignore = frozenset(conf.ignore)
        literal = {t.pattern.value: t.name for t in terminals if t.pattern.type == "str"}
        self._open, self._close = literal["("], literal[")"]

    def lex(self, text: str):
        ignore, opening, closing = self._ignore, self._open, self._close
        depth = pos = 0
        for match in self._finditer(text):
            if match.start() != pos:
                break
            kind = match.lastgroup
            pos = match.end()
            if kind in ignore:
                continue
            value = match.group()
            if kind == opening:
                depth += 1
            elif kind == closing:
                depth -= 1
            elif depth > 0 and kind == "_SEP" and value != ";":
                continue
            yield Token(kind, value, match.start())
        if pos != len(text):
            raise ParseError(f"unexpected character {text[pos]!r}", text, pos)


class Builder:
    """Lark's callbacks: each reduction adds a node to the program being built."""

    def begin(self, text: str) -> None:
        self.program = Program(text)
        self.scope: dict[str, int] = {}  # assigned names -> their newest node

    def start(self, statements: list[int]) -> Program:
        self.program.output = statements[-1]
        return self.program

    def assign(self, children: list) -> int:
        name, node = children
        self.scope[name] = node
        self.program.names.setdefault(node, str(name))
        return node

    def binary(self, children: list) -> int:
        left, op, right = children
        return self.program.add(OPERATORS[op], (left, right), op.start_pos)

    def unary(self, children: list) -> int:
        sign, operand = children
        if sign == "+":
            return operand
        return self.program.add(Neg, (operand,), sign.start_pos)

    def number(self, children: list) -> int:
        (token,) = children
        value = float(token)
        if not math.isfinite(value):
            raise ParseError(f"number {token} is too large", self.program.source, token.start_pos)
        return self.program.constant(value, token.start_pos)

    def name(self, children: list) -> int:
        (token,) = children
        node = self.scope.get(token)
        return node if node is not None else self.program.variable(str(token), token.start_pos)

    def call(self, children: list) -> int:
        name, *args = children
        op = FUNCTIONS.get(name)
        source = self.program.source
        if op is None:
            close = difflib.get_close_matches(name, FUNCTIONS, n=1)
            hint = f"; did you mean {close[0]}?" if close else f"; known: {', '.join(sorted(FUNCTIONS))}"
            raise UnknownNameError(f"unknown function '{name}'{hint}", source, name.start_pos)
        if len(args) != op.arity:  # an int, or a range (fewest, most or None)
            fewest, most = op.arity if isinstance(op.arity, tuple) else (op.arity, op.arity)
            if not fewest <= len(args) <= (len(args) if most is None else most):
                raise UnknownNameError(
                    f"{name} takes {_count(fewest, most, 'argument')}, got {len(args)}",
                    source,
                    name.start_pos,
                )
        if op.params:
            self._constant_params(op, name, args[1:])
        return self.program.add(op, tuple(args), name.start_pos)

    def _constant_params(self, op, name, params: list[int]) -> None:
        """An axis or a shape must not depend on a variable: it would have no gradient."""
        needs = self.program.needs_grad
        for node in params:
            if needs[node]:
                raise UnknownNameError(
                    f"the {op.params} of {name} must be a constant integer, not depend on a "
                    "variable", self.program.source, self.program.pos[node])


def _count(fewest: int, most: int | None, noun: str) -> str:
    """'1 argument', '1 or 2 arguments', 'at least 2 arguments'."""
    if most is None:
        return f"at least {fewest} {noun}s"
    if most != fewest:
        return f"{fewest} {'or' if most == fewest + 1 else 'to'} {most} {noun}s"
    return f"{fewest} {noun}{'' if fewest == 1 else 's'}"


_lock = threading.Lock()


@cache
def _parser() -> tuple[Lark, Builder]:
    """Lark compiled once per process; the grammar analysis is cached on disk."""
    builder = Builder()
    lark = Lark(
        grammar_path().read_text(encoding="utf-8"),
        parser="lalr",
        lexer=GrammarLexer,
        transformer=builder,
        maybe_placeholders=False,
        cache=True,
    )
    return lark, builder


def terminal_regex(name: str) -> str:
    """The regular expression of one of the grammar's terminals (literals come back as is)."""
    pattern = _parser()[0].get_terminal(name).pattern
    return pattern.value if pattern.type == "str" else pattern.to_regexp()


def parse(text: str) -> Program:
    """Parse a program into its graph (raises :class:`ParseError` or :class:`UnknownNameError`)."""
    lark, builder = _parser()
    with _lock:
        builder.begin(text)
        try:
            return lark.parse(text)
        except UnexpectedInput as error:
            raise _syntax_error(error, text) from None
        finally:
            builder.program = None  # type: ignore[assignment]


# Words for the grammar's terminals in "expected ..." messages.
_WORDS = {
    "NUMBER": ("a number",),
    "NAME": ("a name",),
    "ADDOP": ("'+'", "'-'"),
    "MULOP": ("'*'", "'/'", "'@'"),
    "POWOP": ("'**'",),
    "_SEP": ("';'", "a new line"),
    "$END": ("the end of the input",),
}
_OPERAND = {"NUMBER", "NAME", "LPAR"}
_OPERATOR = {"ADDOP", "MULOP", "POWOP"}
_ORDER = ["NUMBER", "NAME", "LPAR", "ADDOP", "MULOP", "POWOP", "RPAR", "COMMA", "EQUAL", "_SEP", "$END"]


def _syntax_error(error: UnexpectedInput, text: str) -> ParseError:
    token = getattr(error, "token", None)
    expected = set(getattr(error, "expected", ()))
    at_end = token is None or token.type == "$END"
    pos = len(text.rstrip()) if at_end else token.start_pos
    if at_end and "_SEP" in expected and "NUMBER" in expected:
        return ParseError("empty program; write an expression such as x*y", text, 0)
    if at_end:
        found = "end of input"
    elif token.type == "_SEP" and token != ";":
        found = "new line"
    else:
        found = f"'{token}'"
    words: list[str] = []
    for terminal in sorted(expected, key=lambda t: _ORDER.index(t) if t in _ORDER else len(_ORDER)):
        if terminal == "ADDOP" and _OPERAND <= expected:
            continue  # a sign starts an operand too: say it once, as the operand
        if terminal in _OPERATOR and _OPERATOR <= expected:
            if terminal == "ADDOP":
                words.append("an operator")
            continue
        words.extend(_WORDS.get(terminal) or (f"'{terminal_regex(terminal)}'",))
    wanted = ", ".join(words[:-1]) + " or " + words[-1] if len(words) > 1 else "".join(words)
    return ParseError(f"unexpected {found}; expected {wanted}", text, pos)
