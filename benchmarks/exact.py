"""--exact: what exact rationals cost, as a whole process and in the engine.

1. The apple-orange example as a whole process, ``--json``, with and without
   ``--exact`` (medians of interleaved runs), for eval, check, diff and hessian; and
   whether the exact eval imported mpmath (it must not: nothing there leaves the
   rationals).
2. A 10^4-term rational program (decimal literals, ``+ - * /`` and integer powers of
   three variables bound to thirds and sevenths), parsed once, both passes exact
   against float, in-process (medians); the float value's relative error against the
   exact one.

    python benchmarks/exact.py [--runs 30] [--terms 10000]
"""

from __future__ import annotations

import argparse
import random
import statistics
import subprocess
import sys
import time
from fractions import Fraction
from pathlib import Path

EXPR = "(apple*apple_num + orange*orange_num)*tax"
BINDINGS = ["-v", "apple=100", "-v", "apple_num=2", "-v", "orange=150", "-v", "orange_num=3",
            "-v", "tax=1.1"]
IMPORTS_MPMATH = ("import sys; from cgcalc.cli import main; sys.argv[0] = 'cgcalc'\n"
                  "try: main()\nexcept SystemExit: pass\n"
                  "print('mpmath imported:', 'mpmath' in sys.modules, file=sys.stderr)")


COMMANDS = {"eval": [], "check": ["check"], "diff": ["diff", "--wrt", "tax"],
            "hessian": ["hessian"]}


def whole_process(runs: int) -> None:
    cgcalc = str(Path(sys.executable).with_name("cgcalc"))
    for name, words in COMMANDS.items():
        commands = {"float": [cgcalc, *words, EXPR, *BINDINGS, "--json"],
                    "--exact": [cgcalc, *words, EXPR, *BINDINGS, "--json", "--exact"]}
        for command in commands.values():
            subprocess.run(command, check=True, capture_output=True)
        times: dict[str, list[float]] = {kind: [] for kind in commands}
        for _ in range(runs):
            for kind, command in commands.items():
                start = time.perf_counter()
                subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
                times[kind].append(time.perf_counter() - start)
        plain, exact = (statistics.median(times[kind]) for kind in commands)
        print(f"apple-orange {name}, whole process, median of {runs}: float {plain * 1e3:.1f} "
              f"ms, --exact {exact * 1e3:.1f} ms: {exact / plain:.2f}x")
    check = subprocess.run([sys.executable, "-c", IMPORTS_MPMATH, EXPR, *BINDINGS, "--exact",
                            "--json"], check=True, capture_output=True, text=True)
    print(f"  {check.stdout.strip()}; {check.stderr.strip()}")


def rational_program(terms: int) -> str:
    """``terms`` terms such as ``0.37*x**2``, ``-1.25*y/z``, ``4.5/(x + 2)``, summed."""
    rng = random.Random(20)
    shapes = ["{c}*{u}**{k}", "{c}*{u}/{v}", "{c}/({u} + {k})", "{c}*{u}*{v} - {u}"]
    parts = []
    for _ in range(terms):
        c = f"{rng.randint(1, 999) / 100:g}"
        u, v = rng.choice("xyz"), rng.choice("xyz")
        parts.append(rng.choice(shapes).format(c=c, u=u, v=v, k=rng.randint(1, 3)))
    return " + ".join(parts)


def engine(terms: int, runs: int) -> None:
    import cgcalc
    import cgcalc.exact

    source = rational_program(terms)
    program = cgcalc.parse(source)
    exact_point = {"x": Fraction(1, 3), "y": Fraction(2, 7), "z": Fraction(5, 3)}
    float_point = {name: float(value) for name, value in exact_point.items()}
    timings = {"float": [], "exact": []}
    for _ in range(runs):
        start = time.perf_counter()
        floats = cgcalc.evaluate(program, float_point)
        timings["float"].append(time.perf_counter() - start)
        start = time.perf_counter()
        exact = cgcalc.exact.evaluate(program, exact_point)
        timings["exact"].append(time.perf_counter() - start)
    plain, slow = (statistics.median(timings[name]) for name in ("float", "exact"))
    error = abs(Fraction(floats.value) - exact.value) / abs(exact.value)
    worst = max(abs(Fraction(floats.gradients[n]) - g) / abs(g) for n, g in exact.gradients.items())
    print(f"{terms:,}-term rational program ({len(program):,} nodes), both passes, median of "
          f"{runs}: float {plain * 1e3:.1f} ms, exact {slow * 1e3:.1f} ms: {slow / plain:.0f}x")
    print(f"  exact value {exact.value.numerator.bit_length()}-bit numerator / "
          f"{exact.value.denominator.bit_length()}-bit denominator; float relative error "
          f"{float(error):.1e} (value), {float(worst):.1e} (worst gradient)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--terms", type=int, default=10_000)
    args = parser.parse_args()
    whole_process(args.runs)
    engine(args.terms, max(3, args.runs // 6))


if __name__ == "__main__":
    main()
