"""diff output size against input size: nested sigmoids 1 to 1,000 deep (issue 15).

The derivative of sigmoid(sigmoid(...(x))) written out as a tree doubles at every level
(y*(1 - y) uses the inner sigmoid twice); cgcalc names every shared subexpression once,
so its text must grow linearly. Prints the input's and the derivative's sizes in
characters and nodes, the characters per level, and the time ``cgcalc.derivative`` took.

    python benchmarks/diff_size.py [--depths 1,10,100,1000]
"""

from __future__ import annotations

import argparse
import time

import cgcalc
from cgcalc.differentiate import derivative
from cgcalc.render.source import to_source


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--depths", default="1,10,100,1000")
    parser.add_argument("--function", default="sigmoid")
    args = parser.parse_args()
    print(f"{'depth':>6} {'input chars':>12} {'input nodes':>12} {'diff chars':>11} "
          f"{'diff nodes':>11} {'chars/level':>12} {'time':>9}")
    for depth in map(int, args.depths.split(",")):
        text = f"{args.function}(" * depth + "x" + ")" * depth
        program = cgcalc.parse(text)
        start = time.perf_counter()
        derived = derivative(program, "x")
        seconds = time.perf_counter() - start
        printed = to_source(derived)
        print(f"{depth:>6} {len(text):>12,} {len(program):>12,} {len(printed):>11,} "
              f"{len(derived):>11,} {len(printed) / depth:>12.1f} {seconds * 1000:>7.1f} ms")
    print(f"\nlast derivative's first lines:\n{printed[:60]}\n...")


if __name__ == "__main__":
    main()
