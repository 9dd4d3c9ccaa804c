"""Batch mode: one program, many rows of bindings, one result per row, streamed.

The program is parsed once; rows are read in chunks of ``CHUNK`` lines and each chunk
is evaluated once with NumPy arrays of one value per row (see
:func:`cgcalc.array_engine.evaluate_rows`), so memory stays bounded whatever the
input's length. A bad row (a missing or malformed value, a value or gradient that is
not finite) is explained by evaluating that row alone with the scalar engine, so its
message is the one ``cgcalc eval`` would give. Output order is input order; with
``skip_bad`` bad rows are reported and left out, and no good row is lost.

Lines are split as the :mod:`csv` module expects (``newline=""``): a leading UTF-8
byte-order mark is dropped, blank lines and lines whose first non-blank character is
``#`` are passed over, and bytes that are not UTF-8 (decoded with ``surrogateescape``)
spoil their own row only. Rows are the data rows, numbered from 1 in input order; a bad
row's message also gives its line number.
"""

from __future__ import annotations

import csv
import ctypes
import functools
import json
import sys
import warnings
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from itertools import chain, islice
from operator import itemgetter
from typing import BinaryIO, TextIO

import numpy as np

from .array_engine import evaluate_rows
from .byte_lines import ByteLines, Clean
from .engine import evaluate
from .errors import BindingError, CgcalcError, EvaluationError, UnknownNameError
from .graph import Program
from .ops import CONSTANTS
from .walk import as_float

CHUNK = 65_536  #: lines read (and rows evaluated) at once
BOM = "\ufeff"


class BadRow(EvaluationError):
    """A row that cannot be evaluated (exit 1 unless bad rows are skipped)."""

    def __str__(self) -> str:
        return self.message  # "row N (line L): ...", already saying what kind of trouble


class Chunk:
    """Rows ``first`` .. ``first + count - 1`` (1-based) as columns, one per variable the
    input binds; the rows that could not be read, with why; and the line each row is on:
    ``lines`` is the first row's line when the rows are on consecutive lines, else a
    list of every row's line, or None for an input without lines (Parquet)."""

    def __init__(self, first: int, count: int, columns: dict[str, np.ndarray],
                 unreadable: dict[int, str], lines: int | list[int] | None) -> None:
        self.first, self.count, self.columns, self.unreadable = first, count, columns, unreadable
        self.lines = lines

    def line(self, k: int) -> int:
        """The line number of row ``k`` of the chunk (0-based)."""
        return self.lines + k if isinstance(self.lines, int) else self.lines[k]

    def where(self, k: int) -> str:
        """Row ``k`` of the chunk as messages name it: its number, and its line if any."""
        row = f"row {self.first + k}"
        return row if self.lines is None else f"{row} (line {self.line(k)})"


def read(lines: Iterable[str], names: Iterable[str], fmt: str | None,
         constants: Mapping[str, float] = {}) -> Iterator[Chunk]:
    """Chunks of CSV or JSON Lines from the input's lines (a file opened with
    ``newline=""``, ``errors="surrogateescape"``, whose bytes are then read in blocks:
    see :mod:`cgcalc.byte_lines`).

    ``names`` are the program's variables: the input binds each one that is not in
    ``constants``, and ``pi`` and ``e`` too when it has them (a column, or a key of the
    first row of JSON Lines). A variable that is both a constant and a column is an
    error. With no ``fmt``, the input is JSON Lines if its first line that is not blank
    or a comment opens a JSON object, else CSV.
    """
    lines = ByteLines(lines.buffer) if hasattr(lines, "buffer") else iter(lines)
    peeked = [next(lines, "").removeprefix(BOM)]
    while fmt is None:
        if not _skipped(peeked[-1]):
            fmt = "jsonl" if peeked[-1].lstrip()[:1] == "{" else "csv"
        elif peeked[-1]:
            peeked.append(next(lines, ""))
        else:
            fmt = "csv"  # nothing but blank lines and comments: CSV's "empty input" error
    if isinstance(lines, ByteLines):
        lines.unread(list(filter(None, peeked)))
    else:
        lines = chain(filter(None, peeked), lines)
    return (read_jsonl if fmt == "jsonl" else read_csv)(lines, names, constants)


