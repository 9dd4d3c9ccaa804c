"""The ``cgcalc`` command: click wiring only; every stage lives in its own module.

``cgcalc EXPRESSION`` is short for ``cgcalc eval EXPRESSION``. An expression may
begin with a minus sign (``cgcalc "-x**2" -v x=3``): an argument starting with ``-``
that is not one of the command's options is read as the expression.
"""

from __future__ import annotations

import functools
import os
import sys
import traceback
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

import click

from . import __version__
from .errors import EXIT_INTERNAL, CgcalcError

if TYPE_CHECKING:
    from .engine import Result
    from .expand import Expansion

_MARK = "\0"  # prefixed to a dash-led expression to hide it from click; no argv holds NUL
_OPERATOR_CHARS = set("*/+^()[], ;")

EXIT_CODES = """\b
Exit codes:
  0  success
  1  evaluation error: a value or gradient that is not a finite number
  2  usage, syntax, name or binding error
  3  internal error (please report it; CGCALC_DEBUG=1 shows the traceback)"""


class _Reported(click.ClickException):
    """A cgcalc error on its way out: one message on stderr, its own exit code."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code

    def show(self, file=None) -> None:
        click.echo(f"cgcalc: {self.message}", err=True)


class CgcalcGroup(click.Group):
    """Runs ``eval`` when the first word is not a command, and reports every error alike."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h", "--version"):
            args.insert(0, "eval")
        return super().parse_args(ctx, args)

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except CgcalcError as error:
            raise _Reported(str(error), error.exit_code) from None
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except Exception as error:  # anything else is our bug: say so in one line
            if os.environ.get("CGCALC_DEBUG") == "1":
                raise
            where = traceback.extract_tb(error.__traceback__)[-1]
            raise _Reported(
                f"internal error: {type(error).__name__}: {error} (at {os.path.basename(where.filename)}"
                f":{where.lineno}); please report it, and run with CGCALC_DEBUG=1 for the traceback",
                EXIT_INTERNAL) from None


class ExpressionCommand(click.Command):
    """A command whose first argument is an expression that may start with ``-``."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        options = {name: param for param in self.get_params(ctx) if isinstance(param, click.Option)
                   for name in param.opts + param.secondary_opts}
        args = list(args)
        i = 0
        while i < len(args) and args[i] != "--":
            arg = args[i]
            if not arg.startswith("-") or arg == "-":
                break  # the first positional argument: the expression
            if arg in options:
                i += 1 if options[arg].is_flag or options[arg].count else 2
                continue
            if not self._is_option(arg, options):
                args[i] = _MARK + arg
                break
            i += 1
        return super().parse_args(ctx, args)

    @staticmethod
    def _is_option(arg: str, options: dict) -> bool:
        if arg.startswith("--"):
            return arg.partition("=")[0] in options
        takes_value = options.get(arg[:2])
        return bool(takes_value and not takes_value.is_flag
                    and not _OPERATOR_CHARS.intersection(arg[2:]))


@click.group(cls=CgcalcGroup, context_settings={"help_option_names": ["-h", "--help"]},
             epilog=f"""\b
Examples:
  cgcalc "(apple*apple_num + orange*orange_num)*tax" \\
      -v apple=100 -v apple_num=2 -v orange=150 -v orange_num=3 -v tax=1.1
  cgcalc "-x**2" x=3 --json
  cgcalc -f model.txt --vars point.json --nodes
  cgcalc graph "sigmoid(w*x + b)" w=2 x=0.5 b=-1 -o neuron.svg

