"""Every input gets a result or a located error; deep and huge inputs just work."""

import json
import math
import os
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import cgcalc
from cgcalc.errors import printable
from cgcalc.render.source import to_source

POINT = {"x": 0.5, "y": -1.25, "z": 2.0}
FUNCTIONS = ["exp", "log", "sqrt", "sin", "cos", "tan", "tanh", "sigmoid", "relu", "abs"]
FAST = settings(max_examples=300, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow])


def outcome(text, bindings=POINT):
    """The result of parsing and evaluating, or the cgcalc error it gives; nothing else."""
    try:
        return cgcalc.evaluate(cgcalc.parse(text), bindings)
    except cgcalc.CgcalcError as error:
        assert error.exit_code in (1, 2)
        str(error)  # the message renders, caret and all
        return error


# -- arbitrary text ---------------------------------------------------------------------------

@FAST
@given(st.text())
def test_any_text_gives_a_result_or_a_cgcalc_error(text):
    outcome(text)


@FAST
@given(st.text(alphabet="0123456789.eE+-*/^()xyz_ ;\n#,=\tsinlogexpqrtabcdu", max_size=60))
def test_language_like_text_gives_a_result_or_a_cgcalc_error(text):
    outcome(text)


# -- random valid programs ----------------------------------------------------------------------

numbers = st.one_of(
    st.integers(0, 1000).map(str),
    st.floats(0, 1e6, allow_nan=False, allow_infinity=False).map(repr),
    st.sampled_from([".5", "2.", "1e-3", "2.5E+4", "7e0"]),
)


def expressions(names):
    leaves = st.one_of(st.sampled_from(sorted(names | {"x", "y", "z", "pi", "e"})), numbers)

    def extend(inner):
        binary = st.tuples(inner, st.sampled_from(["+", "-", "*", "/", "**", "^"]), inner,
                           st.booleans(), st.sampled_from(["", " "]))
        return st.one_of(
            binary.map(lambda t: ("({}{s}{}{s}{})" if t[3] else "{}{s}{}{s}{}")
                       .format(t[0], t[1], t[2], s=t[4])),
            st.tuples(st.sampled_from(["-", "+", "- "]), inner).map("".join),
            st.tuples(st.sampled_from(FUNCTIONS), inner).map(lambda t: f"{t[0]}({t[1]})"),
            inner.map(lambda t: f"({t})"),
        )

    return st.recursive(leaves, extend, max_leaves=12)


@st.composite
def programs(draw):
    names: set[str] = set()
    statements = []
    for _ in range(draw(st.integers(1, 4))):
        expression = draw(expressions(names))
        if draw(st.booleans()):
            name = draw(st.sampled_from(["a", "b", "x", "price"]))
            statements.append(f"{name} = {expression}")
            names.add(name)
        else:
            statements.append(expression)
    return draw(st.sampled_from(["; ", "\n", " ;\n# note\n"])).join(statements)


def structure(program):
    return (program.ops, program.inputs, program.names, program.variables, program.constants,
            program.output, [(name, node) for name, node, _ in program.statements])


@settings(FAST, max_examples=100)
@given(programs())
def test_programs_round_trip_through_their_printed_source(text):
    program = cgcalc.parse(text)
    printed = to_source(program)
    again = cgcalc.parse(printed)
    assert structure(again) == structure(program)
    assert to_source(again) == printed
    first, second = outcome(text), outcome(printed)
    if isinstance(first, cgcalc.Result):
        assert second.value == first.value and second.gradients == first.gradients
    else:
        assert type(second) is type(first) and second.message == first.message


# -- every error kind, through the command line ---------------------------------------------------

