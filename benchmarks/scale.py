"""Scale: a 50,000-term expression through the whole ``cgcalc -f FILE --json`` process,
against a closure-based scalar autograd (one object and one closure per node, in the
style of small teaching engines) that only builds and differentiates the same graph
in-process, parsing nothing.

Goal (issue 9): cgcalc's whole run at most 1.25x the teaching engine's time.
Also prints where cgcalc's time goes, peak memory per node (issue 18: at most 120 bytes,
the peak resident memory of the run less that of the same command on a one-term
program, which is what the imports take), what Python's own ``compile`` does with the
text, and SymPy side by side at 1,000 terms.

With ``--baseline PATH`` another cgcalc executable (an older install) runs the same
command in the same rounds, and its memory is measured the same way: a before/after in
one run.

    python benchmarks/scale.py [--terms 50000] [--repeat 3] [--sympy-terms 1000]
                               [--baseline /path/to/old/bin/cgcalc]
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

FUNCTIONS = ["sin", "exp", "log", "relu", "sigmoid"]
N_VARS = 100


def make_terms(n: int, seed: int = 7) -> list[tuple]:
    """Terms ``c * f(x_a op x_b)`` joined by ``+``/``-``; log gets ``1 + x_a*x_b``."""
    rng = random.Random(seed)
    terms = []
    for _ in range(n):
        f = rng.choice(FUNCTIONS)
        op = "*" if f == "log" else rng.choice("+-*/")
        terms.append((rng.choice("+-"), round(rng.uniform(0.5, 2), 2), f,
                      rng.randrange(N_VARS), op, rng.randrange(N_VARS)))
    return terms


def to_text(terms: list[tuple]) -> str:
    parts = []
    for i, (join, c, f, a, op, b) in enumerate(terms):
        inner = f"1 + x{a}*x{b}" if f == "log" else f"x{a} {op} x{b}"
        parts.append(("" if i == 0 else f" {join} ") + f"{c}*{f}({inner})")
    return "".join(parts)


def bindings() -> dict[str, float]:
    rng = random.Random(11)
    return {f"x{i}": round(rng.uniform(0.1, 1.0), 3) for i in range(N_VARS)}


class Value:
    """The teaching engine: one object and one backward closure per node."""

    __slots__ = ("data", "grad", "_backward", "_prev")

    def __init__(self, data, prev=()):
        self.data = data
        self.grad = 0.0
        self._backward = None
        self._prev = prev

    def __add__(self, other):
        out = Value(self.data + other.data, (self, other))

        def _backward():
            self.grad += out.grad
            other.grad += out.grad
        out._backward = _backward
        return out

    def __sub__(self, other):
        out = Value(self.data - other.data, (self, other))

        def _backward():
            self.grad += out.grad
            other.grad -= out.grad
        out._backward = _backward
        return out

    def __mul__(self, other):
        out = Value(self.data * other.data, (self, other))

        def _backward():
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad
        out._backward = _backward
        return out

    def __truediv__(self, other):
        out = Value(self.data / other.data, (self, other))

        def _backward():
            self.grad += out.grad / other.data
            other.grad -= out.grad * out.data / other.data
        out._backward = _backward
        return out

    def unary(self, y, dydx):
        out = Value(y, (self,))

        def _backward():
            self.grad += dydx * out.grad
        out._backward = _backward
        return out

    def sin(self):
        return self.unary(math.sin(self.data), math.cos(self.data))

    def exp(self):
        y = math.exp(self.data)
        return self.unary(y, y)

    def log(self):
        return self.unary(math.log(self.data), 1.0 / self.data)

    def relu(self):
        return self.unary(max(self.data, 0.0), 1.0 if self.data > 0 else 0.0)

    def sigmoid(self):
        y = 1.0 / (1.0 + math.exp(-self.data))
        return self.unary(y, y * (1.0 - y))

    def backward(self):
        order, seen, stack = [], set(), [(self, False)]
        while stack:  # iterative topological sort: the graph is 50,000 deep
            node, done = stack.pop()
            if done:
                order.append(node)
            elif id(node) not in seen:
                seen.add(id(node))
                stack.append((node, True))
                stack.extend((p, False) for p in node._prev)
        self.grad = 1.0
        for node in reversed(order):
            if node._backward:
                node._backward()


def teaching_engine(terms, point) -> tuple[float, dict[str, float]]:
    xs = {name: Value(v) for name, v in point.items()}
    ops = {"+": Value.__add__, "-": Value.__sub__, "*": Value.__mul__, "/": Value.__truediv__}
    total = None
    for join, c, f, a, op, b in terms:
        xa, xb = xs[f"x{a}"], xs[f"x{b}"]
        inner = Value(1.0) + xa * xb if f == "log" else ops[op](xa, xb)
        term = Value(c) * getattr(inner, f)()
        total = term if total is None else ops[join](total, term)
    total.backward()
    return total.data, {name: x.grad for name, x in xs.items()}


def stages(text: str, point: dict[str, float]) -> dict[str, float]:
    """cgcalc's stages in-process: lexing alone, parsing with building, passes, JSON."""
    import cgcalc
    from cgcalc.parser import _parser
    from cgcalc.render.json_doc import write

    from cgcalc._lark_parser import LexerState, TextSlice

    parser, _ = _parser()
    lexer = parser.parser.lexer  # the GrammarLexer that Lark was handed
    gc.collect()  # the teaching engine's reference cycles would otherwise be collected here
    t0 = time.perf_counter()
    for _ in lexer.lex(LexerState(TextSlice.cast_from(text))):
        pass
    t1 = time.perf_counter()
    program = cgcalc.parse(text)
    t2 = time.perf_counter()
    result = cgcalc.evaluate(program, point)
    t3 = time.perf_counter()
    with open(os.devnull, "w") as devnull:
        write(result, devnull)
    t4 = time.perf_counter()
    return {"lexing alone": t1 - t0, "lexing+parsing+building": t2 - t1,
            "forward+reverse passes": t3 - t2, "JSON output": t4 - t3, "nodes": len(program)}


