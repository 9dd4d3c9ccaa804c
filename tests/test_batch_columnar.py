"""Batch's pyarrow fast paths (the parquet extra): the same output, byte for byte, as the
row-by-row path without pyarrow, whose contract is Python's repr of each double."""

import io
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import cgcalc.batch

columnar = pytest.importorskip("cgcalc.columnar")  # needs pyarrow (cgcalc[parquet])

EDGES = [0.0, -0.0, 1.0, 100.0, 1e-05, -1e-05, 0.0001, 9.999999999999999e-05, 0.00012,
         1e-06, 1.5e-06, 1e-07, 1e14, 1.2345e14, 1e15, 9999999999999998.0, 1e16, 1e22,
         123456789012345.6, 715.0000000000001, 2.2, 5e-324, 2.2250738585072014e-308,
         9999999999.999998, 1e10, 12345678901.5, 1e9, 99999.5,
         1.7976931348623157e308, -3.5e-07, 0.1, 1 / 3]


def text(pieces):
    return bytes(columnar.lines(pieces)).decode()


def repr_lines(values):
    return "".join(f"[{k},{x!r}]\n" for k, x in enumerate(values))


def test_doubles_are_written_as_repr_writes_them_at_the_layout_edges():
    values = np.array(EDGES)
    assert text(["[", np.arange(len(values)), ",", values, "]\n"]) == repr_lines(EDGES)


@settings(derandomize=True, max_examples=200, deadline=None)
@given(st.lists(st.floats(allow_nan=False, allow_infinity=False), min_size=1, max_size=50))
def test_any_finite_doubles_are_written_as_repr_writes_them(values):
    array = np.array(values, dtype=np.float64)
    assert text(["[", np.arange(len(array)), ",", array, "]\n"]) == repr_lines(values)


@settings(derandomize=True, max_examples=200, deadline=None)
@given(st.lists(st.integers(-2 * 10**16, 2 * 10**16).map(float) | st.sampled_from([-0.0, 0.5]),
                min_size=1, max_size=30))
def test_columns_of_whole_numbers_are_written_as_repr_writes_them(values):
    array = np.array(values, dtype=np.float64)
    assert text(["[", np.arange(len(array)), ",", array, "]\n"]) == repr_lines(values)


# Doubles near the edges of repr's layouts (1e-4 and 1e16), below 1e-4 (written by repr,
# not orjson), subnormals, and whole numbers too large for an exact int64 text.
EDGE_FLOATS = st.one_of(
    st.sampled_from([1e-4, 1e-5, 1e16, 1e15, 2.0**53, 2.0**63]).flatmap(
        lambda edge: st.floats(edge * 0.999, edge * 1.001)),
    st.floats(-2.3e-308, 2.3e-308),
    st.integers(10**15, 2**80).map(float),
    st.floats(-1e-4, 1e-4),
    st.sampled_from([-0.0, 0.0, 5e-324, -5e-324]),
).flatmap(lambda x: st.sampled_from([x, -x]))


@settings(derandomize=True, max_examples=300, deadline=None)
@given(st.lists(EDGE_FLOATS, min_size=1, max_size=20))
def test_doubles_near_the_layout_edges_are_written_as_repr_writes_them(values):
    array = np.array(values, dtype=np.float64)
    assert text(["[", np.arange(len(array)), ",", array, "]\n"]) == repr_lines(values)


def test_each_text_after_a_column_may_start_with_a_brace_or_a_new_line():
    values = [1e-05, 2.5, -3e-07, 650.0]
    array = np.array(values)
    assert text(['{"a": ', array, '}}\n']) == "".join(f'{{"a": {x!r}}}}}\n' for x in values)
    assert text(["", array, ",", array * 2, "\n"]) == \
        "".join(f"{x!r},{2 * x!r}\n" for x in values)


def test_orjson_of_another_layout_leaves_the_lines_to_the_row_by_row_path(monkeypatch):
    class OldOrjson:  # before 3.11.7: positive exponents without their sign
        OPT_SERIALIZE_NUMPY = 0

        @staticmethod
        def dumps(values, option):
            return ("[" + ",".join(map(repr, values.tolist())) + "]").replace("e+", "e").encode()

    monkeypatch.setitem(sys.modules, "orjson", OldOrjson)
    columnar._orjson.cache_clear()
    try:
        assert not columnar.writes_lines()
        program = cgcalc.parse("x*1e10")
        out = io.StringIO()
        cgcalc.batch.run(program, cgcalc.batch.read(iter(["x\n", "1e7\n"]), ["x"], "csv"), {},
                         out)
        assert out.getvalue() == '{"row": 1, "value": 1e+17, "gradients": {"x": 10000000000.0}}\n'
        monkeypatch.setitem(sys.modules, "orjson", None)  # not installed
        columnar._orjson.cache_clear()
        assert not columnar.writes_lines()

        def refuses(values, option):
            raise TypeError("Type is not JSON serializable: numpy.ndarray")

        monkeypatch.setitem(sys.modules, "orjson", OldOrjson)  # too old for this NumPy
        monkeypatch.setattr(OldOrjson, "dumps", refuses)
        columnar._orjson.cache_clear()
        assert not columnar.writes_lines()
    finally:
        monkeypatch.undo()
        columnar._orjson.cache_clear()
    assert columnar.writes_lines()


def test_no_rows_are_no_text():
    assert text(["[", np.arange(0), ",", np.empty(0), "]\n"]) == ""


CSV = "x,y\n" + "".join(f"{x},{y}\n" for x, y in [(1, 2), (0.1, 3e-7), (1e15, -4), (2.5, 0),
                                                   (1e300, 1e-300), (-0.0, 7)])


@pytest.mark.parametrize("output", ["ndjson", "csv"])
def test_the_output_is_the_row_by_row_paths_byte_for_byte(monkeypatch, output):
    def run():
        program = cgcalc.parse("x*y + x/7")
        out = io.StringIO()
        lines = iter(CSV.splitlines(keepends=True))
        cgcalc.batch.run(program, cgcalc.batch.read(lines, program.variables, "csv"), {}, out,
                         output=output)
        return out.getvalue()

    fast = run()
    monkeypatch.setattr(cgcalc.batch, "_columnar", lambda: None)
    assert fast == run()
    assert fast.splitlines()[-1] == ('{"row": 6, "value": -0.0, "gradients": {"x": '
                                     f'{7 + 1 / 7!r}, "y": -0.0}}}}' if output == "ndjson"
                                     else f"6,-0.0,{7 + 1 / 7!r},-0.0")


def test_arrow_reads_clean_chunks_and_refuses_odd_ones_to_the_careful_paths():
    assert columnar.read_clean(["1,2\n", "3,4\n"], 2)[1].tolist() == [2.0, 4.0]
    for odd in (["1,2\n", "\n"], ["1,2\n", "# 3,4\n"], ["1_0,2\n"], ["1,\n"], ["1,2,3\n"],
                ["\uff11,2\n"], ["1,2\udcff\n"]):
        assert columnar.read_clean(odd, 2) is None, odd


def test_pyarrow_brings_no_pandas_along(tmp_path):
    path = tmp_path / "rows.csv"
    path.write_text("x\n1\n2\n")
    code = ("import sys; from cgcalc.cli import main; sys.argv[1:] = ['batch', 'x*x', "
            f"'--input', {str(path)!r}]\ntry: main()\nexcept SystemExit: pass\n"
            "print(sorted(m for m in ('pandas', 'pyarrow.compute', 'cgcalc.columnar') "
            "if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.stdout.splitlines()[-1] == "['cgcalc.columnar']", done.stderr
