"""The lines of a binary input for batch, read in large blocks: a run of clean lines is
handed on as its bytes (for Arrow's CSV reader, never decoded or split in Python), any
other line as text, as the :mod:`csv` module wants it (``newline=""``: lines end at
``\\n``, ``\\r\\n`` or ``\\r``, kept; bytes that are not UTF-8 escaped as lone surrogates).
"""

from __future__ import annotations

import io
from typing import BinaryIO

import numpy as np

READ = 1 << 20  #: bytes read at once
LARGEST = 1 << 26  #: bytes held when looking for the end of a run of lines


class Clean:
    """``count`` whole lines as bytes: ASCII, with no quote, ``#``, carriage return or
    blank line, so each is one record of plain cells (or not a record at all, which
    Arrow's reader then refuses)."""

    def __init__(self, data: bytes, count: int) -> None:
        self.data, self.count = data, count

    def lines(self) -> list[str]:
        return self.data.decode("ascii").splitlines(keepends=True)


class ByteLines:
    """An iterator of the input's lines as text that also gives many at once
    (:meth:`take`): as a :class:`Clean` run of bytes when they are clean, else as text."""

    def __init__(self, stream: BinaryIO) -> None:
        self.stream = stream
        self.data = b""  #: bytes read and not yet handed on
        self.ended = False  #: has the stream been read to its end?
        self.pending: list[str] = []  #: lines handed back (:meth:`unread`)

    def __iter__(self) -> ByteLines:
        return self

    def __next__(self) -> str:
        if self.pending:
            return self.pending.pop(0)
        end = self._line_end()
        if end == 0:
            raise StopIteration
        line, self.data = self.data[:end], self.data[end:]
        return line.decode("utf-8", "surrogateescape")

    def unread(self, lines: list[str]) -> None:
        """Hands lines back, to be read again first."""
        self.pending[:0] = lines

    def take(self, count: int, clean: bool = True) -> Clean | list[str]:
        """About ``count`` lines (fewer at the end, or when they are too long to hold
        ``LARGEST`` bytes of them; none after the end): a :class:`Clean` run when ``clean``
        allows and they are, else as text."""
        if self.pending:
            taken, self.pending = self.pending[:count], self.pending[count:]
            return taken
        ends = [_newlines(self.data, 0)]  # where the lines end, by blocks as they are read
        found = len(ends[0])
        while found < count and not self.ended and len(self.data) < LARGEST:
            start = len(self.data)
            self._read()
            ends.append(_newlines(self.data, start))
            found += len(ends[-1])
        if found >= count:
            newlines = np.concatenate(ends)[:count]
            block, self.data = self.data[:newlines[-1] + 1], self.data[newlines[-1] + 1:]
        else:
            if self.ended:
                cut = len(self.data)
            else:  # lines too long to hold count of them: those that are whole
                cut = max(self.data.rfind(b"\n"), self.data.rfind(b"\r", 0, -1)) + 1
                cut = cut or self._line_end()
            block, self.data = self.data[:cut], self.data[cut:]
            newlines = _newlines(block, 0)
        if clean and _clean(block, newlines):
            return Clean(block, len(newlines) + (bool(block) and block[-1] != 10))
        return list(io.StringIO(block.decode("utf-8", "surrogateescape"), newline=""))

    def _read(self) -> None:
        more = self.stream.read(READ)
        self.ended = not more
        self.data += more

    def _line_end(self) -> int:
        """Where the first line ends in ``data`` (reading on until it does): 0 at the end."""
        while True:
            newline, ret = self.data.find(b"\n"), self.data.find(b"\r")
            if 0 <= ret < len(self.data) - 1 and (newline < 0 or ret < newline):
                return ret + 2 if self.data[ret + 1] == 10 else ret + 1
            if newline >= 0 and (ret < 0 or newline < ret):
                return newline + 1
            if self.ended:
                return len(self.data)
            self._read()


def _newlines(data: bytes, start: int) -> np.ndarray:
    """Where the newlines of ``data[start:]`` are (NumPy looks many bytes at a time)."""
    return start + np.flatnonzero(np.frombuffer(data, dtype=np.uint8, offset=start) == 10)


def _clean(block: bytes, newlines: np.ndarray) -> bool:
    """Is the block clean? (Its newlines given: one right after another is a blank line.)"""
    return (block.isascii() and b'"' not in block and b"#" not in block and b"\r" not in block
            and bool(block) and block[0] != 10 and not (np.diff(newlines) == 1).any())
