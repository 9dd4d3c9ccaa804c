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
