"""``--exact``: exact rationals through both passes, mpmath for what leaves them.

Oracles: SymPy's exact ``Rational`` arithmetic and ``diff`` on random rational programs
(values and gradients equal exactly), and mpmath at a higher precision for what is not
rational (the digits asked for agree).
"""

import itertools
import math
import json
import re
import subprocess
import sys
from fractions import Fraction

import mpmath
import pytest
import sympy
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import cgcalc
import cgcalc.exact
from cgcalc.exact_ops import is_exact
from cgcalc.ops import FUNCTIONS, OPERANDS, OPERATORS, Neg, Op
from cgcalc.walk import written
from cgcalc.render.exact_numbers import json_number, text
import test_three_modes as three_modes
from conftest import APPLE_ORANGE_EXPR

APPLE_ORANGE_WORDS = [APPLE_ORANGE_EXPR, "apple=100", "apple_num=2", "orange=150", "orange_num=3",
                      "tax=1.1"]


def exact(source, digits=30, **bindings):
    return cgcalc.exact.evaluate(cgcalc.parse(source), bindings, digits=digits)


def test_the_apple_orange_example_is_exact():
    result = exact(APPLE_ORANGE_EXPR, apple=100, apple_num=2, orange=150, orange_num=3, tax="1.1")
    assert result.value == 715 and is_exact(result.value)
    assert result.gradients == {"apple": Fraction(11, 5), "apple_num": 110,
                                "orange": Fraction(33, 10), "orange_num": 165, "tax": 650}


def test_the_apple_orange_example_in_json_and_tables(run):
    out = run(*APPLE_ORANGE_WORDS, "--exact", "--json")
    assert out.exit_code == 0, out.output
    assert out.stdout == ('{"value": 715, "exact": true, "gradients": {"apple": 2.2, '
                          '"apple_num": 110, "orange": 3.3, "orange_num": 165, "tax": 650}}\n')
    table = run(*APPLE_ORANGE_WORDS, "--exact").stdout
    assert table.splitlines()[0] == "value = 715"
    assert [line.split()[-1] for line in table.splitlines()[3:]] == \
        ["2.2", "110", "3.3", "165", "650"]


def test_a_literal_is_the_fraction_its_text_says():
    assert exact("x*1.1", x=1).value == Fraction(11, 10)
    assert exact("0.1 + 0.2").value == Fraction(3, 10)
    assert exact("1e-3 + .5 + 2.").value == Fraction(2501, 1000)


def test_a_binding_is_read_by_cgcalcs_parser(run):
    out = run("x*3", "x=1/3", "-v", "y=2**-2", "--exact", "--json", "--wrt", "x")
    assert json.loads(out.stdout) == {"value": 1, "exact": True, "gradients": {"x": 3}}
    out = run("x + y", "--vars", "-", "--exact", "--json", input='{"x": 0.1, "y": 0.2}')
    assert out.stdout == '{"value": 0.3, "exact": true, "gradients": {"x": 1, "y": 1}}\n'


@pytest.mark.parametrize("word, value", [
    ("x=1e400", "1e+100"),  # a number beyond the doubles: refused as "not a number"
    ("x=10**400", "1e+100"),  # a constant expression was first evaluated in floats
    ("x=2**1024/2**1000", "1.6777216e-293"),
])
def test_a_binding_is_never_read_as_a_float_first(run, word, value):
    """-v x=1e400 was refused with --exact although --vars read {"x": 1e400} exactly."""
    out = run("x*1e-300", word, "--exact", "--json")
    assert (out.exit_code, out.stderr) == (0, "")
    assert out.stdout == f'{{"value": {value}, "exact": true, "gradients": {{"x": 1e-300}}}}\n'


def test_a_value_that_does_not_terminate_carries_its_fraction(run):
    out = run("x/3", "x=1", "--exact", "--json")
    assert out.stdout == ('{"value": 0.33333333333333333, "exact": true, "exact_value": "1/3", '
                          '"gradients": {"x": 0.33333333333333333}, '
                          '"exact_gradients": {"x": "1/3"}}\n')


