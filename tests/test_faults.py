"""The environment's faults, through the real ``cgcalc`` process: a full or closed standard
output, SIGINT and SIGTERM, running out of memory, and a Graphviz that hangs."""

import json
import os
import resource
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from cgcalc.faults import LineStdout

CGCALC = str(Path(sys.executable).with_name("cgcalc"))
FULL = "cgcalc: cannot write to standard output: No space left on device\n"
CLOSED = "cgcalc: cannot write to standard output: Bad file descriptor\n"

pytestmark = pytest.mark.skipif(not Path("/dev/full").exists() or not Path("/proc").is_dir(),
                                reason="needs Linux: /dev/full and /proc")


#: the environment of a plain run: Python's stdout buffered, as it is unless python -u
ENV = {name: value for name, value in os.environ.items() if name != "PYTHONUNBUFFERED"}


def cgcalc(*args, stdout=subprocess.PIPE, env=ENV, **kwargs):
    return subprocess.run([CGCALC, *args], stdout=stdout, stderr=subprocess.PIPE, text=True,
                          env=env, **kwargs)


@pytest.fixture
def rows(tmp_path):
    path = tmp_path / "rows.csv"
    path.write_text("x,y\n1,2\n3,4\n")
    return str(path)


COMMANDS = {
    "eval": ["x*y", "x=2", "y=3"],
    "eval --json": ["x*y", "x=2", "y=3", "--json"],
    "eval --nodes --explain": ["x*y", "x=2", "y=3", "--nodes", "--explain"],
    "eval of arrays": ["sum(x*y)", "-v", "x=[1, 2]", "y=3"],
    "check": ["check", "x*y", "x=2", "y=3"],
    "check --json": ["check", "x*y", "x=2", "y=3", "--json"],
    "graph": ["graph", "x*y", "x=2", "y=3"],
    "graph --format tree": ["graph", "x*y", "x=2", "y=3", "--format", "tree"],
    "graph --format mermaid": ["graph", "x*y", "x=2", "y=3", "--format", "mermaid"],
    "batch": ["batch", "x*y", "--input", "ROWS"],
    "batch --format csv": ["batch", "x*y", "--input", "ROWS", "--format", "csv"],
    "--help": ["--help"],
    "eval --help": ["eval", "--help"],
    "--version": ["--version"],
}


def _args(name, rows):
    return [rows if arg == "ROWS" else arg for arg in COMMANDS[name]]


@pytest.mark.parametrize("name", COMMANDS)
def test_a_full_standard_output_is_one_line_and_exit_74(name, rows):
    with open("/dev/full", "w") as full:
        done = cgcalc(*_args(name, rows), stdout=full)
    assert (done.returncode, done.stderr) == (74, FULL)


@pytest.mark.parametrize("name", COMMANDS)
def test_a_closed_standard_output_is_one_line_and_exit_74(name, rows):
    done = subprocess.run(["bash", "-c", 'exec "$@" >&-', "-", CGCALC, *_args(name, rows)],
                          capture_output=True, text=True, env=ENV)
    assert (done.returncode, done.stderr) == (74, CLOSED)


@pytest.mark.parametrize("fmt", ["dot", "mermaid", "tree"])
def test_an_output_file_on_a_full_device_is_one_line_and_exit_74(fmt):
    done = cgcalc("graph", "x*y", "x=2", "y=3", "--format", fmt, "-o", "/dev/full")
    assert (done.returncode, done.stdout) == (74, "")
    assert done.stderr == "cgcalc: cannot write to /dev/full: No space left on device\n"


@pytest.mark.parametrize("args", [["-f", "-", "x=1"], ["x", "--vars", "-"]])
def test_a_closed_standard_input_is_a_usage_error(args):
    done = subprocess.run(["bash", "-c", 'exec "$@" <&-', "-", CGCALC, *args],
                          capture_output=True, text=True, env=ENV)
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == "cgcalc: error: cannot read stdin: Bad file descriptor\n"


def test_an_error_after_good_rows_still_writes_them_before_saying_it(tmp_path):
    path = tmp_path / "rows.csv"
    path.write_text("x,y\n1,2\n3,oops\n")
    done = cgcalc("batch", "x*y", "--input", str(path))
    assert done.returncode == 1
    assert done.stdout == '{"row": 1, "value": 2.0, "gradients": {"x": 2.0, "y": 1.0}}\n'


# -- whole lines --------------------------------------------------------------------------------

