"""Batch input as people save it: blank lines, comments, quoted new lines, bad bytes, huge
fields, byte-order marks, pi and e columns; every good row kept, every bad one named by
its row and line."""

import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import cgcalc
import cgcalc.batch


def ndjson(text):
    return [json.loads(line) for line in text.splitlines()]


def rows_of(result):
    return [row["row"] for row in ndjson(result.stdout)]


def batch(run, program, data: bytes, *args, fmt="csv"):
    return run("batch", program, "--input", "-", "--input-format", fmt, *args, input=data)


def xy(row, x, y):
    return {"row": row, "value": x * y, "gradients": {"x": float(y), "y": float(x)}}


# --- 1. blank lines and comments are passed over; rows are data rows, lines are lines

CSV_WITH_GAPS = b"# prices, 2024\n\nx,y\n1,2\n\n   \n# a comment\n3,4\n\t\n5,6\n\n\n"
JSONL_WITH_GAPS = b'\n# points\n{"x": 1, "y": 2}\n\n  # indented comment\n{"x": 3, "y": 4}\n \n' \
                  b'{"x": 5, "y": 6}\n\n'


@pytest.mark.parametrize("data, fmt", [(CSV_WITH_GAPS, "csv"), (JSONL_WITH_GAPS, "jsonl"),
                                       (CSV_WITH_GAPS.replace(b"\n", b"\r\n"), "csv")])
def test_blank_and_comment_lines_are_skipped_anywhere(run, data, fmt):
    result = batch(run, "x*y", data, fmt=fmt)
    assert (result.exit_code, result.stderr) == (0, "")
    assert ndjson(result.stdout) == [xy(1, 1, 2), xy(2, 3, 4), xy(3, 5, 6)]


@pytest.mark.parametrize("chunk", [1, 2, 3, 65_536])
def test_a_bad_row_is_named_by_its_row_and_its_line(run, monkeypatch, chunk):
    monkeypatch.setattr(cgcalc.batch, "CHUNK", chunk)
    data = b"x,y\n# first comes one good row\n1,2\n\n3,oops\n5,6\n"
    stopped = batch(run, "x*y", data)
    assert (stopped.exit_code, ndjson(stopped.stdout)) == (1, [xy(1, 1, 2)])
    assert stopped.stderr == "cgcalc: row 2 (line 5): y = 'oops' is not a number\n"
    skipped = batch(run, "x*y", data, "--skip-bad")
    assert (skipped.exit_code, ndjson(skipped.stdout)) == (0, [xy(1, 1, 2), xy(3, 5, 6)])
    assert skipped.stderr.splitlines() == [
        "cgcalc: skipped row 2 (line 5): y = 'oops' is not a number",
        "cgcalc: 1 bad row skipped"]


def test_jsonl_rows_are_numbered_the_same_way(run):
    result = batch(run, "log(x)", b'# log\n{"x": 1}\n\n{"x": 0}\n', fmt="jsonl")
    assert result.exit_code == 1
    assert result.stderr.splitlines()[0] == \
        "cgcalc: row 2 (line 4): evaluation error at 1:1: log(0) is undefined " \
        "(log is defined for x > 0)"


def test_a_header_after_comments_and_only_blank_lines_after_it(run):
    result = batch(run, "x*y", b"# nothing yet\n\nx,y\n\n\n\n", "--format", "csv")
    assert (result.exit_code, result.stdout, result.stderr) == (0, "row,value,d_x,d_y\n", "")
    result = batch(run, "x*y", b"x,y\n\n")
    assert (result.exit_code, result.stdout, result.stderr) == (0, "", "")


def test_an_input_of_only_comments_has_no_header(run):
    result = batch(run, "x", b"# nothing\n\n")
    assert result.exit_code == 2
    assert result.stderr == \
        "cgcalc: binding error: the CSV input is empty: it needs a header of variable names\n"