def _skipped(line: str) -> bool:
    """A blank line, or a comment: one whose first non-blank character is #."""
    return line.lstrip()[:1] in ("", "#")


def _invalid_utf8(text: str) -> bool:
    """Does the text hold bytes that were not UTF-8 (escaped as lone surrogates)?"""
    if text.isascii():
        return False
    try:
        text.encode()
    except UnicodeEncodeError:
        return True
    return False


def _wanted(names: Iterable[str], constants: Mapping[str, float]):
    """The variables the input must bind, those it may bind (pi, e), and the constants'."""
    names = list(names)
    return ([n for n in names if n not in CONSTANTS and n not in constants],
            [n for n in names if n in CONSTANTS and n not in constants],
            [n for n in names if n in constants])


def _clash(name: str, constants: Mapping[str, float], where: str) -> str:
    return (f"{name} is both {where} and a constant ({name}={constants[name]:g} from -v, "
            f"--vars or NAME=VALUE); keep one")


def read_csv(lines: Iterator[str], names: Iterable[str],
             constants: Mapping[str, float] = {}) -> Iterator[Chunk]:
    """CSV with a header of variable names; the columns of ``names`` are kept.

    The :mod:`csv` module's reading is the reference (a quoted field may hold a new
    line). A chunk in which every line holds whole records is read by NumPy's
    ``loadtxt`` (the fast path) unless a line is bad: then each line is split by the
    :mod:`csv` module to say which rows are bad and why. Only a chunk with a record
    spanning lines is read record by record.
    """
    source = _Records(lines)
    record = source.next()
    if record is None:
        raise BindingError("the CSV input is empty: it needs a header of variable names")
    line, header = record
    if isinstance(header, str):
        raise BindingError(f"the CSV header (line {line}) {header}")
    header = [h.strip() for h in header]
    wanted = _columns(names, constants, header)
    first, empty = 1, True
    while raw := source.take(CHUNK):
        if isinstance(raw, Clean):
            chunk = _clean_rows(raw, source.number + 1, first, len(header), wanted)
            source.number += chunk.count
        elif _whole_records(raw):
            chunk = _line_rows(raw, source.number + 1, first, len(header), wanted)
            source.number += len(raw)
        else:
            chunk = _record_rows(source, first, len(header), wanted)
        yield chunk
        first += chunk.count
        empty = False
    if empty:  # a header and no rows: an empty result (with its CSV header)
        yield Chunk(1, 0, {n: np.empty(0) for n in wanted}, {}, [])


def _take(lines: Iterator[str], count: int, clean: bool = False) -> Clean | list[str]:
    """The next ``count`` lines or so (a clean run as bytes when ``clean`` allows)."""
    if isinstance(lines, ByteLines):
        return lines.take(count, clean)
    return list(islice(lines, count))


def _clean_rows(raw: Clean, top: int, first: int, width: int, wanted: dict[str, int]) -> Chunk:
    """The rows of a clean run of lines: its bytes straight into Arrow's CSV reader, else
    (no pyarrow, or a line Arrow refuses) its lines read as any other lines."""
    columnar = _columnar()
    columns = columnar.read_clean_bytes(raw.data, width, raw.count) if columnar else None
    if columns is None:
        return _line_rows(raw.lines(), top, first, width, wanted)
    return Chunk(first, raw.count, {n: columns[k] for n, k in wanted.items()}, {}, top)


def _whole_records(raw: list[str]) -> bool:
    """Does every line hold whole quoted fields? (Then no record spans lines.)"""
    return '"' not in "".join(raw) or not any(line.count('"') % 2 for line in raw)


def _line_rows(raw: list[str], top: int, first: int, width: int,
               wanted: dict[str, int]) -> Chunk:
    """The rows of lines that each hold one record, or are blank or comments; ``top`` is
    the first one's line number. NumPy reads them if they are all clean, else each line
    is read alone to say which rows are bad and why."""
    table = _read_clean(raw, width)
    if table is not None:  # the common case: every line a clean row
        return Chunk(first, len(raw), {n: table[k] for n, k in wanted.items()}, {}, top)
    kept = [k for k, line in enumerate(raw) if not _skipped(line)]
    lines = [raw[k] for k in kept]
    table = _read_clean(lines, width) if len(lines) < len(raw) else None
    rows = [top + k for k in kept]
    if table is not None:
        return Chunk(first, len(lines), {n: table[k] for n, k in wanted.items()}, {}, rows)
    return _chunk(first, _cells(lines), width, wanted, rows)


