"""The graph's columns: inputs are kept once, in the operation columns the passes read, and
``Program.inputs`` gives them back as a tuple per node, for every reader that wants them."""

import math
import pickle
import subprocess
import sys
import tracemalloc

import pytest

import cgcalc
from cgcalc.graph import Program
from cgcalc.ops import Add, Const, Mul, Op, Sin, Sub, Var


def test_inputs_read_like_a_list_of_tuples():
    program = cgcalc.parse("x*y + sin(x)")
    expected = [(), (), (0, 1), (0,), (2, 3)]
    assert list(program.inputs) == expected
    assert [program.inputs[node] for node in range(len(program))] == expected
    assert program.inputs == expected and len(program.inputs) == 5
    assert program.inputs[-1] == (2, 3) and program.inputs[-5] == ()
    for outside in (5, -6):
        with pytest.raises(IndexError):
            program.inputs[outside]


class _MulAdd(Op):
    """a*b + c: an operation of three inputs, which the columns keep in ``wide``."""

    name = symbol = "muladd"
    arity = 3
    forward = staticmethod(lambda a, b, c: a * b + c)
    backward = staticmethod(lambda dout, y, a, b, c: (dout * b, dout * a, dout))


def test_an_operation_of_three_inputs_is_evaluated_and_listed():
    program = cgcalc.parse("sin(x) + y*z")
    x, y, z = (program.variables[name] for name in "xyz")
    node = program.add(_MulAdd, (x, y, z), 0)
    program.output = program.add(Sin, (node,), 0)
    assert program.inputs[node] == (x, y, z) and program.inputs[node + 1] == (node,)
    assert program.depends(node + 1) == [True, False, True, True, False, False, True, True]
    result = cgcalc.evaluate(program, {"x": 2.0, "y": 3.0, "z": 0.5})
    slope = math.cos(2.0 * 3.0 + 0.5)
    assert result.value == math.sin(2.0 * 3.0 + 0.5)
    assert result.gradients == {"x": slope * 3.0, "y": slope * 2.0, "z": slope}


def test_a_parsed_program_keeps_no_tuple_per_node():
    """The inputs were also kept as a tuple per node (64 bytes for a binary node): a program
    of 5,000 terms took 140 bytes per node, then 92; now 78, with each node's operation in
    two bytes instead of a list slot, positions in four bytes instead of eight, and the
    literals in two lists instead of a dict."""
    text = " + ".join(f"{k % 7 + 1}.5*sin(x{k % 100} * x{(k + 3) % 100})" for k in range(5000))
    cgcalc.parse("x")  # the parser's tables, loaded once, are not the program's
    tracemalloc.start()
    try:
        program = cgcalc.parse(text)
        size = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert len(program) == 25_099
    assert size / len(program) < 80, size / len(program)
    assert not any(isinstance(entry, tuple) for entry in program.steps)
    assert Program.inputs.__doc__  # a property: nothing stored per node


def test_operations_and_literals_read_like_a_list_and_a_dict():
    program = cgcalc.parse("2*x + sin(x) - 0.5")
    assert list(program.ops) == [Const, Var, Mul, Sin, Add, Const, Sub]
    assert program.ops == [Const, Var, Mul, Sin, Add, Const, Sub] and len(program.ops) == 7
    assert program.ops[-1] is Sub and program.ops[2:4] == [Mul, Sin]
    assert program.constants == {0: 2.0, 5: 0.5} and 5 in program.constants
    assert 1 not in program.constants and program.constants.get(6) is None
    with pytest.raises(KeyError):
        program.constants[1]
    fresh = Program("")  # an operation no program has used yet gets its number
    fresh.add(_MulAdd, (fresh.variable("a", 0), fresh.variable("b", 0), fresh.constant(1.0, 0)), 0)
    assert list(fresh.ops) == [Var, Var, Const, _MulAdd] and fresh.ops.codes.itemsize == 2


def test_a_program_sent_to_another_process_keeps_its_operations():
    """The operations' numbers are the process's own; a pickled program (a cluster's worker
    gets one) carries the operations themselves."""
    program = cgcalc.parse("2*x + sin(x) - 0.5")
    code = ("import pickle, sys; from cgcalc.ops import Exp; from cgcalc.graph import Program; "
            "p = Program(''); p.add(Exp, (p.variable('z', 0),), 0); program = pickle.loads(sys.stdin.buffer.read()); "
            "print([op.name for op in program.ops])")
    out = subprocess.run([sys.executable, "-c", code], input=pickle.dumps(program),
                         capture_output=True, check=True).stdout
    assert out.decode().strip() == str(["const", "var", "mul", "sin", "add", "const", "sub"])


def test_evaluation_keeps_only_the_leaves_gradients_until_every_node_is_asked_for():
    """The reverse pass kept a gradient float for every node (24 bytes each) while only the
    variables' are reported: evaluating a program of 5,000 terms took 59 bytes per node
    (values and gradients), now 40; every node's gradient is computed again when asked for."""
    text = " + ".join(f"{k % 7 + 1}.5*sin(x{k % 100} * x{(k + 3) % 100})" for k in range(5000))
    program = cgcalc.parse(text)
    point = {f"x{k}": 0.5 + k / 200 for k in range(100)}
    cgcalc.evaluate(program, point)  # anything loaded once is not the evaluation's
    tracemalloc.start()
    try:
        result = cgcalc.evaluate(program, point)
        size = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert size / len(program) < 45, size / len(program)
    x0 = program.variables["x0"]
    assert result.grads[x0] == result.gradients["x0"]
    term = program.inputs[program.output][1]  # the last term: 2.5*sin(x99 * x2)
    product = program.inputs[program.inputs[term][1]][0]
    assert result.grads[program.output] == 1.0 and result.grads[term] == 1.0
    assert result.grads[product] == 2.5 * math.cos(point["x99"] * point["x2"])


def test_positions_past_4_gib_of_text_are_kept():
    """Positions take 4 bytes each until one does not fit, then 8."""
    program = Program("x")
    program.variable("x", 0)
    program.constant(2.0, 2**32 + 5)
    program.add(Sin, (1,), 2**33)
    assert list(program.pos) == [0, 2**32 + 5, 2**33] and program.pos.itemsize == 8


@pytest.mark.parametrize("upstream", [1.0, -0.0, 1e308, -math.inf])
def test_sums_and_differences_pass_the_gradient_as_their_rules_say(upstream):
    """The reverse pass adds a sum's and a difference's upstream gradient without calling
    their backward rules; what it sends is what the rules say, even for an upstream that
    overflows or is not finite (nothing asked for here is checked)."""
    from cgcalc.engine import _backward
    from cgcalc.walk import _leaf_values, forward_steps

    program = cgcalc.parse("(x - y) + (x - -y) - (2*x + y) + (y - 0)")
    values = _leaf_values(program, {"x": 0.0, "y": -0.0})[0]
    forward_steps(program, values)
    grads = _backward(program, values, upstream)
    expected = [0.0] * len(program)  # the same pass, every step by its op's rule
    expected[program.output] = upstream
    for node in reversed(range(len(program))):
        ins = program.inputs[node]
        if ins and expected[node]:
            sent = program.ops[node].backward(expected[node], values[node], *[values[i] for i in ins])
            for i, g in zip(ins, sent):
                expected[i] += g
    assert list(map(repr, grads)) == list(map(repr, expected))
