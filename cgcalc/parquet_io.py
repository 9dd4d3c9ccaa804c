"""Parquet in and out for batch (the ``parquet`` extra): a file, a directory or a glob of
files read as one dataset in record batches, and results written by a
``ParquetWriter`` a chunk at a time, so memory stays flat whatever the rows.

Files are taken in natural order (``part.2`` before ``part.10``), as Dask takes them,
so a dataset's rows are numbered alike by batch and by ``--cluster``. Imported only
when Parquet is used; without pyarrow, :func:`cgcalc.batch.parquet` says how to get it.
"""

from __future__ import annotations

import glob
import os
import re
import shutil
import stat
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager

import numpy as np
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
from pyarrow._compute import CastOptions, call_function

from .batch import CHUNK, Chunk, _columns
from .columnar import _arrow, _numpy
from .errors import BindingError, CgcalcError, OutputError

SUFFIXES = (".parquet", ".pq")


def is_pattern(source: str) -> bool:
    return glob.has_magic(source)


def _natural(path: str) -> list:
    """Sort key: digits compared as numbers (``part.2`` before ``part.10``)."""
    return [int(piece) if piece.isdigit() else piece for piece in re.split(r"(\d+)", path)]


def _hidden(path: str, top: str) -> bool:
    """Is a file of a directory's dataset one that readers pass over (``_metadata``,
    ``.crc`` files, ``_SUCCESS``)?"""
    return any(part[:1] in "._" for part in os.path.relpath(path, top).split(os.sep))


def files(source: str) -> list[str]:
    """The files of a dataset: a file, every file under a directory, or a glob's matches,
    in natural order."""
    if is_pattern(source):
        found = [path for path in glob.glob(source, recursive=True) if os.path.isfile(path)]
        if not found:
            raise CgcalcError(f"cannot read {source}: no file matches")
    elif os.path.isdir(source):
        found = [os.path.join(top, name) for top, _, names in os.walk(source) for name in names]
        found = [path for path in found if not _hidden(path, source)]
        if not found:
            raise CgcalcError(f"cannot read {source}: the directory holds no Parquet file")
    elif os.path.exists(source):
        found = [source]
    else:
        raise CgcalcError(f"cannot read {source}: No such file or directory")
    return sorted(found, key=_natural)


def _numeric(type_: pa.DataType) -> bool:
    return pa.types.is_integer(type_) or pa.types.is_floating(type_) or pa.types.is_null(type_)


class Dataset:
    """A Parquet dataset's rows as batch chunks; ``rows`` is their number (from the files'
    metadata), ``read`` how many have been read so far."""

    def __init__(self, source: str) -> None:
        self.source, self.files = source, files(source)
        try:
            self.dataset = ds.dataset(self.files, format="parquet")
            self.rows = self.dataset.count_rows()
        except (pa.ArrowException, OSError) as error:
            raise CgcalcError(f"cannot read {source}: {_reason(error)}") from None
        self.read = 0

    def columns(self, names: Iterable[str], constants: Mapping[str, float]) -> dict[str, int]:
        """Where each variable the rows bind has its column; every one must hold numbers."""
        schema = self.dataset.schema
        wanted = _columns(names, constants, schema.names)
        for name in wanted:
            type_ = schema.field(name).type
            if not _numeric(type_):
                raise BindingError(f"the column {name} of {self.source} holds {type_}, "
                                   "not numbers")
        for fragment in self.dataset.get_fragments():  # the schema is the first file's
            missing = [name for name in wanted if name not in fragment.physical_schema.names]
            if missing:
                raise BindingError(f"{fragment.path} has no column {', '.join(missing)}, which "
                                   f"other files of {self.source} have; every file must hold "
                                   "every column the program reads")
        return wanted

    def chunks(self, names: Iterable[str], constants: Mapping[str, float] = {}
               ) -> Iterator[Chunk]:
        wanted = list(self.columns(names, constants))
        first = 1
        try:
            for batch in self._batches(wanted):
                if batch.num_rows:
                    yield chunk({name: batch.column(name) for name in wanted},
                                batch.num_rows, first)
                    first += batch.num_rows
                    self.read += batch.num_rows
        except (pa.ArrowException, OSError) as error:
            raise CgcalcError(f"cannot read {self.source}: {_reason(error)}") from None
        if first == 1:  # no rows: an empty result
            yield Chunk(1, 0, {name: np.empty(0) for name in wanted}, {}, None)

    def _batches(self, columns: list[str]) -> Iterator[pa.RecordBatch]:
        """The rows in record batches, a row group at a time: the dataset's own scan reads
        whole files ahead of a slower reader (hundreds of MiB held)."""
        for fragment in self.dataset.get_fragments():
            for group in fragment.split_by_row_group():
                yield from group.to_batches(columns=columns, batch_size=CHUNK,
                                            batch_readahead=1)


