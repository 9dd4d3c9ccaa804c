"""Text to graph: Lark's LALR parser calls :class:`Builder` at every reduction.

No parse tree is built and nothing recurses, so 100,000 nested parentheses parse
like any other input. ``grammars/cgcalc.lark`` is the one definition of the language;
``_lark_parser.py`` is the parser Lark itself generates from it (its standalone tool,
see ARCHITECTURE.md), so the tables ship inside the package: nothing is analysed at
start-up and nothing is loaded from a cache. The :class:`GrammarLexer` handed to that
parser is compiled from the grammar's own terminals.
"""

from __future__ import annotations

import gc
import math
import re
from _thread import allocate_lock
from contextlib import contextmanager
from functools import cache
from typing import NamedTuple

from . import _lark_parser as lark
from ._lark_parser import Lexer, UnexpectedInput
from .errors import ParseError, UnknownNameError, printable
from .functions import Function
from .graph import Call, Program
from .ops import FUNCTIONS, OPERATORS, REDUCTIONS, Neg


class _Token:
    """What Lark's LALR loop needs of a token (``type``), at a third of ``lark.Token``'s cost."""

    __slots__ = ("type", "value", "start_pos")
    line = column = end_line = end_column = end_pos = None  # read by Lark for its end token

    def __init__(self, type: str, value: str, start_pos: int) -> None:
        self.type = type
        self.value = value
        self.start_pos = start_pos


class _Keyword(NamedTuple):
    """An argument named by a keyword, ``axis=0``: the keyword's token and the value's node."""

    name: _Token
    node: int


class GrammarLexer(Lexer):
    """One compiled regex built from the grammar's terminals, longest literal first.

    The ignored terminals (white space, comments) are matched as a prefix of each
    token rather than as tokens of their own, so the loop below runs once per token.
    That prefix is an atomic group: a comment, once matched, is never given back to
    be read as tokens (``# error`` at the very end must not lex as ``r``).
    Newlines inside parentheses pass as white space, as in Python, so a long
    expression may span lines without ending its statement.
    """

    __future_interface__ = 2  # lex(lexer_state, parser_state): Lark's current interface

    def __init__(self, conf) -> None:
        by_name = {t.name: t for t in conf.terminals}
        ignored = "|".join(by_name[name].pattern.to_regexp() for name in conf.ignore)
        terminals = sorted(
            (t for t in conf.terminals if t.name not in conf.ignore),
            key=lambda t: (-t.priority, -t.pattern.max_width, -len(t.pattern.value), t.name),
        )
        tokens = "|".join(f"(?P<{t.name}>{t.pattern.to_regexp()})" for t in terminals)
        self._finditer = re.compile(f"(?>(?:{ignored})*)(?:{tokens})").finditer
        self._rest = re.compile(f"(?>(?:{ignored})*)").match
        literal = {t.pattern.value: t.name for t in terminals if t.pattern.type == "str"}
        self._open, self._close = literal["("], literal[")"]

    def lex(self, lexer_state, parser_state=None):
        return self.tokens(lexer_state.text.text)  # Lark hands over the whole text as a TextSlice

    def tokens(self, text: str, pos: int = 0):
        """The tokens of ``text`` from ``pos`` on."""
        opening, closing, token = self._open, self._close, _Token
        depth = 0
        for match in self._finditer(text, pos):
            if match.start() != pos:
                break
            kind = match.lastgroup
            start, pos = match.span(kind)
            if kind == opening:
                depth += 1
            elif kind == closing:
                depth -= 1
            elif depth > 0 and kind == "_SEP" and text[start] != ";":
                continue
            yield token(kind, text[start:pos], start)
        pos = self._rest(text, pos).end()
        if pos != len(text):
            char = text[pos]
            raise ParseError(f"unexpected character {char!r}" if not "\udc80" <= char <= "\udcff"
                             else f"the byte {printable(char)} is not UTF-8 (programs are read "
                             "as UTF-8)", text, pos)


