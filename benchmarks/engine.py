"""Engine alone: forward plus reverse pass over an already-parsed program of 10^6 nodes.

Goal (issue 9): at least 2 million nodes per second for ``evaluate(parse(text))``'s
evaluate step. The program is the scale benchmark's expression, made long enough.

    python benchmarks/engine.py [--nodes 1000000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import statistics
import time

import cgcalc
from scale import bindings, make_terms, to_text

NODES_PER_TERM = 5.4  # measured: 50,000 terms make 269,973 nodes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    program = cgcalc.parse(to_text(make_terms(int(args.nodes / NODES_PER_TERM))))
    point = bindings()
    times = []
    for _ in range(args.repeat):
        start = time.perf_counter()
        cgcalc.evaluate(program, point)
        times.append(time.perf_counter() - start)
    best, median = min(times), statistics.median(times)
    print(f"program: {len(program):,} nodes ({len(program.op_ids):,} operations)")
    print(f"evaluate (forward + reverse): median {median:.3f} s, best {best:.3f} s "
          f"over {args.repeat} runs")
    print(f"throughput: {len(program) / median / 1e6:.2f} M nodes/s (goal >= 2)")


if __name__ == "__main__":
    main()