def test_no_negative_zero(run):
    assert run("0*-x", "x=1", "--json").stdout == '{"value": -0.0, "gradients": {"x": 0.0}}\n'
    assert run("0*-x", "x=1", "--exact", "--json").stdout == \
        '{"value": 0, "exact": true, "gradients": {"x": 0}}\n'


def test_what_leaves_the_rationals_is_approximate_and_so_is_what_depends_on_it(run):
    result = exact("x*y + exp(z)", x=Fraction(1, 3), y=3, z=1)
    assert not is_exact(result.value)
    assert result.gradients["x"] == 3 and result.gradients["y"] == Fraction(1, 3)
    assert not is_exact(result.gradients["z"])
    out = run("x*y + exp(z)", "x=1/3", "y=3", "z=1", "--exact", "--json", "--digits", "20")
    assert out.stdout == (
        '{"value": 3.7182818284590452354, "exact": false, "gradients": {"x": 3, '
        '"y": 0.33333333333333333, "z": 2.7182818284590452354}, "exact_gradients": {"y": "1/3"}, '
        '"approximate_gradients": ["z"], "digits": 20}\n')
    table = run("x*y + exp(z)", "x=1/3", "y=3", "z=1", "--exact").stdout
    assert table == ("value = ≈ 3.718281828\n\nvariable  value  ∂value/∂variable\n"
                     "x           1/3                 3\ny             3               1/3\n"
                     "z             1     ≈ 2.718281828\n")


@pytest.mark.parametrize("source, value", [
    ("sqrt(x)", Fraction(3, 2)), ("x**0.5", Fraction(3, 2)), ("x**1.5", Fraction(27, 8)),
    ("x**-2", Fraction(16, 81)), ("abs(-x)", Fraction(9, 4)), ("relu(-x)", 0),
    ("exp(x - x)", 1), ("log(x/x)", 0), ("sin(x - x) + cos(0)", 1), ("sigmoid(0)", Fraction(1, 2)),
])
def test_what_stays_rational(source, value):
    result = exact(source, x=Fraction(9, 4))
    assert result.value == value and is_exact(result.value)
    assert all(map(is_exact, result.gradients.values()))


def test_the_exponent_of_a_constant_power_is_never_differentiated():
    """x**2 has no log(x) to take: its gradient stays exact (and mpmath is not needed)."""
    assert exact("x**2", x=Fraction(1, 3)).gradients["x"] == Fraction(2, 3)


@pytest.mark.parametrize("source, message", [
    ("1/(x - x)", "evaluation error at 1:2: 1 / 0 is undefined (the divisor must not be 0)"),
    ("log(x - 2)", "evaluation error at 1:1: log(0) is undefined (log is defined for x > 0)"),
    ("(x - 3)**0.5", "evaluation error at 1:8: (-1) ** 0.5 is undefined (a negative base needs an "
                     "integer exponent, and 0 a non-negative one)"),
    ("sqrt(x - 2)", "evaluation error at 1:1: the derivative of sqrt(0) is undefined (sqrt is "
                    "defined for x >= 0, its derivative for x > 0)"),
])
def test_errors_keep_their_meaning(run, source, message):
    out = run(source, "x=2", "--exact")
    assert out.exit_code == 1
    assert out.stderr.splitlines()[0] == f"cgcalc: {message}"


def test_a_relu_mask_stops_an_undefined_gradient():
    result = exact("relu(x - 3)*sqrt(x - 2) + x", x=2)
    assert result.gradients == {"x": 1}


@pytest.mark.parametrize("args, message", [
    (["sum(x)", "-v", "x=[1, 2]"], "cgcalc: error: x: --exact works on numbers; arrays compute "
                                   "with floats (drop --exact)"),
    (["sum(x)", "x=1"], "cgcalc: error: --exact works on numbers; this program uses array "
                        "operations, which compute with floats (drop --exact)"),
    (["batch", "x", "--input", "-"], "cgcalc: usage error: --exact is not for this command: batch "
                                     "computes with floats, many rows at once with NumPy; use "
                                     "'cgcalc eval --exact' row by row (see 'cgcalc batch --help')"),
])
def test_arrays_and_batch_refuse_exact(run, args, message):
    out = run(*args, "--exact")
    assert out.exit_code == 2
    assert out.stderr == message + "\n"


