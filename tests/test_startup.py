"""Start-up: what a scalar run imports. People run cgcalc once per line they type, so a
run of numbers loads neither NumPy nor Rich (for JSON), nor Lark's grammar tools, nor the
locale machinery that click's error messages pull in through gettext."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
#: heavy modules, and what only a notebook needs (the ``_repr_*_`` methods load it when asked)
HEAVY = ("numpy", "rich", "lark", "pickle", "locale", "cgcalc.render.notebook", "rich._emoji_codes")
APPLE = ["(apple*apple_num + orange*orange_num)*tax", "-v", "apple=100", "-vapple_num=2",
         "--var", "orange=150", "--var=orange_num=3", "tax=1.1"]


def imported_by(argv: list[str]) -> tuple[list[str], str]:
    code = (f"import sys\nfrom cgcalc.cli import main\nsys.argv = ['cgcalc', *{argv!r}]\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            f"print(sorted(m for m in {HEAVY!r} if m in sys.modules), file=sys.stderr)")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    return run.stderr.strip().splitlines()[-1], run.stdout


@pytest.mark.parametrize("extra", [["--json"], ["--json", "--wrt", "tax"]])
def test_a_json_run_of_numbers_imports_nothing_heavy(extra):
    modules, out = imported_by(APPLE + extra)
    assert out.startswith('{"value": 715.0000000000001, ')
    assert modules == "[]"


def test_short_options_give_the_same_result_as_long_ones():
    _, short = imported_by(["x*y", "-v", "x=2", "-vy=3", "--json"])
    _, long = imported_by(["x*y", "--var", "x=2", "--var=y=3", "--json"])
    assert short == long == '{"value": 6.0, "gradients": {"x": 3.0, "y": 2.0}}\n'


def test_the_library_parses_and_evaluates_without_logging_dataclasses_or_inspect():
    """Lark's generated runtime imported them (a quarter of a scalar run's start-up) for a
    logger set to silence, one dataclass and v_args, which cgcalc never uses."""
    code = ("import sys, cgcalc; cgcalc.evaluate(cgcalc.parse('x*y'), {'x': 2, 'y': 3}); "
            "print(sorted(m for m in ('logging', 'dataclasses', 'inspect', 'threading') "
            "if m in sys.modules))")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert run.stdout == "[]\n", run.stderr


def test_the_generated_text_slice_is_still_a_frozen_record():
    from cgcalc._lark_parser import TextSlice

    whole = TextSlice("x*y", 0, None)
    assert (whole.start, whole.end, len(whole)) == (0, 3, 3)
    assert whole == TextSlice.cast_from("x*y") and hash(whole) == hash(TextSlice("x*y", 0, 3))
    assert repr(TextSlice("ab", -1, None)) == "TextSlice(text='ab', start=1, end=2)"
    with pytest.raises(AttributeError):
        whole.start = 1
    with pytest.raises(AttributeError):
        del whole.end


def test_tables_show_operation_names_as_written_and_load_no_emoji():
    """Rich replaced ``:smile:`` in ``f:smile:const`` (a node of smile called in f) with an
    emoji, after loading its table of 4,000 of them."""
    program = "smile(x) = x + 1\nf(x) = smile(x)*2\nf(y)"
    modules, out = imported_by([program, "-v", "y=1", "--nodes"])
    assert " 1  1      f:smile:const               1                  2" in out.splitlines()
    assert "'rich'" in modules and "'rich._emoji_codes'" not in modules


def test_importing_cgcalc_loads_nothing_until_a_name_is_used():
    code = ("import sys, cgcalc; before = sorted(m for m in sys.modules if m.startswith('cgcalc.'));"
            " cgcalc.parse; print(before, 'cgcalc.parser' in sys.modules)")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert run.stdout == "[] True\n", run.stderr


def test_the_command_runs_with_the_collector_on_and_the_imports_frozen():
    """The script imports with the garbage collector off; a run left without it would
    never free a cycle (a long batch, the repl)."""
    code = ("import gc, cgcalc.cli\ncgcalc.cli.main = lambda: print(gc.isenabled(), "
            "gc.get_freeze_count() > 10_000)\nfrom cgcalc.__main__ import main\nmain()")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert run.stdout == "True True\n", run.stderr


def test_python_dash_m_cgcalc_is_the_command():
    run = subprocess.run([sys.executable, "-m", "cgcalc", "x*y", "x=2", "y=3", "--json"],
                         capture_output=True, text=True, cwd=ROOT)
    assert (run.stdout, run.returncode) == ('{"value": 6.0, "gradients": {"x": 3.0, "y": 2.0}}\n', 0)


@pytest.mark.parametrize("handler, out", [(False, '{"value": 6.0, "gradients": {"x": 3.0, "y": 2.0}}\n'),
                                          (True, '{"value": 6.0, "gradients": {"x": 3.0, "y": 2.0}}\nexit handler ran\n')])
def test_the_command_leaves_at_once_only_when_no_exit_handler_waits(handler, out):
    """Python's tear-down is skipped (os._exit) after the output is flushed; an exit handler,
    when one is registered, still runs, and the exit code is the command's either way."""
    code = ("import atexit, sys\n"
            + ("atexit.register(print, 'exit handler ran')\n" if handler else "")
            + "sys.argv = ['cgcalc', 'x*y', 'x=2', 'y=3', '--json']\n"
            "from cgcalc.__main__ import main\nmain()")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert (run.stdout, run.stderr, run.returncode) == (out, "", 0)
    failed = subprocess.run([sys.executable, "-m", "cgcalc", "log(x)", "x=0", "--json"],
                            capture_output=True, text=True, cwd=ROOT)
    assert (failed.stdout, failed.returncode) == ("", 1)
    assert failed.stderr.startswith("cgcalc: evaluation error at 1:1: log(0) is undefined")
