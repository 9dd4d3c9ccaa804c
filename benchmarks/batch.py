"""Batch: 10^6 CSV rows through the apple-orange program to NDJSON.

Goal (issue 9): ``cgcalc batch`` at least as fast as a hand-written NumPy script that
reads the file with NumPy, computes the values and gradients, and writes each row
with ``json.dumps`` (ratio at most 1.0); and peak memory at 10^7 rows no higher than
at 10^6. Both run as whole processes on the same file; their outputs are compared.

Goal (issue 21): with pyarrow installed, at least 3x the rows/s of the code of a git
ref (``--baseline main``), measured in the same run on the same file with the same
Python, byte-identical output.

Byte code is compiled first (``compileall``), for this cgcalc and the baseline's alike,
as ``startup.py`` does: an installed package has it, but a machine with
PYTHONDONTWRITEBYTECODE set would otherwise recompile every module on every run.

    python benchmarks/batch.py [--rows 1000000] [--big-rows 10000000] [--repeat 3]
                               [--baseline REF]
"""

from __future__ import annotations

import argparse
import compileall
import io
import random
import resource
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

PROGRAM = "(apple*apple_num + orange*orange_num)*tax"

REFERENCE = '''
import json, sys
import numpy as np

data = np.loadtxt(sys.argv[1], delimiter=",", skiprows=1, ndmin=2)
apple, apple_num, orange, orange_num, tax = data.T
all_price = apple * apple_num + orange * orange_num
value = all_price * tax
grads = {"apple": tax * apple_num, "apple_num": tax * apple, "orange": tax * orange_num,
         "orange_num": tax * orange, "tax": all_price}
write = sys.stdout.write
for i in range(len(value)):
    write(json.dumps({"row": i + 1, "value": float(value[i]),
                      "gradients": {k: float(g[i]) for k, g in grads.items()}}) + "\\n")
'''

# Runs a command and prints its peak resident memory (KiB) on stderr's last line.
PEAK = ("import resource, subprocess, sys; subprocess.run(sys.argv[1:], check=True, "
        "stdout=subprocess.DEVNULL); print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,"
        " file=sys.stderr)")


def make_csv(path: Path, rows: int, seed: int = 5) -> None:
    rng = random.Random(seed)
    with path.open("w") as file:
        file.write("apple,apple_num,orange,orange_num,tax\n")
        for start in range(0, rows, 100_000):
            file.write("".join(
                f"{rng.randint(50, 200)},{rng.randint(1, 9)},{rng.randint(50, 300)},"
                f"{rng.randint(1, 9)},{rng.choice((1.05, 1.08, 1.1))}\n"
                for _ in range(min(100_000, rows - start))))


def baseline_command(ref: str, into: Path) -> list[str]:
    """A command running the cgcalc package of git ref ``ref`` (extracted into ``into``)."""
    root = Path(__file__).resolve().parents[1]
    archive = subprocess.run(["git", "-C", str(root), "archive", ref, "cgcalc", "grammars"],
                             check=True, capture_output=True).stdout  # older parsers read the grammar
    tarfile.open(fileobj=io.BytesIO(archive)).extractall(into, filter="data")
    compileall.compile_dir(into / "cgcalc", quiet=1)
    return [sys.executable, "-c", f"import sys; sys.path.insert(0, {str(into)!r}); "
            "from cgcalc.cli import main; sys.argv[0] = 'cgcalc'; main()"]


def timed(command: list[str], out: Path, cpu: list[float] | None = None) -> float:
    """Wall seconds of a run; its CPU seconds (user + system) appended to ``cpu``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    with out.open("w") as sink:
        start = time.perf_counter()
        subprocess.run(command, check=True, stdout=sink)
        wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if cpu is not None:
        cpu.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
    return wall


def peak_kib(command: list[str]) -> int:
    done = subprocess.run([sys.executable, "-c", PEAK, *command], check=True,
                          capture_output=True, text=True)
    return int(done.stderr.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--big-rows", type=int, default=10_000_000,
                        help="rows of the memory comparison (0 to skip it)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--baseline", metavar="REF",
                        help="also time the cgcalc of this git ref (e.g. main) on the same file")
    args = parser.parse_args()
    cgcalc = str(Path(sys.executable).with_name("cgcalc"))
    import cgcalc as package

    compileall.compile_dir(Path(package.__file__).parent, quiet=1)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        data, script = tmp / "rows.csv", tmp / "reference.py"
        make_csv(data, args.rows)
        script.write_text(REFERENCE)
        ours_cmd = [cgcalc, "batch", PROGRAM, "--input", str(data)]
        reference_cmd = [sys.executable, str(script), str(data)]
        base_cmd = args.baseline and [*baseline_command(args.baseline, tmp / "baseline"),
                                      "batch", PROGRAM, "--input", str(data)]
        ours, reference, base, ours_cpu, base_cpu = [], [], [], [], []
        for _ in range(args.repeat):
            ours.append(timed(ours_cmd, tmp / "ours.ndjson", ours_cpu))
            reference.append(timed(reference_cmd, tmp / "reference.ndjson"))
            if base_cmd:
                base.append(timed(base_cmd, tmp / "base.ndjson", base_cpu))
        same = (tmp / "ours.ndjson").read_bytes() == (tmp / "reference.ndjson").read_bytes()
        t_ours, t_ref = statistics.median(ours), statistics.median(reference)
        print(f"{args.rows:,} CSV rows, apple-orange program, NDJSON out "
              f"(median of {args.repeat} runs):")
        print(f"  cgcalc batch:          {t_ours:.2f} s  ({args.rows / t_ours:,.0f} rows/s)")
        print(f"  hand-written NumPy:    {t_ref:.2f} s  ({args.rows / t_ref:,.0f} rows/s)")
        print(f"  ratio: {t_ours / t_ref:.2f}x (goal <= 1.0); outputs byte-identical: {same}")
        if base_cmd:
            t_base = statistics.median(base)
            same = (tmp / "ours.ndjson").read_bytes() == (tmp / "base.ndjson").read_bytes()
            print(f"  cgcalc of {args.baseline}:{' ' * max(1, 14 - len(args.baseline))}"
                  f"{t_base:.2f} s  ({args.rows / t_base:,.0f} rows/s)")
            print(f"  speed-up over {args.baseline}: {t_base / t_ours:.2f}x (goal >= 3); "
                  f"outputs byte-identical: {same}")
            c_ours, c_base = statistics.median(ours_cpu), statistics.median(base_cpu)
            print(f"  CPU seconds (user + system): {c_ours:.2f} vs {c_base:.2f}, "
                  f"{c_base / c_ours:.2f}x")
        small = peak_kib(ours_cmd)
        print(f"  peak memory of cgcalc batch at {args.rows:,} rows: {small / 1024:.0f} MiB")
        if args.big_rows:
            big_data = tmp / "big.csv"
            make_csv(big_data, args.big_rows)
            big_cmd = [cgcalc, "batch", PROGRAM, "--input", str(big_data)]
            start = time.perf_counter()
            big = peak_kib(big_cmd)
            seconds = time.perf_counter() - start
            print(f"  peak memory of cgcalc batch at {args.big_rows:,} rows: {big / 1024:.0f} MiB "
                  f"({seconds:.1f} s, {args.big_rows / seconds:,.0f} rows/s)")


if __name__ == "__main__":
    main()
