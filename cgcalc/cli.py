"""The ``cgcalc`` command: click wiring only; every stage lives in its own module.

``cgcalc EXPRESSION`` is short for ``cgcalc eval EXPRESSION``. An expression may
begin with a minus sign (``cgcalc "-x**2" -v x=3``): an argument starting with ``-``
that is not one of the command's options is read as the expression.
"""

from __future__ import annotations

import errno
import functools
import io
import os
import re
import stat
import sys
from collections.abc import Callable
from contextlib import ExitStack, contextmanager
from typing import TYPE_CHECKING

import click

from . import __version__
from .bindings import load_json_bindings, parse_binding
from .engine import evaluate
from .errors import (EXIT_BROKEN_PIPE, EXIT_INTERNAL, CgcalcError, OutputError,
                     UnboundVariableError, decoded, printable)
from .faults import run as run_with_faults
from .parser import parse

if TYPE_CHECKING:
    from .walk import Result
    from .expand import Expansion
    from .graph import Program

_MARK = "\0"  # prefixed to a dash-led expression to hide it from click; no argv holds NUL
_OPERATOR_CHARS = set("*/+^()[], ;")
_INFERRED = "cgcalc.inferred"  # ctx.meta key: the command is eval because no command was named
_BOUND = "cgcalc.bound"  # ctx.meta key: the names the bindings gave, for "did you mean"
_OPTION_LIKE = re.compile(r"--?[A-Za-z_][\w-]*(=.*)?", re.DOTALL)
_NAME = re.compile(r"[A-Za-z_]\w*")
_BINDING_NAME = re.compile(r"(?:--var=|-v)?\s*([A-Za-z_]\w*)\s*=")

EXIT_CODES = """\b
Exit codes:
  0  success
  1  evaluation error: a value or gradient that is not a finite number, or
     shapes that do not fit; a failed gradient check
  2  usage, syntax, name or binding error
  3  internal error (please report it; CGCALC_DEBUG=1 shows the traceback)
  74  output error: standard output or -o FILE cannot be written (a full
      disk, a closed descriptor)
  75  out of memory
  130, 143  interrupted by SIGINT (Ctrl-C) or SIGTERM; only whole lines
      were written
  141  standard output closed early (e.g. piped into head)"""


class _Reported(click.ClickException):
    """A cgcalc error on its way out: one message on stderr, its own exit code."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code

    def show(self, file=None) -> None:
        text = "\n".join(map(printable, self.message.split("\n")))  # no terminal controls
        try:
            click.echo(f"cgcalc: {text}", err=True)
        except OSError:  # stderr is full or gone: the exit code is all that is left
            pass


class _PlainHelp:
    """``-h/--help`` built without click's translated default text.

    Click's own help option looks its text up with gettext, whose first use imports
    ``locale``: about 1 ms of every run, 2% of cgcalc's start-up, for a message that
    cgcalc does not translate. The option below is click's, with its text given.
    """

    def get_help_option(self, ctx: click.Context) -> click.Option | None:
        names = self.get_help_option_names(ctx)
        if not names or not self.add_help_option:
            return None
        if self._help_option is None:
            self._help_option = click.Option(names, is_flag=True, is_eager=True, expose_value=False,
                                              callback=_show_help, help="Show this message and exit.")
        return self._help_option


class _Path(click.ParamType):
    """A file name, which shells complete as one. (click.Path would do, but it looks its
    name up with gettext when made, which imports ``locale`` on every run; see _PlainHelp.)"""

    name = "path"

    def shell_complete(self, ctx: click.Context, param: click.Parameter, incomplete: str):
        from click.shell_completion import CompletionItem

        return [CompletionItem(incomplete, type="file")]


_PATH = _Path()


class _Positive(click.FloatRange):
    """A finite number above 0: click's FloatRange lets nan and inf through (they compare
    as inside any range), and a tolerance or a step of either makes no sense."""

    def __init__(self, most: float | None = None) -> None:
        super().__init__(0, most, min_open=True)

    def convert(self, value, param, ctx) -> float:
        number = super().convert(value, param, ctx)
        if number != number or number == float("inf"):
            self.fail(f"{number} is not a finite number", param, ctx)
        return number


def _show_help(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if value and not ctx.resilient_parsing:
        click.echo(ctx.get_help(), color=ctx.color)
        ctx.exit()


def _show_version(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if value and not ctx.resilient_parsing:
        click.echo(f"cgcalc, version {__version__}", color=ctx.color)
        ctx.exit()


class CgcalcGroup(_PlainHelp, click.Group):
    """Runs ``eval`` when the first word is not a command, and reports every error alike."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if ctx.resilient_parsing:  # shell completion: complete the command's name
            pass
        elif not args and not sys.stdin.isatty():
            args = ["eval", "-f", "-"]  # bare cgcalc with a program piped in
        elif not args and sys.stdout.isatty():
            args = ["repl"]  # bare cgcalc on a terminal: a session, as qalc and numbat start
        own = {name for param in self.get_params(ctx) for name in param.opts}
        if args and args[0] not in self.commands and args[0] not in own:
            args.insert(0, "eval")
            ctx.meta[_INFERRED] = True
        return super().parse_args(ctx, args)

    def invoke(self, ctx: click.Context):
        try:
            outcome = super().invoke(ctx)
            sys.stdout.flush()  # a closed pipe shows here, where it can be reported
            return outcome
        except CgcalcError as error:
            if isinstance(error, UnboundVariableError):
                error.message += _how_to_bind(error.names)
            raise _Reported(str(error), error.exit_code) from None
        except click.UsageError as error:  # one line, like every other error
            where = error.ctx.command_path if error.ctx else "cgcalc"
            message = error.format_message().rstrip(".")
            raise _Reported(f"usage error: {message} (see '{where} --help')", error.exit_code) \
                from None
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except BrokenPipeError:  # the reader stopped early (| head): leave quietly, as shells do
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            raise click.exceptions.Exit(EXIT_BROKEN_PIPE) from None
        except MemoryError:  # the environment's fault, not a bug: faults.run says so
            raise
        except Exception as error:  # anything else is our bug: say so in one line
            if os.environ.get("CGCALC_DEBUG") == "1":
                raise
            import traceback

            where = traceback.extract_tb(error.__traceback__)[-1]
            raise _Reported(
                f"internal error: {type(error).__name__}: {error} (at {os.path.basename(where.filename)}"
                f":{where.lineno}); please report it, and run with CGCALC_DEBUG=1 for the traceback",
                EXIT_INTERNAL) from None


