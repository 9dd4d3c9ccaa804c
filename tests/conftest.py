"""Shared fixtures: the book's examples as bindings, a CLI runner, and Graphviz."""

import os
import shutil

import pytest
from click.testing import CliRunner

APPLE = {"apple": 100, "apple_num": 2, "tax": 1.1}
APPLE_ORANGE = {"apple": 100, "apple_num": 2, "orange": 150, "orange_num": 3, "tax": 1.1}
APPLE_ORANGE_EXPR = "(apple*apple_num + orange*orange_num)*tax"
APPLE_ORANGE_NAMED = """\
apple_price = apple*apple_num
orange_price = orange*orange_num
all_price = apple_price + orange_price
price = all_price*tax
"""


@pytest.fixture
def run():
    """Invoke the cgcalc CLI in-process; returns click's Result (stdout and stderr apart)."""
    from cgcalc.cli import cli

    runner = CliRunner()

    def invoke(*args, input=None, env=None):
        return runner.invoke(cli, list(args), input=input, env=env, prog_name="cgcalc")

    return invoke


@pytest.fixture
def graphviz():
    """Graphviz's dot must be there under CI; elsewhere its absence skips the test."""
    if shutil.which("dot") is None:
        if os.environ.get("CI"):
            pytest.fail("CI must have Graphviz's dot (.ci/run installs it)")
        pytest.skip("Graphviz's dot is not installed")


#: the tests that take longest (several seconds each, on 2 cores), run first: spread over
#: pytest-xdist's workers from the start, they no longer leave one worker alone at the end
SLOWEST = ("test_100000_deep_graphs_draw_without_recursion",
           "test_deep_graph_nodes_json_table_and_source", "test_random_programs_against_sympy",
           "test_assigned_names_share_their_node", "test_random_programs_to_order_2",
           "test_the_library_examples_type_check_and_wrong_calls_do_not",
           "test_100000_nested_sigmoids_expand_without_recursion",
           "test_a_body_100000_deep_and_100000_nested_calls",
           "test_shared_variable_gets_the_sum_of_its_uses",
           "test_programs_round_trip_through_their_printed_source",
           "test_printed_derivatives_parse_back_and_evaluate_alike")


def pytest_collection_modifyitems(items):
    items.sort(key=lambda item: item.originalname not in SLOWEST)  # stable: the rest in order
