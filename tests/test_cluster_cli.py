"""batch --cluster's words, without starting a cluster: what it refuses, what it says
without Dask, and that batch without the flag imports nothing of Dask."""

import subprocess
import sys

import pytest

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")


@pytest.fixture
def data(tmp_path):
    path = tmp_path / "in.parquet"
    pq.write_table(pa.table({"x": [1.0, 2.0]}), path)
    return str(path)


@pytest.mark.parametrize("args, message", [
    (["--input", "{csv}", "-o", "out"], "--cluster reads Parquet: give --input a .parquet "
                                        "file, a directory or a glob of a dataset"),
    (["--input", "{data}"], "--cluster writes a Parquet dataset: give -o DIR"),
    (["--input", "{data}", "-o", "out", "--format", "csv"],
     "--cluster writes a Parquet dataset, not csv"),
    (["--input", "{data}", "-o", "out", "--json"], "--cluster writes a Parquet dataset, "
                                                   "not ndjson"),
])
def test_a_cluster_reads_and_writes_parquet_datasets_only(run, tmp_path, data, args, message):
    csv = tmp_path / "in.csv"
    csv.write_text("x\n1\n")
    args = [arg.format(csv=csv, data=data) for arg in args]
    result = run("batch", "x*x", "--cluster", "local:1", *args)
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == f"cgcalc: usage error: {message} (see 'cgcalc batch --help')\n"


def test_an_existing_output_is_not_overwritten(run, tmp_path, data):
    pytest.importorskip("distributed")
    (tmp_path / "out").mkdir()
    result = run("batch", "x*x", "--input", data, "--cluster", "local:1", "-o",
                 str(tmp_path / "out"))
    assert result.exit_code == 2
    assert result.stderr == (f"cgcalc: error: cannot write {tmp_path / 'out'}: it exists (a "
                             "dataset is written whole into a new directory; remove it or give "
                             "another -o)\n")


def test_local_needs_a_number_of_workers(run, tmp_path, data):
    pytest.importorskip("distributed")
    result = run("batch", "x*x", "--input", data, "--cluster", "local:two", "-o",
                 str(tmp_path / "out"))
    assert (result.exit_code, result.stderr) == (
        2, "cgcalc: error: --cluster local:two: local:N needs a number of workers N >= 1\n")


def imported(argv, block=""):
    """Runs cgcalc ARGV after BLOCK; prints which of Dask's packages it imported."""
    code = (f"import atexit, sys\n{block}\nfrom cgcalc.cli import main\n"
            "atexit.register(lambda: print(sorted({name.split('.')[0] for name, module in "
            "sys.modules.items() if module} & {'dask', 'distributed'}), file=sys.stderr))\n"
            f"sys.argv = ['cgcalc', *{argv!r}]\nmain()")
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)


def test_batch_without_cluster_imports_nothing_of_dask(data, tmp_path):
    done = imported(["batch", "x*x", "--input", data, "-o", str(tmp_path / "out.parquet")])
    assert (done.returncode, done.stderr) == (0, "[]\n")


def test_without_dask_cluster_says_which_extra_to_install(data, tmp_path):
    done = imported(["batch", "x*x", "--input", data, "--cluster", "local", "-o",
                     str(tmp_path / "out")], block="sys.modules['dask'] = None")
    assert (done.returncode, done.stderr) == (
        2, "cgcalc: error: --cluster needs Dask: pip install 'cgcalc[dask]'\n[]\n")
