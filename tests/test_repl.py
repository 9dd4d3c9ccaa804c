"""cgcalc repl: driven in-process through prompt_toolkit's pipe input, and once in a real
terminal (tmux) typing the book's apple example line by line."""

import io
import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from prompt_toolkit.document import Document
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput

from cgcalc import repl

CGCALC = str(Path(sys.executable).with_name("cgcalc"))

ENTER, CTRL_C, CTRL_D, UP = "\r", "\x03", "\x04", "\x1b[A"

APPLE_LINES = ["apple = 100", "apple_num = 2", "tax = 1.1", "apple_price = apple*apple_num",
               "price = apple_price*tax"]
APPLE_PRICE = """\
apple_price = 200

variable   value  ∂apple_price/∂variable
apple        100                       2
apple_num      2                     100

"""
PRICE = """\
price = 220

variable   value  ∂price/∂variable
apple        100               2.2
apple_num      2               110
tax          1.1               200

"""
BANNER = ("cgcalc 0.1.0: name = number binds a variable; statements build one program.\n"
          ":help lists the commands; Ctrl-D leaves.\n")


@pytest.fixture(autouse=True)
def state_home(tmp_path, monkeypatch):
    """History goes to a directory of the test's own, never to the user's."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    return tmp_path / "state"


def session(*inputs: str) -> tuple[str, str]:
    """Type ``inputs`` (each ended by Enter unless it ends with a control key) into a session
    on prompt_toolkit's pipe input, then Ctrl-C (so that an input left open cannot keep the
    session waiting) and Ctrl-D; what it wrote to stdout and stderr."""
    out, err = io.StringIO(), io.StringIO()
    with create_pipe_input() as keys:
        for text in inputs:
            keys.send_text(text if text[-1:] in (CTRL_C, ENTER) else text + ENTER)
        keys.send_text(CTRL_C + CTRL_D)
        repl.run(input=keys, output=DummyOutput(), out=out, err=err)
    assert out.getvalue().startswith(BANNER)
    return out.getvalue()[len(BANNER):], err.getvalue()


def test_the_books_apple_example_typed_line_by_line():
    out, err = session(*APPLE_LINES)
    assert out == APPLE_PRICE + PRICE
    assert err == ""


def test_binding_again_reevaluates_and_bindings_of_unused_names_say_nothing():
    out, err = session(*APPLE_LINES, "apple = 150", "orange = 3")
    assert out == APPLE_PRICE + PRICE + """\
price = 330

variable   value  ∂price/∂variable
apple        150               2.2
apple_num      2               165
tax          1.1               300