def test_stdin_is_sniffed_after_its_comments(run):
    result = run("batch", "x", "--input", "-", input=b'# rows\n\n{"x": 2}\n')
    assert ndjson(result.stdout) == [{"row": 1, "value": 2.0, "gradients": {"x": 1.0}}]


# --- 2. odd lines are read correctly or are bad rows; no good row is lost


def test_a_quoted_new_line_is_read_as_the_csv_module_reads_it(run):
    data = b'x,y\n1,"2\n"\n"3",4\n5,"6\n7"\n8,9\n'
    result = batch(run, "x*y", data, "--skip-bad")
    assert ndjson(result.stdout) == [xy(1, 1, 2), xy(2, 3, 4), xy(4, 8, 9)]
    assert result.stderr.splitlines()[0] == \
        "cgcalc: skipped row 3 (line 5): y = '6\\n7' is not a number"


@pytest.mark.parametrize("chunk", [1, 2, 3])
def test_a_quoted_field_may_span_chunks(run, monkeypatch, chunk):
    monkeypatch.setattr(cgcalc.batch, "CHUNK", chunk)
    data = b'x,y\n1,2\n3,"\n\n# not a comment\n4"\n5,"6"\n'
    result = batch(run, "x*y", data, "--skip-bad")
    assert ndjson(result.stdout) == [xy(1, 1, 2), xy(3, 5, 6)]
    assert result.stderr.splitlines()[0] == \
        "cgcalc: skipped row 2 (line 3): y = '# not a comment\\n4' is not a number"


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_invalid_utf8_spoils_its_row_only(run, monkeypatch, fmt):
    """Rows 1 .. 5,001 are written before the run stops at row 5,002; with --skip-bad
    every other row of 10,000 is kept."""
    monkeypatch.setattr(cgcalc.batch, "CHUNK", 1_000)
    if fmt == "csv":
        lines = [b"x,y\n"] + [b"%d,2\n" % k for k in range(1, 10_001)]
        lines[5_002] = b"5002,\xff2\n"
    else:
        lines = [b'{"x": %d, "y": 2}\n' % k for k in range(1, 10_001)]
        lines[5_001] = b'{"x": 5002, "y": \xff2}\n'
    data = b"".join(lines)
    line = 5_003 if fmt == "csv" else 5_002
    stopped = batch(run, "x*y", data, fmt=fmt)
    assert stopped.exit_code == 1
    assert rows_of(stopped) == list(range(1, 5_002))
    assert stopped.stderr == f"cgcalc: row 5002 (line {line}): is not valid UTF-8\n"
    skipped = batch(run, "x*y", data, "--skip-bad", fmt=fmt)
    assert rows_of(skipped) == [k for k in range(1, 10_001) if k != 5_002]
    assert ndjson(skipped.stdout)[-1] == xy(10_000, 10_000, 2)


def test_invalid_utf8_in_a_quoted_record_spanning_lines(run):
    result = batch(run, "x*y", b'x,y\n1,"2\n\xff"\n3,4\n', "--skip-bad")
    assert ndjson(result.stdout) == [xy(2, 3, 4)]
    assert result.stderr.splitlines()[0] == "cgcalc: skipped row 1 (line 2): is not valid UTF-8"


@pytest.mark.parametrize("bad", [b"", b"oops,1\n"])
def test_a_field_over_128_kib_is_read_whole(run, bad):
    """Padded with 200,000 blanks, a number is still the number (with another bad line in
    the chunk too, which sends it through the csv module); 200,000 digits are too many
    for a float: not finite."""
    data = b"x,y\n1," + b" " * 200_000 + b"5\n" + bad + b'2,"' + b"9" * 200_000 + b'"\n3,4\n'
    result = batch(run, "x*y", data, "--skip-bad")
    assert ndjson(result.stdout)[0] == xy(1, 1, 5)
    assert ndjson(result.stdout)[-1] == xy(3 + bool(bad), 3, 4)
    assert "cgcalc: skipped row %d (line %d): evaluation error at 1:3: y is bound to inf, " \
           "not a finite number" % (2 + bool(bad), 3 + bool(bad)) in result.stderr


