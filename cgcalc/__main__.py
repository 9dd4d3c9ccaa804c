"""The ``cgcalc`` command (and ``python -m cgcalc``), started with Python's cyclic garbage
collector off while it imports click and the modules every command uses: importing makes
tens of thousands of objects and no garbage. What importing made lives as long as the
process, so it is then moved out of the collector's reach (``gc.freeze``) and the
collector is turned back on: the collections during the run, and the one at exit, no
longer walk it.

When the command is done and nothing waits for Python's tear-down (no exit handler was
registered, no other thread runs), the process ends at once (``os._exit``) after flushing
its output: clearing every module and a last collection are a twentieth of a scalar run,
and free nothing the system would not."""

import gc
import os
import sys


def main() -> None:
    gc.disable()
    from .cli import main as command

    gc.freeze()
    gc.enable()
    try:
        command()
    except SystemExit as done:
        _leave(done)


def _leave(done: SystemExit) -> None:
    """Exit as ``done`` says: at once when nothing waits for the tear-down, else as usual."""
    import atexit
    import threading

    count = getattr(atexit, "_ncallbacks", None)  # CPython's; elsewhere, exit as usual
    code = done.code
    if count is None or count() or threading.active_count() > 1 or not isinstance(code, int):
        raise done
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:
                stream.flush()
        except (OSError, ValueError):  # cannot be written any more: nothing is lost by leaving
            pass
    os._exit(code)


if __name__ == "__main__":
    main()
