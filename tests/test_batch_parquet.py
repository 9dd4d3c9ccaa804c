"""Batch with Parquet (the parquet extra): a file, a directory or a glob of a dataset in,
a Parquet file of row, value and d_<variable> out, written whole or not at all."""

import json
import os
import subprocess
import sys

import pytest

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

PROGRAM = "log(x)*y + x"


def write(path, **columns):
    pq.write_table(pa.table(columns), path)
    return str(path)


def ndjson(text):
    return [json.loads(line) for line in text.splitlines()]


def files(directory):
    return sorted(os.listdir(directory))


def test_a_parquet_file_gives_what_the_same_rows_as_csv_give(run, tmp_path):
    csv = tmp_path / "rows.csv"
    csv.write_text("x,y\n1,2\n0.5,3\n4,-1\n")
    data = write(tmp_path / "rows.parquet", x=[1.0, 0.5, 4.0], y=pa.array([2, 3, -1], pa.int8()))
    from_parquet = run("batch", PROGRAM, "--input", data)
    assert from_parquet.exit_code == 0, from_parquet.stderr
    assert from_parquet.stdout == run("batch", PROGRAM, "--input", str(csv)).stdout
    assert ndjson(from_parquet.stdout)[1] == {
        "row": 2, "value": 3 * -0.6931471805599453 + 0.5,
        "gradients": {"x": 3 / 0.5 + 1, "y": -0.6931471805599453}}


def test_parquet_out_has_row_value_and_gradient_columns_in_input_order(run, tmp_path):
    csv = tmp_path / "rows.csv"
    csv.write_text("x,y\n" + "".join(f"{k + 1},{k % 7}\n" for k in range(70_000)))  # 2 chunks
    out = tmp_path / "results.parquet"
    result = run("batch", PROGRAM, "--input", str(csv), "-o", str(out))
    assert (result.exit_code, result.stdout, result.stderr) == (0, "", "")
    table = pq.read_table(out)
    assert table.schema == pa.schema([("row", pa.int64()), ("value", pa.float64()),
                                      ("d_x", pa.float64()), ("d_y", pa.float64())])
    assert table.num_rows == 70_000
    assert table.column("row").to_pylist() == list(range(1, 70_001))
    lines = run("batch", PROGRAM, "--input", str(csv), "--format", "csv").stdout.splitlines()
    assert [",".join(map(repr, row)) for row in zip(*(table.column(k).to_pylist()[-3:]
                                                     for k in range(4)))] == lines[-3:]
    assert files(tmp_path) == ["results.parquet", "rows.csv"]


def test_format_parquet_when_the_suffix_does_not_say(run, tmp_path):
    data = write(tmp_path / "in.parquet", x=[2.0], y=[3.0])
    result = run("batch", "x*y", "--input", data, "--format", "parquet", "-o",
                 str(tmp_path / "out.bin"))
    assert result.exit_code == 0, result.stderr
    assert pq.read_table(tmp_path / "out.bin").to_pylist() == [
        {"row": 1, "value": 6.0, "d_x": 3.0, "d_y": 2.0}]


def test_a_directory_and_a_glob_are_read_in_natural_order(run, tmp_path):
    (tmp_path / "data").mkdir()
    for part in (10, 2, 1):
        write(tmp_path / "data" / f"part.{part}.parquet", x=[float(part)] * 2, y=[1.0, 2.0])
    (tmp_path / "data" / "_SUCCESS").write_text("")
    expected = [row * part for part in (1, 2, 10) for row in (1.0, 2.0)]
    for source in (tmp_path / "data", tmp_path / "data" / "part.*.parquet"):
        result = run("batch", "x*y", "--input", str(source))
        assert result.exit_code == 0, result.stderr
        rows = ndjson(result.stdout)
        assert [r["value"] for r in rows] == expected
        assert [r["row"] for r in rows] == [1, 2, 3, 4, 5, 6]


BAD = {"x": pa.array([1.0, None, 3.0, -1.0, float("inf")]), "y": pa.array([2, 3, 4, 5, 6])}


