"""pyarrow's fast paths for batch (the ``parquet`` extra): clean CSV chunks read by
Arrow's CSV reader, and result lines formatted a column at a time.

Imported by :mod:`cgcalc.batch` only when pyarrow is installed; without it batch reads
with NumPy and formats row by row, with the same output byte for byte. The output's
contract is Python's ``repr`` of each double: Arrow writes the same shortest digits but
lays some of them out differently, so those (and only those) are written by ``repr``.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.csv as pv
from pyarrow._compute import CastOptions, MatchSubstringOptions, call_function

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


def repr_strings(values: np.ndarray) -> list[pa.Array]:
    """Python's ``repr`` of each (finite) double, as pieces of Arrow strings to join.

    Arrow's cast gives the shortest digits, as ``repr`` does, and the same layout for
    1e-4 <= |x| < 1e16 except that an integral value has no ``.0`` (added here) and
    that from 1e10 up Arrow writes an exponent where that is shorter; the values outside
    that range, and any Arrow wrote with an exponent, are written by ``repr``. (Looking
    for exponents costs a fifth of the cast: only done where one may be.)
    """
    size = np.abs(values)
    integral = values == np.trunc(values)
    if (integral & (size < 1e16)).all() and not (np.signbit(values) & (values == 0)).any():
        # whole numbers (counts, sums of them): Arrow writes int64 three times faster
        text = call_function("cast", [_arrow(values.astype(np.int64))], CastOptions(pa.string()))
        return [text, _strings([".0"])[0]]
    text = call_function("cast", [_arrow(values)], CastOptions(pa.string()))
    odd = (size < 1e-4) | (size >= 1e16)
    if (size >= 1e10).any():
        odd |= _numpy(call_function("find_substring", [text], MatchSubstringOptions("e"))) >= 0
    if odd.any():
        text = call_function("replace_with_mask", [
            text, _arrow(odd), _strings([repr(x) for x in values[odd].tolist()])])
    integral &= ~odd
    return [text, _repeated(".0", integral)] if integral.any() else [text]


def _repeated(text: str, where: np.ndarray) -> pa.Array:
    """Strings that are ``text`` where ``where`` holds, else empty."""
    offsets = np.zeros(len(where) + 1, dtype=np.int32)
    np.cumsum(where * np.int32(len(text)), out=offsets[1:])
    data = text.encode() * int(np.count_nonzero(where))
    return pa.StringArray.from_buffers(len(where), pa.py_buffer(offsets), pa.py_buffer(data))


def lines(pieces: list[str | int | np.ndarray]) -> pa.Buffer:
    """The lines whose pieces are text (the same on every line), row numbers (an integer
    array) or doubles (a float array, written as ``repr`` writes them), joined: their
    UTF-8 bytes, to be written as they are."""
    parts = []
    for piece in pieces:
        if isinstance(piece, str):
            parts.append(_strings([piece])[0])
        elif piece.dtype.kind in "iu":
            parts.append(call_function("cast", [_arrow(piece)], CastOptions(pa.string())))
        else:
            parts.extend(repr_strings(piece))
    joined = call_function("binary_join_element_wise", [*parts, _strings([""])[0]])
    if not len(joined):
        return pa.py_buffer(b"")
    offsets = np.frombuffer(joined.buffers()[1], dtype=np.int32, count=len(joined) + 1,
                            offset=4 * joined.offset)
    start, end = int(offsets[0]), int(offsets[-1])
    return joined.buffers()[2].slice(start, end - start)