ERRORS = [
    # (arguments, exit code, first line of stderr, caret line or None)
    (["(apple*)"], 2, "syntax error at 1:8: unexpected ')'; expected a number, a name or '('",
     "         ^"),
    ([""], 2, "syntax error at 1:1: empty program; write an expression such as x*y", "  ^"),
    (["x = 1\ny = (x +"], 2,
     "syntax error at 2:9: unexpected end of input; expected a number, a name or '('", "          ^"),
    (["2 $ 3"], 2, "syntax error at 1:3: unexpected character '$'", "    ^"),
    (["1e999"], 2, "syntax error at 1:1: number 1e999 is too large", "  ^"),
    (["sinn(x)", "x=1"], 2, "name error at 1:1: unknown function 'sinn'; did you mean sin?", "  ^"),
    (["log(1, 2)"], 2, "name error at 1:1: log takes 1 argument, got 2", "  ^"),
    (["a*b + c"], 2,
     "name error at 1:1: unbound variables a, b, c; bind them with -v a=VALUE -v b=VALUE -v c=VALUE",
     "  ^"),
    (["x", "-v", "x"], 2, "binding error: 'x' is not a binding; write NAME=VALUE, e.g. x=3", None),
    (["x", "-v", "=3"], 2, "binding error: '=3' is not a binding; write NAME=VALUE, e.g. x=3", None),
    (["x", "-v", "x=abc"], 2, "binding error: x=abc: 'abc' is not a number (a constant expression "
     "such as pi/4 is fine too)", None),
    (["x", "-v", "2x=1"], 2, "binding error: '2x=1': '2x' is not a variable name", None),
    (["x", "--vars", "-"], 2, "binding error at 1:7: stdin: invalid JSON: Expecting value",
     "        ^"),
    (["-f", "/no/such/file"], 2, "error: cannot read /no/such/file: No such file or directory", None),
    (["x", "--precision", "0"], 2, "usage error: Invalid value for '--precision': 0 is not in "
     "the range 1<=x<=17 (see 'cgcalc eval --help')", None),
    (["batch", "x"], 2, "binding error: the CSV input is empty: it needs a header of variable "
     "names", None),
    (["x", "--wrt", "q", "x=1"], 2, "name error: cannot differentiate with respect to q: not a "
     "variable of the program (its variables: x)", None),
    (["log(x)", "x=0"], 1,
     "evaluation error at 1:1: log(0) is undefined (log is defined for x > 0)", "  ^"),
    (["sqrt(x) + 1", "x=-4"], 1, "evaluation error at 1:1: sqrt(-4) is undefined (sqrt is defined "
     "for x >= 0, its derivative for x > 0)", "  ^"),
    (["1 + x/y", "x=1", "y=0"], 1,
     "evaluation error at 1:6: 1 / 0 is undefined (the divisor must not be 0)", "       ^"),
    (["exp(1000)"], 1, "evaluation error at 1:1: exp(1000) overflows", "  ^"),
    (["x*1e308*10", "x=1"], 1, "evaluation error at 1:8: 1e+308 * 10 overflows to inf",
     "         ^"),
    (["0**-1"], 1, "evaluation error at 1:2: 0 ** (-1) is undefined (a negative base needs an "
     "integer exponent, and 0 a non-negative one)", "   ^"),
    (["(-8)**(1/3)"], 1, "evaluation error at 1:5: (-8) ** 0.3333333333 is undefined (a negative "
     "base needs an integer exponent, and 0 a non-negative one)", "      ^"),
    (["x", "--vars", "-"], 1, "evaluation error at 1:1: x is bound to inf, not a finite number",
     "  ^"),
    (["2*x", "x=nan"], 1, "evaluation error at 1:3: x is bound to nan, not a finite number",
     "    ^"),
    (["sqrt(x)", "x=0"], 1, "evaluation error at 1:1: the derivative of sqrt(0) is undefined "
     "(sqrt is defined for x >= 0, its derivative for x > 0)", "  ^"),
    (["(-2)**x", "x=2"], 1, "evaluation error at 1:5: the derivative of (-2) ** 2 is undefined (a "
     "negative base needs an integer exponent, and 0 a non-negative one)", "      ^"),
]


@pytest.mark.parametrize("args, code, message, caret", ERRORS, ids=[e[2][:40] for e in ERRORS])
def test_every_error_kind(run, args, code, message, caret):
    stdin = {2: '{"x": }', 1: '{"x": 1' + "0" * 400 + "}"}
    result = run(*args, input=stdin[code] if "--vars" in args else None)
    assert (result.exit_code, result.stdout) == (code, "")
    lines = result.stderr.splitlines()
    assert lines[0] == f"cgcalc: {message}"
    if caret is None:
        assert len(lines) == 1
    else:
        assert len(lines) == 3 and lines[2] == caret