def test_a_bad_row_writes_nothing_and_says_eval_s_message(run, tmp_path):
    data = write(tmp_path / "in.parquet", **BAD)
    result = run("batch", PROGRAM, "--input", data, "-o", str(tmp_path / "out.parquet"))
    assert result.exit_code == 1
    assert result.stderr == "cgcalc: row 2: x is missing\n"
    assert files(tmp_path) == ["in.parquet"]


def test_skip_bad_reports_each_bad_row_and_writes_the_good_ones(run, tmp_path):
    data = write(tmp_path / "in.parquet", **BAD)
    result = run("batch", PROGRAM, "--input", data, "-o", str(tmp_path / "out.parquet"),
                 "--skip-bad")
    assert result.exit_code == 0
    assert result.stderr.splitlines() == [
        "cgcalc: skipped row 2: x is missing",
        "cgcalc: skipped row 4: evaluation error at 1:1: log(-1) is undefined "
        "(log is defined for x > 0)", "  log(x)*y + x", "  ^",
        "cgcalc: skipped row 5: evaluation error at 1:5: x is bound to inf, not a finite "
        "number", "  log(x)*y + x", "      ^",
        "cgcalc: 3 bad rows skipped"]
    assert pq.read_table(tmp_path / "out.parquet").column("row").to_pylist() == [1, 3]


def test_no_rows_are_an_empty_table_with_the_columns(run, tmp_path):
    data = write(tmp_path / "in.parquet", x=pa.array([], pa.float64()), y=pa.array([], pa.int64()))
    result = run("batch", "x*y", "--input", data, "-o", str(tmp_path / "out.parquet"))
    assert result.exit_code == 0, result.stderr
    table = pq.read_table(tmp_path / "out.parquet")
    assert (table.num_rows, table.column_names) == (0, ["row", "value", "d_x", "d_y"])


@pytest.mark.parametrize("args, message", [
    (["z*y"], "cgcalc: name error: the input has no column for z (its columns: x, y, s); "
              "bind constants with -v"),
    (["s*y"], "cgcalc: binding error: the column s of {data} holds string, not numbers"),
    (["x*y", "-o", "parquet"], "cgcalc: usage error: --output names a file; give the format with "
                         "--format parquet (see 'cgcalc batch --help')"),
    (["x*y", "--format", "parquet"], "cgcalc: usage error: Parquet results go to a file: "
                                     "give -o FILE (see 'cgcalc batch --help')"),
    (["x*y", "--json", "--format", "parquet"],
     "cgcalc: usage error: --json writes NDJSON; use --json or --format parquet, not both "
     "(see 'cgcalc batch --help')"),
])
def test_errors_are_one_line_and_exit_2(run, tmp_path, args, message):
    data = write(tmp_path / "in.parquet", x=[1.0], y=[2.0], s=["a"])
    result = run("batch", args[0], "--input", data, *args[1:])
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == message.format(data=data) + "\n"


def test_missing_files_and_files_that_are_not_parquet(run, tmp_path):
    text = tmp_path / "rows.parquet"
    text.write_text("x\n1\n")
    for source, why in [(tmp_path / "nothing.parquet", "No such file or directory"),
                        (tmp_path / "none*.parquet", "no file matches"),
                        (text, "Error creating dataset. Could not read schema from")]:
        result = run("batch", "x", "--input", str(source))
        assert result.exit_code == 2
        assert result.stderr.startswith(f"cgcalc: error: cannot read {source}: {why}")
        assert len(result.stderr.splitlines()) == 1


def test_parquet_from_stdin_is_refused(run):
    result = run("batch", "x", "--input-format", "parquet", input="x\n1\n")
    assert result.stderr == ("cgcalc: usage error: Parquet is read from a file, a directory or "
                             "a glob, not stdin (see 'cgcalc batch --help')\n")