#: The section of --help each option is listed in, by its parameter's name.
OPTION_GROUPS = {
    **dict.fromkeys(("path", "var_words", "vars_paths"), "Program and bindings"),
    **dict.fromkeys(("input_path", "input_format", "skip_bad"), "Rows"),
    **dict.fromkeys(("as_json", "precision", "expand", "nodes", "explain", "fmt", "results_format",
                     "output", "timeout"), "Output"),
    **dict.fromkeys(("wrt", "of", "upstream", "jacobian", "order", "tol", "step"), "Gradients"),
    **dict.fromkeys(("exact", "digits"), "Exact arithmetic"),
    "cluster": "Cluster",
    "help": "Help",
}


class ExpressionCommand(_PlainHelp, click.Command):
    """A command whose first argument is an expression that may start with ``-``; its
    --help lists the options in groups (OPTION_GROUPS), each with one real example."""

    def __init__(self, *args, examples: dict[str, str], epilog: str | None = None,
                 **kwargs) -> None:
        """``epilog``: what the command adds before the bindings' order and the exit codes,
        which every expression command's help ends with."""
        super().__init__(*args, epilog="\n\n".join(filter(None, (epilog, _BINDINGS, EXIT_CODES))),
                         **kwargs)
        self.examples = examples  #: one command line per option group, by the group's title

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        groups: dict[str, list[tuple[str, str]]] = {}
        for param in self.get_params(ctx):
            record = param.get_help_record(ctx) if isinstance(param, click.Option) else None
            if record:
                groups.setdefault(OPTION_GROUPS.get(param.name, "Other options"), []).append(record)
        for title, records in groups.items():
            with formatter.section(title):
                formatter.write_dl(records)
                if title in self.examples:
                    lines = self.examples[title].split("\n")
                    formatter.write(f"{'':{formatter.current_indent}}Example: {lines[0]}\n")
                    for line in lines[1:]:
                        formatter.write(f"{'':{formatter.current_indent + 4}}{line}\n")

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
                if not ctx.resilient_parsing:
                    self._refuse_mistyped_option(ctx, arg, args, options)
                args[i] = _MARK + arg
                break
            i += 1
        if i < len(args) and args[i][:1] not in ("-", _MARK) and not ctx.resilient_parsing:
            self._refuse_mistyped_command(ctx, args[i], args)
        return super().parse_args(ctx, self._long_forms(args, options))

    @staticmethod
    def _refuse_mistyped_option(ctx: click.Context, word: str, args: list[str],
                                options: dict) -> None:
        """A dash-led WORD that is not an option is the expression (``-x**2``), unless it
        cannot be one: after -f, or a name (``--jsn``, ``-nodes``) that no binding gives and
        that is either led by two dashes or close to an option. ``-x`` alone, unbound and
        close to no option, stays an expression, whose error says how to bind x."""
        has_file = any(a in ("-f", "--file") or a.startswith(("--file=", "-f")) for a in args)
        if not has_file:
            if not _OPTION_LIKE.fullmatch(word):
                return
            bound = _bound_names(args)
            names = [n for n in word.partition("=")[0].lstrip("-").split("-")
                     if n not in ("pi", "e")]
            if "=" not in word and (bound is None or not set(names) - bound):
                return
        known = list(options)
        if ctx.meta.get(_INFERRED):
            known += [o for p in ctx.parent.command.get_params(ctx.parent) for o in p.opts]
        close = _closest(word.partition("=")[0], known)
        if not has_file and not close and not word.startswith("--") and "=" not in word:
            return
        hint = f"; did you mean {close}?" if close else ""
        raise click.UsageError(f"no such option: {word.partition('=')[0]}{hint}", ctx)

    @staticmethod
    def _refuse_mistyped_command(ctx: click.Context, word: str, args: list[str]) -> None:
        """``cgcalc chek x x=1``: a first word that is a plain name close to a command, and
        not bound, is a misspelt command rather than an expression."""
        if not ctx.meta.get(_INFERRED) or not _NAME.fullmatch(word):
            return
        bound = _bound_names(args)
        close = _closest(word, ctx.parent.command.commands)
        if close and (bound is None or word not in bound):
            raise click.UsageError(f"no such command: {word}; did you mean {close}?", ctx.parent)

    @staticmethod
    def _long_forms(args: list[str], options: dict) -> list[str]:
        """``-v x=1`` as ``--var x=1``, ``-vx=1`` as ``--var=x=1``: click tries every word
        starting with one dash as a long option first, and the error it makes on the way
        looks its message up with gettext, which imports ``locale`` (2 ms of each run)."""
        longs = {name: next((o for o in param.opts if o.startswith("--")), None)
                 for name, param in options.items() if len(name) == 2}
        out, i = [], 0
        while i < len(args):
            arg = args[i]
            out.append(arg)
            i += 1
            if arg == "--":
                out.extend(args[i:])
                break
            param = options.get(arg)
            if param is not None:
                if longs.get(arg):
                    out[-1] = longs[arg]
                if not (param.is_flag or param.count) and i < len(args):
                    out.append(args[i])  # the option's value, whatever it looks like
                    i += 1
            elif arg[:1] == "-" and arg[1:2] != "-" and longs.get(arg[:2]) and \
                    not options[arg[:2]].is_flag:
                out[-1] = f"{longs[arg[:2]]}={arg[2:]}"
        return out

    @staticmethod
    def _is_option(arg: str, options: dict) -> bool:
        if arg.startswith("--"):
            return arg.partition("=")[0] in options
        takes_value = options.get(arg[:2])
        return bool(takes_value and not takes_value.is_flag
                    and ("=" in arg or not _OPERATOR_CHARS.intersection(arg[2:])))


