"""The ``cgcalc`` command (and ``python -m cgcalc``), started with Python's cyclic garbage
collector off while it imports click and the modules every command uses: importing makes
tens of thousands of objects and no garbage, and the collections they set off walked them
again and again. What importing made lives as long as the process, so it is then moved
out of the collector's reach (``gc.freeze``) and the collector is turned back on: the
collections during the run, and the one at exit, no longer walk it either."""

import gc


def main() -> None:
    gc.disable()
    from .cli import main as command

    gc.freeze()
    gc.enable()
    command()


if __name__ == "__main__":
    main()
