"""The command line's vocabulary: misspelt commands, options and variables are caught and
close words suggested; help; what stdin is when nothing else is named."""

import pytest


@pytest.mark.parametrize("args, message", [
    (["chek", "x", "x=1"], "no such command: chek; did you mean check? (see 'cgcalc --help')"),
    (["hlep"], "no such command: hlep; did you mean help? (see 'cgcalc --help')"),
    (["help", "chek"], "no such command: chek; did you mean check? (see 'cgcalc --help')"),
    (["--jsn", "x*2", "x=3"],
     "no such option: --jsn; did you mean --json? (see 'cgcalc eval --help')"),
    (["-nodes", "x", "x=1"],
     "no such option: -nodes; did you mean --nodes? (see 'cgcalc eval --help')"),
    (["--verison"], "no such option: --verison; did you mean --version? (see 'cgcalc eval --help')"),
    (["check", "-f", "-", "--jsn"],
     "no such option: --jsn; did you mean --json? (see 'cgcalc check --help')"),
])
def test_a_misspelt_command_or_option_is_a_usage_error_with_a_suggestion(run, args, message):
    result = run(*args, input="x")
    assert (result.exit_code, result.stdout, result.stderr) == (2, "", f"cgcalc: usage error: {message}\n")


@pytest.mark.parametrize("args, json", [
    (["-x", "x=3", "--json"], '{"value": -3.0, "gradients": {"x": -1.0}}'),
    (["--x", "x=2", "--json"], '{"value": 2.0, "gradients": {"x": 1.0}}'),
    (["-pi", "--json"], '{"value": -3.141592653589793, "gradients": {}}'),
    (["chek", "chek=1", "--json"], '{"value": 1.0, "gradients": {"chek": 1.0}}'),
    (["eval", "-nodes", "-v", "nodes=2", "--json"], '{"value": -2.0, "gradients": {"nodes": -1.0}}'),
])
def test_words_that_are_bound_names_stay_expressions(run, args, json):
    result = run(*args)
    assert (result.exit_code, result.stdout) == (0, json + "\n")


def test_an_unbound_dash_name_close_to_no_option_is_still_an_expression(run):
    result = run("-x")
    assert result.exit_code == 2
    assert result.stderr.splitlines()[0] == \
        "cgcalc: name error at 1:2: unbound variable x; bind it with -v x=VALUE"


def test_version_and_help_commands(run):
    from cgcalc import __version__

    assert run("-V").stdout == run("--version").stdout == f"cgcalc, version {__version__}\n"
    assert run("help").stdout == run("--help").stdout
    assert run("help").exit_code == 0
    assert run("help", "batch").stdout == run("batch", "--help").stdout
    assert run("help", "batch").stdout.startswith("Usage: cgcalc batch [OPTIONS] EXPRESSION")


@pytest.mark.parametrize("args, message", [
    (["aple*2", "apple=1"],
     "unbound variable aple; did you mean apple? or bind it with -v aple=VALUE"),
    (["aple*bananna + cherry", "apple=1", "-v", "banana=2", "cherry=3"],
     "unbound variables aple, bananna; did you mean apple for aple, banana for bananna? "
     "or bind them with -v aple=VALUE -v bananna=VALUE"),
    (["aple*2", "pear=1"], "unbound variable aple; bind it with -v aple=VALUE"),
])
def test_an_unbound_variable_close_to_a_bound_one_is_suggested(run, args, message):
    result = run(*args)
    assert result.exit_code == 2
    assert result.stderr.splitlines()[0] == f"cgcalc: name error at 1:1: {message}"


ROWS = "x,y\n1,2\n3,4\n"
ROWS_NDJSON = ('{"row": 1, "value": 2.0, "gradients": {"x": 2.0, "y": 1.0}}\n'
               '{"row": 2, "value": 12.0, "gradients": {"x": 4.0, "y": 3.0}}\n')
ROWS_CSV = "row,value,d_x,d_y\n1,2.0,2.0,1.0\n2,12.0,4.0,3.0\n"


def test_batch_reads_piped_rows_without_input(run):
    result = run("batch", "x*y", input=ROWS)
    assert (result.exit_code, result.stdout) == (0, ROWS_NDJSON)


