"""Every command's --help lists its options in groups, each with one real example, and
every example runs: through the installed command, from a copy of the files it names."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import click
import pytest

from cgcalc.cli import OPTION_GROUPS, ExpressionCommand, cli

ROOT = Path(__file__).resolve().parent.parent
COMMANDS = {name: command for name, command in cli.commands.items()
            if isinstance(command, ExpressionCommand)}
EXAMPLES = [(name, group, example) for name, command in COMMANDS.items()
            for group, example in command.examples.items()]
EXAMPLES += [("cgcalc", "examples", example.strip()) for example in
             cli.epilog.split("Examples:\n", 1)[1].split("\n\n", 1)[0].replace("\\\n", "").split("\n")]


def test_every_expression_command_is_covered():
    assert set(COMMANDS) == {"eval", "check", "batch", "graph", "diff", "hessian"}


@pytest.mark.parametrize("name", COMMANDS)
def test_every_option_has_a_group_and_every_group_an_example(name):
    command = COMMANDS[name]
    with click.Context(command, info_name=name) as ctx:
        groups = {OPTION_GROUPS.get(p.name) for p in command.get_params(ctx)
                  if isinstance(p, click.Option) and not p.hidden}
    assert None not in groups, "an option without a group in OPTION_GROUPS"
    assert groups - {"Help"} == set(command.examples)


@pytest.mark.parametrize("name", COMMANDS)
def test_help_shows_each_group_with_its_example(run, name):
    text = run(name, "--help").stdout
    for group, example in COMMANDS[name].examples.items():
        section = text.split(f"\n{group}:\n", 1)[1].split("\n\n", 1)[0]
        first = example.split("\n")[0]
        assert f"  Example: {first}" in section
    assert "Other options" not in text


@pytest.mark.parametrize("name, group, example", EXAMPLES,
                         ids=[f"{n}-{g}" for n, g, _ in EXAMPLES])
def test_the_example_runs(tmp_path, name, group, example):
    if "svg" in example and shutil.which("dot") is None:
        pytest.skip("Graphviz's dot is not installed")
    for folder in ("examples", "docs"):
        shutil.copytree(ROOT / folder, tmp_path / folder)
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    run = subprocess.run(["bash", "-c", example.replace("\\\n", "")], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    said = [line for line in run.stderr.splitlines()
            if not line.startswith(("cgcalc: warning:", "cgcalc: skipped row"))
            and not (" bad row" in line and " skipped" in line)]
    assert said == [] and (run.stdout or list(tmp_path.glob("*.*")))