def test_long_lines_are_shown_around_the_error(run):
    text = " + ".join(f"x{i}" for i in range(2000)) + " + log(y)"
    result = run(text, "y=-1", *(f"x{i}=1" for i in range(2000)))
    assert result.exit_code == 1
    _, source, caret = result.stderr.splitlines()
    assert source.startswith("  …") and source.endswith("log(y)")
    assert len(source) < 90 and source[caret.index("^")] == "l"


def test_internal_errors_are_one_line_with_their_own_code(run, monkeypatch):
    import cgcalc.engine

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(cgcalc.engine, "_forward", broken)
    result = run("x", "x=1")
    assert (result.exit_code, result.stdout) == (3, "")
    assert re.fullmatch(r"cgcalc: internal error: RuntimeError: boom \(at test_reliability\.py:\d+\); "
                        r"please report it, and run with CGCALC_DEBUG=1 for the traceback\n",
                        result.stderr)
    debug = run("x", "x=1", env={"CGCALC_DEBUG": "1"})
    assert isinstance(debug.exception, RuntimeError)


def test_no_eval_or_exec_in_the_package():
    package = Path(cgcalc.__file__).parent
    for path in package.rglob("*.py"):
        code = path.read_text()
        assert not re.search(r"(?<![\w.])(eval|exec)\(", code), path


# -- deep and huge inputs, through the command line -----------------------------------------------

DEEP = {
    "100,000 nested parentheses": ("(" * 100_000 + "x" + ")" * 100_000, 0.5, 1.0),
    "100,000 unary minuses": ("-" * 100_000 + "x", 0.5, 1.0),
    "50,000 nested calls": ("sin(" * 50_000 + "x" + ")" * 50_000, None, None),
    "a chain of 100,000 additions": (" + ".join(["x"] * 100_000), 50_000.0, 100_000.0),
}


def nested_sin(x, depth=50_000):
    grad = 1.0
    for _ in range(depth):
        grad *= math.cos(x)
        x = math.sin(x)
    return x, grad


@pytest.mark.parametrize("name", DEEP)
def test_deep_inputs_through_the_cli(run, name):
    text, value, grad = DEEP[name]
    if value is None:
        value, grad = nested_sin(0.5)
    result = run("-f", "-", "x=0.5", "--json", input=text)
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["value"] == pytest.approx(value, rel=1e-12)
    assert doc["gradients"]["x"] == pytest.approx(grad, rel=1e-9)


def test_deep_graph_nodes_json_table_and_source(run):
    text = "-" * 100_000 + "x"
    doc = json.loads(run("-f", "-", "x=2", "--json", "--nodes", input=text).stdout)
    assert len(doc["nodes"]) == 100_001
    assert doc["nodes"][-1] == {"id": 100_000, "op": "neg", "name": None, "inputs": [99_999],
                                "value": 2.0, "grad": 1.0, "local": [-1.0]}
    table = run("-f", "-", "x=2", "--nodes", input=text).stdout.splitlines()
    assert len(table) == 6 + 1 + 100_001  # value, variables, blank, title, header, nodes
    assert table[-1].split() == ["100000", "value", "neg", "neg₉₉₉₉₉", "2", "-1", "1"]
    assert to_source(cgcalc.parse(text)) == text


def test_many_variables_are_summarised_unless_nodes(run):
    text = " + ".join(f"x{i}" for i in range(100))
    bindings = [f"x{i}={i}" for i in range(100)]
    short = run(text, *bindings).stdout.splitlines()
    assert short[-1] == "… and 60 more variables of 199 nodes (--nodes or --json lists them all)"
    assert len(short) == 2 + 1 + 40 + 1
    full = run(text, *bindings, "--nodes").stdout
    assert "x99" in full.split("nodes in forward order")[0]


