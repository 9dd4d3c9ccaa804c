"""The Hessian of a program with 100 variables and about 10^4 nodes, cgcalc against SymPy (issue 15).

The program is benchmarks/scale.py's sum of terms ``c*f(x_a op x_b)`` over 100
variables. cgcalc builds the gradient once as a graph (``cgcalc.derivative``'s
machinery) and differentiates each component by the reverse pass; SymPy does the same
job its own way: ``sympy.hessian`` of the expression, then ``lambdify`` and one
evaluation at the point. Prints both times, the size of cgcalc's gradient program, and
the largest difference between the two matrices.

    python benchmarks/hessian.py [--terms 1850] [--repeat 3] [--no-sympy]
"""

from __future__ import annotations

import argparse
import statistics
import time

import cgcalc
from cgcalc.differentiate import Graph, copy_program, gradients
from scale import N_VARS, bindings, make_terms, to_text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--terms", type=int, default=1850, help="terms of the sum (~5.4 nodes each)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-sympy", action="store_true")
    args = parser.parse_args()

    text = to_text(make_terms(args.terms))
    program = cgcalc.parse(text)
    point = bindings()
    g = Graph()
    components = gradients(g, copy_program(g, program), list(program.variables))
    print(f"program: {args.terms:,} terms, {len(program):,} nodes, {N_VARS} variables; "
          f"its gradient as a graph: {len(g.ops):,} nodes, {len(components)} components")

    times = []
    for _ in range(args.repeat):
        start = time.perf_counter()
        result = cgcalc.hessian(program, point)
        times.append(time.perf_counter() - start)
    m = result.matrix
    symmetric = all(m[i][j] == m[j][i] for i in range(N_VARS) for j in range(N_VARS))
    print(f"cgcalc.hessian: {statistics.median(times):.2f} s (median of {args.repeat}); "
          f"exactly symmetric: {symmetric}")
    if args.no_sympy:
        return

    import sympy as sp

    start = time.perf_counter()
    symbols = sp.symbols(f"x0:{N_VARS}")
    expr = sp.sympify(text, locals={f"x{i}": s for i, s in enumerate(symbols)} | {
        "sigmoid": lambda a: 1 / (1 + sp.exp(-a)), "relu": lambda a: sp.Max(a, 0)})
    parsed = time.perf_counter() - start
    start = time.perf_counter()
    h = sp.hessian(expr, symbols)
    derived = time.perf_counter() - start
    start = time.perf_counter()
    values = sp.lambdify(symbols, h.tolist(), "math")(*[point[f"x{i}"] for i in range(N_VARS)])
    evaluated = time.perf_counter() - start
    total = parsed + derived + evaluated
    diff = max(abs(float(values[i][j]) - m[i][j]) / (1 + abs(m[i][j]))
               for i in range(N_VARS) for j in range(N_VARS))
    print(f"SymPy: {total:.2f} s (sympify {parsed:.2f} s, hessian {derived:.2f} s, "
          f"lambdify and evaluate {evaluated:.2f} s); {total / statistics.median(times):.0f}x "
          f"cgcalc's time")
    print(f"largest difference |cgcalc - SymPy| / (1 + |cgcalc|): {diff:.1e}")


if __name__ == "__main__":
    main()