@pytest.mark.parametrize("data, fmt, line", [
    (b"x,y\n3,4\n2,1" + b"0" * 400 + b"\n5,6\n", "csv", 3),
    (b'{"x": 3, "y": 4}\n{"x": 2, "y": 1' + b"0" * 400 + b'}\n{"x": 5, "y": 6}\n', "jsonl", 2),
])
def test_a_400_digit_integer_is_not_a_finite_number(run, data, fmt, line):
    result = batch(run, "x*y", data, fmt=fmt)
    assert (result.exit_code, ndjson(result.stdout)) == (1, [xy(1, 3, 4)])
    assert result.stderr.splitlines() == [
        f"cgcalc: row 2 (line {line}): evaluation error at 1:3: y is bound to inf, not a "
        "finite number", "  x*y", "    ^"]


@pytest.mark.parametrize("value", [b"inf", b"-inf", b"nan", b"1e999"])
def test_a_non_finite_cell_is_a_bad_row_even_where_nothing_computes_with_it(run, value):
    """relu(-inf) would be 0: the binding itself is refused, as eval refuses it."""
    result = batch(run, "relu(x)", b"x\n" + value + b"\n1\n", "--skip-bad")
    assert ndjson(result.stdout) == [{"row": 2, "value": 1.0, "gradients": {"x": 1.0}}]
    assert result.stderr.startswith("cgcalc: skipped row 1 (line 2): evaluation error at 1:6: "
                                    "x is bound to ")


def test_a_hash_inside_a_cell_is_not_a_comment(run):
    result = batch(run, "x*y", b"x,y\n1,2\n3,4#9\n", "--skip-bad")
    assert ndjson(result.stdout) == [xy(1, 1, 2)]
    assert result.stderr.splitlines()[0] == \
        "cgcalc: skipped row 2 (line 3): y = '4#9' is not a number"


@pytest.mark.parametrize("cell", ["1_000", "１"])
def test_cells_loadtxt_refuses_are_refused_in_every_chunk(run, cell):
    """Whether another line of the chunk is bad or not, 1_000 and full-width digits are
    not numbers (Python's float() would take them)."""
    for others in (b"1,2\n", b"1,2\nbad,2\n"):
        data = b"x,y\n" + others + f"3,{cell}\n".encode()
        result = batch(run, "x*y", data, "--skip-bad")
        assert f"y = '{cell}' is not a number" in result.stderr
        assert rows_of(result) == [1]


def test_a_carriage_return_ends_a_line_as_the_csv_module_reads_it(run):
    """Lines end in \\n, \\r\\n or \\r (Excel's "CSV (Macintosh)"); inside quotes a \\r is
    part of the field."""
    result = batch(run, "x*y", b'x,y\r1,2\r\n3,4\r5,"6\r"\n7,"8\r9"\r# last\r', "--skip-bad")
    assert ndjson(result.stdout) == [xy(1, 1, 2), xy(2, 3, 4), xy(3, 5, 6)]
    assert result.stderr.splitlines()[0] == \
        "cgcalc: skipped row 4 (line 6): y = '8\\r9' is not a number"


def test_lines_the_csv_module_cannot_split_are_bad_rows():
    """Given lines not split as the csv module splits them (a library caller's), a line
    break inside a field is a bad row, not a crash."""
    chunks = cgcalc.batch.read_csv(iter(["x,y\n", "1,2\r3,4\n", "5,6\n"]), ["x", "y"])
    chunk = next(chunks)
    assert (chunk.count, chunk.unreadable, chunk.line(1)) == (
        2, {0: "is not valid CSV: new-line character seen in unquoted field"}, 3)
    assert chunk.columns["y"][1] == 6


