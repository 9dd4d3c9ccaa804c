"""The Hessian of a program with 100 variables and about 10^4 nodes, cgcalc against SymPy (issue 15).

The program is benchmarks/scale.py's sum of terms ``c*f(x_a op x_b)`` over 100
variables. cgcalc builds the gradient once as a graph (``cgcalc.derivative``'s
machinery) and differentiates each component by the reverse pass; SymPy does the same
job its own way: the same expression built term by term, ``sympy.hessian`` of it,
then ``lambdify`` and one evaluation at the point. Prints both times, the size of cgcalc's gradient program, and
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

    terms = make_terms(args.terms)
    text = to_text(terms)
    program = cgcalc.parse(text)
    point = bindings()
    g = Graph()
    components = gradients(g, copy_program(g, program), list(program.variables))
    print(f"program: {args.terms:,} terms, {len(program):,} nodes, "
          f"{len(program.variables)} of its {N_VARS} variables used; "
          f"its gradient as a graph: {len(g.ops):,} nodes, {len(components)} components")

    times = []
    for _ in range(args.repeat):
        start = time.perf_counter()
        result = cgcalc.hessian(program, point)
        times.append(time.perf_counter() - start)
    m, n = result.matrix, len(result.variables)
    symmetric = all(m[i][j] == m[j][i] for i in range(n) for j in range(n))
    print(f"cgcalc.hessian: {statistics.median(times):.2f} s (median of {args.repeat}); "
          f"exactly symmetric: {symmetric}")
    if args.no_sympy:
        return

    import sympy as sp

    class Step(sp.Function):  # relu's derivative, as cgcalc's step: no DiracDelta after it
        def fdiff(self, argindex=1):
            return sp.S.Zero

    class Relu(sp.Function):
        def fdiff(self, argindex=1):
            return Step(self.args[0])

    start = time.perf_counter()
    symbols = sp.symbols(result.variables)  # rows and columns in cgcalc's order
    x = {str(s): s for s in symbols}
    functions = {"sin": sp.sin, "exp": sp.exp, "log": sp.log, "relu": Relu,
                 "sigmoid": lambda a: 1 / (1 + sp.exp(-a))}
    operators = {"+": sp.Add, "-": lambda a, b: a - b, "*": sp.Mul, "/": lambda a, b: a / b}
    expr = sp.Add(*[  # the same terms as the text, built directly (sympify takes minutes)
        (1 if i == 0 or join == "+" else -1) * sp.Float(c) * functions[f](
            1 + x[f"x{a}"] * x[f"x{b}"] if f == "log" else operators[op](x[f"x{a}"], x[f"x{b}"]))
        for i, (join, c, f, a, op, b) in enumerate(terms)])
    parsed = time.perf_counter() - start
    print(f"SymPy: build {parsed:.2f} s", flush=True)
    start = time.perf_counter()
    h = sp.hessian(expr, symbols)
    derived = time.perf_counter() - start
    print(f"SymPy: hessian {derived:.2f} s", flush=True)
    start = time.perf_counter()
    functions = {"Relu": lambda a: max(a, 0.0), "Step": lambda a: 1.0 if a > 0 else 0.0}
    values = sp.lambdify(symbols, h.tolist(), [functions, "math"])(
        *[point[name] for name in result.variables])
    evaluated = time.perf_counter() - start
    total = parsed + derived + evaluated
    diff = max(abs(float(values[i][j]) - m[i][j]) / (1 + abs(m[i][j]))
               for i in range(n) for j in range(n))
    print(f"SymPy: {total:.2f} s (build {parsed:.2f} s, hessian {derived:.2f} s, "
          f"lambdify and evaluate {evaluated:.2f} s); {total / statistics.median(times):.0f}x "
          f"cgcalc's time")
    print(f"largest difference |cgcalc - SymPy| / (1 + |cgcalc|): {diff:.1e}")


if __name__ == "__main__":
    main()