@click.group(cls=CgcalcGroup, context_settings={"help_option_names": ["-h", "--help"]},
             epilog=f"""\b
Examples:
  cgcalc "(apple*apple_num + orange*orange_num)*tax" \\
      -v apple=100 -v apple_num=2 -v orange=150 -v orange_num=3 -v tax=1.1
  cgcalc "-x**2" x=3 --json
  cgcalc -f docs/apple_orange.cg --vars examples/apple_orange.json --nodes
  cgcalc graph "sigmoid(w*x + b)" w=2 x=0.5 b=-1 -o neuron.svg

{EXIT_CODES}""")
@click.option("-V", "--version", is_flag=True, is_eager=True, expose_value=False, callback=_show_version,
              help="Show the version and exit.")
def cli() -> None:
    """Computational-graph calculator: values and every partial derivative.

    cgcalc parses an expression into a graph, runs the forward pass and one
    reverse pass (backpropagation), and prints the value and the derivative of
    the value with respect to every variable. `cgcalc EXPRESSION` is short for
    `cgcalc eval EXPRESSION`. `cgcalc graph` draws the graph, `cgcalc check`
    compares backpropagation with central differences, `cgcalc batch`
    evaluates many rows of bindings at once, `cgcalc diff` prints a derivative
    as a program and `cgcalc hessian` the matrix of second derivatives, and
    `cgcalc repl` (or bare `cgcalc` on a terminal) is an interactive session;
    bare `cgcalc` with a program piped in reads it from stdin.
    """


_BINDINGS = """\b
Bindings apply in this order, later ones winning: --vars files, then
NAME=VALUE words, then -v options. A VALUE is a number, a constant
expression such as pi/4, or a JSON array such as [[1, 2], [3, 4]]."""


class _Expression:
    """The program and its bindings as the command line gave them; shared by every command."""

    def __init__(self, words: tuple[str, ...], path: str | None, var_words: tuple[str, ...],
                 vars_paths: tuple[str, ...], expand: bool) -> None:
        self.words, self.path, self.expand = words, path, expand
        self.var_words, self.vars_paths = var_words, vars_paths

    def program(self, exact: int | None = None) -> tuple[Program, dict, list[Expansion]]:
        """Read, parse (and expand) the program; read its bindings (as exact numbers, with
        ``exact`` digits for what is not rational, when given)."""
        read_binding, read_json_bindings = parse_binding, load_json_bindings
        if exact is not None:
            from .bindings import exact_binding, exact_json_bindings

            read_binding = functools.partial(exact_binding, digits=exact)
            read_json_bindings = exact_json_bindings

        words = tuple(w[len(_MARK):] if w.startswith(_MARK) else w for w in self.words)
        if [self.path, *self.vars_paths].count("-") > 1:
            raise click.UsageError("stdin cannot be read twice: only one of -f and --vars "
                                   "may be '-'")
        if self.path is None:
            if not words:
                raise click.UsageError("missing EXPRESSION (or -f PATH)")
            source, binding_words = words[0], words[1:]
        else:
            source, binding_words = _read(self.path), words
        bindings: dict = {}
        for vars_path in self.vars_paths:
            origin = "stdin" if vars_path == "-" else vars_path
            bindings.update(read_json_bindings(_read(vars_path), origin))
        for word in binding_words + self.var_words:
            name, value = read_binding(word)
            bindings[name] = value
        program, expansions = parse(source), []
        if self.expand:
            from .expand import expand

            program, expansions = expand(program)
        click.get_current_context().meta[_BOUND] = tuple(bindings)
        return program, bindings, expansions

    def evaluate(self, wrt: tuple[str, ...] = (), exact: int | None = None,
                 **options) -> tuple[Result, list[Expansion]]:
        """Both passes (on exact numbers, with ``exact`` digits for what is not rational,
        when given; ``options``: evaluate's upstream and of); warnings go to stderr."""
        program, bindings, expansions = self.program(exact)
        passes = evaluate
        if exact is not None:
            from .exact import evaluate as evaluate_exact

            given = [f"--{name}" for name, value in options.items() if value is not None]
            if given:
                raise click.UsageError(f"--exact does not take {', '.join(given)} yet")
            passes, options = functools.partial(evaluate_exact, digits=exact), {}
        result = passes(program, bindings, wrt=wrt or None, **options)
        _warn(result.warnings)
        return result, expansions


def _how_to_bind(names: tuple[str, ...]) -> str:
    """What the command line adds to the library's message about unbound variables: the
    bound name each one is close to, if any (a typo), and how to bind them."""
    from .walk import NAMED

    ctx = click.get_current_context(silent=True)
    bound = ctx.meta.get(_BOUND, ()) if ctx else ()
    guesses = [(name, close) for name in names[:NAMED] if (close := _closest(name, bound))]
    if len(names) == 1 and guesses:
        typos = f"; did you mean {guesses[0][1]}? or"
    elif guesses:
        typos = f"; did you mean {', '.join(f'{close} for {name}' for name, close in guesses)}? or"
    else:
        typos = ";"
    flags = " ".join(f"-v {name}=VALUE" for name in names[:NAMED])
    if len(names) > NAMED:
        flags += " ... or --vars FILE"
    return f"{typos} bind {'them' if len(names) > 1 else 'it'} with {flags}"


def _closest(word: str, choices) -> str | None:
    """The choice a misspelt WORD is closest to (difflib's ratio 0.6 or more), if any."""
    from difflib import get_close_matches

    close = get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return close[0] if close else None


def _bound_names(args: list[str]) -> set[str] | None:
    """The names the NAME=VALUE words and -v options among ARGS bind; None when a --vars
    file may bind more."""
    if any(a == "--vars" or a.startswith("--vars=") for a in args):
        return None
    return {m.group(1) for a in args if (m := _BINDING_NAME.match(a))}


def _warn(warnings: list[str]) -> None:
    for warning in warnings:
        click.echo(f"cgcalc: warning: {printable(warning)}", err=True)