def test_batch_format_json_and_output_file(run, tmp_path):
    assert run("batch", "x*y", "--format", "csv", input=ROWS).stdout == ROWS_CSV
    assert run("batch", "x*y", "--json", input=ROWS).stdout == ROWS_NDJSON
    path = tmp_path / "out.csv"
    result = run("batch", "x*y", "--format", "csv", "-o", str(path), input=ROWS)
    assert (result.exit_code, result.stdout, path.read_text()) == (0, "", ROWS_CSV)


@pytest.mark.parametrize("args, message", [
    (["--output", "csv"], "--output names a file; give the format with --format csv"),
    (["--precision", "3"], "--precision is not for this command: batch writes every digit "
                           "(Python's repr), as --json does"),
    (["--expand"], "--expand is not for this command: it changes the graph drawn and listed, "
                   "not the values and gradients batch writes"),
    (["--json", "--format", "csv"], "--json writes NDJSON; use --json or --format csv, not both"),
])
def test_batch_refuses_what_it_would_ignore(run, args, message):
    result = run("batch", "x*y", *args, input=ROWS)
    assert (result.exit_code, result.stdout, result.stderr) == \
        (2, "", f"cgcalc: usage error: {message} (see 'cgcalc batch --help')\n")


def test_graph_and_repl_json(run):
    result = run("graph", "x*y", "x=3", "y=4", "--json")
    assert result.stdout == run("x*y", "x=3", "y=4", "--json", "--nodes").stdout
    assert result.stdout.startswith('{"value": 12.0, "gradients": {"x": 4.0, "y": 3.0}, "nodes": [')
    refused = run("repl", "--json")
    assert (refused.exit_code, refused.stderr) == (2, "cgcalc: usage error: --json is not for this "
            "command: a session prints tables; 'cgcalc EXPRESSION --json' prints JSON "
            "(see 'cgcalc repl --help')\n")


def complete(line: str) -> list[str]:
    """What bash completion of the installed cgcalc offers for LINE (its last word)."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    words = line.split(" ")
    env = {**os.environ, "_CGCALC_COMPLETE": "bash_complete", "COMP_WORDS": line,
           "COMP_CWORD": str(len(words) - 1)}
    done = subprocess.run([str(Path(sys.executable).with_name("cgcalc"))], env=env,
                          capture_output=True, text=True, stdin=subprocess.DEVNULL)
    return done.stdout.split()


@pytest.mark.parametrize("line, offered", [
    ("cgcalc gr", ["plain,graph"]),
    ("cgcalc he", ["plain,help", "plain,hessian"]),
    ("cgcalc x*y -f mod", ["file,mod"]),
    ("cgcalc x --vars poi", ["file,poi"]),
    ("cgcalc batch x --input ro", ["file,ro"]),
    ("cgcalc batch x -o ou", ["file,ou"]),
    ("cgcalc graph x -o ou", ["file,ou"]),
    ("cgcalc batch x --form", ["plain,--format"]),
])
def test_shell_completion_completes_commands_and_paths(line, offered):
    assert complete(line) == offered


@pytest.mark.parametrize("shell, start", [("bash", "_cgcalc_completion() {"),
                                          ("zsh", "#compdef cgcalc"),
                                          ("fish", "function _cgcalc_completion;")])
def test_the_readme_completion_scripts_exist(shell, start):
    import os
    import subprocess
    import sys
    from pathlib import Path

    done = subprocess.run([str(Path(sys.executable).with_name("cgcalc"))],
                          env={**os.environ, "_CGCALC_COMPLETE": f"{shell}_source"},
                          capture_output=True, text=True, stdin=subprocess.DEVNULL)
    assert done.stdout.startswith(start)


def test_batch_without_input_on_a_terminal_says_how_to_give_rows():
    import os
    import subprocess
    import sys
    from pathlib import Path

    main, terminal = os.openpty()
    try:
        done = subprocess.run([str(Path(sys.executable).with_name("cgcalc")), "batch", "x*y"],
                              stdin=terminal, capture_output=True, text=True, timeout=60)
    finally:
        os.close(main)
        os.close(terminal)
    assert (done.returncode, done.stdout, done.stderr) == (2, "", "cgcalc: usage error: missing "
            "--input FILE (or pipe the rows into stdin) (see 'cgcalc batch --help')\n")