{EXIT_CODES}""")
@click.version_option(__version__, "--version", prog_name="cgcalc")
def cli() -> None:
    """Computational-graph calculator: values and every partial derivative.

    cgcalc parses an expression into a graph, runs the forward pass and one
    reverse pass (backpropagation), and prints the value and the derivative of
    the value with respect to every variable. `cgcalc EXPRESSION` is short for
    `cgcalc eval EXPRESSION`; `cgcalc graph EXPRESSION` draws the graph.
    """


_BINDINGS = """\b
Bindings apply in this order, later ones winning: --vars files, then
NAME=VALUE words, then -v options. A VALUE is a number or a constant
expression such as pi/4."""


@dataclass(frozen=True)
class _Expression:
    """The program and its bindings as the command line gave them; shared by eval and graph."""

    words: tuple[str, ...]
    path: str | None
    var_words: tuple[str, ...]
    vars_paths: tuple[str, ...]
    expand: bool

    def evaluate(self, wrt: tuple[str, ...] = ()) -> tuple[Result, list[Expansion]]:
        """Read, parse (and expand), bind and evaluate; warnings go to stderr."""
        from . import evaluate, parse
        from .bindings import load_json_bindings, parse_binding

        words = tuple(w[len(_MARK):] if w.startswith(_MARK) else w for w in self.words)
        if self.path is None:
            if not words:
                raise click.UsageError("missing EXPRESSION (or -f PATH)")
            source, binding_words = words[0], words[1:]
        else:
            source, binding_words = _read(self.path), words
        bindings: dict[str, float] = {}
        for vars_path in self.vars_paths:
            bindings.update(load_json_bindings(_read(vars_path), vars_path))
        for word in binding_words + self.var_words:
            name, value = parse_binding(word)
            bindings[name] = value
        program, expansions = parse(source), []
        if self.expand:
            from .expand import expand

            program, expansions = expand(program)
        result = evaluate(program, bindings, wrt=wrt or None)
        for warning in result.warnings:
            click.echo(f"cgcalc: warning: {warning}", err=True)
        return result, expansions


def _expression_options(command: Callable) -> Callable:
    """The expression, its bindings, --expand and --precision, handed on as one _Expression."""

    @functools.wraps(command)
    def callback(words, path, var_words, vars_paths, expand, **options):
        return command(_Expression(words, path, var_words, vars_paths, expand), **options)

    for option in reversed((
        click.argument("words", nargs=-1, metavar="EXPRESSION [NAME=VALUE]..."),
        click.option("-f", "--file", "path", metavar="PATH",
                     help="Read the program from PATH ('-' for stdin) instead of EXPRESSION."),
        click.option("-v", "--var", "var_words", multiple=True, metavar="NAME=VALUE",
                     help="Bind a variable (repeatable)."),
        click.option("--vars", "vars_paths", multiple=True, metavar="PATH",
                     help="Bind variables from a JSON object in PATH ('-' for stdin)."),
        click.option("--expand", is_flag=True,
                     help="Replace fused operations by their primitive graphs, e.g. sigmoid(x) "
                          "by 1/(1 + exp(-x))."),
        click.option("--precision", type=click.IntRange(1, 17), default=10, show_default=True,
                     help="Significant digits shown (JSON keeps every digit)."),
    )):
        callback = option(callback)
    return callback


@cli.command("eval", cls=ExpressionCommand, epilog=f"""\b
Examples:
  cgcalc eval "apple*apple_num*tax" -v apple=100 -v apple_num=2 -v tax=1.1
  cgcalc "apple_price = apple*apple_num; price = apple_price*tax" \\
      apple=100 apple_num=2 tax=1.1 --nodes --explain
  cgcalc "sigmoid(w*x + b)" w=2 x=0.5 b=-1 --json --wrt w
  echo '{{"x": 3}}' | cgcalc "-x**2" --vars -

{_BINDINGS}