SCALAR_OPS = sorted({op for op in (*FUNCTIONS.values(), *OPERATORS.values(), Neg)
                     if not op.array_only}, key=lambda op: op.name)
POINTS = [Fraction(-3, 2), Fraction(-1, 3), Fraction(0), Fraction(1, 2), Fraction(1),
          Fraction(9, 4), Fraction(3)]


def outcome(evaluate, source, point):
    """The value and gradients, or the error's message."""
    try:
        result = evaluate(cgcalc.parse(source), point)
    except cgcalc.EvaluationError as error:
        return str(error)
    return [result.value, *result.gradients.values()]


@pytest.mark.parametrize("op", SCALAR_OPS, ids=lambda op: op.name)
def test_every_scalar_operation_works_exactly_from_its_rule_and_mpmath_name(op):
    """An operation needs nothing for --exact but its rule and, if it leaves the
    rationals, an mpmath name: at points in and out of its domain, the exact engine
    gives the float engine's values and gradients, or its error."""
    names = OPERANDS[op.arity]
    source = written(op, list(names))
    for xs in itertools.product(POINTS, repeat=len(names)):
        floats = outcome(cgcalc.evaluate, source, dict(zip(names, map(float, xs))))
        exacts = outcome(cgcalc.exact.evaluate, source, dict(zip(names, xs)))
        if isinstance(floats, str):
            assert exacts == floats, (source, xs)
            continue
        assert not isinstance(exacts, str), (source, xs, exacts)
        for got, want in zip(exacts, floats):
            got = float(got) if is_exact(got) else float(mpmath.mpf(got))
            assert got == pytest.approx(want, rel=1e-14, abs=1e-300), (source, xs)


def test_mpmath_is_imported_only_when_something_leaves_the_rationals():
    code = ("import sys; from cgcalc.cli import main; sys.argv = ['cgcalc'] + sys.argv[1:]\n"
            "try: main()\nexcept SystemExit: pass\nprint('mpmath' in sys.modules)")
    runs = [subprocess.run([sys.executable, "-c", code, *args, "--exact", "--json"],
                           capture_output=True, text=True, check=True).stdout.splitlines()[-1]
            for args in (APPLE_ORANGE_WORDS, ["exp(x)", "x=1"])]
    assert runs == ["False", "True"]


@pytest.mark.parametrize("value, table, json_text", [
    (Fraction(715), "715", ("715", None)), (Fraction(11, 5), "2.2", ("2.2", None)),
    (Fraction(-1, 3), "-1/3", ("-0.33333333333333333", "-1/3")),
    (Fraction(10**30), "1e+30", ("1e+30", None)), (Fraction(1, 2**20), "9.536743164e-07…",
                                                  ("9.5367431640625e-07", None)),
    (Fraction(2, 7 * 10**12), "2.857142857e-13…", ("2.8571428571428571e-13", "1/3500000000000")),
])
def test_exact_numbers_as_text(value, table, json_text):
    assert text(value, 10) == table
    assert json_number(value, 30) == json_text


# SymPy as the oracle: random rational programs, built with a loop.

UNARY = {"neg": (lambda a: f"-({a})", lambda a: -a), "abs": (lambda a: f"abs({a})", sympy.Abs),
         "relu": (lambda a: f"relu({a})", lambda a: sympy.Piecewise((a, a > 0), (0, True)))}
BINARY = {"+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b,
          "/": lambda a, b: a / b}
RATIONALS = st.fractions(min_value=-20, max_value=20, max_denominator=12)
STEPS = st.lists(st.tuples(st.sampled_from([*UNARY, *BINARY, "pow"]), st.integers(0, 50),
                           st.integers(0, 50), st.integers(-3, 3)), min_size=1, max_size=8)