#: Runs its arguments and prints their peak resident memory. A child started from this
#: script would count this script's memory as its own (Linux keeps the largest resident
#: size across fork and exec), so a small Python starts it instead.
_MEASURE = ("import os, subprocess, sys\n"
            "child = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL)\n"
            "_, status, usage = os.wait4(child.pid, 0)\n"
            "print(usage.ru_maxrss * 1024, os.waitstatus_to_exitcode(status))")


def peak_rss(command: list[str]) -> int:
    """The peak resident memory of one run of ``command``, in bytes."""
    peak, code = subprocess.run([sys.executable, "-c", _MEASURE, *command], check=True,
                                capture_output=True, text=True).stdout.split()
    if int(code):
        raise subprocess.CalledProcessError(int(code), command)
    return int(peak)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--terms", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--sympy-terms", type=int, default=1000)
    parser.add_argument("--baseline", help="another cgcalc executable to run beside this one")
    args = parser.parse_args()
    terms, point = make_terms(args.terms), bindings()
    text = to_text(terms)
    executables = {"cgcalc": str(Path(sys.executable).with_name("cgcalc"))}
    if args.baseline:
        executables["baseline"] = args.baseline
    with tempfile.TemporaryDirectory() as tmp:
        expr_file, small_file = Path(tmp) / "expr.cg", Path(tmp) / "small.cg"
        expr_file.write_text(text)
        small_file.write_text(to_text(terms[:1]))
        words = [*(f"{k}={v}" for k, v in point.items()), "--json"]
        commands = {name: [exe, "-f", str(expr_file), *words] for name, exe in executables.items()}
        for command in commands.values():
            subprocess.run(command, check=True, stdout=subprocess.DEVNULL)  # warm-up
        whole: dict[str, list[float]] = {name: [] for name in commands}
        engine = []
        for _ in range(args.repeat):
            for name, command in commands.items():
                start = time.perf_counter()
                subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
                whole[name].append(time.perf_counter() - start)
            start = time.perf_counter()
            value, grads = teaching_engine(terms, point)
            engine.append(time.perf_counter() - start)
        memory = {name: (peak_rss(command), peak_rss([exe, "-f", str(small_file), *words]))
                  for (name, command), exe in zip(commands.items(), executables.values())}
        ours = json.loads(subprocess.run(commands["cgcalc"], check=True, capture_output=True,
                                         text=True).stdout)
    worst = max(abs(ours["gradients"][k] - g) / max(1.0, abs(g)) for k, g in grads.items())
    split = stages(text, point)
    nodes = split.pop("nodes")
    print(f"expression: {args.terms} terms, {len(text):,} characters, {nodes:,} nodes")
    teaching = statistics.median(engine)
    print(f"teaching engine, build+backward only:  {teaching:.3f} s (median of {args.repeat})")
    for name, times in whole.items():
        print(f"{name} -f FILE --json (whole process): {statistics.median(times):.3f} s, "
              f"{statistics.median(times) / teaching:.3f}x the teaching engine (goal <= 1.25x)")
    print(f"same value: {abs(ours['value'] - value) <= 1e-9 * abs(value)}, "
          f"largest gradient difference {worst:.1e}")
    print("where cgcalc's time goes (in-process):")
    for name, seconds in split.items():
        print(f"  {name:26s} {seconds:.3f} s")
    for name, (peak, imports) in memory.items():
        print(f"peak memory of the {name} process: {peak / 2**20:.0f} MiB; less the "
              f"{imports / 2**20:.0f} MiB of a one-term run: {(peak - imports) / nodes:.0f} bytes "
              "per node (goal <= 120)")
    try:
        compile(text, "<expr>", "eval")
        print("Python's compile: compiled")
    except RecursionError as error:
        print(f"Python's compile of the same text: RecursionError ({error})")
    if args.sympy_terms:
        sympy_side_by_side(args.sympy_terms, point)