def _through(writes, tmp_path, finish=True):
    """What a LineStdout lets through to its file for these writes (then its finish, or not)."""
    path = tmp_path / "out"
    with open(path, "wb") as file:
        stdout = LineStdout(file.fileno())
        for data in writes:
            assert stdout.write(data) == len(data)
        if finish:
            stdout.finish()
    return path.read_bytes()


def test_only_whole_lines_go_out_until_the_run_ends_well(tmp_path):
    writes = [b"ab", b"c\nde", b"f\ng", b"h"]
    assert _through(writes, tmp_path, finish=False) == b"abc\ndef\n"
    assert _through(writes, tmp_path) == b"abc\ndef\ngh"


def test_lines_longer_than_a_slice_are_kept_whole(tmp_path):
    line = b"x" * 200_000 + b"\n"
    assert _through([line[:70_000], line[70_000:] + b"y"], tmp_path, finish=False) == line


# -- signals ------------------------------------------------------------------------------------

def _catches_sigterm(pid):
    """Whether the process has its SIGTERM handler installed (Linux's SigCgt mask)."""
    status = Path(f"/proc/{pid}/status").read_text()
    caught = int(next(line for line in status.splitlines() if line.startswith("SigCgt:"))
                 .split()[1], 16)
    return bool(caught >> (signal.SIGTERM - 1) & 1)


