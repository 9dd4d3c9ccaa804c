"""Every node's reported gradient obeys the chain rule: the sum over its uses of the using
node's gradient times the local derivative (what --nodes, --json's nodes and the pictures
show), constant subexpressions included."""

import json
import math

import pytest


def chain_rule_gaps(doc):
    """Nodes whose grad differs from Σ use.grad · use.local[k] over their uses."""
    expected = {node["id"]: 0.0 for node in doc["nodes"]}
    expected[doc["nodes"][-1]["id"]] = 1.0  # the output, seeded with 1
    for node in doc["nodes"]:
        for k, i in enumerate(node["inputs"]):
            expected[i] += node["grad"] * node["local"][k]
    return {node["id"]: (node["grad"], expected[node["id"]]) for node in doc["nodes"]
            if not math.isclose(node["grad"], expected[node["id"]], rel_tol=1e-12)}


@pytest.mark.parametrize("args", [["x*2 + x*pi", "x=3"], ["pi*x", "x=1", "--wrt", "pi"]])
def test_gradients_of_nodes_that_need_one_obey_the_chain_rule(run, args):
    assert chain_rule_gaps(json.loads(run(*args, "--nodes", "--json").stdout)) == {}


@pytest.mark.parametrize("args", [["sqrt(pi - 3)*x", "x=2"], ["-e*x", "x=1"]])
def test_a_constant_subexpressions_nodes_obey_it_too(run, args):
    """Before, the inputs of a node no variable depends on kept 0.0: sqrt(pi - 3)*x showed
    grad 0 for pi - 3 (2.6575...), for pi and for 3; -e*x showed 0 for e (-1)."""
    assert chain_rule_gaps(json.loads(run(*args, "--nodes", "--json").stdout)) == {}


def test_an_array_programs_constant_subexpression_gets_its_gradient_too(run):
    """The array engine skipped them the same way: sqrt(pi - 3) showed 0.0, not sum(X)."""
    doc = json.loads(run("sqrt(pi - 3)*X", "-v", "X=[1, 2]", "--nodes", "--json").stdout)
    grads = {node["op"]: node["grad"] for node in doc["nodes"] if node["op"] != "var"}
    assert grads["sqrt"] == 3.0
    assert grads["sub"] == pytest.approx(3 / (2 * math.sqrt(math.pi - 3)), rel=1e-15)