def _expression_options(command: Callable) -> Callable:
    """The expression and its bindings (and --expand, where the command has it), handed on
    as one _Expression."""

    @functools.wraps(command)
    def callback(words, path, var_words, vars_paths, expand=False, **options):
        return command(_Expression(words, path, var_words, vars_paths, expand), **options)

    for option in reversed((
        click.argument("words", nargs=-1, metavar="EXPRESSION [NAME=VALUE]..."),
        click.option("-f", "--file", "path", metavar="PATH", type=_PATH,
                     help="Read the program from PATH ('-' for stdin) instead of EXPRESSION."),
        click.option("-v", "--var", "var_words", multiple=True, metavar="NAME=VALUE",
                     help="Bind a variable (repeatable)."),
        click.option("--vars", "vars_paths", multiple=True, metavar="PATH",
                     type=_PATH,
                     help="Bind variables from a JSON object in PATH ('-' for stdin)."),
    )):
        callback = option(callback)
    return callback


def _gradient_options(command: Callable) -> Callable:
    """--upstream VALUE and --of NAME, handed on as evaluate's ``upstream`` and ``of``."""

    @functools.wraps(command)
    def callback(*args, upstream, of, **options):
        if upstream is not None:
            from .bindings import parse_value

            upstream = parse_value("--upstream", upstream)
        return command(*args, gradient={"upstream": upstream, "of": of}, **options)

    callback = click.option(
        "--upstream", metavar="VALUE",
        help="The gradient the output receives (default 1): a number, or for an array "
             "value a JSON array of its shape; every gradient is multiplied by it.")(callback)
    return click.option("--of", metavar="NAME",
                        help="Differentiate the assigned name NAME instead of the last "
                             "statement.")(callback)


def _shown_options(command: Callable) -> Callable:
    """--expand and --precision, for the commands that show a graph or tables."""
    command = click.option("--precision", type=click.IntRange(1, 17), default=10,
                           show_default=True,
                           help="Significant digits shown (JSON keeps every digit).")(command)
    return click.option("--expand", is_flag=True,
                        help="Replace fused operations by their primitive graphs, e.g. sigmoid(x) "
                             "by 1/(1 + exp(-x)).")(command)


def _refused(option: str, why: str, flag: bool = True) -> Callable:
    """A hidden OPTION that the command does not take, refused with WHY instead of click's
    'no such option' (or being read as the expression)."""
    def refuse(ctx: click.Context, param: click.Parameter, value) -> None:
        if value:
            raise click.UsageError(f"{option} is not for this command: {why}", ctx)

    return click.option(option, is_flag=flag, hidden=True, expose_value=False, callback=refuse)


def _exact_options(command: Callable) -> Callable:
    """--exact and --digits, handed on as ``exact``: the digits, or None without --exact."""

    @functools.wraps(command)
    def callback(*args, exact: bool, digits: int, **options):
        return command(*args, exact=digits if exact else None, **options)

    callback = click.option(
        "--digits", type=click.IntRange(1, 100_000), default=30, show_default=True,
        help="With --exact: significant digits of what is not rational.")(callback)
    return click.option(
        "--exact", is_flag=True,
        help="Compute with exact fractions: 1.1 is 11/10, x=1/3 one third. What leaves "
             "the rationals (exp, log, sqrt(2), pi...) is computed to --digits and marked "
             "approximate (≈, \"exact\": false).")(callback)


_json_option = click.option("--json", "as_json", is_flag=True,
                            help="Print one JSON object instead of tables.")
_wrt_option = click.option("--wrt", multiple=True, metavar="NAME",
                           help="Only report the gradient with respect to NAME (repeatable).")


@cli.command("eval", cls=ExpressionCommand, examples={
    'Program and bindings': 'cgcalc eval -f docs/apple_orange.cg --vars examples/apple_orange.json -v tax=1.08',
    'Output': 'cgcalc "apple_price = apple*apple_num; price = apple_price*tax" \\\napple=100 apple_num=2 tax=1.1 --nodes --explain --precision 4',
    'Gradients': 'cgcalc "sigmoid(w*x + b)" w=2 x=0.5 b=-1 --wrt w --upstream 0.5 --json',
    'Exact arithmetic': 'cgcalc "(apple*apple_num + orange*orange_num)*tax" --vars examples/apple_orange.json --exact',
})
@_expression_options
@_shown_options
@_json_option
@click.option("--nodes", is_flag=True, help="Also show every node of the graph.")
@_wrt_option
@_gradient_options
@click.option("--jacobian", is_flag=True,
              help="For an array value: each gradient with the value's shape in front (one "
                   "reverse pass per element), instead of the gradient of the sum.")
@click.option("--explain", is_flag=True,
              help="Also show the reverse pass step by step: each node's local derivative "
                   "rule, the upstream gradient and their product (the chain rule).")
@_exact_options
def eval_command(expression: _Expression, precision: int, as_json: bool, nodes: bool,
                 wrt: tuple[str, ...], gradient: dict, jacobian: bool, explain: bool,
                 exact: int | None) -> None:
    """Evaluate EXPRESSION and differentiate it with respect to every variable.

    EXPRESSION is a program: statements `name = expression` separated by `;` or
    new lines, `#` comments; its value is the last statement's. `f(x) = x**2 + 1`
    defines a function, called like the built-ins. Operators
    `+ - * / **` (or `^`) and `@` (matrix product), functions exp log log10 log2
    sqrt sin cos tan atan sinh cosh tanh sigmoid relu abs step sign, of two inputs
    atan2 hypot pow max min (element-wise), constants pi and e. On arrays also
    transpose, sum mean max min (of all elements, or with axis=K), reshape, softmax,
    log_softmax, cross_entropy, affine and softmax_cross_entropy. An array-valued program is
    differentiated as the sum of its elements.
    """
    if as_json and explain:
        raise click.UsageError("--explain prints text, not JSON; use one or the other")
    if jacobian:
        result = _jacobian(expression, wrt, gradient, nodes or explain)
    else:
        result, _ = expression.evaluate(wrt, exact, **gradient)
    if as_json:
        from .render.json_doc import write

        write(result, sys.stdout, nodes=nodes)
        return
    steps = None
    if explain:
        from .render.explain import explain as explanation

        steps = explanation(_scalar(result, "--explain"), precision)
    from .render.tables import render

    render(result, precision=precision, nodes=nodes)
    if steps is not None:
        click.echo("\n" + "\n".join(steps))


