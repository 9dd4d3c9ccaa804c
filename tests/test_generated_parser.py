"""The parser ships built: Lark's own standalone parser, generated from the grammar, and
nothing is loaded from a cache that another user could plant."""

import importlib.util
import os
import pickle
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
GENERATED = ROOT / "cgcalc" / "_lark_parser.py"
APPLE = ["(apple*apple_num + orange*orange_num)*tax", "apple=100", "apple_num=2",
         "orange=150", "orange_num=3", "tax=1.1", "--json"]


def _module(path: Path):
    spec = importlib.util.spec_from_file_location(f"generated_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _canonical(module) -> tuple:
    """The grammar's terminals, rules and LALR table, with states numbered in the order a
    walk from the start state meets them (transitions taken in token-name order), so two
    runs of Lark's generator compare equal when they build the same automaton."""
    memo = module.MEMO
    frontend = module.DATA["parser"]
    table = frontend["parser"]
    tokens = table["tokens"]

    def rule(ref) -> str:
        r = memo[ref["@"]]
        return repr((r["origin"], r["expansion"], r["alias"], r["options"]))

    number = {table["start_states"]["start"]: 0}
    order, states = [table["start_states"]["start"]], []
    for state in order:  # grows as new states are met: a breadth-first walk, no recursion
        actions = []
        for token, (kind, arg) in sorted(table["states"][state].items(),
                                         key=lambda item: tokens[item[0]]):
            if kind == 0:  # shift: the state it goes to, numbered on first sight
                if arg not in number:
                    number[arg] = len(order)
                    order.append(arg)
                actions.append((tokens[token], "shift", number[arg]))
            else:
                actions.append((tokens[token], "reduce", rule(arg)))
        states.append(tuple(actions))
    terminals = sorted(repr(memo[ref["@"]]) for ref in frontend["lexer_conf"]["terminals"])
    rules = sorted(rule(ref) for ref in module.DATA["rules"])
    return terminals, rules, states, number[table["end_states"]["start"]]


def _code(text: str) -> str:
    """The module without its tables: Lark's runtime, which must be the same text."""
    return re.sub(r"\n(DATA|MEMO) = \(\n.*\n\)\n", "\n", text)


def test_the_generated_parser_is_what_lark_makes_of_the_grammar(tmp_path):
    """Regenerate with the pinned Lark: the committed module must be the generator's output,
    so grammars/cgcalc.lark stays the one definition of the language."""
    lark = pytest.importorskip("lark")
    sys.path.insert(0, str(ROOT / "grammars"))
    try:
        from build_parser import generate
    finally:
        sys.path.remove(str(ROOT / "grammars"))
    made = tmp_path / "made.py"
    made.write_text(generate(), encoding="utf-8")
    stale = (f"cgcalc/_lark_parser.py is stale or was made by another Lark than "
             f"{lark.__version__}: run python grammars/build_parser.py")
    assert _code(made.read_text()) == _code(GENERATED.read_text()), stale
    assert _canonical(_module(made)) == _canonical(_module(GENERATED)), stale


def test_the_canonical_form_tells_grammars_apart(tmp_path):
    """The comparison above can fail: one rule more is another automaton."""
    from lark import Lark
    from lark.tools.standalone import gen_standalone

    grammar = (ROOT / "grammars" / "cgcalc.lark").read_text()
    modules = []
    for k, text in enumerate([grammar, grammar.replace('| "(" sum ")"', '| "(" sum ")"\n     | "[" sum "]"')]):
        path = tmp_path / f"g{k}.py"
        with open(path, "w") as out:
            gen_standalone(Lark(text, parser="lalr", lexer="basic"), out=out)
        modules.append(_canonical(_module(path)))
    assert modules[0] == _canonical(_module(GENERATED))
    assert modules[0] != modules[1]


class _Payload:
    """Unpickling this runs code: it leaves a marker file, as an attacker's payload would."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def _cgcalc(env: dict) -> subprocess.CompletedProcess:
    code = "import sys; from cgcalc.cli import main; sys.argv[1:] = %r; main()" % APPLE
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          cwd=ROOT)


def test_a_planted_parser_cache_is_never_loaded(tmp_path):
    """Lark's cache=True reads a pickle from a predictable name in the temporary folder.

    Run cgcalc once with its own TMPDIR (the old code wrote its cache there), plant a payload
    under every name in that folder and under the name Lark's cache uses, then run again:
    the payload must not run, and cgcalc writes nothing to the temporary folder at all.
    """
    shared = tmp_path / "tmp"
    shared.mkdir()
    marker = tmp_path / "pwned"
    env = {**os.environ, "TMPDIR": str(shared), "TEMP": str(shared), "TMP": str(shared)}
    first = _cgcalc(env)
    assert first.returncode == 0, first.stderr
    written = sorted(p.name for p in shared.iterdir())
    assert written == []  # no cache file: nothing for anyone to replace
    user = os.environ.get("USER") or os.environ.get("LOGNAME") or "root"
    for name in written + [f".lark_cache_{user}_planted_3_11.tmp"]:
        (shared / name).write_bytes(b"planted\n" + pickle.dumps(_Payload(marker)))
    second = _cgcalc(env)
    assert second.returncode == 0, second.stderr
    assert second.stdout == first.stdout
    assert not marker.exists()


def test_parsing_imports_neither_pickle_nor_lark():
    """The tables are Python literals inside the package: no pickle, no grammar analysis."""
    code = ("import sys, cgcalc; cgcalc.parse('x*y'); "
            "print(sorted(m for m in ('pickle', 'lark') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=ROOT).stdout
    assert out == "[]\n"


def test_parsing_leaves_the_garbage_collector_as_it_found_it():
    import gc

    import cgcalc

    assert gc.isenabled()
    cgcalc.parse("x*y")
    assert gc.isenabled()
    with pytest.raises(cgcalc.ParseError):
        cgcalc.parse("x +")
    assert gc.isenabled()
    gc.disable()
    try:
        cgcalc.parse("x*y")
        assert not gc.isenabled()
    finally:
        gc.enable()
