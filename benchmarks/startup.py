"""Start-up: the apple-orange example as a whole process, against bare imports.

Goal (issue 9): at most 1.15x ``python -c "import click, lark"`` for ``--json``, and
at most 1.15x ``python -c "import click, lark, rich..."`` for table output.
Runs the commands interleaved, many times, and compares medians.

    python benchmarks/startup.py [--runs 40]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

EXPR = "(apple*apple_num + orange*orange_num)*tax"
BINDINGS = ["apple=100", "apple_num=2", "orange=150", "orange_num=3", "tax=1.1"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=40)
    args = parser.parse_args()
    python = sys.executable
    cgcalc = str(Path(python).with_name("cgcalc"))
    commands = {
        "import click, lark": [python, "-c", "import click, lark"],
        "cgcalc --json": [cgcalc, EXPR, *BINDINGS, "--json"],
        "import click, lark, rich": [python, "-c", "import click, lark, rich.console, rich.table"],
        "cgcalc (table)": [cgcalc, EXPR, *BINDINGS],
    }
    env = {**os.environ, "NO_COLOR": "1"}
    for command in commands.values():  # warm the caches (grammar, .pyc, page cache)
        subprocess.run(command, check=True, capture_output=True, env=env)
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(args.runs):
        for name, command in commands.items():
            start = time.perf_counter()
            subprocess.run(command, check=True, stdout=subprocess.DEVNULL, env=env)
            times[name].append(time.perf_counter() - start)
    median = {name: statistics.median(t) * 1000 for name, t in times.items()}
    for name, ms in median.items():
        print(f"{name:28s} {ms:7.1f} ms (median of {args.runs})")
    json_ratio = median["cgcalc --json"] / median["import click, lark"]
    table_ratio = median["cgcalc (table)"] / median["import click, lark, rich"]
    print(f"--json / bare imports:  {json_ratio:.3f}x (goal <= 1.15x)")
    print(f"table  / bare imports:  {table_ratio:.3f}x (goal <= 1.15x)")


if __name__ == "__main__":
    main()