def _jacobian(expression: _Expression, wrt: tuple[str, ...], gradient: dict,
              per_node: bool) -> Result:
    """The result of --jacobian, whose gradients are the Jacobians."""
    from .differentiate import jacobian

    if gradient["upstream"] is not None or per_node:
        raise click.UsageError("--jacobian takes no --upstream (it runs one per element), "
                               "--nodes or --explain")
    program, bindings, _ = expression.program()
    result = jacobian(program, bindings, wrt=wrt or None, of=gradient["of"])
    _warn(result.warnings)
    return result


@cli.command("check", cls=ExpressionCommand, examples={
    'Program and bindings': 'cgcalc check "softmax_cross_entropy(affine(relu(affine(X, W1, b1)), W2, b2), t)" \\\n--vars examples/two_layer.json',
    'Output': 'cgcalc check "sigmoid(x)" x=0.5 --expand --precision 4 --json',
    'Gradients': 'cgcalc check "x**3 * sin(y)" x=2 y=0.5 --wrt x --tol 1e-8 --step 1e-5',
    'Exact arithmetic': 'cgcalc check "x/3 + exp(y)" x=1 y=1/2 --exact --digits 20',
})
@_expression_options
@_shown_options
@_json_option
@_wrt_option
@click.option("--tol", type=_Positive(), default=1e-6, show_default=True,
              help="Largest difference that passes: absolute, or relative for gradients "
                   "larger than 1.")
@click.option("--step", type=_Positive(), default=1e-4, show_default=True,
              help="Relative step of the central differences (f(x+h) - f(x-h)) / 2h: "
                   "h = STEP × max(1, |x|), or h = STEP where |x| > 1 and that agrees better "
                   "(sin, exp). Nearer than h to an edge of the domain, h = STEP × the distance "
                   "to it; at the edge, one-sided differences. The report gives the h used.")
@_exact_options
def check_command(expression: _Expression, precision: int, as_json: bool, wrt: tuple[str, ...],
                  tol: float, step: float, exact: int | None) -> None:
    """Check the gradients of EXPRESSION: backpropagation against central differences.

    Computes every gradient twice, by backpropagation and by central differences
    (two forward passes per input element), and prints per variable the largest
    absolute and relative difference, the time each method took, and whether
    every difference is within --tol. Exits with 1 when one is not.
    """
    from .check import gradient_check
    from .errors import GradientCheckError

    program, bindings, _ = expression.program(exact)
    report = gradient_check(program, bindings, tol=tol, step=step, wrt=wrt or None, digits=exact)
    _warn(report.result.warnings)
    if as_json:
        from .render.json_doc import check_dumps

        click.echo(check_dumps(report))
    else:
        from .render.tables import render_check

        render_check(report, precision=precision)
    failed = [v.name for v in report.variables if v.passed is False]
    if failed:
        raise GradientCheckError(f"{', '.join(failed)}: backpropagation and central differences "
                                 f"differ by more than --tol {tol:g}")


@cli.command("batch", cls=ExpressionCommand, examples={
    'Program and bindings': 'cgcalc batch "sigmoid(w*x + b)" --input examples/points.jsonl -v w=2 -v b=-1',
    'Rows': 'cat examples/prices.csv | cgcalc batch "apple*apple_num" --input-format csv --skip-bad',
    'Output': 'cgcalc batch "pi*r**2" --input examples/circles.csv --format csv -o areas.csv',
    'Cluster': 'cgcalc batch "apple*apple_num" --input examples/prices.parquet --skip-bad \\\n'
               '-o results.parquet --cluster local:1',
}, epilog="""\b
Each output row is {"row": n, "value": ..., "gradients": {...}} (NDJSON), or
row,value,d_NAME... (CSV, and Parquet's columns); rows are numbered from 1 in input
order (blank lines and lines starting with # are not rows). A bad row stops the run
(exit 1) after every row before it has been written (Parquet: nothing is written);
with --skip-bad it is reported on stderr and left out (--cluster: written to the
dataset OUTPUT.errors beside the results). Columns named pi or e bind them, as in eval.""")
@_expression_options
@click.option("--input", "input_path", metavar="FILE", type=_PATH,
              help="Rows of bindings: CSV with a header of names, JSON Lines ('-' for stdin), "
                   "or Parquet (a file, a directory or a quoted glob of a dataset); by default "
                   "stdin, when it is not a terminal.")
@click.option("--input-format", type=click.Choice(["csv", "jsonl", "parquet"]),
              help="Format of --input; by default its suffix says (.csv, .jsonl, .ndjson, "
                   ".parquet), a directory or a glob is Parquet, and stdin is JSON Lines if its "
                   "first line (not blank or #) starts with '{'.")
@click.option("--format", "results_format", type=click.Choice(["ndjson", "csv", "parquet"]),
              help="Format of the results.  [default: parquet when -o names a .parquet file "
                   "or --cluster is given, else ndjson]")
@_json_option
@click.option("-o", "--output", metavar="FILE", type=_PATH,
              help="Write the results to FILE instead of stdout (Parquet: always a file, "
                   "written whole or not at all; --cluster: a dataset directory).")
@click.option("--skip-bad", is_flag=True,
              help="Report bad rows on stderr and go on, instead of stopping at the first.")
@click.option("--cluster", metavar="ADDRESS|local[:N]",
              help="Run on a Dask distributed cluster (pip install 'cgcalc[dask]'): its "
                   "scheduler's ADDRESS, or 'local:N' for N worker processes on this machine "
                   "('local': one per core). Reads Parquet, writes a Parquet dataset (-o DIR).")
@_refused("--exact", "batch computes with floats, many rows at once with NumPy; use "
                     "'cgcalc eval --exact' row by row")
@_refused("--precision", "batch writes every digit (Python's repr), as --json does",
          flag=False)
@_refused("--expand", "it changes the graph drawn and listed, not the values and gradients "
                      "batch writes")