def test_without_pyarrow_parquet_says_which_extra_to_install(tmp_path):
    code = ("import sys; sys.modules['pyarrow'] = None\nfrom cgcalc.cli import main\n"
            f"sys.argv = ['cgcalc', 'batch', 'x', '--input', {str(tmp_path / 'a.parquet')!r}]\n"
            "main()")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == "cgcalc: error: Parquet needs pyarrow: pip install 'cgcalc[parquet]'\n"


def test_a_file_of_a_dataset_without_a_column_is_refused_before_any_row(run, tmp_path):
    """The dataset's schema is its first file's: a later file without y gave row 1, then
    Arrow's 'No match for FieldRef.Name(y)' with its internal fields (and exit 3 on a cluster)."""
    (tmp_path / "d").mkdir()
    write(tmp_path / "d" / "a.parquet", x=[1.0], y=[1.0])
    write(tmp_path / "d" / "b.parquet", x=[2.0])
    result = run("batch", "x*y", "--input", str(tmp_path / "d"), "--skip-bad")
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr == (f"cgcalc: binding error: {tmp_path / 'd' / 'b.parquet'} has no column "
                             f"y, which other files of {tmp_path / 'd'} have; every file must hold "
                             "every column the program reads\n")
    assert ndjson(run("batch", "x*2", "--input", str(tmp_path / "d")).stdout)[1]["value"] == 4.0


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_the_results_never_go_over_the_rows(run, tmp_path, suffix):
    """-o naming the input cut a CSV file short, then read its own results back as rows
    (200,000 rows: a bad row 128,854), or replaced a Parquet file; now a usage error, the
    file untouched. Through a link, or piped into stdin, it is the same file."""
    rows = tmp_path / f"rows{suffix}"
    if suffix == ".csv":
        rows.write_text("x,y\n1,2\n")
    else:
        write(rows, x=[1.0], y=[2.0])
    before = rows.read_bytes()
    (tmp_path / f"link{suffix}").symlink_to(rows)
    for output in (rows, tmp_path / f"link{suffix}"):
        result = run("batch", PROGRAM, "--input", str(rows), "-o", str(output))
        assert (result.exit_code, result.stdout) == (2, "")
        assert result.stderr == (f"cgcalc: usage error: -o {output} is the file the rows are read "
                                 "from; the results would overwrite them: write them to another "
                                 "file (see 'cgcalc batch --help')\n")
    assert rows.read_bytes() == before
    if suffix == ".csv":
        piped = subprocess.run([sys.executable, "-m", "cgcalc", "batch", PROGRAM, "--input-format",
                                "csv", "-o", str(rows)], stdin=rows.open(), capture_output=True,
                               text=True)
        assert (piped.returncode, rows.read_bytes()) == (2, before)


def test_a_parquet_result_has_the_permissions_of_a_file_written_in_place(run, tmp_path):
    """The temporary file's 0600 (mkstemp's) was kept by the rename: results only their
    owner could read, where -o results.csv gives 0666 less the umask."""
    rows = write(tmp_path / "rows.parquet", x=[1.0], y=[2.0])
    umask = os.umask(0o022)
    try:
        assert run("batch", PROGRAM, "--input", rows, "-o", str(tmp_path / "new.parquet")).exit_code == 0
        assert run("batch", PROGRAM, "--input", rows, "-o", str(tmp_path / "new.csv")).exit_code == 0
        kept = tmp_path / "kept.parquet"
        kept.touch(mode=0o640)
        kept.chmod(0o640)
        assert run("batch", PROGRAM, "--input", rows, "-o", str(kept)).exit_code == 0
    finally:
        os.umask(umask)
    modes = [oct(os.stat(tmp_path / name).st_mode & 0o777)
             for name in ("new.parquet", "new.csv", "kept.parquet")]
    assert modes == ["0o644", "0o644", "0o640"]


def test_a_dataset_directory_has_the_permissions_of_one_made_in_place(tmp_path):
    from cgcalc.parquet_io import new_directory

    umask = os.umask(0o022)
    try:
        with new_directory(str(tmp_path / "results")) as made:
            pass
    finally:
        os.umask(umask)
    assert not os.path.exists(made) and oct(os.stat(tmp_path / "results").st_mode & 0o777) == "0o755"