def test_output_closed_early_exits_141_quietly():
    import subprocess
    import sys

    exe = Path(sys.executable).with_name("cgcalc")
    process = subprocess.Popen([str(exe), "-f", "-", "x=2", "--nodes"], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    process.stdin.write(("-" * 50_000 + "x").encode())
    process.stdin.close()
    assert process.stdout.readline() == b"value = 2\n"
    process.stdout.close()
    assert process.wait(timeout=60) == 141
    assert process.stderr.read() == b""


# -- text that would drive the terminal ------------------------------------------------------------

CONTROLS = "".join(map(chr, range(32))) + "\x7f\x80\x85\x9b\x9f"
SHOWN = re.compile("[\x00-\x1f\x7f-\x9f]")


def test_control_characters_are_shown_escaped_in_errors_and_source_lines(run):
    result = run("\x1b]0;pwned\x07 x")  # would set the terminal's title
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == ("cgcalc: syntax error at 1:1: unexpected character '\\x1b'\n"
                             "  \\x1b]0;pwned\\x07 x\n"
                             "  ^\n")


def test_the_caret_stays_under_the_escaped_text(run):
    result = run("x\r\f + y $")  # a carriage return and a form feed are white space
    assert result.stderr.splitlines() == ["cgcalc: syntax error at 1:9: unexpected character '$'",
                                          "  x\\r\\x0c + y $",
                                          "              ^"]


@pytest.mark.parametrize("args, message", [
    (["x", "-v", "x=\x1b[31mred"], "binding error: x=\\x1b[31mred: '\\x1b[31mred' is not a number "
     "(a constant expression such as pi/4 is fine too)"),
    (["x", "--vars", "/no/\x1b[2J\nfile"], "error: cannot read /no/\\x1b[2J\\nfile: No such file or "
     "directory"),
    (["x", "x=1", "--wrt", "\x1b[2J"], "name error: cannot differentiate with respect to "
     "\\x1b[2J: not a variable of the program (its variables: x)"),
])
def test_user_text_in_one_line_messages_is_escaped(run, args, message):
    result = run(*args)
    assert (result.exit_code, result.stderr) == (2, f"cgcalc: {message}\n")


@FAST
@given(st.text(alphabet="xy+*() $1." + CONTROLS, max_size=30))
def test_no_error_message_carries_a_control_character(text):
    error = outcome(text)
    if not isinstance(error, cgcalc.CgcalcError):
        return
    lines = str(error).split("\n")
    assert not any(SHOWN.search(line) for line in lines)
    if error.pos is not None and error.pos < len(text) and text[error.pos] not in "\t\r\n":
        assert len(lines) == 3
        source, caret = lines[1], lines[2].index("^")
        assert source[caret:].startswith(printable(text[error.pos]))


# -- bindings at the edge -------------------------------------------------------------------------

def nested(depth, inner="1"):
    return "[" * depth + inner + "]" * depth


@pytest.mark.parametrize("args, stdin, message", [
    (["x", "-v", "x=" + nested(1000)], None,
     "binding error at 1:65: x: an array nested more than 64 deep; arrays have at most 64 "
     "dimensions"),
    (["x", "-v", "x=" + nested(65)], None,
     "binding error at 1:65: x: an array nested more than 64 deep; arrays have at most 64 "
     "dimensions"),
    (["x", "--vars", "-"], '{"x": ' + nested(100_000) + "}",
     "binding error at 1:71: stdin: an array nested more than 64 deep; arrays have at most 64 "
     "dimensions"),
    (["x", "--vars", "-"], '{"x": [1, ' + "7" * 5000 + "]}",
     "binding error at 1:11: stdin: an integer of more than 4,300 digits is too large"),
    (["x", "-v", "x=1_000"], None,
     "binding error: x=1_000: '1_000' is not a number (a constant expression such as pi/4 is "
     "fine too)"),
])
def test_bindings_at_the_edge_are_binding_errors(run, args, stdin, message):
    result = run(*args, input=stdin)
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr.splitlines()[0] == f"cgcalc: {message}"


def test_arrays_of_64_dimensions_work_and_deeper_lists_are_refused_without_recursion():
    shape = cgcalc.evaluate(cgcalc.parse("x*2"), {"x": json.loads(nested(64))}).values[-1].shape
    assert shape == (1,) * 64
    deep = 1.0
    for _ in range(100_000):
        deep = [deep]
    with pytest.raises(cgcalc.BindingError, match="^binding error: x is nested more than 64 deep; "
                                                  "arrays have at most 64 dimensions$"):
        cgcalc.evaluate(cgcalc.parse("x"), {"x": deep})


@pytest.mark.parametrize("value", ["1_000", "1__0", "１", "٣", "1e5", ".5", "3.", "-2", "0x10",
                                   " 7 ", "1e-3"])
def test_a_binding_is_a_number_exactly_when_the_language_reads_one(run, value):
    """Python's float() also reads 1_000 and digits of other scripts; a binding follows the
    grammar's NUMBER (signed), or else is a constant expression of the language."""
    try:
        expected = cgcalc.evaluate(cgcalc.parse(value)).value
    except cgcalc.CgcalcError:
        expected = None
    result = run("x", f"x={value}", "--json")
    assert result.exit_code == (0 if expected is not None else 2)
    if expected is not None:
        assert json.loads(result.stdout)["value"] == expected


@pytest.mark.parametrize("args, message", [
    (["x", "-v", "x=log(0)"], ["cgcalc: evaluation error at 1:1: x=log(0): log(0) is undefined "
                               "(log is defined for x > 0)", "  log(0)", "  ^"]),
    (["x", "-v", "x=exp(1000)"], ["cgcalc: evaluation error at 1:1: x=exp(1000): exp(1000) "
                                  "overflows", "  exp(1000)", "  ^"]),
    (["x", "x=1/0", "--exact"], ["cgcalc: evaluation error at 1:2: x=1/0: 1 / 0 is undefined (the "
                                 "divisor must not be 0)", "  1/0", "   ^"]),
    (["x", "x=1", "--upstream", "sqrt(-1)"], [
        "cgcalc: evaluation error at 1:1: --upstream=sqrt(-1): sqrt(-1) is undefined (sqrt is "
        "defined for x >= 0, its derivative for x > 0)", "  sqrt(-1)", "  ^"]),
])
def test_a_constant_expression_without_a_value_says_why(run, args, message):
    """A binding's constant expression that is undefined was called 'not a number (a constant
    expression such as pi/4 is fine too)', exit 2; it is an evaluation error (exit 1, as for
    x=1e400), placed in the binding's text."""
    result = run(*args)
    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr.splitlines() == message


# -- what people save, and stdin ------------------------------------------------------------------

BOM = "\ufeff"


def test_a_byte_order_mark_is_skipped_in_programs_and_bindings(run, tmp_path):
    program, point = tmp_path / "p.cg", tmp_path / "point.json"
    program.write_text(BOM + "x*y\n", encoding="utf-8")
    point.write_text(BOM + '{"y": 4}', encoding="utf-8")
    expected = '{"value": 12.0, "gradients": {"x": 4.0, "y": 3.0}}\n'
    assert run("-f", str(program), "--vars", str(point), "x=3", "--json").stdout == expected
    assert run("-f", "-", "--vars", str(point), "x=3", "--json", input=BOM + "x*y").stdout == expected
    assert run("x*y", "--vars", "-", "x=3", "--json", input=BOM + '{"y": 4}').stdout == expected


@pytest.mark.parametrize("args", [["-f", "-", "--vars", "-"], ["x", "--vars", "-", "--vars", "-"]])
def test_stdin_cannot_be_read_twice(run, args):
    result = run(*args, input='{"x": 1}')
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == ("cgcalc: usage error: stdin cannot be read twice: only one of -f and "
                             "--vars may be '-' (see 'cgcalc eval --help')\n")


@pytest.mark.parametrize("where", ["file", "stdin"])
def test_a_byte_that_is_not_utf_8_is_pointed_at(tmp_path, where):
    """Before, a file said "cannot read F: 'utf-8' codec can't decode byte 0xff in position
    4: invalid start byte", and stdin the same or, read leniently, "unexpected character
    '\\udcff'"."""
    import subprocess
    import sys

    path = tmp_path / "prog.txt"
    path.write_bytes(b"x = 2\ny*\xff\n")
    args = ["-f", str(path)] if where == "file" else ["-f", "-"]
    done = subprocess.run([str(Path(sys.executable).with_name("cgcalc")), *args, "y=1"],
                          input=path.read_bytes(), capture_output=True,
                          env={**os.environ, "PYTHONIOENCODING": "utf-8"})
    assert (done.returncode, done.stdout, done.stderr.decode().splitlines()) == (2, b"", [
        "cgcalc: syntax error at 2:3: the byte \\xff is not UTF-8 (programs are read as UTF-8)",
        "  y*\\xff", "    ^"])