def _group_alive(group):
    """Whether a process of this process group runs (a zombie waiting to be reaped does not)."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            state, _, pgrp = stat.read_text().rsplit(")", 1)[1].split()[:3]
        except (FileNotFoundError, ProcessLookupError):
            continue
        if int(pgrp) == group and state != "Z":
            return True
    return False


def _wait_for(condition, tries=3000):
    """Wait until the condition holds (failing after a minute or so, rather than hanging)."""
    for _ in range(tries):
        if condition():
            return
        time.sleep(0.02)
    pytest.fail("the process never got there")


@pytest.mark.parametrize("signum, code, env", [
    (signal.SIGINT, 130, ENV), (signal.SIGTERM, 143, ENV),
    (signal.SIGTERM, 143, {**ENV, "PYTHONUNBUFFERED": "1"}),  # python -u: no buffer at all
], ids=["SIGINT", "SIGTERM", "SIGTERM, unbuffered"])
def test_a_signal_during_a_long_batch_leaves_whole_lines_and_exits_128_plus_it(signum, code, env):
    process = subprocess.Popen([CGCALC, "batch", "x*y", "--input", "-", "--input-format", "csv"],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, env=env)

    def feed():  # 2·10^6 rows, more than cgcalc gets to before the signal
        block = b"".join(b"%d,%d\n" % (i, i + 1) for i in range(100_000))
        try:
            process.stdin.write(b"x,y\n")
            for _ in range(20):
                process.stdin.write(block)
            process.stdin.close()
        except OSError:  # cgcalc has stopped reading
            pass

    feeder = threading.Thread(target=feed)
    feeder.start()
    head = process.stdout.read(200_000)  # cgcalc is writing its first chunk of results
    process.send_signal(signum)
    out = head + process.stdout.read()
    assert process.wait(timeout=120) == code
    feeder.join()
    assert process.stderr.read() == b""  # no "Aborted!", no traceback
    assert out.endswith(b"\n")
    rows = [json.loads(line) for line in out.splitlines()]
    assert [row["row"] for row in rows] == list(range(1, len(rows) + 1))
    assert all(row["value"] == (k % 100_000) * (k % 100_000 + 1) for k, row in enumerate(rows))


def test_a_signal_while_waiting_for_input_exits_143_with_nothing_written():
    process = subprocess.Popen([CGCALC, "-f", "-", "x=1"], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=ENV)
    _wait_for(lambda: _catches_sigterm(process.pid))
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=60)
    assert (process.returncode, out, err) == (143, b"", b"")


# -- out of memory -------------------------------------------------------------------------------

def _limited(megabytes):
    def limit():
        resource.setrlimit(resource.RLIMIT_AS, (megabytes << 20, megabytes << 20))
    return limit


def test_arrays_too_large_for_memory_are_said_in_one_line_exit_75(tmp_path):
    path = tmp_path / "big.json"
    path.write_text(json.dumps({"a": [1.0] * 20_000, "b": [[1.0]] * 20_000}))  # a + b: 3.2 GB
    done = cgcalc("a + b", "--vars", str(path), "--json", preexec_fn=_limited(1024),
                  env={**ENV, "OPENBLAS_NUM_THREADS": "1"})
    assert (done.returncode, done.stdout, done.stderr) == (75, "", "cgcalc: out of memory\n")


def test_bindings_too_large_for_memory_are_said_in_one_line_exit_75(tmp_path):
    path = tmp_path / "big.json"
    path.write_text('{"x": [' + "0.5, " * 4_000_000 + "0.5]}")  # 4·10^6 Python floats: 160 MB
    done = cgcalc("x", "--vars", str(path), preexec_fn=_limited(150))
    assert (done.returncode, done.stdout, done.stderr) == (75, "", "cgcalc: out of memory\n")


# -- Graphviz ------------------------------------------------------------------------------------

@pytest.fixture
def fake_dot(tmp_path):
    """A ``dot`` first on PATH that writes its pid to a file, then runs ``body``."""

    def install(body):
        (tmp_path / "dot").write_text(f'#!/bin/sh\necho $$ > "{tmp_path}/pid"\n{body}\n')
        (tmp_path / "dot").chmod(0o755)
        return {**ENV, "PATH": f"{tmp_path}{os.pathsep}{os.environ['PATH']}"}

    install.pid = lambda: int((tmp_path / "pid").read_text())
    install.started = lambda: (tmp_path / "pid").exists() and (tmp_path / "pid").read_text()
    return install


def test_a_hung_dot_is_stopped_at_the_timeout_and_killed(fake_dot):
    env = fake_dot("sleep 600")  # a shell and its child: the whole group goes
    done = cgcalc("graph", "x*y", "x=2", "y=3", "--format", "svg", "--timeout", "0.5", env=env)
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == ("cgcalc: render error: Graphviz's dot did not finish in 0.5 s "
                           "(--timeout); use --format dot (and run dot yourself) or --format "
                           "tree, or give it longer\n")
    assert not _group_alive(fake_dot.pid())  # dot leads a group of its own


@pytest.mark.parametrize("signum, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_while_dot_runs_kills_dot_too(fake_dot, signum, code):
    env = fake_dot("exec sleep 600")
    process = subprocess.Popen([CGCALC, "graph", "x", "x=1", "--format", "png"], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _wait_for(fake_dot.started)
    process.send_signal(signum)
    out, err = process.communicate(timeout=60)
    assert (process.returncode, out, err) == (code, b"", b"")
    assert not _group_alive(fake_dot.pid())  # dot leads a group of its own


def test_svg_and_png_draw_at_most_150_nodes(fake_dot):
    env = fake_dot("cat")  # the DOT text comes back as the "svg"
    terms = " + ".join(f"x*{i}" for i in range(1, 51))  # 150 nodes
    assert cgcalc("graph", terms, "x=2", "--format", "svg", env=env).returncode == 0
    done = cgcalc("graph", terms + " + x", "x=2", "--format", "svg", env=env)
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == ("cgcalc: render error: this graph has 151 nodes; --format svg draws at "
                           "most 150, as Graphviz may take minutes for more; use --format dot "
                           "(and run dot yourself) or --format tree\n")


MAIN_IN_MEMORY = """
import io, sys
from cgcalc.cli import main
sys.stdout = buffer = io.StringIO()  # as in a notebook's kernel, or a test's capture
sys.argv = ["cgcalc", *sys.argv[1:]]
try:
    main()
except SystemExit as exit:
    sys.__stdout__.write(f"{exit.code} {buffer.getvalue()!r}")
"""


@pytest.mark.parametrize("args, out, err", [
    (["x*y", "x=3", "y=4", "--json"],
     '0 \'{"value": 12.0, "gradients": {"x": 4.0, "y": 3.0}}\\n\'', ""),
    (["log(x)", "x=0", "--json"], "1 ''", "cgcalc: evaluation error at 1:1: log(0) is undefined"),
])
def test_main_writes_to_a_standard_output_without_a_file_descriptor(args, out, err):
    """Before, ``main()`` called where ``sys.stdout`` is a stream in memory stopped with a
    traceback (io.UnsupportedOperation: fileno) before doing anything."""
    run = subprocess.run([sys.executable, "-c", MAIN_IN_MEMORY, *args], capture_output=True,
                         text=True)
    assert (run.stdout, run.stderr[:len(err)]) == (out, err)
    assert "Traceback" not in run.stderr
