"""``cgcalc batch --cluster``: the same rows on a Dask distributed cluster (the ``dask``
extra), for datasets that outgrow one machine.

``dask.dataframe.read_parquet`` reads the dataset one row group per partition; each
partition is evaluated by the vectorised evaluator batch uses
(:func:`cgcalc.batch.evaluated`, so a bad row's message is the one batch and eval give)
and ``to_parquet`` writes the good rows, and the bad rows' messages, as datasets. Row
numbers are the dataset's, from the row groups' metadata, so they are those of the
single-process batch. Both datasets are written into directories beside the output
and renamed when the run succeeds; without ``--skip-bad`` a bad row (the lowest-numbered)
fails the run and nothing is kept. Imported only with ``--cluster``.
"""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Callable, Mapping
from contextlib import contextmanager

import dask.dataframe as dd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
from distributed import Client, LocalCluster
from distributed.diagnostics.progressbar import TextProgressBar

from . import parquet_io
from .batch import BadRow, bound, element_wise, evaluated, reuse_freed_memory
from .errors import CgcalcError
from .graph import Program


def errors_path(output: str) -> str:
    """Where skipped bad rows go: ``results.errors.parquet`` beside ``results.parquet``,
    ``results.errors`` beside ``results``."""
    stem, suffix = os.path.splitext(output.rstrip(os.sep))
    return f"{stem}.errors{suffix}"


def run_on_cluster(program: Program, constants: Mapping[str, float], source: str, output: str,
                   address: str, skip_bad: bool = False,
                   report: Callable[[str], None] = print,
                   progress: Callable[[int, int], None] | None = None) -> int:
    """Evaluate every row of the Parquet dataset ``source`` on the cluster at ``address``
    (``local`` or ``local:N`` for a LocalCluster here) into the dataset ``output``;
    returns how many bad rows were skipped (written to :func:`errors_path`)."""
    element_wise(program)
    dataset = parquet_io.Dataset(source)
    wanted = list(dataset.columns(program.variables, constants))
    for path in (output, errors_path(output)) if skip_bad else (output,):
        parquet_io.refuse_existing(path)
    with connected(address) as client:
        return evaluate_dataset(client, program, constants, dataset, wanted, output, skip_bad,
                                report, progress)


@contextmanager
def connected(address: str):
    """A client of the scheduler at ``address``, or of a LocalCluster of N worker
    processes (``local:N``; ``local``: one per core) that ends with the run."""
    if address != "local" and not address.startswith("local:"):
        try:
            client = Client(address, timeout=10)
        except (OSError, TimeoutError, ValueError) as error:
            raise CgcalcError(f"cannot reach the Dask scheduler at {address}: {error}") from None
        with client:
            yield client
        return
    count = address.removeprefix("local").removeprefix(":") or str(os.cpu_count() or 1)
    if not count.isdigit() or int(count) < 1:
        raise CgcalcError(f"--cluster {address}: local:N needs a number of workers N >= 1")
    # Not the cluster's chatter on stderr: its HTTP server moving off a busy port 8787, a
    # worker's heartbeat failing as the cluster closes. Failures reach the client.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Port .* is already in use", UserWarning)
        cluster = LocalCluster(n_workers=int(count), threads_per_worker=1, processes=True,
                               dashboard_address=None, silence_logs=logging.CRITICAL)
    with cluster, Client(cluster) as client:
        yield client


def evaluate_dataset(client: Client, program: Program, constants: Mapping[str, float],
                     dataset: parquet_io.Dataset, wanted: list[str], output: str,
                     skip_bad: bool, report: Callable[[str], None],
                     progress: Callable[[int, int], None] | None) -> int:
    """The dataset's rows evaluated on the client's cluster into the dataset ``output``
    (``wanted``: the columns that bind variables); returns how many bad rows were skipped,
    ``progress(done, total)`` told of the tasks as they finish."""
    program, names = bound(program, constants, wanted, report)
    frame = dd.read_parquet(dataset.files, columns=wanted, split_row_groups=True,
                            dtype_backend="pyarrow")
    lengths = _row_groups(dataset.files)
    if frame.npartitions != len(lengths):  # Dask split the files otherwise: count the rows
        lengths = frame.map_partitions(len).compute().tolist()
    starts = np.concatenate([[1], np.cumsum(lengths)[:-1] + 1]).tolist() if lengths else []
    meta = _frame(names, 0, np.empty(0), {name: np.empty(0) for name in names}, [])
    rows = frame.map_partitions(_partition, program, dict(constants), wanted, names, starts,
                                lengths, meta=meta, align_dataframes=False)
    good = rows.map_partitions(_good, meta=meta.drop(columns="message"))
    bad = rows.map_partitions(_bad, meta=meta[["row", "message"]])
    with parquet_io.new_directory(output) as results, \
            parquet_io.new_directory(errors_path(output), keep=skip_bad) as errors:
        writes = [good.to_parquet(results, **_written(parquet_io.schema(names))),
                  bad.to_parquet(errors, **_written(ERRORS))]
        futures = client.compute(writes)
        if progress:
            _Progress(futures, progress)
        client.gather(futures)
        skipped = ds.dataset(errors, format="parquet").count_rows()
        if skipped and not skip_bad:
            raise BadRow(_first_message(errors))
    return skipped


