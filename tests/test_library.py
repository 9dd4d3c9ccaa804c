"""The README's "As a library" section is true: its examples run as shown (a doctest), and
type-check under ``mypy --strict`` against the installed package, whose ``py.typed`` and
types say what the calls take and give (numbers or arrays), and no more."""

import doctest
import re
import subprocess
import sys
from pathlib import Path

import pytest

import cgcalc

ROOT = Path(__file__).resolve().parent.parent
SECTION = re.search(r"^## As a library\n(.*?)(?=^## |\Z)",
                    (ROOT / "README.md").read_text(encoding="utf-8"), re.M | re.S).group(1)
EXAMPLES = doctest.DocTestParser().get_examples(
    "\n".join(re.findall(r"^```python\n(.*?)^```", SECTION, re.M | re.S)))

#: calls the types must refuse, with the line and the mypy error code of each (a string is
#: refused only when run: to the types it is a sequence, like the nested lists of an array)
WRONG = """\
import cgcalc
program = cgcalc.parse("x*y")
cgcalc.evaluate(program, {"x": None, "y": 4})
number: float = cgcalc.evaluate(program, {"x": 1, "y": 2}).value
picture: bytes = cgcalc.draw(cgcalc.evaluate(program, {"x": 1, "y": 2}))
names: list[str] = cgcalc.UnknownNameError("unbound variable x").names
"""
WRONG_ERRORS = [("3", "dict-item"), ("4", "assignment"), ("5", "assignment"), ("6", "assignment")]


def test_the_library_examples_run_as_shown(graphviz):
    test = doctest.DocTest(EXAMPLES, {}, "README: As a library", None, 0, None)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    runner.run(test)
    assert runner.summarize(verbose=False) == (0, len(EXAMPLES))


def test_the_library_examples_type_check_and_wrong_calls_do_not(tmp_path):
    """mypy runs outside the repository, so it reads the installed cgcalc: its py.typed,
    its types (without the marker mypy would not read them at all and say so)."""
    assert len(EXAMPLES) >= 8
    (tmp_path / "documented.py").write_text("".join(e.source for e in EXAMPLES), encoding="utf-8")
    (tmp_path / "wrong.py").write_text(WRONG, encoding="utf-8")
    run = subprocess.run([sys.executable, "-m", "mypy", "--strict", "--no-error-summary",
                          "--cache-dir", str(tmp_path / "cache"), "documented.py", "wrong.py"],
                         capture_output=True, text=True, cwd=tmp_path)
    errors = re.findall(r"^(\S+?):(\d+): error: .*\[([a-z-]+)\]$", run.stdout, re.M)
    assert [(line, code) for file, line, code in errors if file == "wrong.py"] == WRONG_ERRORS, \
        run.stdout
    assert [e for e in errors if e[0] != "wrong.py"] == [], run.stdout
    assert run.stdout.count("error:") == len(WRONG_ERRORS), run.stdout + run.stderr


def test_evaluate_takes_a_programs_text_and_any_real_number():
    """Before, text stopped with AttributeError ('str' object has no attribute
    'with_output' / 'variables'), and a Fraction or a Decimal was 'neither a number nor an
    array of numbers'."""
    from decimal import Decimal
    from fractions import Fraction

    result = cgcalc.evaluate("x*y", {"x": Fraction(1, 3), "y": Decimal("0.1")})
    assert (result.value, result.gradients) == (0.1 / 3, {"x": 0.1, "y": 1 / 3})


@pytest.mark.parametrize("text", [None, b"x*y", 3])
def test_parse_says_it_takes_text(text):
    """Before, a TypeError or AttributeError from inside Lark ('Cannot lex: No text assigned
    to lexer state', "'int' object has no attribute 'text'")."""
    with pytest.raises(TypeError, match=f"parse takes a program's text, a str, not {type(text).__name__}$"):
        cgcalc.parse(text)