def batch_command(expression: _Expression, input_path: str | None, input_format: str | None,
                  results_format: str | None, as_json: bool, output: str | None,
                  skip_bad: bool, cluster: str | None) -> None:
    """Evaluate EXPRESSION for every row of --input: values and gradients, streamed.

    The program is parsed once and evaluated for many rows at a time with NumPy, in
    chunks, so memory stays bounded for inputs of any length. -v, --vars and
    NAME=VALUE bind constants shared by every row.
    """
    from . import batch
    from .walk import as_float

    if output in ("ndjson", "csv", "parquet"):
        raise click.UsageError(f"--output names a file; give the format with --format {output}")
    if as_json and results_format not in (None, "ndjson"):
        raise click.UsageError(f"--json writes NDJSON; use --json or --format {results_format}, "
                               "not both")
    if input_path is None:
        if sys.stdin.isatty():
            raise click.UsageError("missing --input FILE (or pipe the rows into stdin)")
        input_path = "-"
    fmt = input_format or _rows_format(input_path)
    results = "ndjson" if as_json else results_format or \
        ("parquet" if cluster or _rows_format(output or "-") == "parquet" else "ndjson")
    if cluster is not None:
        _check_cluster_run(fmt, results, output)
    elif results == "parquet" and output in (None, "-"):
        raise click.UsageError("Parquet results go to a file: give -o FILE")
    if fmt == "parquet" and input_path == "-":
        raise click.UsageError("Parquet is read from a file, a directory or a glob, not stdin")
    program, constants, _ = expression.program()
    for name, value in constants.items():
        if not isinstance(value, (int, float)):
            raise CgcalcError(f"{name}: batch constants are numbers, not arrays")
    constants = {name: as_float(value) for name, value in constants.items()}
    report = functools.partial(click.echo, err=True)
    if cluster is not None:
        _batch_on_cluster(program, constants, input_path, output, cluster, skip_bad, report)
        return
    with ExitStack() as stack:
        if fmt == "parquet":
            _not_the_input(output, input_path)
            dataset = batch.parquet().Dataset(input_path)
            chunks = dataset.chunks(program.variables, constants)
            progress = stack.enter_context(_progress(dataset.rows, lambda: dataset.read))
        else:
            file = stack.enter_context(_open_input(input_path))
            _not_the_input(output, file)
            chunks = batch.read(file, program.variables, fmt, constants)
            progress = stack.enter_context(_progress(
                None if input_path == "-" else os.fstat(file.fileno()).st_size,
                file.buffer.tell))
        out = stack.enter_context(_results(output, results))
        skipped = batch.run(program, chunks, constants, out, output=results, skip_bad=skip_bad,
                            report=report, progress=progress)
    if skipped:
        click.echo(f"cgcalc: {skipped:,} bad row{'s' if skipped > 1 else ''} skipped", err=True)


def _not_the_input(output: str | None, rows) -> None:
    """-o naming the file the rows come from (``rows``: its path, or the file read, which
    may be stdin) would write the results over the rows: a CSV file was cut short and
    then read back as rows of its own results (a bad row), a Parquet file replaced."""
    if output in (None, "-"):
        return
    try:
        read = os.stat(rows) if isinstance(rows, str) else os.fstat(rows.fileno())
        written = os.stat(output)
    except (OSError, ValueError):  # a file still to be made; stdin in memory; a glob
        return
    if stat.S_ISREG(read.st_mode) and os.path.samestat(read, written):
        raise click.UsageError(f"-o {output} is the file the rows are read from; the results "
                               "would overwrite them: write them to another file")