{EXIT_CODES}""")
@_expression_options
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of tables.")
@click.option("--nodes", is_flag=True, help="Also show every node of the graph.")
@click.option("--wrt", multiple=True, metavar="NAME",
              help="Only report the gradient with respect to NAME (repeatable).")
@click.option("--explain", is_flag=True,
              help="Also show the reverse pass step by step: each node's local derivative "
                   "rule, the upstream gradient and their product (the chain rule).")
def eval_command(expression: _Expression, precision: int, as_json: bool, nodes: bool,
                 wrt: tuple[str, ...], explain: bool) -> None:
    """Evaluate EXPRESSION and differentiate it with respect to every variable.

    EXPRESSION is a program: statements `name = expression` separated by `;` or
    new lines, `#` comments; its value is the last statement's. Operators
    `+ - * / **` (or `^`), functions exp log sqrt sin cos tan tanh sigmoid relu
    abs, constants pi and e.
    """
    if as_json and explain:
        raise click.UsageError("--explain prints text, not JSON; use one or the other")
    result, _ = expression.evaluate(wrt)
    if as_json:
        from .render.json_doc import dumps

        click.echo(dumps(result, nodes=nodes))
        return
    from .render.tables import render

    render(result, precision=precision, nodes=nodes)
    if explain:
        from .render.explain import explain as explanation

        click.echo("\n" + "\n".join(explanation(result, precision)))


#: --format choices, and the one a -o FILE's suffix picks when --format is not given
GRAPH_FORMATS = {".dot": "dot", ".gv": "dot", ".svg": "svg", ".png": "png", ".mmd": "mermaid",
                 ".txt": "tree"}


@cli.command("graph", cls=ExpressionCommand, epilog=f"""\b
Examples:
  cgcalc graph "(apple*apple_num + orange*orange_num)*tax" \\
      apple=100 apple_num=2 orange=150 orange_num=3 tax=1.1 -o apple_orange.svg
  cgcalc graph "sigmoid(x)" x=0.5 --expand --format tree
  cgcalc graph "x*y + x" x=3 y=4 | dot -Tpdf -o graph.pdf

{_BINDINGS}

{EXIT_CODES}""")
@_expression_options
@click.option("--format", "fmt", type=click.Choice(sorted(set(GRAPH_FORMATS.values()))),
              help="What to draw (svg and png need Graphviz); by default the suffix of "
                   "-o FILE says (.dot .gv .svg .png .mmd .txt), else dot.")
@click.option("-o", "--output", metavar="FILE", help="Write to FILE instead of stdout.")
def graph_command(expression: _Expression, precision: int, fmt: str | None,
                  output: str | None) -> None:
    """Draw the computational graph of EXPRESSION, as the book draws it.

    Left to right, each operation shows its operator and each variable its name;
    every edge carries its forward value above and, in colour below, the gradient
    that the reverse pass sent back along it. svg and png are made by Graphviz's
    dot, mermaid is for Markdown pages, tree draws in the terminal.
    """
    if fmt is None:
        fmt = GRAPH_FORMATS.get(os.path.splitext(output or "")[1].lower(), "dot")
    result, expansions = expression.evaluate()
    from .render.picture import Picture

    picture = Picture(result, expansions, precision)
    if fmt == "tree":
        from .render.tree import render

        if output is None or output == "-":
            render(picture)
        else:
            with _open(output, "w", encoding="utf-8") as file:
                render(picture, file=file)
        return
    from .render.dot import dot, graphviz
    from .render.mermaid import mermaid

    text = mermaid(picture) if fmt == "mermaid" else dot(picture)
    data = graphviz(text, fmt) if fmt in ("svg", "png") else text.encode("utf-8")
    if output is None or output == "-":
        if fmt == "png" and sys.stdout.isatty():
            raise click.UsageError("a PNG is not for the terminal; write it with -o FILE")
        click.echo(data, nl=False)
    else:
        with _open(output, "wb") as file:
            file.write(data)


def _read(path: str) -> str:
    """The text of PATH, or of stdin for '-'; unreadable input is a usage error."""
    try:
        if path == "-":
            return sys.stdin.read()
        with open(path, encoding="utf-8") as file:
            return file.read()
    except (OSError, UnicodeDecodeError) as error:
        raise CgcalcError(f"cannot read {path}: {_reason(error)}") from None


@contextmanager
def _open(path: str, mode: str, **kwargs):
    """PATH opened for writing; an unwritable path is a usage error."""
    try:
        file = open(path, mode, **kwargs)
    except OSError as error:
        raise CgcalcError(f"cannot write {path}: {_reason(error)}") from None
    with file:
        yield file


def _reason(error: Exception) -> str:
    return error.strerror if isinstance(error, OSError) and error.strerror else str(error)


def main() -> None:
    """Entry point of the ``cgcalc`` console script."""
    cli(prog_name="cgcalc")


if __name__ == "__main__":
    sys.exit(main())