@settings(derandomize=True, max_examples=80, deadline=None)
@given(STEPS, RATIONALS, RATIONALS, RATIONALS)
def test_values_and_gradients_equal_sympys_exactly(steps, x, y, z):
    point = {"x": x, "y": y, "z": z}
    symbols = {name: sympy.Symbol(name, real=True) for name in point}
    texts, exprs = list(point), list(symbols.values())
    values = [sympy.Rational(v.numerator, v.denominator) for v in point.values()]
    for kind, i, j, k in steps:
        a, b = i % len(texts), j % len(texts)
        if kind in UNARY:
            write, make = UNARY[kind]
            texts.append(write(texts[a]))
            exprs.append(make(exprs[a]))
        elif kind == "pow":
            assume(values[a] != 0 or k >= 0)
            texts.append(f"({texts[a]})**({k})")
            exprs.append(exprs[a] ** k)
        else:
            assume(kind != "/" or values[b] != 0)
            texts.append(f"({texts[a]}) {kind} ({texts[b]})")
            exprs.append(BINARY[kind](exprs[a], exprs[b]))
        values.append(exprs[-1].subs(dict(zip(symbols.values(), values[:3]))))
    program = cgcalc.parse(texts[-1])
    result = cgcalc.exact.evaluate(program, {name: point[name] for name in program.variables})
    at = {symbols[name]: sympy.Rational(v.numerator, v.denominator) for name, v in point.items()}
    assert result.value == Fraction(str(values[-1]))
    for name, symbol in symbols.items():
        gradient = result.gradients.get(name, Fraction(0))
        assert is_exact(gradient)
        assert gradient == Fraction(str(sympy.diff(exprs[-1], symbol).subs(at)))


# mpmath at a higher precision as the oracle for what leaves the rationals.

TRANSCENDENTAL = [
    ("exp(x)*sin(y) + log(x + y)", lambda x, y: mpmath.exp(x) * mpmath.sin(y) + mpmath.log(x + y)),
    ("sqrt(x)**3 / cos(y) - tanh(x*y)",
     lambda x, y: mpmath.sqrt(x) ** 3 / mpmath.cos(y) - mpmath.tanh(x * y)),
    ("x**y + sigmoid(x - y) + pi*tan(y/3)",
     lambda x, y: x ** y + 1 / (1 + mpmath.exp(y - x)) + mpmath.pi * mpmath.tan(y / 3)),
]


@settings(derandomize=True, max_examples=30, deadline=None)
@given(st.sampled_from(range(len(TRANSCENDENTAL))), st.fractions(1, 5, max_denominator=9),
       st.fractions(1, 3, max_denominator=9), st.sampled_from([15, 30, 60]))
def test_digits_agree_with_mpmath_at_a_higher_precision(case, x, y, digits):
    source, reference = TRANSCENDENTAL[case]
    result = exact(source, digits=digits, x=x, y=y)
    with mpmath.workdps(digits + 30):
        X, Y = mpmath.mpf(x.numerator) / x.denominator, mpmath.mpf(y.numerator) / y.denominator
        want = reference(X, Y)
        dx = mpmath.diff(lambda t: reference(t, Y), X)
        assert not is_exact(result.value)
        for got, expected in ((result.value, want), (result.gradients["x"], dx)):
            got = mpmath.mpf(got.numerator) / got.denominator if is_exact(got) else got
            assert abs(got - expected) <= abs(expected) * mpmath.mpf(10) ** -digits


# The float engine as the oracle for where a gradient is undefined: the exact engine
# evaluates each operation's Op.rule and must stop, or pass on, what the float rules do.


def _first_line(message):
    """An error's message alone, with the float engine's -0 written as 0 (exact numbers
    have no -0); the line of source and the caret follow it."""
    if not isinstance(message, str):
        return message
    return re.sub(r"(?<![\w.])-0(?![\w.])", "0", message.splitlines()[0].replace("(-0)", "0"))