def _read_clean(lines: list[str], width: int) -> list[np.ndarray] | None:
    """The columns of lines that are each one row of ``width`` numbers, else None:
    Arrow's CSV reader when pyarrow is installed, else (or if Arrow refuses) NumPy's."""
    columnar = _columnar()
    columns = columnar.read_clean(lines, width) if columnar else None
    if columns is None:
        table = _loadtxt(lines, width)
        columns = None if table is None else list(table.T)
    return columns


def _columnar():
    """:mod:`cgcalc.columnar` (pyarrow's fast paths), or None without pyarrow."""
    try:
        from . import columnar
    except ImportError:
        return None
    return columnar


def parquet():
    """:mod:`cgcalc.parquet_io`, or the error saying how to install pyarrow."""
    try:
        from . import parquet_io
    except ImportError:
        raise CgcalcError("Parquet needs pyarrow: pip install 'cgcalc[parquet]'") from None
    return parquet_io


def _loadtxt(lines: list[str], width: int) -> np.ndarray | None:
    """NumPy's reading of lines that are each one row of ``width`` numbers, else None
    (with no comment character: ``3,4#9`` is not 4)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "input contained no data": blank lines only
            table = np.loadtxt(lines, delimiter=",", dtype=np.float64, ndmin=2, quotechar='"',
                               comments=None)
    except ValueError:  # a bad cell or line (bytes that were not UTF-8 are not numbers)
        return None
    return table if table.shape == (len(lines), width) else None


def _cells(lines: list[str]) -> list[list[str] | str]:
    """The cells of each line (holding one record each), or why it cannot be read."""
    reader = csv.reader(lines)
    try:
        records = list(reader)
    except csv.Error:  # a line break inside a field: read record by record to say where
        records, reader = [], csv.reader(lines)
        for _ in lines:
            try:
                records.append(next(reader))
            except csv.Error as error:
                records.append(_invalid(error))
    if _invalid_utf8("".join(lines)):
        for k, line in enumerate(lines):
            if _invalid_utf8(line):
                records[k] = "is not valid UTF-8"
    return records


def _invalid(error: csv.Error) -> str:
    return f"is not valid CSV: {str(error).split(' - ')[0]}"  # without "open the file with..."


def _record_rows(source: _Records, first: int, width: int, wanted: dict[str, int]) -> Chunk:
    """The rows of the records that start in the lines ``source`` has taken."""
    records = []
    while source.more():
        records.append(source.next())
    return _chunk(first, (cells for _, cells in records), width, wanted,
                  [line for line, _ in records])


def _chunk(first: int, records: Iterable[list[str] | str], width: int, wanted: dict[str, int],
           lines: list[int]) -> Chunk:
    """A chunk of the records' numbers (each record: its cells, or why it cannot be read)."""
    records, unreadable, placeholder = list(records), {}, ["0"] * width
    for k, cells in enumerate(records):
        if isinstance(cells, str) or len(cells) != width:
            unreadable[k] = cells if isinstance(cells, str) else \
                f"has {len(cells)} fields, the header {width}"
            records[k] = placeholder
    columns = {name: _column(name, list(map(itemgetter(index), records)), unreadable)
               for name, index in wanted.items()}
    return Chunk(first, len(records), columns, unreadable, lines)


def _column(name: str, cells: list[str], unreadable: dict[int, str]) -> np.ndarray:
    """A column's cells as numbers, read as ``loadtxt`` reads clean lines (no ``1_000``, no
    full-width digits). A cell that is not a number gives its row 0 and, if the row has
    none yet, a reason in ``unreadable``."""
    text = "".join(cells)
    lenient = text.isascii() and "_" not in text  # then float() reads as loadtxt does
    if lenient:
        try:
            return np.array(cells, dtype=np.float64)  # blanks around a number are fine
        except ValueError:
            pass
    values = []
    for k, cell in enumerate(cells):
        try:
            if not lenient and not (cell.isascii() and "_" not in cell):
                raise ValueError
            values.append(float(cell))
        except ValueError:
            values.append(0.0)
            if k not in unreadable:
                cell = cell.strip()
                unreadable[k] = f"{name} is missing" if not cell else \
                    f"{name} = {cell!r} is not a number"
    return np.array(values)