@pytest.mark.parametrize("line, why", [
    (b'{"x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", "invalid JSON: nested too deeply"),
    (b'{"x": 1' + b"0" * 5_000 + b"}", "has an integer of more than 4300 digits"),
])
def test_json_lines_python_cannot_read_are_bad_rows(run, line, why):
    result = batch(run, "x", line + b'\n{"x": 2}\n', "--skip-bad", fmt="jsonl")
    assert rows_of(result) == [2]
    assert result.stderr.splitlines()[0] == f"cgcalc: skipped row 1 (line 1): {why}"


# --- 3. a UTF-8 byte-order mark is skipped


@pytest.mark.parametrize("data, fmt", [(b"\xef\xbb\xbfx,y\n3,4\n", "csv"),
                                       (b'\xef\xbb\xbf{"x": 3, "y": 4}\n', "jsonl")])
def test_a_byte_order_mark_is_skipped(run, tmp_path, data, fmt):
    path = tmp_path / f"rows.{fmt}"
    path.write_bytes(data)
    from_file = run("batch", "x*y", "--input", str(path))
    from_stdin = run("batch", "x*y", "--input", "-", input=data)
    for result in (from_file, from_stdin):
        assert (result.exit_code, result.stderr) == (0, "")
        assert ndjson(result.stdout) == [xy(1, 3, 4)]


# --- 4. pi and e columns bind pi and e, as eval's bindings do


def test_a_pi_column_binds_pi_with_its_gradient(run):
    result = batch(run, "sin(pi)*x", b"pi,x\n3,2\n")
    alone = cgcalc.evaluate(cgcalc.parse("sin(pi)*x"), {"pi": 3, "x": 2})
    assert result.exit_code == 0
    assert ndjson(result.stdout) == [{"row": 1, "value": alone.value,
                                      "gradients": {name: alone.gradients[name]
                                                    for name in ("pi", "x")}}]
    assert alone.gradients["pi"] == 2 * math.cos(3)
    assert result.stderr == "cgcalc: warning: the input binds pi, replacing the constant pi\n"


def test_a_pi_constant_gets_its_gradient_through_every_operation(run):
    result = batch(run, "sin(pi)*x", b"x\n2\n", "-v", "pi=3", "--format", "csv")
    assert result.stdout.splitlines() == [
        "row,value,d_pi,d_x", f"1,{2 * math.sin(3)!r},{2 * math.cos(3)!r},{math.sin(3)!r}"]
    assert result.stderr == "cgcalc: warning: the binding pi=3 replaces the constant pi\n"


def test_e_and_pi_in_json_lines_are_bound_as_the_first_row_binds_them(run):
    data = b'{"x": 2, "e": 1}\n{"x": 3}\n{"x": 4, "e": 2, "pi": 1}\n{"x": 5, "e": 3}\n'
    result = batch(run, "x*e*pi", data, "--skip-bad", fmt="jsonl")
    assert [(r["row"], r["gradients"]) for r in ndjson(result.stdout)] == [
        (1, {"x": math.pi, "e": 2 * math.pi}), (4, {"x": 3 * math.pi, "e": 5 * math.pi})]
    assert result.stderr.splitlines()[1:3] == [
        "cgcalc: skipped row 2 (line 2): e is missing",
        "cgcalc: skipped row 3 (line 3): binds pi, which the first row does not (every row "
        "binds it or none)"]


def test_a_pi_column_the_program_does_not_use_is_ignored(run):
    result = batch(run, "x", b"x,pi\n2,3\n")
    assert (result.stderr, ndjson(result.stdout)) == (
        "", [{"row": 1, "value": 2.0, "gradients": {"x": 1.0}}])


# --- 5. a constant and a column of the same name


@pytest.mark.parametrize("args", [["-v", "y=2"], ["y=2"]])
def test_a_constant_and_a_column_of_one_name_is_an_error_naming_both(run, args):
    result = batch(run, "x*y", b"x,y\n3,4\n", *args)
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == "cgcalc: binding error: y is both a column of the input and a " \
                            "constant (y=2 from -v, --vars or NAME=VALUE); keep one\n"


def test_a_constant_and_a_pi_column(run):
    result = batch(run, "pi*x", b"x,pi\n3,4\n", "-v", "pi=3")
    assert result.exit_code == 2
    assert result.stderr.endswith("pi is both a column of the input and a constant (pi=3 from "
                                  "-v, --vars or NAME=VALUE); keep one\n")


def test_a_constant_and_a_json_key_of_one_name_is_a_bad_row(run):
    data = b'{"x": 3}\n{"x": 3, "y": 4}\n'
    result = batch(run, "x*y", data, "-v", "y=2", "--skip-bad", fmt="jsonl")
    assert ndjson(result.stdout) == [xy(1, 3, 2)]
    assert result.stderr.splitlines()[0] == \
        "cgcalc: skipped row 2 (line 2): y is both a key of the row and a constant (y=2 from " \
        "-v, --vars or NAME=VALUE); keep one"


def test_two_columns_of_one_name(run):
    result = batch(run, "x", b"x,x\n1,2\n")
    assert (result.exit_code, result.stderr) == (
        2, "cgcalc: binding error: the input has 2 columns named x\n")


# --- the reader against a model of the file it reads

GOOD = st.tuples(st.integers(-50, 50), st.integers(1, 50), st.booleans())
LINE = st.one_of(
    GOOD.map(lambda t: ("good",) + t),
    st.sampled_from([("blank", b"\n"), ("blank", b"  \t\n"), ("blank", b"\r\n"),
                     ("comment", b"# note\n"), ("comment", b"  #, 1, 2\n")]),
    st.sampled_from([("bad", b"1\n", "has 1 fields, the header 2"),
                     ("bad", b"1,\n", "y is missing"),
                     ("bad", b"1,2#3\n", "y = '2#3' is not a number"),
                     ("bad", b"\xfe1,2\n", "is not valid UTF-8"),
                     ("bad", b'1,"2\n3"\n', "y = '2\\n3' is not a number"),
                     ("bad", b"1,0\n", "evaluation error at 1:2: 1 / 0 is undefined (the "
                                       "divisor must not be 0)\n  x/y\n   ^")]),
)


@settings(max_examples=60, deadline=None, derandomize=True)
@given(st.lists(LINE, max_size=25), st.integers(1, 6))
def test_every_line_is_a_row_kept_a_row_reported_or_passed_over(lines, chunk):
    import io

    data, expected, reported, line, row = b"x,y\n", [], [], 1, 0
    for kind, *rest in lines:
        line += 1
        if kind == "good":
            x, y, quoted = rest
            data += (b'"%d","%d"\n' if quoted else b"%d,%d\n") % (x, y)
            row += 1
            expected.append((row, x / y))
        elif kind == "bad":
            data += rest[0]
            row += 1
            reported.append(f"cgcalc: skipped row {row} (line {line}): {rest[1]}")
        else:
            data += rest[0]
        line += rest[0].count(b"\n") - 1 if kind == "bad" else 0
    program, out, said = cgcalc.parse("x/y"), io.StringIO(), []
    old, cgcalc.batch.CHUNK = cgcalc.batch.CHUNK, chunk
    try:
        text = io.TextIOWrapper(io.BytesIO(data), "utf-8", "surrogateescape", newline="")
        chunks = cgcalc.batch.read(text, program.variables, "csv")
        cgcalc.batch.run(program, chunks, {}, out, skip_bad=True, report=said.append)
    finally:
        cgcalc.batch.CHUNK = old
    assert [(r["row"], r["value"]) for r in ndjson(out.getvalue())] == expected
    assert said == reported
