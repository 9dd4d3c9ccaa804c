"""Start-up: the apple-orange example as a whole process, against bare imports and qalc.

Goal (issue 18): at most 0.8x ``python -c "import click, lark"``, for ``--json`` and for
tables alike, and faster than qalc's one derivative when qalc is installed. With
``--baseline PATH`` another cgcalc executable (an older install) runs in the same rounds,
for a before/after measured in one run. Commands run interleaved, many times; medians.

Byte code is compiled first (``compileall``): an installed package has it, but a
machine with PYTHONDONTWRITEBYTECODE set would otherwise recompile on every run.

    python benchmarks/startup.py [--runs 40] [--baseline /path/to/old/bin/cgcalc]
"""

from __future__ import annotations

import argparse
import compileall
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

EXPR = "(apple*apple_num + orange*orange_num)*tax"
BINDINGS = ["-v", "apple=100", "-v", "apple_num=2", "-v", "orange=150", "-v", "orange_num=3",
            "-v", "tax=1.1"]
QALC = "diff((x*2 + 150*3)*1.1, x)"  # qalc reads "apple" as units


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--baseline", help="another cgcalc executable to time beside this one")
    args = parser.parse_args()
    python = sys.executable
    cgcalc = str(Path(python).with_name("cgcalc"))
    import cgcalc as package

    compileall.compile_dir(os.path.dirname(package.__file__), quiet=1)
    commands = {
        "import click, lark": [python, "-c", "import click, lark"],
        "cgcalc --json": [cgcalc, EXPR, *BINDINGS, "--json"],
        "cgcalc (table)": [cgcalc, EXPR, *BINDINGS],
    }
    if args.baseline:
        commands["baseline --json"] = [args.baseline, EXPR, *BINDINGS, "--json"]
        commands["baseline (table)"] = [args.baseline, EXPR, *BINDINGS]
    if shutil.which("qalc"):
        commands["qalc -t (one derivative)"] = ["qalc", "-t", QALC]
    env = {**os.environ, "NO_COLOR": "1"}
    for command in commands.values():  # warm the caches (.pyc, page cache)
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
    bare = median["import click, lark"]
    for name in ("cgcalc --json", "cgcalc (table)", "baseline --json", "baseline (table)"):
        if name in median:
            print(f"{name:18s} / bare imports: {median[name] / bare:.3f}x (goal <= 0.8x)")
    if "qalc -t (one derivative)" in median:
        qalc = median["qalc -t (one derivative)"]
        print(f"cgcalc --json / qalc:        {median['cgcalc --json'] / qalc:.3f}x (goal < 1)")
    if args.baseline:
        print(f"cgcalc --json / baseline:    "
              f"{median['cgcalc --json'] / median['baseline --json']:.3f}x")


if __name__ == "__main__":
    main()