class _Records:
    """The CSV records of the input's lines: ``(line number, cells or why unreadable)``.

    Lines are taken ``CHUNK`` at a time (``take``); the records starting in them are read
    by the :mod:`csv` module, which draws on later lines only to finish a quoted field.
    Blank and comment lines between records are passed over.
    """

    def __init__(self, raw: Iterator[str]) -> None:
        self.raw = raw
        self.taken: list[str] = []  #: the lines last taken
        self.used = 0  #: how many of them have been read
        self.number = 0  #: line number of the last line read
        self.start = 0  #: line number of the record being read
        self.between = True  #: is the next line the start of a record?
        self.invalid = False  #: does the record being read have bytes that are not UTF-8?
        self.reader = csv.reader(self)
        csv.field_size_limit(max(csv.field_size_limit(), 2**31 - 1))  # any field reads whole

    def take(self, count: int) -> Clean | list[str]:
        taken = _take(self.raw, count, clean=True)
        self.taken, self.used = [] if isinstance(taken, Clean) else taken, 0
        return taken

    def more(self) -> bool:
        """Does a record start in the lines taken? Passes over blank and comment lines."""
        while self.used < len(self.taken) and _skipped(self.taken[self.used]):
            self.used += 1
            self.number += 1
        return self.used < len(self.taken)

    def next(self) -> tuple[int, list[str] | str] | None:
        """The next record, or None at the end of the input."""
        self.between = True
        try:
            cells = next(self.reader)
        except StopIteration:
            return None
        except csv.Error as error:
            return self.start, _invalid(error)
        return self.start, "is not valid UTF-8" if self.invalid else cells

    def __iter__(self) -> _Records:
        return self

    def __next__(self) -> str:
        """The next line for the csv module (StopIteration at the end of the input)."""
        line = self._line()
        if self.between:
            while _skipped(line):
                line = self._line()
            self.between, self.start, self.invalid = False, self.number, False
        self.invalid = self.invalid or _invalid_utf8(line)
        return line

    def _line(self) -> str:
        if self.used < len(self.taken):
            line = self.taken[self.used]
            self.used += 1
        else:
            line = next(self.raw)
        self.number += 1
        return line


def read_jsonl(lines: Iterator[str], names: Iterable[str],
               constants: Mapping[str, float] = {}) -> Iterator[Chunk]:
    """JSON Lines: one object of name: number per line. The first row that is an object
    says whether the input binds ``pi`` and ``e``; every row must bind the same."""
    required, optional, fixed = _wanted(names, constants)
    bound, first, number = None, 1, 0
    while raw := _take(lines, CHUNK):
        rows, at = [], []
        for line in raw:
            number += 1
            if not _skipped(line):
                rows.append(_json_row(line))
                at.append(number)
        if bound is None:
            keys = next((row for row in rows if isinstance(row, dict)), {})
            bound = required + [name for name in optional if name in keys]
        columns = {name: np.zeros(len(rows)) for name in bound}
        unreadable = {}
        for k, row in enumerate(rows):
            why = row if isinstance(row, str) else _json_bindings(row, bound, optional, fixed,
                                                                 constants, columns, k)
            if why:
                unreadable[k] = why
        yield Chunk(first, len(rows), columns, unreadable, at)
        first += len(rows)
    if bound is None:  # no rows at all
        yield Chunk(1, 0, {name: np.empty(0) for name in required}, {}, [])


def _json_row(line: str) -> dict | str:
    """One line's object, or why it is not one."""
    if _invalid_utf8(line):
        return "is not valid UTF-8"
    try:
        row = json.loads(line)
    except json.JSONDecodeError as error:
        return f"invalid JSON: {error.msg} at column {error.colno}"
    except RecursionError:
        return "invalid JSON: nested too deeply"
    except ValueError:  # Python's limit on the digits of an integer
        return f"has an integer of more than {sys.get_int_max_str_digits()} digits"
    return row if isinstance(row, dict) else "is not a JSON object"


