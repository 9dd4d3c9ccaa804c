"""The graph's columns: inputs are kept once, in the operation columns the passes read, and
``Program.inputs`` gives them back as a tuple per node, for every reader that wants them."""

import math
import tracemalloc

import pytest

import cgcalc
from cgcalc.graph import Program
from cgcalc.ops import Op, Sin


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
    of 5,000 terms took 140 bytes per node, now 92."""
    text = " + ".join(f"{k % 7 + 1}.5*sin(x{k % 100} * x{(k + 3) % 100})" for k in range(5000))
    cgcalc.parse("x")  # the parser's tables, loaded once, are not the program's
    tracemalloc.start()
    try:
        program = cgcalc.parse(text)
        size = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert len(program) == 25_099
    assert size / len(program) < 100
    assert not any(isinstance(entry, tuple) for entry in program.steps)
    assert Program.inputs.__doc__  # a property: nothing stored per node


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