class Builder:
    """Lark's callbacks: each reduction adds a node to the program being built."""

    def begin(self, text: str) -> None:
        self.program = Program(text)
        self.needs_value = True  # may the program be definitions alone? (see parse)
        self.scope: dict[str, int] = {}  # assigned names (in a body: parameters) -> their node
        self.first_node = 0  # the first node of the statement being parsed
        self.functions = self.program.functions  # defined so far
        self.outside: tuple | None = None  # while a body is parsed: the program, scope, signature

    def start(self, statements: list) -> Program:
        program = self.program
        if program.statements:
            program.output = program.statements[-1][1]
        elif self.needs_value:
            raise ParseError("the program defines functions but computes nothing; add an "
                             f"expression that calls one, such as {next(iter(self.functions))}(1)",
                             program.source, len(program.source.rstrip()))
        return program

    def signature(self, children: list) -> None:
        """``f(x, y)`` before ``=``: from here until :meth:`define`, nodes go to the body."""
        name, *params = children
        source = self.program.source
        if params[0] is None:  # f() = ...
            params = []
        if name.value in FUNCTIONS:
            raise UnknownNameError(f"{name.value} is a built-in function; give yours another name",
                                   source, name.start_pos)
        body = Program(source)
        scope: dict[str, int] = {}
        for param in params:
            if param.value in scope:
                raise UnknownNameError(f"{name.value} has two parameters named {param.value}",
                                       source, param.start_pos)
            scope[param.value] = body.parameter(param.value, param.start_pos)
        self.outside = (self.program, self.scope, name, scope)
        self.program, self.scope = body, scope

    def define(self, children: list) -> None:
        """The body is complete: keep the function; the program is as it was before."""
        body, output = self.program, children[1]
        body.output = output
        body.statements.append((None, output, 0))
        self.program, self.scope, name, params = self.outside
        self.outside = None
        self.functions[name.value] = Function(name.value, tuple(params), body,
                                              tuple(params.values()), self._body_text(name))

    def _body_text(self, name: _Token) -> str:
        """The body as written: the tokens after the definition's "=" up to its statement's end."""
        text = self.program.source
        tokens = self.lexer.tokens(text, name.start_pos)
        for token in tokens:
            if token.type == "EQUAL":
                break
        start = end = token.start_pos + 1
        for token in tokens:
            if token.type == "_SEP":
                break
            start, end = min(start, token.start_pos), token.start_pos + len(token.value)
        return " ".join(text[start:end].split())

    def assign(self, children: list) -> None:
        name, node = children
        self.scope[name.value] = node
        self.program.names.setdefault(node, name.value)
        self._statement(name.value, node)

    def expression(self, children: list) -> None:
        self._statement(None, children[0])

    def _statement(self, name: str | None, node: int) -> None:
        program = self.program
        program.statements.append((name, node, self.first_node))
        self.first_node = len(program)

    def binary(self, children: list) -> int:
        left, op, right = children
        return self.program.add(OPERATORS[op.value], (left, right), op.start_pos)

    def unary(self, children: list) -> int:
        sign, operand = children
        if sign.value == "+":
            return operand
        return self.program.add(Neg, (operand,), sign.start_pos)

    def number(self, children: list) -> int:
        (token,) = children
        value = float(token.value)
        if value == math.inf:
            raise ParseError(f"number {token.value} is too large", self.program.source,
                             token.start_pos)
        return self.program.constant(value, token.start_pos)

    def name(self, children: list) -> int:
        (token,) = children
        node = self.scope.get(token.value)
        return node if node is not None else self.program.variable(token.value, token.start_pos)

    def keyword(self, children: list) -> _Keyword:
        return _Keyword(*children)

    def call(self, children: list) -> int:
        name, *args = children
        if args[0] is None:  # f(): Lark's placeholder for the missing arguments
            args = []
        source = self.program.source
        name, pos = name.value, name.start_pos
        op = FUNCTIONS.get(name)
        function = None if op is not None else self.functions.get(name)
        if op is None and (function is None or self.outside is not None
                           and name == self.outside[2].value):
            raise UnknownNameError(self._unknown(name), source, pos, (name,))
        keywords = [arg for arg in args if type(arg) is _Keyword]
        if keywords:
            args = self._keywords(name, REDUCTIONS.get(name, op), args, keywords)
        if function is not None:
            return self._call(function, args, pos)
        if name in REDUCTIONS and (len(args) == 1 or keywords):
            op = REDUCTIONS[name]  # max(X), max(X, axis=0); max(a, b) is element-wise
        if len(args) != op.arity:  # an int, or a range (fewest, most or None)
            fewest, most = op.arity if isinstance(op.arity, tuple) else (op.arity, op.arity)
            if name in REDUCTIONS:
                fewest, most = 1, 2  # max(X) and max(a, b)
            if not fewest <= len(args) <= (len(args) if most is None else most):
                raise UnknownNameError(
                    f"{name} takes {_count(fewest, most, 'argument')}, got {len(args)}", source, pos)
        if op.params:
            self._constant_params(op, name, args[1:])
        return self.program.add(op, tuple(args), pos)

    def _keywords(self, name: str, op, args: list, keywords: list[_Keyword]) -> list[int]:
        """The arguments as nodes, once the keywords are checked: only an axis has one,
        ``sum(X, axis=0)``, and it comes last, after the array it reduces."""
        source, first = self.program.source, keywords[0]
        if op is None or op.params != "axis":  # op None: a function of the program's own
            raise UnknownNameError(f"{name} takes no keyword arguments", source,
                                   first.name.start_pos)
        for keyword in keywords:
            if keyword.name.value != "axis":
                raise UnknownNameError(
                    f"{name} has no argument named {keyword.name.value}; its keyword is axis, "
                    f"as in {name}(X, axis=0)", source, keyword.name.start_pos)
        if args[-1] is not first or len(keywords) > 1 or len(args) != 2:
            raise UnknownNameError(f"{name} takes an array and, after it, axis=: {name}(X, "
                                   "axis=0)", source, first.name.start_pos)
        return [args[0], first.node]

    def _unknown(self, name: str) -> str:
        """Why ``name(...)`` cannot be called, with the closest known name."""
        if self.outside is not None and name == self.outside[2].value:
            return (f"{name} calls itself; a function cannot be recursive (it is copied out at "
                    "each call, and the graph must end)")
        import difflib

        known = [*FUNCTIONS, *self.functions]
        close = difflib.get_close_matches(name, known, n=1)
        hint = f"; did you mean {close[0]}?" if close else f"; known: {', '.join(sorted(known))}"
        if self.outside is not None:
            hint += " (a function may call built-ins and functions defined before it)"
        return f"unknown function '{name}'{hint}"

    def _call(self, function: Function, args: list[int], pos: int) -> int:
        """Copy the body, its parameters bound to ``args`` and its other names looked up here."""
        program, body = self.program, function.body
        if len(args) != len(function.params):
            count = len(function.params)
            raise UnknownNameError(f"{function.signature()} takes {_count(count, count, 'argument')}"
                                   f", got {len(args)}", program.source, pos)
        leaves = dict(zip(function.param_nodes, args))
        outside = self.scope if self.outside is None else {}  # a body's parameters are its own
        for name, node in body.variables.items():
            found = outside.get(name)
            leaves[node] = found if found is not None else program.variable(name, pos)
        first = len(program)
        output = program.splice(body, leaves, pos)
        program.calls.append(Call(function, tuple(args), range(first, len(program))))
        return output

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


