"""Batch mode: one program, many rows of bindings, one result per row, streamed.

The program is parsed once; rows are read in chunks of ``CHUNK`` and each chunk is
evaluated once with NumPy arrays of one value per row (see
:func:`cgcalc.array_engine.evaluate_rows`), so memory stays bounded whatever the
input's length. A bad row (a missing or malformed value, a value or gradient that is
not finite) is explained by evaluating that row alone with the scalar engine, so its
message is the one ``cgcalc eval`` would give. Output order is input order; with
``skip_bad`` bad rows are reported and left out, and no good row is lost.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterator
from itertools import chain, islice
from typing import TextIO

import numpy as np

from .array_engine import evaluate_rows
from .engine import evaluate
from .errors import BindingError, CgcalcError, EvaluationError, UnknownNameError
from .graph import Program

CHUNK = 65_536  #: rows evaluated at once


class BadRow(EvaluationError):
    """A row that cannot be evaluated (exit 1 unless bad rows are skipped)."""

    def __str__(self) -> str:
        return self.message  # "row N: ...", already saying what kind of trouble


class Chunk:
    """Rows ``first`` .. ``first + count - 1`` (1-based) as columns, and the rows that
    could not be read, with why."""

    def __init__(self, first: int, count: int, columns: dict[str, np.ndarray],
                 unreadable: dict[int, str]) -> None:
        self.first, self.count, self.columns, self.unreadable = first, count, columns, unreadable


def read_csv(lines: Iterator[str], names: list[str]) -> Iterator[Chunk]:
    """CSV with a header of variable names; the columns ``names`` are kept."""
    header = next(csv.reader([next(lines, "")]), None)
    if not header:
        raise BindingError("the CSV input is empty: it needs a header of variable names")
    header = [h.strip() for h in header]
    wanted = _columns(names, header)
    first = 1
    while chunk := list(islice(lines, CHUNK)):
        try:
            table = np.loadtxt(chunk, delimiter=",", dtype=np.float64, ndmin=2, quotechar='"')
            if table.shape[1] != len(header):
                raise ValueError
            columns, unreadable = {n: table[:, k] for n, k in wanted.items()}, {}
        except ValueError:  # some line is malformed: read this chunk line by line to say which
            columns, unreadable = _csv_rows(chunk, header, wanted)
        yield Chunk(first, len(chunk), columns, unreadable)
        first += len(chunk)


def _csv_rows(lines: list[str], header: list[str], wanted: dict[str, int]):
    columns = {name: np.zeros(len(lines)) for name in wanted}
    unreadable = {}
    for k, cells in enumerate(csv.reader(lines)):
        if len(cells) != len(header):
            unreadable[k] = f"has {len(cells)} fields, the header {len(header)}"
            continue
        for name, column in wanted.items():
            cell = cells[column].strip()
            try:
                columns[name][k] = float(cell)
            except ValueError:
                unreadable[k] = f"{name} is missing" if not cell else f"{name} = {cell!r} is not a number"
                break
    return columns, unreadable


def read_jsonl(lines: Iterator[str], names: list[str]) -> Iterator[Chunk]:
    """JSON Lines: one object of name: number per line."""
    first = 1
    while chunk := list(islice(lines, CHUNK)):
        columns = {name: np.zeros(len(chunk)) for name in names}
        unreadable = {}
        for k, line in enumerate(chunk):
            try:
                row = json.loads(line)
            except json.JSONDecodeError as error:
                unreadable[k] = f"invalid JSON: {error.msg} at column {error.colno}"
                continue
            if not isinstance(row, dict):
                unreadable[k] = "is not a JSON object"
                continue
            for name in names:
                value = row.get(name)
                if isinstance(value, bool) or not isinstance(value, (int, float)):
                    unreadable[k] = f"{name} is missing" if value is None else \
                        f"{name} = {json.dumps(value)} is not a number"
                    break
                columns[name][k] = value
        yield Chunk(first, len(chunk), columns, unreadable)
        first += len(chunk)


def _columns(names: list[str], header: list[str]) -> dict[str, int]:
    """Where each variable's column is."""
    missing = [name for name in names if name not in header]
    if missing:
        raise UnknownNameError(f"the input has no column for {', '.join(missing)} "
                               f"(its columns: {', '.join(header)}); bind constants with -v")
    return {name: header.index(name) for name in names}


def run(program: Program, chunks: Iterator[Chunk], constants: dict[str, float], out: TextIO,
        output: str = "ndjson", skip_bad: bool = False,
        report: Callable[[str], None] = print, progress: Callable[[], None] | None = None) -> int:
    """Evaluate every row and write its result; returns the number of bad rows skipped.

    Without ``skip_bad`` the first bad row stops the run (``BadRow``) after every row
    before it has been written.
    """
    if program.array_ops:
        raise CgcalcError("batch evaluates element-wise programs; @, sum and the other array "
                          "operations would mix rows")
    names = [name for name in program.variables
             if name in constants or name in program.free_variables()]
    write = _writer(program, names, output, out)
    skipped = 0
    for chunk in chunks:
        columns = {name: np.full(chunk.count, value) for name, value in constants.items()}
        columns.update(chunk.columns)
        values, grads, bad = evaluate_rows(program, columns, chunk.count)
        bad[list(chunk.unreadable)] = True
        for k in np.flatnonzero(bad):
            row = chunk.first + int(k)
            message = f"row {row}: {_why(program, chunk, columns, int(k))}"
            if not skip_bad:
                good = ~bad
                good[k:] = False
                write(chunk.first, values, grads, good)
                raise BadRow(message)
            report(f"cgcalc: skipped {message}")
            skipped += 1
        write(chunk.first, values, grads, ~bad)
        if progress:
            progress()
    return skipped


def _why(program: Program, chunk: Chunk, columns: dict[str, np.ndarray], k: int) -> str:
    """Why row ``k`` of a chunk is bad: how it could not be read, or what evaluating it says."""
    if k in chunk.unreadable:
        return chunk.unreadable[k]
    try:
        evaluate(program, {name: float(column[k]) for name, column in columns.items()})
    except CgcalcError as error:
        return str(error)
    return "a value or gradient is not finite"  # the scalar engine found none: say what we saw


def _writer(program: Program, names: list[str], output: str, out: TextIO):
    """A function writing a chunk's kept rows as NDJSON or CSV lines (CSV: header first)."""
    if output == "csv":
        out.write(",".join(["row", "value", *(f"d_{name}" for name in names)]) + "\n")
        template = ",".join(["%d"] + ["%r"] * (len(names) + 1)) + "\n"
    else:
        template = '{"row": %d, "value": %r, "gradients": {' + ", ".join(
            f"{json.dumps(name)}: %r" for name in names) + "}}\n"

    def write(first: int, values: np.ndarray, grads: dict[str, np.ndarray], keep) -> None:
        rows = np.flatnonzero(keep)
        columns = [rows + first, values[rows], *(grads[name][rows] for name in names)]
        out.write("".join(map(template.__mod__, zip(*(c.tolist() for c in columns)))))

    return write


def read(lines: Iterator[str], names: list[str], fmt: str | None) -> Iterator[Chunk]:
    """Chunks of CSV or JSON Lines; with no ``fmt``, JSON Lines if the first line opens a
    JSON object, else CSV."""
    if fmt is None:
        first = next(lines, "")
        fmt = "jsonl" if first.lstrip()[:1] == "{" else "csv"
        lines = chain([first], lines)
    return (read_jsonl if fmt == "jsonl" else read_csv)(lines, names)