@settings(derandomize=True, max_examples=400, deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(three_modes.trees(), st.sampled_from(three_modes.POINTS),
       st.sampled_from(three_modes.POINTS))
def test_the_exact_engine_agrees_with_the_float_engine(source, x, y):
    point = {name: value for name, value in (("x", x), ("y", y)) if name in source}
    floats = _first_line(outcome(cgcalc.evaluate, source, point))
    exacts = _first_line(outcome(cgcalc.exact.evaluate, source,
                                 {name: Fraction(value) for name, value in point.items()}))
    if isinstance(floats, str) and "overflows" in floats:
        return  # a float overflow is a number for exact arithmetic
    if isinstance(floats, str) or isinstance(exacts, str):
        if isinstance(floats, str) and isinstance(exacts, str) and " ** " in floats:
            # an exponent computed from exp, log...: a float may round it to the integer
            # (2.0: the value is defined, its derivative by the exponent not) where mpmath's
            # 1.99999... leaves the value undefined too; the same step either way
            floats, exacts = (m.replace("the derivative of ", "") for m in (floats, exacts))
        assert exacts == floats
        return
    for got, want in zip(exacts, floats):
        got = float(got) if is_exact(got) else float(mpmath.mpf(got))
        assert got == pytest.approx(want, rel=1e-9, abs=1e-12)


def test_an_undefined_gradient_is_blamed_on_the_step_that_made_it():
    """The base's sqrt(0) gets an upstream gradient of exactly 0 (x**0 is flat), so it sends
    nothing; the exponent's 0**0 sends the undefined one (the old exact engine blamed the
    base's sqrt, whose own undefined derivative was never used)."""
    message = "evaluation error at 1:9: the derivative of 0 ** 0 is undefined"
    for engine, y in ((cgcalc.evaluate, 0.0), (cgcalc.exact.evaluate, Fraction(0))):
        with pytest.raises(cgcalc.EvaluationError) as error:
            engine(cgcalc.parse("sqrt(y) ** sqrt(y)"), {"y": y})
        assert str(error.value).startswith(message)


@pytest.mark.parametrize("source, point, gradients", [
    ("x**0", {"x": 0}, {"x": 0}),  # b*a**(b - 1) is 0*0**-1: a product with 0 is 0
    ("x**y", {"x": 0, "y": 2}, {"x": 0, "y": 0}),  # y*log(a) is 0*log(0)
    ("(0**x)**(0**x)", {"x": 1}, {"x": 0}),  # 0**b is flat in b: an undefined gradient stops
    ("relu(x - 3)*sqrt(x - 2) + x", {"x": 2}, {"x": 1}),  # relu's step(x) is a mask
    ("abs(x - 2)*sqrt(x - 2) + x", {"x": 2}, {"x": 1}),  # and abs's sign(x) at 0
])
def test_where_a_rule_is_flat_nothing_passes(source, point, gradients):
    assert exact(source, **point).gradients == gradients
    assert cgcalc.evaluate(cgcalc.parse(source), point).gradients == gradients


def test_a_zero_derivative_that_is_not_flat_passes_an_undefined_gradient():
    """sqrt(x**2) at 0: 2*x is 0, but x**2 is not flat there; as the float engine says."""
    for engine in (cgcalc.evaluate, cgcalc.exact.evaluate):
        with pytest.raises(cgcalc.EvaluationError, match="the derivative of sqrt.0. is undefined"):
            engine(cgcalc.parse("sqrt(x**2)"), {"x": 0})


class _Sinh(Op):
    """A new operation as ARCHITECTURE.md's "How to add an operation" writes one."""

    name = symbol = "sinh"
    arity = 1
    forward = staticmethod(math.sinh)
    mpmath = "sinh"
    rule = "cosh, written with the value", ("sqrt(1 + y**2)",)
    backward = staticmethod(lambda dout, y, x: (dout * math.cosh(x),))


class _Softplus(Op):
    name = symbol = "softplus"
    arity = 1
    forward = staticmethod(lambda x: math.log1p(math.exp(x)))
    expansion = "log(1 + exp(x))"  # mpmath has no softplus: its expansion is computed
    rule = "the sigmoid of the input", ("sigmoid(x)",)
    backward = staticmethod(lambda dout, y, x: (dout / (1 + math.exp(-x)),))


@pytest.mark.parametrize("op", [_Sinh, _Softplus], ids=lambda op: op.name)
def test_a_new_operation_needs_only_its_rule_and_an_mpmath_name_or_expansion(monkeypatch, op):
    monkeypatch.setitem(FUNCTIONS, op.symbol, op)
    source = f"{op.symbol}(x)*y + {op.symbol}(0*x)"
    result = exact(source, digits=40, x=Fraction(1, 2), y=3)
    with mpmath.workdps(60):
        f = {"sinh": mpmath.sinh, "softplus": lambda t: mpmath.log(1 + mpmath.exp(t))}[op.name]
        want = [3 * f(mpmath.mpf(1) / 2) + f(0), 3 * mpmath.diff(f, mpmath.mpf(1) / 2),
                f(mpmath.mpf(1) / 2)]
    for got, expected in zip([result.value, *result.gradients.values()], want):
        assert not is_exact(got)
        assert abs(got - expected) <= abs(expected) * mpmath.mpf(10) ** -40


def test_approximate_bindings_are_multiplied_at_the_digits_asked_for(run):
    """pi/4 times pi/4 involves no Fraction, which used to be what set mpmath's precision:
    the product was right to 16 digits only (0.616850275068084874519...)."""
    out = run("x*y", "x=pi/4", "y=pi/4", "--exact", "--digits", "30", "--json")
    assert json.loads(out.stdout)["value"] == 0.61685027506808491367715568749
    assert out.stdout.startswith('{"value": 0.616850275068084913677155687492, ')


@pytest.mark.parametrize("text, value, gradient", [
    ("-sqrt(x)", "-1.41421356237309504880168872421", "-0.353553390593273762200422181052"),
    ("0 - exp(x)", "-7.38905609893065022723042746058", "-7.38905609893065022723042746058"),
    ("log(x/4)", "-0.693147180559945309417232121458", "0.5"),
])
def test_a_negative_approximate_number_keeps_its_sign(run, text, value, gradient):
    """mpmath's man_exp gives the mantissa without its sign: -sqrt(2) was written 1.414..."""
    doc = json.loads(run(text, "x=2", "--exact", "--json").stdout, parse_float=str)
    assert (doc["value"], doc["gradients"]["x"]) == (value, gradient)
    table = run(text, "x=2", "--exact").stdout
    assert table.startswith("value = ≈ -")


def test_a_decimal_ends_exactly_when_the_denominator_is_two_and_five_powers():
    """Told from the denominator's length (the powers of 5 near it), not by dividing by 5
    once per power: a literal 1e-99999 took 14 s to write."""
    from cgcalc.render.exact_numbers import terminates

    for k in [*range(60), 9_999]:
        assert terminates(Fraction(3, 5 ** k * 2 ** (k % 7)))
        assert not terminates(Fraction(1, 5 ** k * 3)) and not terminates(Fraction(1, 5 ** k + 2))


def test_diff_folds_a_number_of_more_than_4300_digits(run):
    """Whether 2**-20000 is a decimal that ends was asked outside the place that lets Python
    write integers that long: an internal error (exit 3)."""
    out = run("diff", "x*2**-20000", "--wrt", "x", "--exact")
    assert (out.exit_code, out.stdout, out.stderr) == (0, "2**-20000\n", "")


@pytest.mark.parametrize("args", [["x*1e-9999999", "x=1"], ["x*y", "x=1", "y=1e-9999999"]])
def test_a_decimal_too_long_to_write_exactly_is_approximate_as_such_a_power_is(run, args):
    """10**-9999999 has ten million digits: before, --exact ran for minutes printing them;
    now the number is an mpmath number at the working precision, and said to be one."""
    result = run(*args, "--exact", "--json")
    assert result.exit_code == 0
    assert result.stdout.startswith(
        '{"value": 1.0e-9999999, "exact": false, "gradients": {"x": 1.0e-9999999')
