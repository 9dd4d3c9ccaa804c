"""``cgcalc repl`` (and bare ``cgcalc`` on a terminal): an interactive session.

The session is one program that grows by the statements typed, as the book builds its
graph one node at a time. An input is one of:

- ``name = constant`` (a number, a constant expression, a JSON array): binds a variable,
  as ``-v name=constant`` would, unless the program assigned ``name`` (then it is a
  statement); a variable the program uses is re-evaluated at once;
- statements (an assignment, an expression, a function definition): appended to the
  program; the value and the gradient table are printed as ``cgcalc eval`` prints them;
- a command, ``:help`` lists them.

An input is kept only if the program still parses and, when all its variables are bound,
still evaluates; otherwise its error is printed as on the command line and the session
is as it was. Statements whose variables are not all bound yet are kept, and the
session says what to bind.

:class:`Session` is the state and what each input does, writing to two streams;
:func:`run` reads the inputs with prompt_toolkit (history, completion, multi-line input
while brackets are open), which is imported by this module alone.
"""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path
from collections.abc import Iterable
from typing import TYPE_CHECKING, TextIO

from prompt_toolkit import PromptSession
from prompt_toolkit.completion import Completer, Completion, PathCompleter
from prompt_toolkit.document import Document
from prompt_toolkit.history import FileHistory, InMemoryHistory
from prompt_toolkit.key_binding import KeyBindings

from . import __version__
from .bindings import load_json_bindings, parse_value
from .errors import CgcalcError, ParseError, UnknownNameError, decoded
from .parser import parse, terminal_regex

if TYPE_CHECKING:
    from .walk import Result
    from .graph import Program

HELP = """\
Each input adds statements to one program; its last statement is its value.
  apple = 100                  binds a variable (a number, pi/4, or a JSON array)
  price = apple*apple_num*tax  a statement: prints the value and each gradient
  softplus(x) = log(1 + exp(x))  defines a function
Binding a variable again re-evaluates the program. While brackets are open,
Enter continues the input on a new line. Tab completes names and commands;
Ctrl-C cancels the input, Ctrl-D leaves.

Commands:
  :vars          the bound variables and the functions defined
  :nodes         every node of the graph, as --nodes shows them
  :explain       the reverse pass step by step, as --explain
  :graph [FILE]  the graph as a tree here, or into FILE (.svg .png .dot .mmd .txt)
  :diff NAME     the derivative by NAME as a program (as cgcalc diff), and its value
  :save FILE     the program into FILE and its bindings into FILE.json
                 (cgcalc -f FILE --vars FILE.json evaluates it again)
  :load FILE     a program from FILE (and bindings from FILE.json), replacing this one
  :reset         forget the program and the bindings
  :help          this text"""

class CommandError(CgcalcError):
    """A command that does not exist, or lacks its argument."""

    kind = "usage error"


COMMANDS = [":vars", ":nodes", ":explain", ":graph", ":diff", ":save", ":load", ":reset", ":help"]
PROMPT = "cgcalc> "