def _rows_format(path: str) -> str | None:
    """The format a file's name says: by its suffix; a directory or a glob is Parquet."""
    if path == "-":
        return None
    suffix = os.path.splitext(path)[1].lower()
    if suffix in (".parquet", ".pq") or os.path.isdir(path) or any(c in path for c in "*?["):
        return "parquet"
    return {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl"}.get(suffix)


def _check_cluster_run(fmt: str | None, results: str, output: str | None) -> None:
    """A cluster reads and writes Parquet datasets, not streams."""
    if fmt != "parquet":
        raise click.UsageError("--cluster reads Parquet: give --input a .parquet file, a "
                               "directory or a glob of a dataset")
    if results != "parquet":
        raise click.UsageError(f"--cluster writes a Parquet dataset, not {results}")
    if output in (None, "-"):
        raise click.UsageError("--cluster writes a Parquet dataset: give -o DIR")


def _batch_on_cluster(program: Program, constants: dict[str, float], input_path: str,
                      output: str, address: str, skip_bad: bool,
                      report: Callable[[str], None]) -> None:
    """batch --cluster: Dask's progress drawn by Rich on stderr when it is a terminal."""
    from .batch import parquet

    parquet()  # pyarrow first: its extra's message is the shorter way to it
    try:
        from .cluster import errors_path, run_on_cluster
    except ImportError:
        raise CgcalcError("--cluster needs Dask: pip install 'cgcalc[dask]'") from None
    with _progress(0, what="tasks") as bar:
        skipped = run_on_cluster(program, constants, input_path, output, address,
                                 skip_bad=skip_bad, report=report, progress=bar)
    if skipped:
        click.echo(f"cgcalc: {skipped:,} bad row{'s' if skipped > 1 else ''} skipped, "
                   f"written to {errors_path(output)}", err=True)


@contextmanager
def _results(path: str | None, fmt: str = "ndjson"):
    """Where a result goes: stdout, or the file -o names (Parquet: a temporary file
    beside it, renamed to it when the run succeeds)."""
    if fmt == "parquet":
        from .batch import parquet

        with parquet().replacing(path) as file:
            yield file
        return
    if path is None or path == "-":
        yield sys.stdout
        return
    with _open(path, "w", encoding="utf-8") as file:
        yield file


@contextmanager
def _open_input(path: str):
    """The input file, or stdin for '-', as the csv module wants it (``newline=""``), with
    bytes that are not UTF-8 kept (``surrogateescape``) for batch to refuse their rows."""
    text = {"encoding": "utf-8", "errors": "surrogateescape", "newline": ""}
    if path == "-":
        stdin = io.TextIOWrapper(sys.stdin.buffer, **text)
        try:
            yield stdin
        finally:
            stdin.detach()  # leave sys.stdin open
        return
    with _open(path, "r", verb="read", **text) as file:
        yield file


@contextmanager
def _progress(total: int | None, done: Callable[[], int] = int, what: str = "rows"):
    """A callback advancing a Rich progress bar on stderr, when that is a terminal and the
    total (bytes, rows or tasks) is known, else None: called bare, to ``done()``;
    called with ``(completed, total)``, to those."""
    if total is None or not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import Progress

    with Progress(console=Console(stderr=True), transient=True, redirect_stdout=False) as bar:
        task = bar.add_task(what, total=total)

        def advance(completed: int | None = None, new_total: int | None = None) -> None:
            bar.update(task, completed=done() if completed is None else completed,
                       total=new_total)

        yield advance


@cli.command("help")
@click.argument("command", required=False)
@click.pass_context
def help_command(ctx: click.Context, command: str | None) -> None:
    """Show the help of cgcalc, or of COMMAND."""
    group = ctx.parent
    if command is None:
        click.echo(group.get_help())
        return
    found = group.command.get_command(group, command)
    if found is None:
        close = _closest(command, group.command.commands)
        hint = f"; did you mean {close}?" if close else ""
        raise click.UsageError(f"no such command: {command}{hint}", group)
    with click.Context(found, info_name=command, parent=group) as sub:
        click.echo(found.get_help(sub))


@cli.command("repl", epilog="""\b
Example session:
  cgcalc> apple = 100
  cgcalc> apple_num = 2
  cgcalc> tax = 1.1
  cgcalc> price = apple*apple_num*tax
  cgcalc> :help""")
@click.option("--precision", type=click.IntRange(1, 17), default=10, show_default=True,
              help="Significant digits shown.")
@_refused("--json", "a session prints tables; 'cgcalc EXPRESSION --json' prints JSON")
def repl_command(precision: int) -> None:
    """An interactive session: one program built a statement at a time.

    `name = number` binds a variable (as -v would); every other input adds
    statements to the program, and its value and gradients are printed. Bare
    `cgcalc` on a terminal starts it too. Inputs are remembered in
    $XDG_STATE_HOME/cgcalc/history; :help lists the commands; Ctrl-D leaves.
    When stdin is not a terminal, its lines are the inputs.
    """
    from .repl import run

    run(precision)


#: --format choices, and the one a -o FILE's suffix picks when --format is not given: cgcalc's
#: own texts, and the formats every Graphviz build writes (``dot -T?`` lists more)
GRAPH_FORMATS = {".dot": "dot", ".gv": "dot", ".mmd": "mermaid", ".txt": "tree", ".svg": "svg",
                 ".png": "png", ".pdf": "pdf", ".jpg": "jpg", ".jpeg": "jpg", ".gif": "gif",
                 ".ps": "ps", ".eps": "eps"}
#: Graphviz's formats that are not text, never written to a terminal
BINARY_FORMATS = {"png", "pdf", "jpg", "gif"}


def format_of(path: str, hint: str = "") -> str:
    """The picture format the suffix of ``path`` names (DOT without a suffix); a suffix
    that names none is an error (ending with ``hint``)."""
    suffix = os.path.splitext(path)[1].lower()
    if suffix and suffix not in GRAPH_FORMATS:
        raise CgcalcError(f"cannot tell the format of {path} from its suffix {suffix}; use one "
                          f"of {' '.join(GRAPH_FORMATS)}{hint}")
    return GRAPH_FORMATS.get(suffix, "dot")


@cli.command("graph", cls=ExpressionCommand, examples={
    'Program and bindings': 'cgcalc graph -f docs/apple_orange.cg --vars examples/apple_orange.json --format tree',
    'Output': 'cgcalc graph "sigmoid(x)" x=0.5 --expand -o sigmoid.svg --timeout 10',
    'Gradients': 'cgcalc graph "y = x**2; y*3" x=2 --of y --upstream 2 --format mermaid',
})
@_expression_options
@_shown_options
@click.option("--format", "fmt", type=click.Choice(sorted(set(GRAPH_FORMATS.values()))),
              help="What to draw (all but dot, mermaid and tree need Graphviz); by default "
                   f"the suffix of -o FILE says ({' '.join(GRAPH_FORMATS)}), else dot.")
@_json_option
@click.option("-o", "--output", metavar="FILE", type=_PATH,
              help="Write to FILE instead of stdout.")
@click.option("--timeout", type=_Positive(most=1e6), default=30,
              show_default=True, metavar="SECONDS",
              help="How long Graphviz's dot may take for svg and png.")
@_gradient_options
def graph_command(expression: _Expression, precision: int, fmt: str | None, as_json: bool,
                  output: str | None, timeout: float, gradient: dict) -> None:
    """Draw the computational graph of EXPRESSION, as the book draws it.

    Left to right, each operation shows its operator and each variable its name;
    every edge carries its forward value above and, in colour below, the gradient
    that the reverse pass sent back along it, and each variable its gradient.
    svg, png, pdf, jpg, gif, ps and eps are made by Graphviz's dot, for graphs
    of at most 150 nodes; mermaid is for Markdown pages, tree draws in the terminal.
    --json writes the graph as eval --json --nodes does: every node with its inputs
    (the edges), value, local derivatives and gradient.
    """
    if as_json:
        if fmt:
            raise click.UsageError("--json writes the graph as JSON; use --json or --format, "
                                   "not both")
        from .render.json_doc import write

        result, _ = expression.evaluate()
        with _results(output) as out:
            write(result, out, nodes=True)
        return
    if fmt is None:
        try:
            fmt = "dot" if output in (None, "-") else format_of(output, ", or give --format")
        except CgcalcError as error:
            raise click.UsageError(error.message) from None
    to_stdout = output is None or output == "-"
    if to_stdout and fmt in BINARY_FORMATS and sys.stdout.isatty():
        raise click.UsageError(f"a {fmt.upper()} is not for the terminal; write it with -o FILE")
    result, expansions = expression.evaluate(**gradient)
    from .render.picture import Picture

    picture = Picture(result, expansions, precision)
    if fmt == "tree":
        from .render.tree import render

        if to_stdout:
            render(picture)
        else:
            with _open(output, "w", encoding="utf-8") as file:
                render(picture, file=file)
        return
    from .render.dot import drawn

    data = drawn(picture, fmt, timeout)
    if to_stdout:
        click.echo(data, nl=False)
    else:
        with _open(output, "wb") as file:
            file.write(data)


@cli.command("diff", cls=ExpressionCommand, examples={
    'Program and bindings': 'cgcalc diff -f docs/apple_orange.cg --vars examples/apple_orange.json --wrt tax',
    'Output': 'cgcalc diff "sigmoid(x)" x=0.5 --expand --precision 4 --json',
    'Gradients': 'cgcalc diff "x**3*y" --wrt x --order 2',
    'Exact arithmetic': 'cgcalc diff "x**3/3" --wrt x x=1/3 --exact',
})
@_expression_options
@_shown_options
@_json_option
@click.option("--wrt", multiple=True, metavar="NAME",
              help="Differentiate by NAME; repeat for mixed partials, taken in order "
                   "(--wrt x --wrt y is ∂²/∂x∂y). Optional when there is one variable.")
@click.option("--order", type=click.IntRange(1), default=1, show_default=True,
              help="Differentiate N times by the one --wrt variable.")
@click.option("--of", metavar="NAME",
              help="Differentiate the assigned name NAME instead of the last statement.")
@_exact_options
def diff_command(expression: _Expression, precision: int, as_json: bool, wrt: tuple[str, ...],
                 order: int, of: str | None, exact: int | None) -> None:
    """Print the derivative of EXPRESSION as a program of cgcalc's own language.

    The derivative is built by the reverse pass from each operation's derivative
    rule, with constants folded, *1, +0 and *0 dropped, and every subexpression
    used more than once named once (s = sigmoid(x), then s*(1 - s)). The text is
    a program: give it back to cgcalc with the same bindings and it has the same
    value. With bindings, the derivative's value follows as a comment.
    """
    from .differentiate import derivative, value_at
    from .render.derivatives import diff_json, diff_text
    from .render.source import to_source

    program, bindings, _ = expression.program(exact)
    if of is not None:
        program = program.with_output(program.named(of))
    if not wrt:
        variables = program.free_variables()
        if len(variables) != 1:
            raise click.UsageError(f"say which variable to differentiate by with --wrt NAME "
                                   f"(the program's variables: {', '.join(variables) or 'none'})")
        wrt = (variables[0],)
    if order > 1 and len(wrt) > 1:
        raise click.UsageError("--order N takes one --wrt; for mixed partials repeat --wrt "
                               "(--wrt x --wrt x --wrt y)")
    names = list(wrt) * order
    derived = derivative(program, names, exact=exact is not None)
    value = None
    if bindings or not program.free_variables():
        value, warnings = value_at(program, derived, names[0], bindings, exact)
        _warn(warnings)
    # under --exact its literals are exact decimals, which its floats may not hold
    source = derived.source if exact is not None else to_source(derived)
    if as_json:
        click.echo(diff_json(source, names, value, exact))
    else:
        click.echo(diff_text(source, _top(program), names, value, precision))


@cli.command("hessian", cls=ExpressionCommand, examples={
    'Program and bindings': 'cgcalc hessian "(apple*apple_num + orange*orange_num)*tax" --vars examples/apple_orange.json',
    'Output': 'cgcalc hessian "x**2*y + sin(x*y)" x=1 y=2 --precision 4 --json',
    'Gradients': 'cgcalc hessian "y = x**2*z; y + z" x=1 z=2 --of y',
    'Exact arithmetic': 'cgcalc hessian "x**2*y/3 + exp(y)" x=1/2 y=0 --exact --digits 15',
})
@_expression_options
@_shown_options
@_json_option
@click.option("--of", metavar="NAME",
              help="Differentiate the assigned name NAME instead of the last statement.")
@_exact_options
def hessian_command(expression: _Expression, precision: int, as_json: bool,
                    of: str | None, exact: int | None) -> None:
    """Print the Hessian of EXPRESSION: every second partial derivative at the bindings.

    The gradient is built once as a graph and differentiated again by the reverse
    pass, one row per variable; the matrix is exactly symmetric.
    """
    from .differentiate import hessian
    from .render.derivatives import hessian_json, hessian_text

    program, bindings, _ = expression.program(exact)
    if of is not None:
        program = program.with_output(program.named(of))
    result = hessian(program, bindings, digits=exact)
    _warn(result.warnings)
    if as_json:
        click.echo(hessian_json(result, exact))
    else:
        click.echo(hessian_text(result, _top(program), precision))


def _top(program: Program) -> str:
    """What the output is called in ∂ notation: its name, or value."""
    return program.names.get(program.output) or "value"


def _scalar(result: Result, what: str) -> Result:
    """``result``, if its values are numbers: the pictures and steps are drawn for those."""
    if result.arrays:
        raise CgcalcError(f"{what} draws programs of numbers; this one has arrays "
                          "(the tables and --json show them)")
    return result


def _read(path: str) -> str:
    """The text of PATH, or of stdin for '-' (:func:`errors.decoded`); unreadable input is a
    usage error."""
    try:
        if path != "-":
            with open(path, "rb") as file:
                return decoded(file.read())
        if sys.stdin is None:  # closed: cgcalc <&-
            raise OSError(errno.EBADF, os.strerror(errno.EBADF))
        stdin = getattr(sys.stdin, "buffer", None)  # None: a stream in memory, already text
        text = sys.stdin.read() if stdin is None else decoded(stdin.read())
        return text[1:] if text.startswith("\ufeff") else text
    except OSError as error:
        raise CgcalcError(f"cannot read {'stdin' if path == '-' else path}: {_reason(error)}") \
            from None


@contextmanager
def _open(path: str, mode: str, verb: str = "write", **kwargs):
    """PATH opened; one that cannot be opened is a usage error, one that cannot be written
    to (a full disk) an output error."""
    try:
        file = open(path, mode, **kwargs)
    except OSError as error:
        raise CgcalcError(f"cannot {verb} {path}: {_reason(error)}") from None
    if verb != "write":
        with file:
            yield file
        return
    try:
        with file:
            yield file
    except OSError as error:
        raise OutputError(f"cannot write to {path}: {_reason(error)}") from None


def _reason(error: Exception) -> str:
    return error.strerror if isinstance(error, OSError) and error.strerror else str(error)


def main() -> None:
    """The command, with the environment's faults (a full or closed stdout, signals, no
    memory left) said in one line; the ``cgcalc`` script runs it from :mod:`cgcalc.__main__`."""
    run_with_faults(lambda: cli(prog_name="cgcalc"))
