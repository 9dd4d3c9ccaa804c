"""Engine alone: forward plus reverse pass over an already-parsed program of 10^6 nodes.

Goal (issue 9): at least 2 million nodes per second for ``evaluate(parse(text))``'s
evaluate step. The program is the scale benchmark's expression, made long enough.
``--baseline PYTHON`` runs the same measurement with another interpreter (a virtual
environment where other code of cgcalc is installed) in turns with this one, each in a
process of its own, so that both see the same load.

    python benchmarks/engine.py [--nodes 1000000] [--repeat 5] [--baseline PYTHON --rounds 2]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

NODES_PER_TERM = 5.4  # measured: 50,000 terms make 269,973 nodes


def measure(nodes: int, repeat: int) -> dict:
    """Parse the program, then time ``evaluate`` ``repeat`` times."""
    import cgcalc
    from scale import bindings, make_terms, to_text

    program = cgcalc.parse(to_text(make_terms(int(nodes / NODES_PER_TERM))))
    point = bindings()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        cgcalc.evaluate(program, point)
        times.append(time.perf_counter() - start)
    return {"nodes": len(program), "median": statistics.median(times), "best": min(times)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--baseline", help="the python of an environment with the code to compare")
    parser.add_argument("--rounds", type=int, default=2, help="turns of each, with --baseline")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.nodes, args.repeat)))
        return
    if not args.baseline:
        report("evaluate", measure(args.nodes, args.repeat), args.repeat)
        return
    here = Path(__file__).parent
    pythons = {"this code": sys.executable, "baseline": args.baseline}
    for round_ in range(1, args.rounds + 1):
        for name, python in pythons.items():
            # run from this directory, so that no checkout of cgcalc shadows the installed one
            out = subprocess.run([python, str(here / "engine.py"), "--child", "--nodes",
                                  str(args.nodes), "--repeat", str(args.repeat)], cwd=here,
                                 check=True, capture_output=True, text=True).stdout
            report(f"round {round_}, {name}", json.loads(out), args.repeat)


def report(name: str, measured: dict, repeat: int) -> None:
    nodes, median = measured["nodes"], measured["median"]
    print(f"{name}: {nodes:,} nodes, evaluate (forward + reverse) median {median:.3f} s, "
          f"best {measured['best']:.3f} s of {repeat}: {nodes / median / 1e6:.2f} M nodes/s "
          "(goal >= 2)")


if __name__ == "__main__":
    main()
