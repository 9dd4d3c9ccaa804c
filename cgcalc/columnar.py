"""pyarrow's fast paths for batch (the ``parquet`` extra): clean CSV chunks read by
Arrow's CSV reader, and result lines formatted a column at a time.

Imported by :mod:`cgcalc.batch` only when pyarrow is installed; without it batch reads
with NumPy and formats row by row, with the same output byte for byte. The output's
contract is Python's ``repr`` of each double: orjson (in the same extra) writes a column
of them at once with ``repr``'s digits and layout, except below 1e-4, where ``repr``
writes them; Arrow joins the columns' texts into lines.
"""

from __future__ import annotations

import functools

import numpy as np
import pyarrow as pa
import pyarrow.csv as pv
from pyarrow._compute import call_function

# Arrow's compute functions are called by name: ``pyarrow.compute`` writes a Python
# wrapper for every function when imported, which costs more than formatting 10^5 rows.

_PARSE = pv.ParseOptions(ignore_empty_lines=False)  # a blank line is not clean: fall back


def read_clean(lines: list[str], width: int) -> list[np.ndarray] | None:
    """The columns of lines that are each one row of ``width`` numbers, else None.

    Arrow reads a number as ``float()`` does or refuses it (``1_000``, full-width
    digits, an empty cell); a blank line, a comment or a short row is refused too, and
    the caller then reads the chunk with its careful paths.
    """
    return read_clean_bytes("".join(lines).encode("utf-8", "surrogateescape"), width,
                            len(lines))


def read_clean_bytes(data: bytes, width: int, count: int) -> list[np.ndarray] | None:
    """The columns of ``count`` lines of bytes as :func:`read_clean` reads them, else None."""
    names = [str(k) for k in range(width)]
    convert = pv.ConvertOptions(column_types={name: pa.float64() for name in names},
                                null_values=[], strings_can_be_null=False)
    try:
        table = pv.read_csv(pa.py_buffer(data), parse_options=_PARSE, convert_options=convert,
                            read_options=pv.ReadOptions(column_names=names, use_threads=False,
                                                        block_size=max(len(data), 1 << 20)))
    except pa.ArrowInvalid:
        return None
    if table.num_rows != count:
        return None
    return [_numpy(table.column(k).combine_chunks()) for k in range(width)]


# Arrays cross between NumPy and Arrow through their buffers: pyarrow's own conversions
# (pa.array, to_numpy) import pandas whenever it is installed, which costs more than a
# small input's whole run.

_TYPES = {np.dtype(np.float64): pa.float64(), np.dtype(np.int64): pa.int64(),
          np.dtype(np.int32): pa.int32()}


def _numpy(array: pa.Array) -> np.ndarray:
    """A view of an Arrow array of numbers without nulls."""
    dtype = next(dtype for dtype, type_ in _TYPES.items() if type_ == array.type)
    return np.frombuffer(array.buffers()[1], dtype=dtype, count=len(array),
                         offset=array.offset * dtype.itemsize)


def _arrow(values: np.ndarray) -> pa.Array:
    """An Arrow array of a NumPy array of numbers (float64, int64, int32) or booleans."""
    if values.dtype == np.bool_:
        bits = np.packbits(values, bitorder="little")
        return pa.Array.from_buffers(pa.bool_(), len(values), [None, pa.py_buffer(bits)])
    values = np.ascontiguousarray(values)
    return pa.Array.from_buffers(_TYPES[values.dtype], len(values),
                                 [None, pa.py_buffer(values)])


def _strings(texts: list[str]) -> pa.Array:
    """An Arrow array of ASCII strings."""
    offsets = np.zeros(len(texts) + 1, dtype=np.int32)
    np.cumsum(np.fromiter(map(len, texts), dtype=np.int32, count=len(texts)), out=offsets[1:])
    return pa.StringArray.from_buffers(len(texts), pa.py_buffer(offsets),
                                       pa.py_buffer("".join(texts).encode()))


# Doubles whose text orjson lays out as repr does only from 3.11.7 on (exponents were
# written without their sign before): checked once, so that another layout means the
# row-by-row path, never different output.
_PROBES = [0.0, -0.0, 650.0, -2.5, 0.1, 110.00000000000001, 0.0001, 0.00012, 1e15,
           9999999999999998.0, 1e16, 1.2345e16, 1e22, 123456789012345.6, 1e100,
           1.7976931348623157e308]


@functools.cache
def _orjson():
    """orjson, when it writes doubles of at least 1e-4 as ``repr`` does, else None."""
    try:
        import orjson

        text = orjson.dumps(np.array(_PROBES), option=orjson.OPT_SERIALIZE_NUMPY)
    except (ImportError, TypeError):  # not installed; too old for this NumPy
        return None
    return orjson if text == f"[{','.join(map(repr, _PROBES))}]".encode() else None


def writes_lines() -> bool:
    """Can :func:`lines` write doubles as ``repr`` does here (orjson, recent enough)?"""
    return _orjson() is not None


def _texts(values: np.ndarray, end: str) -> pa.Array:
    """The text of each number (as ``repr`` writes it), each followed by ``end`` (one
    character that is no part of a number), as Arrow strings.

    orjson writes the whole column at once, separated by commas, which become ``end``;
    its layout is ``repr``'s except for nonzero doubles under 1e-4 (``0.00001`` for
    ``1e-05``, ``1e-7`` for ``1e-07``), which ``repr`` writes.
    """
    orjson = _orjson()
    count = len(values)
    data = orjson.dumps(np.append(values, 0), option=orjson.OPT_SERIALIZE_NUMPY)
    offsets = np.empty(count + 1, dtype=np.int32)  # (the 0 appended: a comma after each)
    offsets[0] = 1  # after the "["
    offsets[1:] = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == 44)[:count] + 1
    if end != ",":
        data = data.translate(_ENDS[end])
    text = pa.StringArray.from_buffers(count, pa.py_buffer(offsets), pa.py_buffer(data))
    if values.dtype.kind != "f":
        return text
    tiny = np.abs(values) < 1e-4
    if not (tiny.any() and (tiny := tiny & (values != 0)).any()):
        return text
    return call_function("replace_with_mask", [
        text, _arrow(tiny), _strings([repr(x) + end for x in values[tiny].tolist()])])


_ENDS = {end: bytes.maketrans(b",", end.encode()) for end in "}]\n"}


def lines(pieces: list[str | np.ndarray]) -> pa.Buffer:
    """The lines whose pieces are text (the same on every line) and columns of numbers
    (integers, or doubles written as ``repr`` writes them), in turn: text, column, text,
    ..., column, text, each text after a column starting with ``,``, ``}``, ``]`` or a
    new line. Their UTF-8 bytes, to be written as they are; needs :func:`writes_lines`."""
    if not len(pieces[1]):
        return pa.py_buffer(b"")
    parts: list[str | pa.Array] = [pieces[0]]
    for values, after in zip(pieces[1::2], pieces[2::2]):
        parts += [_texts(values, after[0]), after[1:]]
    joined = call_function("binary_join_element_wise", [
        *(_strings([part])[0] if isinstance(part, str) else part for part in parts if part != ""),
        _strings([""])[0]])
    offsets = np.frombuffer(joined.buffers()[1], dtype=np.int32, count=len(joined) + 1,
                            offset=4 * joined.offset)
    start, end = int(offsets[0]), int(offsets[-1])
    return joined.buffers()[2].slice(start, end - start)
