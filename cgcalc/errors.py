"""Errors a user can act on: each knows its exit code and, when it has one, its place in the source.

The CLI prints ``str(error)``: one line of message, then (when the error has a place)
the source line and a caret under the offending column.
"""

from __future__ import annotations

from collections.abc import Iterable
import re

#: Exit codes, documented in the README and in ``cgcalc --help``.
EXIT_OK = 0
EXIT_EVALUATION = 1
EXIT_USAGE = 2
EXIT_INTERNAL = 3
EXIT_OUTPUT = 74  # sysexits' EX_IOERR: standard output or -o FILE cannot be written
EXIT_MEMORY = 75  # sysexits' EX_TEMPFAIL: out of memory; more memory or less input may do
EXIT_SIGNAL = 128  # plus the signal's number, as shells say: 130 for SIGINT, 143 for SIGTERM
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE, what a shell reports for a killed writer

_WINDOW = 72  # characters of a long source line shown around the caret


class CgcalcError(Exception):
    """Base of every error cgcalc reports; never a traceback for these."""

    exit_code = EXIT_USAGE
    kind = "error"

    def __init__(self, message: str, source: str | None = None, pos: int | None = None):
        super().__init__(message)
        self.message = message
        self.source = source
        self.pos = pos

    @property
    def line_col(self) -> tuple[int, int] | None:
        """1-based (line, column) of ``pos`` in ``source``."""
        if self.source is None or self.pos is None:
            return None
        return line_col(self.source, self.pos)

    def __str__(self) -> str:
        where = self.line_col
        if where is None:
            return f"{self.kind}: {printable(self.message)}"
        line, col = where
        return (f"{self.kind} at {line}:{col}: {printable(self.message)}\n"
                f"{caret_excerpt(self.source, self.pos)}")


class ParseError(CgcalcError):
    """The text is not a program of the language (exit 2)."""

    kind = "syntax error"


class UnknownNameError(CgcalcError):
    """Unknown function, wrong number of arguments, or unbound variables (exit 2)."""

    kind = "name error"

    def __init__(self, message: str, source: str | None = None, pos: int | None = None,
                 names: Iterable[str] = ()) -> None:
        super().__init__(message, source, pos)
        self.names: tuple[str, ...] = tuple(names)  #: the unknown or unbound names, every one


class UnboundVariableError(UnknownNameError):
    """Variables of the program that the evaluation got no binding for (``names``); the
    message names them, and the command line adds how to bind them there (exit 2)."""


class BindingError(CgcalcError):
    """A malformed ``-v``/``--vars`` binding or an unreadable file (exit 2)."""

    kind = "binding error"


class RenderError(CgcalcError):
    """A picture that cannot be made here, e.g. Graphviz's ``dot`` is not installed (exit 2)."""

    kind = "render error"


class OutputError(CgcalcError):
    """Standard output or an output file cannot be written: a full disk, a closed
    descriptor (exit 74). The message says it all: ``cannot write to ...``."""

    exit_code = EXIT_OUTPUT

    def __str__(self) -> str:
        return printable(self.message)


class EvaluationError(CgcalcError):
    """A value or gradient that is not a finite real number, or shapes that do not fit (exit 1)."""

    exit_code = EXIT_EVALUATION
    kind = "evaluation error"


class GradientCheckError(EvaluationError):
    """``cgcalc check``: backpropagation and central differences disagree (exit 1)."""

    kind = "gradient check failed"


#: C0, DEL and C1 (ESC, BEL, CR, CSI...), and the bytes that were not UTF-8, which reading
#: with ``surrogateescape`` turned into lone surrogates
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\udc80-\udcff]")


def decoded(data: bytes) -> str:
    """A program's bytes as text: UTF-8, without a byte-order mark (Notepad, Excel), each
    byte that is not UTF-8 kept as a lone surrogate, for the lexer to point at and
    :func:`printable` to write as that byte."""
    return data.decode("utf-8-sig", "surrogateescape")


def printable(text: str) -> str:
    """``text`` with its control characters written as Python writes them (``\\x1b``,
    ``\\n``), so that text from the user cannot move or retitle the terminal, and each byte
    that was not UTF-8 as that byte (``\\xff``)."""
    return _CONTROL.sub(lambda match: _escaped(match[0]), text)


def _escaped(char: str) -> str:
    code = ord(char)
    return f"\\x{code - 0xDC00:02x}" if code >= 0xDC80 else repr(char)[1:-1]


def line_col(source: str, pos: int) -> tuple[int, int]:
    """1-based line and column of character offset ``pos``."""
    line_start = source.rfind("\n", 0, pos) + 1
    return source.count("\n", 0, pos) + 1, pos - line_start + 1


def caret_excerpt(source: str, pos: int) -> str:
    """The source line holding ``pos`` (windowed when long) with a caret under ``pos``."""
    start = source.rfind("\n", 0, pos) + 1
    end = source.find("\n", pos)
    if end < 0:
        end = len(source)
    text = source[start:end].rstrip("\r")
    col = pos - start
    prefix = suffix = ""
    if len(text) > _WINDOW:
        lo = max(0, min(col - _WINDOW // 2, len(text) - _WINDOW))
        hi = lo + _WINDOW
        prefix = "…" if lo > 0 else ""
        suffix = "…" if hi < len(text) else ""
        text = text[lo:hi]
        col -= lo
    text = text.replace("\t", " ")
    return f"  {prefix}{printable(text)}{suffix}\n  {' ' * len(prefix + printable(text[:col]))}^"
