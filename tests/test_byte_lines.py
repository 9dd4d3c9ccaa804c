"""batch's reading of bytes in blocks gives the lines a text file opened with newline=""
and surrogateescape gives, whatever the line ends, bytes and block boundaries; runs of
clean lines come as bytes, whole."""

import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cgcalc import byte_lines
from cgcalc.byte_lines import ByteLines, Clean

PIECES = [b"1", b"2.5", b",", b"\n", b"\r", b"\r\n", b"#", b'"', b" ", b"\xff", b"\xc3\xa9", b"x"]


def text_lines(data):
    return list(io.TextIOWrapper(io.BytesIO(data), encoding="utf-8", errors="surrogateescape",
                                 newline=""))


def read_all(data, steps):
    """Every line, by a mix of next() and take(count) as batch does."""
    source, lines, clean = ByteLines(io.BytesIO(data)), [], []
    for step in steps:
        if step == 0:
            line = next(source, None)
            if line is not None:
                lines.append(line)
            continue
        taken = source.take(step)
        if isinstance(taken, Clean):
            clean.append(taken)
            assert taken.count <= step
            taken = taken.lines()
            assert len(taken) == clean[-1].count
        lines.extend(taken)
    lines.extend(source)
    return lines, clean


@settings(derandomize=True, max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(PIECES), max_size=80), st.lists(st.integers(0, 6), max_size=12),
       st.integers(1, 9))
def test_lines_are_those_of_a_text_file_whatever_the_blocks(pieces, steps, size):
    data = b"".join(pieces)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(byte_lines, "READ", size)
        patch.setattr(byte_lines, "LARGEST", 4 * size)
        assert read_all(data, steps)[0] == text_lines(data)


def test_clean_runs_come_as_bytes_and_others_as_text():
    data = b"x,y\n1,2\n3,4\n5,6\n7,8\n# note\n9,10\n"
    source = ByteLines(io.BytesIO(data))
    assert next(source) == "x,y\n"
    taken = source.take(2)
    assert (taken.data, taken.count) == (b"1,2\n3,4\n", 2)
    assert source.take(3) == ["5,6\n", "7,8\n", "# note\n"]
    source.unread(["again\n"])
    assert source.take(5) == ["again\n"]
    taken = source.take(5)
    assert (taken.data, taken.count) == (b"9,10\n", 1)
    assert source.take(5) == []


CSV = (b"\xef\xbb\xbfx,y\r\n1,2\r\n3,4\n5,6\n\n# c\n7,x\n9,10\n11,12\r13,14\n\"15\",16\n17,1\xff\n"
       b"19,20\n21,22\n23,24\n25,26\n27,28")


@pytest.mark.parametrize("arrow", [True, False], ids=["pyarrow", "numpy"])
@pytest.mark.parametrize("chunk", [1, 2, 3, 5, 100])
def test_batch_reads_a_file_s_bytes_as_it_reads_its_lines(monkeypatch, chunk, arrow):
    import cgcalc
    import cgcalc.batch

    monkeypatch.setattr(cgcalc.batch, "CHUNK", chunk)
    if not arrow:
        monkeypatch.setattr(cgcalc.batch, "_columnar", lambda: None)
    monkeypatch.setattr(byte_lines, "READ", 7)

    def run(lines):
        program, out, skipped = cgcalc.parse("x*y"), io.StringIO(), []
        cgcalc.batch.run(program, cgcalc.batch.read(lines, program.variables, "csv"), {}, out,
                         skip_bad=True, report=skipped.append)
        return out.getvalue(), skipped

    from_bytes = run(io.TextIOWrapper(io.BytesIO(CSV), encoding="utf-8",
                                      errors="surrogateescape", newline=""))
    assert from_bytes == run(iter(text_lines(CSV)))
    assert from_bytes[1] == ["cgcalc: skipped row 4 (line 7): y = 'x' is not a number",
                             "cgcalc: skipped row 9 (line 12): is not valid UTF-8"]
    assert from_bytes[0].splitlines()[-1] == \
        '{"row": 14, "value": 756.0, "gradients": {"x": 28.0, "y": 27.0}}'
