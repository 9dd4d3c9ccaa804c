"""Start-up: the apple-orange example as a whole process, against bare imports and qalc.

Goal (issue 18): at most 0.8x ``python -c "import click, lark"``, for ``--json`` and for
tables alike, and faster than qalc's one derivative when qalc is installed. With
``--baseline PATH`` another cgcalc executable (an older install) runs in the same rounds,
for a before/after measured in one run. Commands run interleaved, many times; medians of
the wall-clock time and of the CPU time (user + system) of each whole process. On a
shared machine the CPU time moves less with the load than the wall-clock time does.
Two floors show what no cgcalc run can go below: Python importing click, which every run
does, and click with Rich's console and table, which every table needs.

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
        # floors: what any cgcalc run imports, with the garbage collector as cgcalc sets it
        "floor: import click": [python, "-c", "import gc, click; gc.freeze()"],
        "floor: click + Rich's table": [
            python, "-c", "import gc, click, rich.console, rich.table; gc.freeze()"],
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
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in commands}
    for _ in range(args.runs):
        for name, command in commands.items():
            times[name].append(_timed(command, env))
    for k, clock in enumerate(("wall-clock", "CPU")):
        median = {name: statistics.median(t[k] for t in ts) * 1000 for name, ts in times.items()}
        print(f"{clock} time, median of {args.runs}:")
        for name, ms in median.items():
            print(f"  {name:30s} {ms:7.1f} ms")
        bare = median["import click, lark"]
        for name in ("cgcalc --json", "cgcalc (table)", "baseline --json", "baseline (table)",
                     "floor: import click", "floor: click + Rich's table"):
            if name in median:
                print(f"  {name:28s} / bare imports: {median[name] / bare:.3f}x")
        if "qalc -t (one derivative)" in median:
            qalc = median["qalc -t (one derivative)"]
            print(f"  cgcalc --json / qalc:        {median['cgcalc --json'] / qalc:.3f}x (goal < 1)")
            print(f"  floor: import click / qalc:  {median['floor: import click'] / qalc:.3f}x")
        if args.baseline:
            print(f"  cgcalc --json / baseline:    "
                  f"{median['cgcalc --json'] / median['baseline --json']:.3f}x")
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


def _timed(command: list[str], env: dict[str, str]) -> tuple[float, float]:
    """The wall-clock and the CPU seconds of one whole run of ``command``."""
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, env=env)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode:
        raise subprocess.CalledProcessError(process.returncode, command)
    return wall, usage.ru_utime + usage.ru_stime


if __name__ == "__main__":
    main()
