"""batch --cluster on a real Dask LocalCluster of two worker processes (no mock): the same
rows as single-process batch, every row exactly once when a worker is killed, bad rows
with and without --skip-bad. One cluster serves the file's tests in each test process."""

import os
import signal

import numpy as np
import pytest

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")
ds = pytest.importorskip("pyarrow.dataset")
distributed = pytest.importorskip("distributed")

import cgcalc  # noqa: E402
from cgcalc import parquet_io  # noqa: E402
from cgcalc.batch import BadRow  # noqa: E402
from cgcalc.cluster import connected, evaluate_dataset  # noqa: E402

PROGRAM = "log(x)*y + sigmoid(x*y) + pi"
ROWS = 1_000_000


@pytest.fixture(scope="module")
def client():
    """What --cluster local:2 starts: a LocalCluster of two worker processes."""
    with connected("local:2") as client:
        yield client


@pytest.fixture(scope="module")
def million(tmp_path_factory):
    """10^6 rows in 4 files of 2 row groups each: 8 partitions."""
    directory = tmp_path_factory.mktemp("million")
    rng = np.random.default_rng(21)
    for part in range(4):
        count = ROWS // 4
        pq.write_table(pa.table({"x": rng.uniform(0.01, 10, count),
                                 "y": pa.array(rng.integers(-50, 50, count), pa.int32())}),
                       directory / f"part.{part}.parquet", row_group_size=count // 2)
    return directory


def on_cluster(client, source, output, skip_bad=False, progress=None, program=PROGRAM):
    dataset = parquet_io.Dataset(str(source))
    program = cgcalc.parse(program)
    wanted = list(dataset.columns(program.variables, {}))
    return evaluate_dataset(client, program, {}, dataset, wanted, str(output), skip_bad,
                            lambda line: None, progress)


@pytest.fixture(scope="module")
def single_process(million, tmp_path_factory):
    """The million rows through single-process batch (the command line, in-process)."""
    from click.testing import CliRunner

    from cgcalc.cli import cli

    output = tmp_path_factory.mktemp("single") / "single.parquet"
    result = CliRunner().invoke(cli, ["batch", PROGRAM, "--input", str(million), "-o",
                                      str(output)])
    assert result.exit_code == 0, result.stderr
    return pq.read_table(output)


def test_a_million_rows_equal_single_process_batch_row_for_row(client, million, tmp_path,
                                                               single_process):
    assert on_cluster(client, million, tmp_path / "out") == 0
    assert os.listdir(tmp_path) == ["out"]  # no errors dataset
    assert sorted(os.listdir(tmp_path / "out")) == [f"part.{k:06d}.parquet" for k in range(8)]
    table = ds.dataset(tmp_path / "out", format="parquet").to_table()
    assert table.column_names == ["row", "value", "d_x", "d_y"]
    assert table.num_rows == ROWS
    assert table.equals(single_process)


def test_a_killed_worker_s_tasks_are_run_again_and_every_row_is_written_once(
        client, million, tmp_path, single_process):
    killed = []

    def kill_one_worker(done, total):
        if not killed and 0 < done < total:
            address, pid = sorted(client.run(os.getpid).items())[0]
            os.kill(pid, signal.SIGKILL)
            killed.append(address)

    assert on_cluster(client, million, tmp_path / "out", progress=kill_one_worker) == 0
    assert killed
    rows = ds.dataset(tmp_path / "out", format="parquet").to_table()
    assert rows.column("row").to_pylist() == list(range(1, ROWS + 1))
    assert rows.equals(single_process)


@pytest.fixture(scope="module")
def bad_rows(tmp_path_factory):
    """Bad rows in three of six partitions: a null, log of a negative, a non-finite input."""
    directory = tmp_path_factory.mktemp("bad")
    x = [[1.0, 2.0, 3.0, 4.0], [1.0, None, 3.0, -1.0], [5.0, 6.0, 7.0, 8.0],
         [float("inf"), 1.0, 2.0, -2.0]]
    for part, values in enumerate(x):
        pq.write_table(pa.table({"x": pa.array(values), "y": np.arange(4.0)}),
                       directory / f"part.{part}.parquet", row_group_size=2)
    return directory


LOG_OF = ("evaluation error at 1:1: log({}) is undefined (log is defined for x > 0)\n"
          "  log(x)*y + sigmoid(x*y) + pi\n  ^")


def test_without_skip_bad_the_lowest_bad_row_fails_the_run_and_nothing_is_kept(
        client, bad_rows, tmp_path, run):
    with pytest.raises(BadRow) as error:
        on_cluster(client, bad_rows, tmp_path / "out")
    alone = run("batch", PROGRAM, "--input", str(bad_rows), "-o", str(tmp_path / "one.parquet"))
    assert str(error.value) == "row 6: x is missing" == alone.stderr.removeprefix("cgcalc: ")[:-1]
    assert os.listdir(tmp_path) == []


def test_with_skip_bad_bad_rows_go_to_the_errors_dataset_with_eval_s_message(
        client, bad_rows, tmp_path):
    assert on_cluster(client, bad_rows, tmp_path / "out.parquet", skip_bad=True) == 4
    assert sorted(os.listdir(tmp_path)) == ["out.errors.parquet", "out.parquet"]
    errors = ds.dataset(tmp_path / "out.errors.parquet", format="parquet").to_table()
    assert errors.to_pylist() == [
        {"row": 6, "message": "x is missing"},
        {"row": 8, "message": LOG_OF.format(-1)},
        {"row": 13, "message": "evaluation error at 1:5: x is bound to inf, not a finite "
                               "number\n  log(x)*y + sigmoid(x*y) + pi\n      ^"},
        {"row": 16, "message": LOG_OF.format(-2)}]
    good = ds.dataset(tmp_path / "out.parquet", format="parquet").to_table()
    assert good.column("row").to_pylist() == [1, 2, 3, 4, 5, 7, 9, 10, 11, 12, 14, 15]


def test_the_command_line_on_a_scheduler_s_address(client, bad_rows, tmp_path, run):
    out = tmp_path / "results"
    done = run("batch", "x*y", "--input", str(bad_rows / "part.*.parquet"),
               "--cluster", client.scheduler.address, "-o", str(out), "--skip-bad")
    assert (done.exit_code, done.stdout) == (0, "")
    assert done.stderr == f"cgcalc: 2 bad rows skipped, written to {out}.errors\n"
    assert ds.dataset(out, format="parquet").to_table().column("value").to_pylist() == [
        0.0, 2.0, 6.0, 12.0, 0.0, 6.0, -3.0, 0.0, 6.0, 14.0, 24.0, 1.0, 4.0, -6.0]