_lock = allocate_lock()  # threading's Lock, without importing threading (a scalar run never needs it)


@cache
def _parser() -> tuple[lark.Lark, Builder]:
    """Lark's generated parser, loaded once per process, with our lexer and builder."""
    builder = Builder()
    data = lark.DATA
    frontend = data["parser"]
    data = {**data, "parser": {**frontend, "lexer_conf": {**frontend["lexer_conf"],
                                                          "lexer_type": GrammarLexer}}}
    parser = lark.Lark._load_from_dict(data, lark.MEMO, transformer=builder)
    builder.lexer = parser.parser.lexer
    return parser, builder


def terminal_regex(name: str) -> str:
    """The regular expression of one of the grammar's terminals (literals come back as is)."""
    pattern = _parser()[0].get_terminal(name).pattern
    return pattern.value if pattern.type == "str" else pattern.to_regexp()


def parse(text: str, *, needs_value: bool = True) -> Program:
    """Parse a program into its graph (raises :class:`ParseError` or :class:`UnknownNameError`).

    A program of function definitions alone has no value: an error, unless ``needs_value``
    is false (an interactive session's first lines); its ``output`` is then -1.
    """
    if not isinstance(text, str):
        raise TypeError(f"parse takes a program's text, a str, not {type(text).__name__}")
    parser, builder = _parser()
    with _lock, _without_cyclic_gc():
        builder.begin(text)
        builder.needs_value = needs_value
        try:
            return parser.parse(text)
        except UnexpectedInput as error:
            raise _syntax_error(error, text) from None
        finally:
            builder.program = None  # type: ignore[assignment]


@contextmanager
def _without_cyclic_gc():
    """Building makes many objects and no cycles: Python's cyclic collector, which runs
    every few hundred allocations, only costs time here (about a tenth of a large parse)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


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
    if not at_end and token.type == "DEFNAME":
        return ParseError(f"a function is defined by a statement of its own, such as "
                          f"{token.value}(x) = x**2 + 1", text, pos)
    if at_end:
        found = "end of input"
    elif token.type == "_SEP" and token.value != ";":
        found = "new line"
    else:
        found = f"'{token.value}'"
    words: list[str] = []
    for terminal in sorted(expected, key=lambda t: _ORDER.index(t) if t in _ORDER else len(_ORDER)):
        if terminal == "DEFNAME":
            continue  # wherever a definition may start, a name may too
        if terminal == "ADDOP" and _OPERAND <= expected:
            continue  # a sign starts an operand too: say it once, as the operand
        if terminal in _OPERATOR and _OPERATOR <= expected:
            if terminal == "ADDOP":
                words.append("an operator")
            continue
        words.extend(_WORDS.get(terminal) or (f"'{terminal_regex(terminal)}'",))
    wanted = ", ".join(words[:-1]) + " or " + words[-1] if len(words) > 1 else "".join(words)
    return ParseError(f"unexpected {found}; expected {wanted}", text, pos)
