"""The command line, in-process through click's CliRunner and once as the installed command."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import cgcalc
from conftest import APPLE_ORANGE_EXPR

APPLE_ORANGE_ARGS = [APPLE_ORANGE_EXPR, "-v", "apple=100", "-v", "apple_num=2", "-v", "orange=150",
                     "-v", "orange_num=3", "-v", "tax=1.1"]

APPLE_ORANGE_TABLE = """\
value = 715

variable    value  ∂value/∂variable
apple         100               2.2
apple_num       2               110
orange        150               3.3
orange_num      3               165
tax           1.1               650
"""

APPLE_ORANGE_JSON = {"value": 715.0000000000001,
                     "gradients": {"apple": 2.2, "apple_num": 110.00000000000001,
                                   "orange": 3.3000000000000003, "orange_num": 165.0, "tax": 650.0}}


def test_apple_orange_table(run):
    result = run(*APPLE_ORANGE_ARGS)
    assert result.exit_code == 0, result.output
    assert result.stdout == APPLE_ORANGE_TABLE
    assert result.stderr == ""


def test_apple_orange_json_keeps_every_digit(run):
    result = run(*APPLE_ORANGE_ARGS, "--json")
    assert result.exit_code == 0
    assert json.loads(result.stdout) == APPLE_ORANGE_JSON
    assert result.stdout.strip() == json.dumps(APPLE_ORANGE_JSON)


def test_eval_subcommand_is_the_default(run):
    assert run("eval", *APPLE_ORANGE_ARGS).stdout == APPLE_ORANGE_TABLE


def test_options_may_come_first(run):
    result = run("--json", "--wrt", "tax", *APPLE_ORANGE_ARGS)
    assert json.loads(result.stdout) == {"value": 715.0000000000001, "gradients": {"tax": 650.0}}


def test_nodes_table_names_the_books_nodes(run):
    result = run("apple_price = apple*apple_num; price = apple_price*tax",
                 "apple=100", "apple_num=2", "tax=1.1", "--nodes")
    assert result.exit_code == 0
    assert result.stdout.splitlines()[7:] == [
        "nodes in forward order",
        "id  name         op   inputs            value   local ∂  gradient",
        " 0  apple        var                      100                 2.2",
        " 1  apple_num    var                        2                 110",
        " 2  apple_price  mul  apple, apple_num    200    2, 100       1.1",
        " 3  tax          var                      1.1                 200",
        " 4  price        mul  apple_price, tax    220  1.1, 200         1",
    ]
    assert result.stdout.startswith("price = 220\n")


def test_nodes_json(run):
    result = run("x*y + 2", "x=3", "y=4", "--json", "--nodes")
    doc = json.loads(result.stdout)
    assert doc["nodes"] == [
        {"id": 0, "op": "var", "name": "x", "inputs": [], "value": 3.0, "grad": 4.0, "local": None},
        {"id": 1, "op": "var", "name": "y", "inputs": [], "value": 4.0, "grad": 3.0, "local": None},
        {"id": 2, "op": "mul", "name": None, "inputs": [0, 1], "value": 12.0, "grad": 1.0,
         "local": [4.0, 3.0]},
        {"id": 3, "op": "const", "name": None, "inputs": [], "value": 2.0, "grad": 1.0, "local": None},
        {"id": 4, "op": "add", "name": None, "inputs": [2, 3], "value": 14.0, "grad": 1.0,
         "local": [1.0, 1.0]},
    ]


def test_each_input_has_its_own_local_derivative(run):
    """Only d(a**2)/d2 is undefined at a < 0 (log of a negative base); d/da is still -1."""
    doc = json.loads(run("(x-1)**2", "x=0.5", "--nodes", "--json").stdout)
    assert [node["local"] for node in doc["nodes"]] == [None, None, [1.0, -1.0], None, [-1.0, None]]
    pow_row = run("(x-1)**2", "x=0.5", "--nodes").stdout.splitlines()[-1].split()
    assert pow_row[-4:] == ["0.25", "-1,", "undefined", "1"]
    assert cgcalc.evaluate(cgcalc.parse("sqrt(x)*0"), {"x": 0}).nodes[1].local == (None,)


@pytest.mark.parametrize("args", [
    ["-x**2", "-v", "x=3"],
    ["-v", "x=3", "-x**2"],
    ["--json", "-x**2", "x=3"],
    ["eval", "-x**2", "x=3"],
    ["--json", "--", "-x**2", "x=3"],
    ["-vx=3", "-x**2"],
])
def test_expression_may_begin_with_a_minus(run, args):
    result = run(*args, "--json") if "--json" not in args else run(*args)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"value": -9.0, "gradients": {"x": -6.0}}


def test_attached_binding_with_operators_is_still_a_binding(run):
    result = run("-x*2", "-vx=[1, 2]", "--json")
    assert json.loads(result.stdout)["gradients"] == {"x": [-2.0, -2.0]}
    assert json.loads(run("-vx=3*2", "x", "--json").stdout)["value"] == 6.0


def test_dash_expression_that_looks_like_an_option_prefix(run):
    result = run("-value*2", "value=3", "--json")
    assert json.loads(result.stdout) == {"value": -6.0, "gradients": {"value": -2.0}}


def test_bindings_later_win_vars_then_words_then_options(run, tmp_path):
    point = tmp_path / "point.json"
    point.write_text('{"x": 1, "y": 1, "z": 1}')
    result = run("x + 10*y + 100*z", "--vars", str(point), "y=2", "z=2", "-v", "z=3", "--json")
    assert json.loads(result.stdout)["value"] == 321.0


def test_vars_from_stdin_and_constant_expressions(run):
    result = run("x*y", "--vars", "-", "y=pi/4", "--json", input='{"x": 2}')
    assert json.loads(result.stdout)["value"] == 2 * (3.141592653589793 / 4)


def test_program_from_file_and_stdin(run, tmp_path):
    program = tmp_path / "shop.cg"
    program.write_text("apple_price = apple*apple_num\nprice = apple_price*tax\n")
    from_file = run("-f", str(program), "apple=100", "apple_num=2", "tax=1.1", "--json")
    from_stdin = run("-f", "-", "-v", "apple=100", "-v", "apple_num=2", "-v", "tax=1.1", "--json",
                     input=program.read_text())
    assert from_file.stdout == from_stdin.stdout
    assert json.loads(from_file.stdout)["value"] == 220.00000000000003


def test_precision(run):
    result = run("x/3", "x=1", "--precision", "3")
    assert result.stdout.splitlines()[0] == "value = 0.333"


def test_warnings_go_to_stderr(run):
    result = run("x", "x=1", "q=2", "--json")
    assert result.exit_code == 0
    assert json.loads(result.stdout) == {"value": 1.0, "gradients": {"x": 1.0}}
    assert result.stderr == "cgcalc: warning: q is bound but the program does not use it as a variable\n"


@pytest.mark.parametrize("args, code, first_line", [
    (["(x*", "x=1"], 2, "cgcalc: syntax error at 1:4: unexpected end of input; expected a number, a name or '('"),
    (["x*y"], 2, "cgcalc: name error at 1:1: unbound variables x, y; bind them with -v x=VALUE -v y=VALUE"),
    (["log(x)", "x=-1"], 1, "cgcalc: evaluation error at 1:1: log(-1) is undefined (log is defined for x > 0)"),
    (["x", "-v", "x"], 2, "cgcalc: binding error: 'x' is not a binding; write NAME=VALUE, e.g. x=3"),
    (["x", "--wrt", "y", "x=1"], 2, "cgcalc: name error: cannot differentiate with respect to y: not a variable of the program (its variables: x)"),
    (["-f", "/nonexistent/prog"], 2, "cgcalc: error: cannot read /nonexistent/prog: No such file or directory"),
])
def test_errors_exit_codes_and_stderr_only(run, args, code, first_line):
    result = run(*args)
    assert result.exit_code == code
    assert result.stdout == ""
    assert result.stderr.splitlines()[0] == first_line


def test_version_and_help(run):
    from cgcalc import __version__

    assert run("--version").stdout == f"cgcalc, version {__version__}\n"
    help_text = run("--help").stdout
    assert "Examples:" in help_text and "Exit codes:" in help_text and "eval" in help_text
    assert "NAME=VALUE" in run("eval", "--help").stdout


def test_installed_command(tmp_path):
    """The console script that pip installed, run from elsewhere, so the grammar must ship."""
    exe = Path(sys.executable).with_name("cgcalc")
    if not exe.exists():
        exe = shutil.which("cgcalc")
    assert exe, "the cgcalc command is not installed in this environment"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run([str(exe), *APPLE_ORANGE_ARGS, "--json"], capture_output=True, text=True,
                          cwd=tmp_path, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == APPLE_ORANGE_JSON
    table = subprocess.run([str(exe), *APPLE_ORANGE_ARGS], capture_output=True, text=True,
                           cwd=tmp_path, env={**env, "NO_COLOR": "1", "COLUMNS": "80"}, timeout=60)
    assert table.stdout == APPLE_ORANGE_TABLE
