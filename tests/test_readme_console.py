"""Every ``console`` block of the README is a real run: each ``$ command`` is run by bash in
the repository, with the installed ``cgcalc`` first on PATH, and what it prints (standard
output and error together) must be the text under it. Timings, which change from run to
run, are compared as ``N ms``."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
TIMING = re.compile(r" *\d+(?:\.\d+)? (?:ms|µs|s)\b")


def commands() -> list[tuple[str, str]]:
    """(command, expected output) for every ``$`` line of every console block."""
    found = []
    for block in re.findall(r"^```console\n(.*?)^```", README, re.M | re.S):
        command, output = None, []
        for line in block.splitlines(keepends=True):
            if line.startswith("$ "):
                if command is not None:
                    found.append((command, "".join(output)))
                command, output = line[2:].rstrip("\n"), []
            else:
                output.append(line)
        if command is not None:
            found.append((command, "".join(output)))
    return found


COMMANDS = commands()


def test_the_readme_has_console_blocks():
    assert len(COMMANDS) >= 20


@pytest.mark.parametrize("command, expected", COMMANDS, ids=[c for c, _ in COMMANDS])
def test_a_readme_command_prints_what_the_readme_shows(command, expected):
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
           "NO_COLOR": "1", "COLUMNS": "200"}
    env.pop("CGCALC_DEBUG", None)
    run = subprocess.run(["bash", "-c", "{ " + command + "\n} 2>&1"], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=60)
    assert TIMING.sub(" N ms", run.stdout) == TIMING.sub(" N ms", expected)
