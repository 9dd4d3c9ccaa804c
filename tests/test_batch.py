"""Batch mode: rows in, one result per row out, in order, bad rows reported."""

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import cgcalc
import cgcalc.batch
from conftest import APPLE_ORANGE_EXPR

CSV = "apple,apple_num,orange,orange_num\n100,2,150,3\n200,1,150,4\n1,2,3,4\n"


def ndjson(text):
    return [json.loads(line) for line in text.splitlines()]


def test_csv_rows_to_ndjson_with_a_constant(run, tmp_path):
    path = tmp_path / "prices.csv"
    path.write_text(CSV)
    result = run("batch", APPLE_ORANGE_EXPR, "--input", str(path), "-v", "tax=1.1")
    assert result.exit_code == 0, result.stderr
    rows = ndjson(result.stdout)
    assert rows[0] == {"row": 1, "value": 715.0000000000001,
                       "gradients": {"apple": 2.2, "apple_num": 110.00000000000001,
                                     "orange": 3.3000000000000003, "orange_num": 165.0,
                                     "tax": 650.0}}
    assert [r["row"] for r in rows] == [1, 2, 3]
    assert rows[2]["value"] == (1 * 2 + 3 * 4) * 1.1


def test_every_row_agrees_with_eval(run, tmp_path):
    path = tmp_path / "prices.csv"
    path.write_text(CSV)
    rows = ndjson(run("batch", APPLE_ORANGE_EXPR, "--input", str(path), "tax=1.1").stdout)
    names = CSV.splitlines()[0].split(",")
    for line, row in zip(CSV.splitlines()[1:], rows):
        point = dict(zip(names, map(float, line.split(","))), tax=1.1)
        alone = cgcalc.evaluate(cgcalc.parse(APPLE_ORANGE_EXPR), point)
        assert (row["value"], row["gradients"]) == (alone.value, alone.gradients)


def test_jsonl_from_stdin_and_csv_output(run):
    lines = '{"x": 1, "y": 2}\n{"x": 3, "y": 4, "ignored": 0}\n'
    result = run("batch", "x*y + sin(x)", "--input", "-", "--format", "csv", input=lines)
    assert result.exit_code == 0, result.stderr
    import math

    assert result.stdout.splitlines() == [
        "row,value,d_x,d_y",
        f"1,{2 + math.sin(1)!r},{2 + math.cos(1)!r},1.0",
        f"2,{12 + math.sin(3)!r},{4 + math.cos(3)!r},3.0",
    ]


def test_input_format_option_overrides_the_suffix(run, tmp_path):
    path = tmp_path / "rows.txt"
    path.write_text("x\n2\n")
    assert ndjson(run("batch", "x*x", "--input", str(path), "--input-format", "csv").stdout) == [
        {"row": 1, "value": 4.0, "gradients": {"x": 4.0}}]


BAD = '{"x": 1}\n{"x": -1}\n{"y": 2}\n{"x": "a"}\nnot json\n{"x": 0}\n{"x": 4}\n'


def test_a_bad_row_stops_the_run_after_the_rows_before_it(run):
    result = run("batch", "log(x)*2", "--input", "-", "--input-format", "jsonl", input=BAD)
    assert result.exit_code == 1
    assert ndjson(result.stdout) == [{"row": 1, "value": 0.0, "gradients": {"x": 2.0}}]
    assert result.stderr.splitlines() == [
        "cgcalc: row 2 (line 2): evaluation error at 1:1: log(-1) is undefined (log is defined for x > 0)",
        "  log(x)*2", "  ^"]


def test_skip_bad_reports_each_bad_row_and_keeps_every_good_one(run):
    result = run("batch", "log(x)*2", "--input", "-", "--skip-bad", input=BAD)
    assert result.exit_code == 0
    assert [r["row"] for r in ndjson(result.stdout)] == [1, 7]
    reported = [line for line in result.stderr.splitlines() if line.startswith("cgcalc:")]
    assert reported == [
        "cgcalc: skipped row 2 (line 2): evaluation error at 1:1: log(-1) is undefined (log is defined for x > 0)",
        "cgcalc: skipped row 3 (line 3): x is missing",
        'cgcalc: skipped row 4 (line 4): x = "a" is not a number',
        "cgcalc: skipped row 5 (line 5): invalid JSON: Expecting value at column 1",
        "cgcalc: skipped row 6 (line 6): evaluation error at 1:1: log(0) is undefined (log is defined for x > 0)",
        "cgcalc: 5 bad rows skipped",
    ]