ERRORS = pa.schema([("row", pa.int64()), ("message", pa.string())])


def _written(schema: pa.Schema) -> dict:
    return {"write_index": False, "compute": False, "schema": schema,
            "name_function": lambda k: f"part.{k:06d}.parquet"}  # names sort as numbered


def _row_groups(files: list[str]) -> list[int]:
    """The rows of each row group of the files, in order: Dask's partitions."""
    return [metadata.row_group(k).num_rows for metadata in map(pq.read_metadata, files)
            for k in range(metadata.num_row_groups)]


def _partition(part: pd.DataFrame, program: Program, constants: dict[str, float],
               wanted: list[str], names: list[str], starts: list[int], lengths: list[int],
               partition_info: dict) -> pd.DataFrame:
    """One partition's rows evaluated: row, value, d_<name>, and why a bad row is bad
    (null for a good one)."""
    reuse_freed_memory()
    number = partition_info["number"]
    if len(part) != lengths[number]:
        raise RuntimeError(f"partition {number} has {len(part)} rows, its row group "
                           f"{lengths[number]}")
    table = pa.Table.from_pandas(part[wanted], preserve_index=False)
    chunk = parquet_io.chunk({name: table.column(name).combine_chunks() for name in wanted},
                             len(part), starts[number])
    values, grads, bad, why = evaluated(program, chunk, constants)
    return _frame(names, chunk.first, values, grads,
                  [(k, why(k)) for k in np.flatnonzero(bad).tolist()])


def _good(rows: pd.DataFrame) -> pd.DataFrame:
    """The rows without a message, without the message column."""
    bad = rows["message"].notna()
    good = rows.drop(columns="message")
    return good[~bad] if bad.any() else good


def _bad(rows: pd.DataFrame) -> pd.DataFrame:
    """The rows with a message: row and message."""
    return rows.loc[rows["message"].notna(), ["row", "message"]]


def _frame(names: list[str], first: int, values: np.ndarray, grads: dict[str, np.ndarray],
           messages: list[tuple[int, str]]) -> pd.DataFrame:
    count = len(values)
    if messages:
        texts: list[str | None] = [None] * count
        for k, message in messages:
            texts[k] = message
        message_column = pa.array(texts, pa.string())
    else:
        message_column = pa.nulls(count, pa.string())
    return pd.DataFrame({
        "row": np.arange(first, first + count, dtype=np.int64),
        "value": np.ascontiguousarray(values, dtype=np.float64),
        **{f"d_{name}": np.ascontiguousarray(grads[name], dtype=np.float64) for name in names},
        "message": pd.arrays.ArrowExtensionArray(message_column)})


def _first_message(errors: str) -> str:
    """The lowest-numbered bad row of the errors dataset, as batch says it."""
    dataset = ds.dataset(errors, format="parquet")
    first = min(int(np.min(batch.column("row"))) for batch in dataset.to_batches(columns=["row"])
                if batch.num_rows)
    why = dataset.to_table(filter=ds.field("row") == first).column("message")[0].as_py()
    return f"row {first}: {why}"


class _Progress(TextProgressBar):
    """Dask's progress over every task of the run, told to ``update(done, total)``
    instead of drawn on stdout."""

    def __init__(self, futures, update: Callable[[int, int], None]) -> None:
        self.update = update
        super().__init__(futures)

    def _draw_bar(self, remaining: int, all: int, **kwargs) -> None:
        self.update(all - remaining, all)

    def _draw_stop(self, **kwargs) -> None:
        pass