def sympy_side_by_side(n: int, point: dict[str, float]) -> None:
    """SymPy: build the expression, differentiate by every variable, substitute."""
    try:
        import sympy
    except ImportError:
        print("SymPy is not installed; skipped")
        return
    import cgcalc

    terms = make_terms(n)
    text = to_text(terms)
    symbols = {name: sympy.Symbol(name) for name in point}
    funcs = {"sin": sympy.sin, "exp": sympy.exp, "log": sympy.log,
             "relu": lambda z: sympy.Max(z, 0), "sigmoid": lambda z: 1 / (1 + sympy.exp(-z))}
    ops = {"+": lambda p, q: p + q, "-": lambda p, q: p - q, "*": lambda p, q: p * q,
           "/": lambda p, q: p / q}
    start = time.perf_counter()
    total = 0
    for join, c, f, a, op, b in terms:
        xa, xb = symbols[f"x{a}"], symbols[f"x{b}"]
        inner = 1 + xa * xb if f == "log" else ops[op](xa, xb)
        total = ops[join](total, sympy.Float(c) * funcs[f](inner))
    subs = {symbols[k]: v for k, v in point.items()}
    grads = {k: float(sympy.diff(total, s).evalf(subs=subs)) for k, s in symbols.items()}
    sympy_time = time.perf_counter() - start
    start = time.perf_counter()
    ours = cgcalc.evaluate(cgcalc.parse(text), point)
    ours_time = time.perf_counter() - start
    worst = max(abs(ours.gradients[k] - g) / max(1.0, abs(g)) for k, g in grads.items())
    print(f"SymPy at {n} terms (build, diff by {len(point)} variables, evalf): {sympy_time:.2f} s; "
          f"cgcalc parse+evaluate in-process: {ours_time:.4f} s "
          f"({sympy_time / ours_time:.0f}x); largest difference {worst:.1e}")


if __name__ == "__main__":
    main()
