"""The environment's faults, each said in one line with its own exit code.

- Standard output that cannot be written (a full disk, a closed descriptor): exit 74.
- SIGINT (Ctrl-C) and SIGTERM: exit 130 and 143, with only whole lines on standard output.
- Running out of memory: exit 75, said with memory that was put aside for saying it.

:func:`run` wraps the whole command (the ``cgcalc`` script), not the library. Standard
output goes through :class:`LineStdout`, which writes whole lines only: the text after
the last newline waits for the next one, or for the end of a successful run. A signal
that arrives while lines are being written takes effect once that slice of lines is out,
so an interrupted run never leaves half a line; a second signal does not wait.
:func:`signals_held` does the same for other steps that must not be cut.
"""

from __future__ import annotations

import errno
import io
import os
import signal
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import NoReturn

from .errors import EXIT_BROKEN_PIPE, EXIT_MEMORY, EXIT_SIGNAL, OutputError

SIGNALS = (signal.SIGINT, signal.SIGTERM)
_SLICE = 1 << 16  #: bytes of whole lines written between two looks for a signal
_RESERVE = 4 << 20  #: bytes put aside at start, freed to report running out of memory


class Interrupted(BaseException):
    """SIGINT or SIGTERM, raised where the program is; a BaseException, like
    KeyboardInterrupt, so that no ``except Exception`` takes it for an error."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


class LineStdout(io.RawIOBase):
    """File descriptor 1 (None when it is closed), written in whole lines.

    A write error other than a broken pipe (the reader left: exit 141, handled by the
    CLI) becomes an :class:`OutputError`; after it, and after a signal, everything
    else written is dropped, so nothing more reaches the descriptor.
    """

    def __init__(self, fd: int | None) -> None:
        super().__init__()
        self._fd = fd
        self._tail: list[bytes] = []  # the unfinished last line
        self.abandoned = False

    def writable(self) -> bool:
        return True

    def fileno(self) -> int:
        if self._fd is None:
            raise _closed()
        return self._fd

    def isatty(self) -> bool:
        return self._fd is not None and os.isatty(self._fd)

    def write(self, data) -> int:
        view = memoryview(data)
        if not self.abandoned:
            end = _line_end(view, 0, len(view))
            if end:
                self._put(view[:end])
            if end < len(view):
                self._tail.append(bytes(view[end:]))
        return len(view)

    def finish(self) -> None:
        """Write the unfinished last line: the run ended well."""
        if self._tail and not self.abandoned:
            self._put(memoryview(b""))

    def abandon(self) -> None:
        """Drop the unfinished line and everything written from now on."""
        self.abandoned, self._tail = True, []

    def _put(self, lines: memoryview) -> None:
        """Write the waiting tail, then ``lines`` in slices, each ending at a newline where
        one is near; a signal that comes meanwhile takes effect at the end of a slice."""
        head, self._tail = b"".join(self._tail), []
        with signals_held():
            self._write_all(memoryview(head))
            start = 0
            while start < len(lines):
                stop = _line_end(lines, start, start + _SLICE)
                whole = stop > start  # else a line longer than a slice: no stop inside it
                stop = stop if whole else min(start + _SLICE, len(lines))
                self._write_all(lines[start:stop])
                start = stop
                if whole:
                    stop_if_signalled()

    def _write_all(self, piece: memoryview) -> None:
        if self._fd is None and piece:
            self._fail(_closed())
        try:
            while piece:
                piece = piece[os.write(self._fd, piece):]
        except BrokenPipeError:
            raise
        except OSError as error:
            self._fail(error)

    def _fail(self, error: OSError) -> NoReturn:
        self.abandon()
        raise OutputError(f"cannot write to standard output: {error.strerror}") from None


def _closed() -> OSError:
    return OSError(errno.EBADF, os.strerror(errno.EBADF))


def _line_end(view: memoryview, start: int, stop: int) -> int:
    """The index after the last newline in ``view[start:stop]``, else ``start``; looked for
    from the end in small windows, since copying a large write whole is what costs."""
    stop = min(stop, len(view))
    while stop > start:
        window = max(start, stop - 4096)
        found = bytes(view[window:stop]).rfind(b"\n")
        if found >= 0:
            return window + found + 1
        stop = window
    return start


_stdout: LineStdout | None = None
_signalled: int | None = None  # the first SIGINT or SIGTERM received
_armed = False  # signals raise Interrupted only while the command runs, not as run() ends
_held = 0  # how many signals_held() blocks are running


@contextmanager
def signals_held() -> Iterator[None]:
    """SIGINT and SIGTERM wait while the block runs, then stop the run as it ends: for a
    step that must not be cut, such as a slice of lines, or a child process started but
    not yet known. A second signal does not wait."""
    global _held
    _held += 1
    try:
        yield
    finally:
        _held -= 1
    if not _held:
        stop_if_signalled()


def stop_if_signalled() -> None:
    """Raise :class:`Interrupted` now if a signal came while held; the caller is at a
    place where stopping is safe."""
    if _signalled is not None and _armed:
        _interrupt()


def _interrupt() -> NoReturn:
    if _stdout is not None:
        _stdout.abandon()  # whatever is written from now on would follow half a line
    raise Interrupted(_signalled)


def _on_signal(signum: int, frame) -> None:
    """Raise :class:`Interrupted`, unless held: then it waits for the end of the held
    step, unless a second signal comes. Once one is on its way, others are ignored."""
    global _signalled
    first = _signalled is None
    if first:
        _signalled = signum
    if _armed and first != bool(_held):  # not waiting for a held step, not already leaving
        _interrupt()


def _line_stdout() -> LineStdout | None:
    """Replace ``sys.stdout`` by the same stream (its encoding, its buffering: none under
    ``python -u``) written through a :class:`LineStdout`; leave it as it is when it has no
    file descriptor (a stream in memory: ``main()`` called in a notebook or a test)."""
    old = sys.stdout
    try:
        fd = None if old is None else old.fileno()
    except (AttributeError, OSError, ValueError):  # io.UnsupportedOperation is both
        return None
    raw = LineStdout(fd)
    unbuffered = bool(old and old.write_through)
    sys.stdout = io.TextIOWrapper(
        raw if unbuffered else io.BufferedWriter(raw), encoding=old.encoding if old else "utf-8",
        errors=old.errors if old else "strict", newline="\n", write_through=unbuffered,
        line_buffering=bool(old and old.line_buffering))
    return raw


def _say(line: str) -> None:
    """A line on stderr, if there is one to write to."""
    try:
        if sys.stderr is not None:
            sys.stderr.write(f"cgcalc: {line}\n")
            sys.stderr.flush()
    except OSError:
        pass


def _unraisable(unraisable) -> None:
    """Python's report of an error in a finalizer, except for running out of memory: a
    generator closed as the stack unwinds from a MemoryError fails for the same reason,
    and the MemoryError itself is said once, by :func:`run`."""
    if not isinstance(unraisable.exc_value, MemoryError):
        sys.__unraisablehook__(unraisable)


def run(command: Callable[[], object]) -> NoReturn:
    """Run ``command`` (which exits with its code) with these faults handled; exit."""
    global _stdout, _armed
    _stdout = stdout = _line_stdout()
    sys.unraisablehook = _unraisable
    code, said, reserve = 0, None, None
    _armed = True
    for signum in SIGNALS:
        signal.signal(signum, _on_signal)
    try:
        reserve = bytes(_RESERVE)  # untouched pages: address space, not memory, until freed
        try:
            command()
        except SystemExit as exit:
            code = 0 if exit.code is None else int(exit.code)
        sys.stdout.flush()  # a failed run's lines too: the rows before a bad one count
        if code == 0 and stdout:
            stdout.finish()
        _armed = False
    except OutputError as error:
        _armed = False
        code, said = error.exit_code, str(error)
    except Interrupted as interruption:
        _armed = False
        code = EXIT_SIGNAL + interruption.signum
    except BrokenPipeError:
        _armed = False
        code = EXIT_BROKEN_PIPE
    except MemoryError:
        _armed = False
        reserve = None
        code, said = EXIT_MEMORY, "out of memory"
    if code != 0 and stdout:
        stdout.abandon()
    if said:  # here, once the failed frames (and what they held) are gone
        _say(said)
    sys.exit(code)
