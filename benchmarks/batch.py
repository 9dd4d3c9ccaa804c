"""Batch: 10^6 CSV rows through the apple-orange program to NDJSON.

Goal (issue 9): ``cgcalc batch`` at least as fast as a hand-written NumPy script that
reads the file with NumPy, computes the values and gradients, and writes each row
with ``json.dumps`` (ratio at most 1.0); and peak memory at 10^7 rows no higher than
at 10^6. Both run as whole processes on the same file; their outputs are compared.

    python benchmarks/batch.py [--rows 1000000] [--big-rows 10000000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import random
import statistics
import subprocess
import sys
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


def timed(command: list[str], out: Path) -> float:
    with out.open("w") as sink:
        start = time.perf_counter()
        subprocess.run(command, check=True, stdout=sink)
        return time.perf_counter() - start


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
    args = parser.parse_args()
    cgcalc = str(Path(sys.executable).with_name("cgcalc"))
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        data, script = tmp / "rows.csv", tmp / "reference.py"
        make_csv(data, args.rows)
        script.write_text(REFERENCE)
        ours_cmd = [cgcalc, "batch", PROGRAM, "--input", str(data)]
        reference_cmd = [sys.executable, str(script), str(data)]
        ours, reference = [], []
        for _ in range(args.repeat):
            ours.append(timed(ours_cmd, tmp / "ours.ndjson"))
            reference.append(timed(reference_cmd, tmp / "reference.ndjson"))
        same = (tmp / "ours.ndjson").read_bytes() == (tmp / "reference.ndjson").read_bytes()
        t_ours, t_ref = statistics.median(ours), statistics.median(reference)
        print(f"{args.rows:,} CSV rows, apple-orange program, NDJSON out "
              f"(median of {args.repeat} runs):")
        print(f"  cgcalc batch:          {t_ours:.2f} s  ({args.rows / t_ours:,.0f} rows/s)")
        print(f"  hand-written NumPy:    {t_ref:.2f} s  ({args.rows / t_ref:,.0f} rows/s)")
        print(f"  ratio: {t_ours / t_ref:.2f}x (goal <= 1.0); outputs byte-identical: {same}")
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