class Session:
    """The program so far, the bindings, and what each input does to them."""

    def __init__(self, out: TextIO, err: TextIO, precision: int = 10) -> None:
        self.out, self.err, self.precision = out, err, precision
        self.lines: list[str] = []  #: the inputs that make the program
        self.program: Program | None = None
        self.bindings: dict[str, float | list] = {}
        self._binding = re.compile(rf"\s*({terminal_regex('NAME')})\s*=(.*)", re.S)

    def handle(self, text: str) -> None:
        """One input: a command, a binding or statements. Errors are printed, never raised."""
        stripped = text.strip()
        if not stripped or stripped.startswith("#"):
            return
        try:
            if stripped.startswith(":"):
                self._command(stripped)
                return
            binding = self._as_binding(text)
            if binding is None:
                self._add(text)
            else:
                self._bind(*binding)
        except CgcalcError as error:
            self.say(f"cgcalc: {error}", self.err)
        except Exception as error:  # a bug in cgcalc: said in one line, the session goes on
            if os.environ.get("CGCALC_DEBUG") == "1":
                raise
            self.say(f"cgcalc: internal error: {type(error).__name__}: {error}; please report "
                     "it (CGCALC_DEBUG=1 shows the traceback)", self.err)

    def wants_more(self, text: str) -> bool:
        """Does Enter continue the input? While a bracket is open, unless a statement is
        already wrong before its end (as at Python's prompt): then it runs, and its error
        shows at once instead of swallowing the lines after it. A command, or an array
        being bound, goes on until its brackets close."""
        if _open_brackets(text) <= 0:
            return False
        binding = self._binding.fullmatch(text)
        if text.lstrip().startswith(":") or binding and binding[2].lstrip().startswith("["):
            return True
        try:
            parse(text, needs_value=False)
        except ParseError as error:
            return error.pos is None or error.pos >= len(text.rstrip())
        except CgcalcError:  # a function of an earlier input, say: the brackets decide
            pass
        return True

    # -- statements and bindings ------------------------------------------------------------------

    def _add(self, text: str) -> None:
        """Append statements: kept if the program parses and, when it can, evaluates."""
        source = "\n".join([*self.lines, text])
        offset = len(source) - len(text)
        try:
            program = parse(source, needs_value=False)
            before = len(self.program.statements) if self.program else 0
            shown = self._show(program) if len(program.statements) > before else None
        except CgcalcError as error:
            if error.source == source and error.pos is not None and error.pos >= offset:
                error.source, error.pos = text, error.pos - offset  # a place in this input
            raise
        self.lines.append(text)
        self.program = program
        self._print(shown)

    def _as_binding(self, text: str) -> tuple[str, float | list] | None:
        """``name = constant`` as a binding; None for a statement."""
        match = self._binding.fullmatch(text)
        if match is None or match[2].startswith("="):
            return None
        name, value = match[1], match[2].strip()
        if self.program is not None and name in self._assigned():
            return None  # the program assigned it: this is a statement too
        if value.startswith("["):
            return name, parse_value(name, value)  # meant as an array: its errors are for it
        try:
            single = parse(value)  # one expression, not statements after the first
            if len(single.statements) == 1 and single.statements[0][0] is None:
                return name, parse_value(name, value)
        except CgcalcError:
            pass
        return None

    def _bind(self, name: str, value: float | list) -> None:
        """Bind ``name``; re-evaluate a program that uses it (and undo if that fails)."""
        missing = object()
        before = self.bindings.get(name, missing)
        self.bindings[name] = value
        program = self.program
        if program is None or program.output < 0 or name not in program.variables:
            return
        try:
            self._print(self._show(program))
        except BaseException:  # an error, or Ctrl-C: the binding is undone
            if before is missing:
                del self.bindings[name]
            else:
                self.bindings[name] = before
            raise

    def _show(self, program: Program):
        """What evaluating ``program`` prints: a Result, or the variables still to bind."""
        unbound = [name for name in program.free_variables() if name not in self.bindings]
        if unbound:
            names = ", ".join(unbound)
            return f"to evaluate it, bind {names} (e.g. {unbound[0]} = 1)"
        return self._evaluate(program)

    def _evaluate(self, program: Program) -> Result:
        from .engine import evaluate

        used = {name: value for name, value in self.bindings.items() if name in program.variables}
        result = evaluate(program, used)
        for warning in result.warnings:
            self.say(f"cgcalc: warning: {warning}", self.err)
        return result

    def _print(self, shown) -> None:
        if shown is None:
            return
        if isinstance(shown, str):
            self.say(shown, self.out)
            return
        from .render.tables import render

        render(shown, self.precision, console=self._console())
        self.say("", self.out)  # a blank line closes a table

    def _assigned(self) -> set[str]:
        return {name for name, _, _ in self.program.statements if name}

    # -- commands ---------------------------------------------------------------------------------

    def _command(self, text: str) -> None:
        command, _, argument = text.partition(" ")
        argument = argument.strip()
        if command not in COMMANDS:
            import difflib

            close = difflib.get_close_matches(command, COMMANDS, n=1)
            hint = f"did you mean {close[0]}? " if close else ""
            raise CommandError(f"unknown command {command}; {hint}(:help lists them)")
        getattr(self, "_" + command[1:])(argument)

    def _help(self, argument: str) -> None:
        self.say(HELP + "\n", self.out)

    def _vars(self, argument: str) -> None:
        from .render import value_text

        lines = [f"{name} = {json.dumps(value) if isinstance(value, list) else value_text(value, self.precision)}"
                 for name, value in self.bindings.items()]
        if self.program is not None:
            lines += [f.definition() for f in self.program.functions.values()]
        self.say("\n".join(lines) or "nothing bound or defined yet; bind with name = number",
                  self.out)

    def _nodes(self, argument: str) -> None:
        from .render.tables import render

        render(self._result(), self.precision, nodes=True, console=self._console())
        self.say("", self.out)

    def _explain(self, argument: str) -> None:
        from .render.explain import explain

        result = self._result()
        if result.arrays:
            raise CgcalcError(":explain shows programs of numbers; this one has arrays")
        self.say("\n".join(explain(result, self.precision)) + "\n", self.out)

    def _graph(self, argument: str) -> None:
        from .cli import format_of
        from .render.picture import Picture
        from .render.tree import render

        picture = Picture(self._result(), (), self.precision)
        if not argument:
            render(picture, file=self.out)
            self.say("", self.out)
            return
        fmt = format_of(argument)
        if fmt == "tree":
            with _open(argument, "w") as file:
                render(picture, file=file)
        else:
            from .render.dot import drawn

            data = drawn(picture, fmt)
            with _open(argument, "wb") as file:
                file.write(data)
        self.say(f"wrote {argument} ({fmt})", self.out)

    def _diff(self, argument: str) -> None:
        """The derivative of the program's value by a variable, as a program (cgcalc diff),
        with its value when every variable is bound."""
        from .differentiate import derivative, value_at
        from .render.derivatives import diff_text
        from .render.source import to_source

        if not argument:
            raise CommandError("write :diff NAME, a variable of the program")
        program = self.program
        if program is None or program.output < 0:
            raise CommandError("there is nothing to differentiate yet: type a statement such as x*y")
        derived = derivative(program, [argument])
        used = {name: value for name, value in self.bindings.items() if name in program.variables}
        value = None
        if all(name in used for name in program.free_variables()):
            value, _ = value_at(program, derived, argument, used)
        top = program.names.get(program.output) or "value"
        self.say(diff_text(to_source(derived), top, [argument], value, self.precision), self.out)

    def _save(self, argument: str) -> None:
        if not argument:
            raise CommandError("write :save FILE")
        if not self.lines:
            raise CommandError("nothing to save yet: the program is empty")
        with _open(argument, "w") as file:
            file.write("\n".join(self.lines) + "\n")
        with _open(argument + ".json", "w") as file:
            file.write(json.dumps(self.bindings) + "\n")
        self.say(f"wrote {argument} and {argument}.json; cgcalc -f {argument} --vars "
                  f"{argument}.json evaluates it again", self.out)

    def _load(self, argument: str) -> None:
        if not argument:
            raise CommandError("write :load FILE")
        text = _read(argument).rstrip("\n")
        bindings = self.bindings
        if os.path.exists(argument + ".json"):
            bindings = load_json_bindings(_read(argument + ".json"), argument + ".json")
        program = parse(text, needs_value=False)
        saved = self.bindings
        self.bindings = bindings
        try:
            shown = self._show(program) if program.output >= 0 else None
        except CgcalcError:
            self.bindings = saved
            raise
        self.lines, self.program = [text], program
        self._print(shown)

    def _reset(self, argument: str) -> None:
        self.lines, self.program, self.bindings = [], None, {}
        self.say("the program and the bindings are gone", self.out)

    def _result(self) -> Result:
        """The program evaluated now, for the commands that show it."""
        if self.program is None or self.program.output < 0:
            raise CommandError("there is nothing to show yet: type a statement such as x*y")
        shown = self._show(self.program)
        if isinstance(shown, str):
            raise UnknownNameError(shown)
        return shown

    # -- output, and what completion offers -------------------------------------------------------

    def _console(self):
        from rich.console import Console

        return Console(file=self.out, highlight=False, emoji=False)  # f:smile:const as written

    def say(self, text: str, stream: TextIO) -> None:
        stream.write(text + "\n")
        stream.flush()

    def names(self) -> list[str]:
        """Names worth completing: variables, assigned names, functions, built-ins."""
        from .ops import CONSTANTS, FUNCTIONS

        names = dict.fromkeys(self.bindings)
        if self.program is not None:
            names.update(dict.fromkeys(self.program.variables))
            names.update(dict.fromkeys(self._assigned()))
            names.update(dict.fromkeys(self.program.functions))
        names.update(dict.fromkeys(FUNCTIONS))
        names.update(dict.fromkeys(CONSTANTS))
        return list(names)