def chunk(arrays: Mapping[str, pa.Array], count: int, first: int) -> Chunk:
    """Arrow arrays of ``count`` rows as a chunk of rows ``first``...: each column as
    float64, a null as a missing value (its row unreadable)."""
    columns, unreadable = {}, {}
    for name, array in arrays.items():
        if array.type != pa.float64():
            array = call_function("cast", [array], CastOptions.unsafe(pa.float64()))
        missing = _nulls(array)
        if missing is not None:
            for k in np.flatnonzero(missing).tolist():
                unreadable.setdefault(k, f"{name} is missing")
            array = call_function("coalesce", [array, pa.scalar(0.0)])
        columns[name] = _numpy(array)
    return Chunk(first, count, columns, unreadable, None)


def _nulls(array: pa.Array) -> np.ndarray | None:
    """Where an array is null, or None when it has no nulls."""
    if not array.null_count:
        return None
    if array.buffers()[0] is None:  # the null type: all null
        return np.ones(len(array), dtype=bool)
    bits = np.unpackbits(np.frombuffer(array.buffers()[0], dtype=np.uint8), bitorder="little")
    return bits[array.offset:array.offset + len(array)] == 0


def schema(names: Iterable[str]) -> pa.Schema:
    """The results' columns: the row number, the value, a gradient per variable."""
    return pa.schema([("row", pa.int64()), ("value", pa.float64()),
                      *((f"d_{name}", pa.float64()) for name in names)])


class Writer:
    """Writes a chunk's kept rows as a record batch (a row group) of a Parquet file."""

    def __init__(self, sink, names: list[str]) -> None:
        self.names, self.schema = names, schema(names)
        self.writer = pq.ParquetWriter(sink, self.schema)

    def __call__(self, first: int, values: np.ndarray, grads: dict[str, np.ndarray],
                 keep: np.ndarray) -> None:
        if keep.all():  # no row to leave out: no copies
            columns = [np.arange(first, first + len(keep), dtype=np.int64), values,
                       *(grads[name] for name in self.names)]
        else:
            rows = np.flatnonzero(keep)
            columns = [rows.astype(np.int64) + first, values[rows],
                       *(grads[name][rows] for name in self.names)]
        self.writer.write_batch(pa.RecordBatch.from_arrays(list(map(_arrow, columns)),
                                                           schema=self.schema))

    def close(self) -> None:
        self.writer.close()


@contextmanager
def replacing(path: str):
    """A binary file to write ``path`` into: a temporary file beside it, renamed to
    ``path`` when the block ends without error and removed when it does not, so nothing
    is ever half-written."""
    try:
        fd, temporary = tempfile.mkstemp(dir=os.path.dirname(path) or ".", suffix=".tmp",
                                         prefix=f".{os.path.basename(path)}.")
    except OSError as error:
        raise CgcalcError(f"cannot write {path}: {_reason(error)}") from None
    try:
        try:
            with os.fdopen(fd, "wb") as file:
                os.fchmod(fd, _mode(path, 0o666))
                yield file
            os.replace(temporary, path)
        except OSError as error:
            raise OutputError(f"cannot write to {path}: {_reason(error)}") from None
    except BaseException:
        _remove(temporary)
        raise


def _mode(path: str, full: int) -> int:
    """The permissions ``path`` gets as if opened or made in place: an existing file's
    own, else ``full`` less the umask. (mkstemp and mkdtemp make theirs private, 0600 and
    0700, which the rename kept: results no one else could read.)"""
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return full & ~umask


@contextmanager
def new_directory(path: str, keep: bool = True):
    """A directory to write the dataset ``path`` into: made beside it and renamed to it
    when the block ends without error (and ``keep``), removed otherwise. ``path`` must
    not exist (a dataset is not overwritten)."""
    if keep:
        refuse_existing(path)
    try:
        temporary = tempfile.mkdtemp(dir=os.path.dirname(path.rstrip(os.sep)) or ".",
                                     prefix=f".{os.path.basename(path.rstrip(os.sep))}.",
                                     suffix=".tmp")
    except OSError as error:
        raise CgcalcError(f"cannot write {path}: {_reason(error)}") from None
    try:
        os.chmod(temporary, _mode(path, 0o777))
        yield temporary
        if keep:
            os.rename(temporary, path)
    except BaseException:
        _remove(temporary)
        raise
    if not keep:
        _remove(temporary)


def refuse_existing(path: str) -> None:
    """A dataset directory is written new, never over what is there."""
    if os.path.lexists(path):
        raise CgcalcError(f"cannot write {path}: it exists (a dataset is written whole into a "
                          "new directory; remove it or give another -o)")


def _remove(path: str) -> None:
    if os.path.isdir(path):
        shutil.rmtree(path, ignore_errors=True)
    elif os.path.lexists(path):
        os.unlink(path)


def _reason(error: Exception) -> str:
    return error.strerror if isinstance(error, OSError) and error.strerror else str(error)