def test_bad_csv_cells(run):
    text = "x,y\n1,2\n3\n,4\nfive,6\n7,8\n"
    result = run("batch", "x+y", "--input", "-", "--input-format", "csv", "--skip-bad", input=text)
    assert [r["row"] for r in ndjson(result.stdout)] == [1, 5]
    assert result.stderr.splitlines()[:3] == [
        "cgcalc: skipped row 2 (line 3): has 1 fields, the header 2",
        "cgcalc: skipped row 3 (line 4): x is missing",
        "cgcalc: skipped row 4 (line 5): x = 'five' is not a number",
    ]


@pytest.mark.parametrize("chunk", [1, 2, 3, 5, 64])
def test_chunks_never_lose_duplicate_or_reorder_rows(run, monkeypatch, chunk):
    monkeypatch.setattr(cgcalc.batch, "CHUNK", chunk)
    values = [((-1) ** k) * (k + 1) for k in range(23)]  # every other one is bad for sqrt
    text = "x\n" + "".join(f"{v}\n" for v in values)
    result = run("batch", "sqrt(x)", "--input", "-", "--input-format", "csv", "--skip-bad",
                 input=text)
    rows = ndjson(result.stdout)
    assert [r["row"] for r in rows] == [k + 1 for k, v in enumerate(values) if v > 0]
    assert [r["value"] for r in rows] == [v ** 0.5 for v in values if v > 0]
    stopped = run("batch", "sqrt(x)", "--input", "-", "--input-format", "csv", input=text)
    assert stopped.exit_code == 1
    assert [r["row"] for r in ndjson(stopped.stdout)] == [1]


@pytest.mark.parametrize("args, code, message", [
    (["batch", "x*y", "--input", "-", "--input-format", "csv"], 2,
     "cgcalc: name error: the input has no column for y (its columns: x); bind constants with -v"),
    (["batch", "sum(x)", "--input", "-", "--input-format", "csv"], 2,
     "cgcalc: error: batch evaluates element-wise programs; @, sum and the other array "
     "operations would mix rows"),
    (["batch", "x", "--input", "/no/such.csv"], 2,
     "cgcalc: error: cannot read /no/such.csv: No such file or directory"),
])
def test_batch_usage_errors(run, args, code, message):
    result = run(*args, input="x\n1\n")
    assert (result.exit_code, result.stdout) == (code, "")
    assert result.stderr.splitlines()[0] == message


@settings(max_examples=40, deadline=None, derandomize=True)
@given(st.lists(st.tuples(st.floats(-5, 5), st.floats(0.1, 5)), min_size=1, max_size=30))
def test_random_rows_match_the_scalar_engine(rows):
    import io

    text = "a,b\n" + "".join(f"{a!r},{b!r}\n" for a, b in rows)
    program = cgcalc.parse("sigmoid(a*b) + log(b)/a**2 - relu(a - b)")
    out = io.StringIO()
    chunks = cgcalc.batch.read_csv(io.StringIO(text), ["a", "b"])
    cgcalc.batch.run(program, chunks, {}, out, skip_bad=True, report=lambda line: None)
    got = {r["row"]: r for r in ndjson(out.getvalue())}
    for k, (a, b) in enumerate(rows, 1):
        try:
            alone = cgcalc.evaluate(program, {"a": a, "b": b})
        except cgcalc.EvaluationError:
            assert k not in got
            continue
        assert got[k]["value"] == pytest.approx(alone.value, rel=1e-12, abs=1e-300)
        for name, grad in alone.gradients.items():
            assert got[k]["gradients"][name] == pytest.approx(grad, rel=1e-12, abs=1e-300)


def test_progress_bar_on_a_terminal_leaves_stdout_alone(tmp_path):
    """With stderr a terminal and the input a file, a progress bar is drawn on stderr;
    the results on stdout are exactly those of a run without it."""
    import os
    import pty
    import subprocess
    import sys
    from pathlib import Path

    exe = Path(sys.executable).with_name("cgcalc")
    data = tmp_path / "rows.csv"
    data.write_text("x\n" + "".join(f"{k}\n" for k in range(200_000)))
    command = [str(exe), "batch", "x*x", "--input", str(data)]
    plain = subprocess.run(command, capture_output=True, timeout=120)
    master, slave = pty.openpty()
    with open(tmp_path / "out.ndjson", "wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=slave)
    os.close(slave)
    drawn = b""
    while True:  # read the terminal until the process closes it
        try:
            chunk = os.read(master, 4096)
        except OSError:
            break
        if not chunk:
            break
        drawn += chunk
    assert process.wait(timeout=120) == 0
    os.close(master)
    assert b"rows" in drawn and b"\x1b[" in drawn  # Rich drew (and erased) its bar there
    assert (tmp_path / "out.ndjson").read_bytes() == plain.stdout
    assert plain.stdout.count(b"\n") == 200_000