def _read(path: str) -> str:
    try:
        with open(path, encoding="utf-8") as file:
            return file.read()
    except (OSError, UnicodeDecodeError) as error:
        raise CgcalcError(f"cannot read {path}: {getattr(error, 'strerror', None) or error}") \
            from None


def _open(path: str, mode: str):
    try:
        return open(path, mode, **({} if "b" in mode else {"encoding": "utf-8"}))
    except OSError as error:
        raise CgcalcError(f"cannot write {path}: {error.strerror or error}") from None


def _open_brackets(text: str) -> int:
    """How many ( and [ are still open, comments left out."""
    depth = 0
    for line in text.split("\n"):
        code = line.partition("#")[0]
        depth += code.count("(") + code.count("[") - code.count(")") - code.count("]")
    return depth


class _Completer(Completer):
    """Commands after ':', file names after :graph, :save and :load, else names."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.paths = PathCompleter(expanduser=True)

    def get_completions(self, document: Document, complete_event):
        before = document.text_before_cursor
        path = re.fullmatch(r"\s*:(?:graph|save|load)\s+(\S*)", before)
        if path:
            yield from self.paths.get_completions(Document(path[1]), complete_event)
            return
        command = re.fullmatch(r"\s*(:\w*)", before)
        if command:
            word, candidates = command[1], COMMANDS
        else:
            word = re.search(r"[A-Za-z_]\w*$", before)
            if word is None:
                return
            word, candidates = word[0], self.session.names()
        for candidate in candidates:
            if candidate.startswith(word) and candidate != word:
                yield Completion(candidate, start_position=-len(word))


def _keys(session: Session) -> KeyBindings:
    keys = KeyBindings()

    @keys.add("enter")
    def _enter(event) -> None:
        """Enter runs the input, or starts a new line while a bracket is open."""
        buffer = event.current_buffer
        if buffer.complete_state is not None and buffer.complete_state.current_completion:
            buffer.apply_completion(buffer.complete_state.current_completion)
        elif session.wants_more(buffer.text):
            buffer.insert_text("\n")
        else:
            buffer.validate_and_handle()

    return keys


def history_path() -> Path:
    """Where inputs are remembered across sessions: $XDG_STATE_HOME/cgcalc/history,
    by default ~/.local/state/cgcalc/history."""
    state = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"),
                                                                ".local", "state")
    return Path(state) / "cgcalc" / "history"


def _history(err: TextIO):
    path = history_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        path.touch(mode=0o600, exist_ok=True)
        return FileHistory(str(path))
    except OSError as error:
        err.write(f"cgcalc: warning: history is not kept: cannot write {path}: "
                  f"{error.strerror or error}\n")
        return InMemoryHistory()


def run(precision: int = 10, input=None, output=None, out: TextIO | None = None,
        err: TextIO | None = None) -> None:
    """The session, until Ctrl-D. ``input``/``output`` are prompt_toolkit's (tests give a
    pipe input and a dummy output); ``out``/``err`` are where the session writes."""
    out = out or sys.stdout
    err = err or sys.stderr
    session = Session(out, err, precision)
    if input is None and not sys.stdin.isatty():
        stdin = getattr(sys.stdin, "buffer", None)  # None: a stream in memory, already text
        _read_lines(session, sys.stdin if stdin is None else map(decoded, stdin))
        return
    if output is None:  # the terminal itself: the CLI's stdout passes on whole lines only
        from prompt_toolkit.output import create_output

        output = create_output(stdout=sys.__stdout__)
    prompt = PromptSession(history=_history(err), completer=_Completer(session),
                           complete_while_typing=False, key_bindings=_keys(session), multiline=True,
                           prompt_continuation=lambda width, line, wrap: "." * (width - 1) + " ",
                           input=input, output=output)
    session.say(f"cgcalc {__version__}: name = number binds a variable; statements build one "
                "program.\n:help lists the commands; Ctrl-D leaves.", out)
    while True:
        out.flush()
        try:
            text = prompt.prompt(PROMPT)
        except KeyboardInterrupt:  # Ctrl-C: the input is dropped, the session goes on
            continue
        except EOFError:  # Ctrl-D
            break
        try:
            session.handle(text)
        except KeyboardInterrupt:
            session.say("cgcalc: interrupted; the session is as it was", err)


def _read_lines(session: Session, lines: Iterable[str]) -> None:
    """Inputs from a pipe or a file, without prompts: a line each, continued while a
    bracket is open, as Enter does in a terminal."""
    pending = ""
    for line in lines:
        pending += line
        if not session.wants_more(pending):
            session.handle(pending.rstrip("\n"))
            pending = ""
    if pending.strip():
        session.handle(pending.rstrip("\n"))