"""
    assert err == ""


def test_statements_before_their_bindings_are_kept_and_say_what_to_bind():
    out, err = session("price = apple*apple_num*tax", "apple = 100", "apple_num = 2",
                       "tax = 1.1")
    assert out.splitlines()[:2] == [
        "to evaluate it, bind apple, apple_num, tax (e.g. apple = 1)",
        "to evaluate it, bind apple_num, tax (e.g. apple_num = 1)"]
    assert out.splitlines()[3:] == ["price = 220", "", "variable   value  ∂price/∂variable",
                                    "apple        100               2.2",
                                    "apple_num      2               110",
                                    "tax          1.1               200", ""]
    assert err == ""


def test_an_error_prints_as_on_the_command_line_and_the_session_goes_on():
    out, err = session("apple = 100", "apple*)", "y = apple/zero", "zero = 0", "zero = 4")
    # y = apple/zero waits for zero; binding zero to 0 makes it fail (at its place in the
    # program, whose first line it is), so the binding is undone
    assert err == ("cgcalc: syntax error at 1:7: unexpected ')'; expected a number, a name or '('\n"
                   "  apple*)\n        ^\n"
                   "cgcalc: evaluation error at 1:10: 100 / 0 is undefined (the divisor must not "
                   "be 0)\n  y = apple/zero\n           ^\n")
    assert out.splitlines()[:3] == ["to evaluate it, bind zero (e.g. zero = 1)", "y = 25", ""]


def test_a_binding_that_breaks_the_program_is_undone():
    out, err = session("x = 2", "y = 1/x", "x = 0", ":vars")
    assert err == ("cgcalc: evaluation error at 1:6: 1 / 0 is undefined (the divisor must not be 0)"
                   "\n  y = 1/x\n       ^\n")
    assert out.endswith("x = 2\n")


def test_the_caret_points_into_the_input_even_late_in_the_session():
    _, err = session(*APPLE_LINES, "price2 = price*tax)")
    assert err == ("cgcalc: syntax error at 1:19: unexpected ')'; expected '+', '-', ';', a new "
                   "line or the end of the input\n  price2 = price*tax)\n                    ^\n")


def test_multi_line_input_while_brackets_are_open():
    out, err = session("a = 2", "y = (a +\r3)*a", "v = [[1, 2],\r[3, 4]]", "sum(v*a)")
    assert out.splitlines()[:6] == ["y = 10", "", "variable  value  ∂y/∂variable",
                                    "a             2             7", "", "value = 20"]
    assert err == ""


def test_an_open_bracket_does_not_hide_an_error_before_it_ends():
    """As at Python's prompt: Enter runs an input that is already wrong, though a bracket
    is open. Before, the input went on to the end of the session, and every line after the
    error was lost with it."""
    out, err = session("x = 3", "(", "x y", "x*2")
    assert err.splitlines()[0] == ("cgcalc: syntax error at 2:3: unexpected 'y'; expected '(', "
                                   "an operator, ')', ',', ';', a new line or the end of the input")
    assert out.splitlines()[0] == "value = 6"


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8:surrogateescape"])
def test_piped_lines_are_read_as_utf_8_whatever_stdin_s_encoding(encoding):
    """Piped lines: a byte-order mark is dropped, a byte that is not UTF-8 is pointed at,
    and the lines after a wrong input held open by a bracket are inputs again. Before, the
    mark was an unexpected character '\\ufeff', the byte stopped the session with an
    internal error (exit 3) when Python read stdin strictly, and everything after the open
    bracket was lost."""
    run = subprocess.run([CGCALC, "repl"], input=b"\xef\xbb\xbfx = 3\n(\n\xff\nx*2\n",
                         capture_output=True, env={**os.environ, "PYTHONIOENCODING": encoding})
    assert run.stderr.decode().splitlines() == [
        "cgcalc: syntax error at 2:1: the byte \\xff is not UTF-8 (programs are read as UTF-8)",
        "  \\xff", "  ^"]
    assert run.stdout.decode().splitlines()[0] == "value = 6"
    assert run.returncode == 0


def test_ctrl_c_cancels_the_input_and_ctrl_d_leaves(state_home):
    out, err = session("x = 3", "x*(1 +" + ENTER + "2" + CTRL_C, "x*2")
    assert out == "value = 6\n\nvariable  value  ∂value/∂variable\nx             3                 2\n\n"
    assert err == ""
    history = (state_home / "cgcalc" / "history").read_text()
    assert "+x*2\n" in history and "(1 +" not in history


def test_history_is_kept_across_sessions_in_the_state_directory(state_home):
    session("x = 4", "x**2")
    session("y = (x +\r1)")
    history = state_home / "cgcalc" / "history"
    assert oct(history.parent.stat().st_mode & 0o777) == "0o700"
    # what the next session's Up arrow goes through, newest first
    assert list(repl._history(io.StringIO()).load_history_strings()) == [
        "y = (x +\n1)", "x**2", "x = 4"]


def test_without_a_writable_state_directory_the_session_goes_on_without_history(state_home):
    state_home.write_text("a file where the directory should be")
    err = io.StringIO()
    history = repl._history(err)
    assert type(history).__name__ == "InMemoryHistory"
    assert err.getvalue() == (f"cgcalc: warning: history is not kept: cannot write "
                              f"{state_home}/cgcalc/history: Not a directory\n")


def test_functions_in_a_session():
    out, err = session("softplus(x) = log(1 + exp(x))", "a = 0", "y = softplus(a)", ":vars",
                       ":nodes")
    assert out.splitlines()[:5] == ["y = 0.6931471806", "", "variable  value  ∂y/∂variable",
                                    "a             0           0.5", ""]
    assert "a = 0\nsoftplus(x) = log(1 + exp(x))\n" in out
    node = next(line.split() for line in out.splitlines() if line.split()[:1] == ["4"])
    assert "softplus:log" in node and node[-3:] == ["0.6931471806", "0.5", "1"]
    assert err == ""


def test_explain_and_graph(tmp_path):
    svg = tmp_path / "g.dot"
    out, err = session(*APPLE_LINES, ":explain", ":graph", f":graph {svg}")
    out = out[len(APPLE_PRICE + PRICE):]
    assert out.startswith("The reverse pass, from price back to the variables")
    assert "  ∂price/∂tax = ∂price/∂price · apple_price = 1 · 200 = 200\n" in out
    assert "× price = 220  ∂ 1\n├── × apple_price = 200  ∂ 1.1\n" in out
    assert out.endswith(f"wrote {svg} (dot)\n")
    assert svg.read_text().startswith("digraph cgcalc {")
    assert err == ""


def test_save_and_load_make_a_file_that_cgcalc_f_reads(tmp_path, run):
    path = tmp_path / "shop.cg"
    out, err = session(*APPLE_LINES, "softplus(x) = log(1 + exp(x))", f":save {path}")
    assert out.endswith(f"wrote {path} and {path}.json; cgcalc -f {path} --vars {path}.json "
                        "evaluates it again\n")
    assert path.read_text() == "\n".join(APPLE_LINES[3:]) + "\nsoftplus(x) = log(1 + exp(x))\n"
    assert json.loads(Path(f"{path}.json").read_text()) == {"apple": 100, "apple_num": 2,
                                                            "tax": 1.1}
    result = run("-f", str(path), "--vars", f"{path}.json")
    assert result.stdout == PRICE[:-1]
    out, err = session(":reset", f":load {path}", "price*2")
    assert out.startswith("the program and the bindings are gone\n" + PRICE)
    assert "value = 440" in out and err == ""


def test_commands_that_cannot_run_say_why():
    out, err = session(":nodes", ":vars", ":help", ":diff x", ":frobnicate", ":save",
                       "x = [1, 2,]", "y = [1, 2]", "sum(y)", ":explain")
    assert "Commands:\n  :vars" in out
    assert "nothing bound or defined yet; bind with name = number\n" in out
    assert err.splitlines() == [
        "cgcalc: usage error: there is nothing to show yet: type a statement such as x*y",
        "cgcalc: usage error: there is nothing to differentiate yet: type a statement such as x*y",
        "cgcalc: usage error: unknown command :frobnicate; (:help lists them)",
        "cgcalc: usage error: write :save FILE",
        "cgcalc: binding error at 1:7: x=[1, 2,]: not a JSON array of numbers: Expecting value",
        "  [1, 2,]", "        ^",
        "cgcalc: error: :explain shows programs of numbers; this one has arrays"]


def test_completion_of_names_commands_and_files(tmp_path):
    session_ = repl.Session(io.StringIO(), io.StringIO())
    for text in ("apple = 100", "apple_price = apple*2", "softplus(x) = log(1 + exp(x))"):
        session_.handle(text)
    completer = repl._Completer(session_)

    def complete(text):
        return [c.text for c in completer.get_completions(Document(text), None)]

    assert complete("y = app") == ["apple", "apple_price"]
    assert complete("soft") == ["softplus", "softmax", "softmax_cross_entropy"]
    assert complete(":s") == [":save"]
    (tmp_path / "model.cg").write_text("x")
    assert complete(f":load {tmp_path}/mo") == ["del.cg"]


def test_piped_lines_are_inputs_too(run):
    result = run("repl", input="\n".join(APPLE_LINES) + "\n")
    assert result.stdout == APPLE_PRICE + PRICE
    assert result.exit_code == 0


def test_bare_cgcalc_without_a_terminal_reads_the_program_and_a_scalar_run_loads_no_prompt_toolkit():
    exe = Path(sys.executable).with_name("cgcalc")
    done = subprocess.run([str(exe)], capture_output=True, text=True, input="x = 3\nx*2\n")
    assert (done.returncode, done.stdout) == (0, "value = 6\n")
    done = subprocess.run([str(exe)], capture_output=True, text=True, stdin=subprocess.DEVNULL)
    assert done.returncode == 2 and done.stderr.startswith("cgcalc: syntax error at 1:1: empty program")
    code = ("import sys\nfrom cgcalc.cli import main\nsys.argv = ['cgcalc', 'x*y', 'x=1', 'y=2']\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            "print('prompt_toolkit' in sys.modules, 'cgcalc.repl' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.stdout.splitlines()[-1] == "False False"


# -- a real terminal -------------------------------------------------------------------------------

@pytest.fixture
def tmux(state_home):
    """A tmux server of the test's own (its own socket), running bare cgcalc in a 100x50
    terminal; yields a function that types a line and one that reads the screen."""
    if shutil.which("tmux") is None:
        if os.environ.get("CI"):
            pytest.fail("CI must have tmux (.ci/run installs it)")
        pytest.skip("tmux is not installed")
    socket = f"cgcalc-test-{uuid.uuid4().hex[:8]}"
    exe = Path(sys.executable).with_name("cgcalc")
    tmux = ["tmux", "-L", socket]
    env = {**os.environ, "XDG_STATE_HOME": str(state_home)}
    subprocess.run([*tmux, "new-session", "-d", "-x", "100", "-y", "50", "-s", "repl",
                    f"env XDG_STATE_HOME={state_home} {exe}"], check=True, env=env)

    def screen() -> str:
        return subprocess.run([*tmux, "capture-pane", "-p", "-t", "repl"], capture_output=True,
                              text=True, check=True).stdout

    def wait_for(text: str) -> str:
        deadline = time.monotonic() + 30  # only how long to wait before failing
        while text not in screen():
            if time.monotonic() > deadline:
                pytest.fail(f"{text!r} never appeared; the screen:\n{screen()}")
            time.sleep(0.05)
        return screen()

    def type_line(*keys: str) -> None:
        subprocess.run([*tmux, "send-keys", "-t", "repl", *keys], check=True)

    try:
        yield type_line, wait_for
    finally:
        subprocess.run([*tmux, "kill-server"], capture_output=True)


def test_a_real_terminal_types_the_apple_example_line_by_line(tmux):
    type_line, wait_for = tmux
    wait_for("Ctrl-D leaves.")
    for line in APPLE_LINES[:3]:
        type_line(line, "Enter")
        wait_for(f"cgcalc> {line}\ncgcalc>")  # the screen's lines come without trailing blanks
    type_line("apple_price = apple*apple_n", "Tab")  # completes apple_num
    wait_for("cgcalc> apple_price = apple*apple_num")
    type_line("Enter")
    wait_for("apple_num      2                     100")
    type_line("price = (apple_price", "Enter")  # a bracket is open: the input goes on
    wait_for(".......")
    type_line("*tax)", "Enter")
    screen = wait_for("tax          1.1               200")
    assert screen.rstrip("\n").split("cgcalc> ")[1:] == [
        "apple = 100\n", "apple_num = 2\n", "tax = 1.1\n",
        "apple_price = apple*apple_num\n" + APPLE_PRICE,
        "price = (apple_price\n....... *tax)\n" + PRICE + "cgcalc>"]
    type_line("C-d")


def test_the_readmes_session_transcript_is_what_the_session_prints():
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    transcript = readme.split("## An interactive session")[1].split("```text\n")[1].split("```")[0]
    assert transcript.startswith(BANNER)
    turns = [turn.partition("\n") for turn in transcript[len(BANNER):].split("cgcalc> ")[1:]]
    out, err = session(*(line for line, _, _ in turns))
    printed = [shown for _, _, shown in turns]
    assert out == "".join(shown for shown in printed if not shown.startswith("cgcalc: "))
    assert err == "".join(shown for shown in printed if shown.startswith("cgcalc: "))


def test_diff_prints_the_derivative_as_a_program_and_its_value():
    out, err = session("apple = 100", "apple_num = 2", "tax = 1.1", "price = apple*apple_num*tax",
                       ":diff apple", ":diff nothing")
    assert out.endswith("apple_num*tax\n# ∂price/∂apple = 2.2\n")
    assert err.splitlines() == [
        "cgcalc: name error: cannot differentiate with respect to nothing: not a variable of the "
        "program (its variables: apple, apple_num, tax)"]


def test_node_names_are_shown_as_written_not_as_emoji():
    """A node of smile called in f is f:smile:const; Rich's emoji codes made it f😄const."""
    out, _ = session("smile(x) = x + 1", "f(x) = smile(x)*2", "y = 1", "f(y)", ":nodes")
    assert "f:smile:const" in out and "😄" not in out


def test_graph_into_a_file_whose_suffix_names_no_format_is_refused(tmp_path):
    """As on the command line; before, the session wrote DOT into f.xyz."""
    out, err = session("x = 1", "x*2", f":graph {tmp_path / 'f.xyz'}")
    assert err == (f"cgcalc: error: cannot tell the format of {tmp_path / 'f.xyz'} from its suffix "
                   ".xyz; use one of .dot .gv .mmd .txt .svg .png .pdf .jpg .jpeg .gif .ps .eps\n")
    assert not (tmp_path / "f.xyz").exists()