def _json_bindings(row: dict, bound: list[str], optional: list[str], fixed: list[str],
                   constants: Mapping[str, float], columns: dict[str, np.ndarray],
                   k: int) -> str | None:
    """Puts a row's values into ``columns[name][k]``; returns why it cannot, if so."""
    for name in fixed:
        if name in row:
            return _clash(name, constants, "a key of the row")
    for name in optional:
        if name in row and name not in bound:
            return f"binds {name}, which the first row does not (every row binds it or none)"
    for name in bound:
        value = row.get(name)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return f"{name} is missing" if value is None else \
                f"{name} = {json.dumps(value)} is not a number"
        columns[name][k] = as_float(value)  # too large an integer: inf, reported as not finite
    return None


def _columns(names: Iterable[str], constants: Mapping[str, float],
             header: list[str]) -> dict[str, int]:
    """Where each variable the input binds has its column."""
    required, optional, fixed = _wanted(names, constants)
    missing = [name for name in required if name not in header]
    if missing:
        raise UnknownNameError(f"the input has no column for {', '.join(missing)} "
                               f"(its columns: {', '.join(header)}); bind constants with -v")
    for name in fixed:
        if name in header:
            raise BindingError(_clash(name, constants, "a column of the input"))
    wanted = required + [name for name in optional if name in header]
    for name in wanted:
        if header.count(name) > 1:
            raise BindingError(f"the input has {header.count(name)} columns named {name}")
    return {name: header.index(name) for name in wanted}


def run(program: Program, chunks: Iterator[Chunk], constants: dict[str, float],
        out: TextIO | BinaryIO, output: str = "ndjson", skip_bad: bool = False,
        report: Callable[[str], None] = print, progress: Callable[[], None] | None = None) -> int:
    """Evaluate every row and write its result (``output``: ndjson, csv, or parquet to a
    binary file); returns the number of bad rows skipped.

    Without ``skip_bad`` the first bad row stops the run (``BadRow``) after every row
    before it has been written. ``pi`` and ``e``, when the rows or the constants bind
    them, are variables with gradients, as in ``cgcalc eval``.
    """
    element_wise(program)
    reuse_freed_memory()
    write = None
    skipped = 0
    try:
        for chunk in chunks:
            if write is None:  # the first chunk says which columns the input binds
                write, program = _start(program, constants, chunk.columns, output, out, report)
            if chunk.count:
                skipped += _evaluate(program, chunk, constants, write, skip_bad, report)
            if progress:
                progress()
    finally:
        if hasattr(write, "close"):  # a Parquet file's footer, before the file is closed
            write.close()
    return skipped


@functools.cache
def reuse_freed_memory() -> None:
    """Lets glibc's malloc reuse freed blocks of up to 64 MiB instead of mapping each new
    array afresh: a chunk's arrays (512 KiB each) are above its mmap threshold, and on a
    virtual machine faulting their pages in at every use costs more than the arithmetic
    (150,000 page faults for 10^7 rows, ten times fewer with this). Elsewhere, nothing."""
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # not glibc
        return
    mallopt(-3, 1 << 26)  # M_MMAP_THRESHOLD
    mallopt(-1, 1 << 27)  # M_TRIM_THRESHOLD: keep up to 128 MiB freed for reuse


def element_wise(program: Program) -> None:
    """Refuses a program whose rows would mix."""
    if program.array_ops:
        raise CgcalcError("batch evaluates element-wise programs; @, sum and the other array "
                          "operations would mix rows")


def _start(program: Program, constants: dict[str, float], columns: Collection[str],
           output: str, out, report: Callable[[str], None]):
    """The writer of the results and the program with pi and e bound as the input says."""
    program, names = bound(program, constants, columns, report)
    return _writer(names, output, out), program


def bound(program: Program, constants: Mapping[str, float], columns: Collection[str],
          report: Callable[[str], None]) -> tuple[Program, list[str]]:
    """The program with pi and e bound as the constants and columns say (with a warning
    each), and the names of its variables that get a gradient, in the program's order."""
    for name in CONSTANTS.keys() & program.variables.keys():
        if name in constants:
            report(f"cgcalc: warning: the binding {name}={constants[name]:g} replaces the "
                   f"constant {name}")
        elif name in columns:
            report(f"cgcalc: warning: the input binds {name}, replacing the constant {name}")
    program = program.binding_constants(CONSTANTS.keys() & (constants.keys() | set(columns)))
    return program, [name for name in program.variables if name in constants or name in columns]


