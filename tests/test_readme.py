"""The README shows what cgcalc really does: its pictures and transcript, and CI's command."""

import re
import shlex
from pathlib import Path

import pytest

from test_graph import by_texts, read_svg

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
PICTURES = re.findall(r"^\.venv/bin/cgcalc (graph .* -o (docs/\S+\.svg))$", README, re.M)
TRANSCRIPTS = re.findall(r"^\.venv/bin/cgcalc ([^\n]* --explain)\n```\n\n```text\n(.*?)```",
                         README, re.M | re.S)


def test_readme_has_its_pictures_and_transcript():
    assert [path for _, path in PICTURES] == ["docs/apple_orange.svg", "docs/sigmoid_expanded.svg"]
    assert len(TRANSCRIPTS) == 1
    assert all(f"]({path})" in README for _, path in PICTURES)


@pytest.mark.parametrize("command, path", PICTURES)
def test_committed_svg_is_what_its_command_draws(run, graphviz, monkeypatch, tmp_path,
                                                 command, path):
    monkeypatch.chdir(ROOT)
    args = shlex.split(command)
    args[args.index(path)] = str(tmp_path / "fresh.svg")
    result = run(*args)
    assert result.exit_code == 0, result.output
    fresh = read_svg((tmp_path / "fresh.svg").read_bytes())
    committed = read_svg((ROOT / path).read_bytes())
    assert by_texts(*committed) == by_texts(*fresh)


@pytest.mark.parametrize("command, transcript", TRANSCRIPTS)
def test_explain_transcript_is_a_real_run(run, monkeypatch, command, transcript):
    monkeypatch.chdir(ROOT)
    result = run(*shlex.split(command))
    assert result.exit_code == 0, result.output
    assert result.stdout == transcript


def test_ci_runs_the_readmes_test_command():
    second = re.search(r"```sh\n.*\n(.*)\n```", README)[1]
    assert second.endswith("-m pytest -n 2")
    assert second in (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()


def test_links_work_on_pypi():
    """PyPI shows the README without the repository: no link may be relative to it. Pictures
    are turned into their descriptions by the build (pyproject's fancy-pypi-readme
    substitution, applied here as hatch applies it)."""
    import tomllib

    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    hook = config["tool"]["hatch"]["metadata"]["hooks"]["fancy-pypi-readme"]
    assert [f["path"] for f in hook["fragments"]] == ["README.md"]
    text = (ROOT / "README.md").read_text()
    assert "![" in text  # the check below has something to do
    for sub in hook["substitutions"]:
        text = re.sub(sub["pattern"], sub["replacement"], text)
    targets = re.findall(r"\]\(([^)]*)\)", text)
    assert [t for t in targets if not t.startswith(("https://", "http://", "mailto:"))] == []