def _evaluate(program: Program, chunk: Chunk, constants: dict[str, float], write,
              skip_bad: bool, report: Callable[[str], None]) -> int:
    """One chunk's rows evaluated and the good ones written; returns how many were skipped."""
    values, grads, bad, why = evaluated(program, chunk, constants)
    skipped = 0
    for k in np.flatnonzero(bad).tolist():
        message = f"{chunk.where(k)}: {why(k)}"
        if not skip_bad:
            good = ~bad
            good[k:] = False
            write(chunk.first, values, grads, good)
            raise BadRow(message)
        report(f"cgcalc: skipped {message}")
        skipped += 1
    write(chunk.first, values, grads, ~bad)
    return skipped


def evaluated(program: Program, chunk: Chunk, constants: Mapping[str, float]):
    """A chunk's values, gradients, bad rows (a mask), and a function saying why its bad
    row ``k`` is bad: how it could not be read, or what eval says of it."""
    columns = {name: np.full(chunk.count, value) for name, value in constants.items()}
    columns.update(chunk.columns)
    values, grads, bad = evaluate_rows(program, columns, chunk.count)
    for column in chunk.columns.values():
        bad |= ~np.isfinite(column)  # inf, nan, or an integer too large for a float
    bad[list(chunk.unreadable)] = True
    return values, grads, bad, lambda k: _why(program, chunk, columns, k)


def _why(program: Program, chunk: Chunk, columns: dict[str, np.ndarray], k: int) -> str:
    """Why row ``k`` of a chunk is bad: how it could not be read, or what evaluating it says."""
    if k in chunk.unreadable:
        return chunk.unreadable[k]
    try:
        evaluate(program, {name: float(column[k]) for name, column in columns.items()})
    except CgcalcError as error:
        return str(error)
    return "a value or gradient is not finite"  # the scalar engine found none: say what we saw


def _writer(names: list[str], output: str, out):
    """A function writing a chunk's kept rows as NDJSON or CSV lines (CSV: header first),
    one write of bytes per chunk (to the text stream's binary buffer, when it has one),
    or as a Parquet row group (``out`` a binary file). Each line is a template of text,
    the row number (``%d``) and doubles (``%r``); with pyarrow it is filled a column at a
    time, straight into bytes."""
    if output == "parquet":
        return parquet().Writer(out, names)
    put = _bytes_writer(out)
    if output == "csv":
        put(",".join(["row", "value", *(f"d_{name}" for name in names)]).encode() + b"\n")
        texts = ["", *[","] * (len(names) + 1), "\n"]  # around and between the columns
    else:
        before = [', "gradients": {', *[", "] * (len(names) - 1)]
        texts = ['{"row": ', ', "value": ',
                 *(text + f"{json.dumps(name)}: " for text, name in zip(before, names)), "}}\n"]
        if not names:
            texts[-1] = ', "gradients": {}}\n'
    template = texts[0] + "%d" + "%r".join(texts[1:])
    columnar = _columnar()
    columnar = columnar if columnar and columnar.writes_lines() else None

    def write(first: int, values: np.ndarray, grads: dict[str, np.ndarray], keep) -> None:
        if keep.all():  # the common case: every row, without copying the columns
            columns = [np.arange(first, first + len(keep)), values, *map(grads.get, names)]
        else:
            rows = np.flatnonzero(keep)
            columns = [rows + first, values[rows], *(grads[name][rows] for name in names)]
        if columnar:
            put(columnar.lines([*(piece for pair in zip(texts, columns) for piece in pair),
                                texts[-1]]))
        else:
            put("".join(map(template.__mod__, zip(*(c.tolist() for c in columns)))).encode())

    return write


def _bytes_writer(out: TextIO) -> Callable[[bytes], object]:
    """Writes UTF-8 bytes to a text stream: to its binary buffer when it has one (after
    what was written as text), else decoded."""
    buffer = getattr(out, "buffer", None)
    if buffer is None:
        return lambda data: out.write(bytes(data).decode())
    out.flush()
    return buffer.write
