"""Write ``cgcalc/_lark_parser.py``: the LALR parser Lark generates from ``cgcalc.lark``.

    python grammars/build_parser.py      # after any change to grammars/cgcalc.lark

The module is Lark's standalone tool's output (``python -m lark.tools.standalone -l basic``):
Lark's runtime and the grammar's parse tables as Python literals, so cgcalc starts
without analysing the grammar and without reading a cache. Lark's module can also save
and load parsers as pickles; cgcalc never does, and a pickle read from a place that
others can write runs their code, so those calls are replaced by one that refuses.
``tests/test_generated_parser.py`` checks that the committed module is this script's
output for the grammar (up to the numbering of parser states, which Lark does not keep
from one run to the next).
"""

from __future__ import annotations

import io
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GRAMMAR = ROOT / "grammars" / "cgcalc.lark"
OUTPUT = ROOT / "cgcalc" / "_lark_parser.py"

_REFUSE = '''
def _no_pickles(*args, **kwargs):
    """cgcalc's parser ships as tables in this module; it never reads or writes a pickle."""
    raise ConfigurationError("cgcalc's parser does not save or load pickles")

'''


def generate() -> str:
    """The standalone parser's text, its pickle calls replaced."""
    from lark import Lark
    from lark.tools.standalone import gen_standalone

    parser = Lark(GRAMMAR.read_text(encoding="utf-8"), parser="lalr", lexer="basic")
    out = io.StringIO()
    gen_standalone(parser, out=out)
    text = out.getvalue()
    text = text.replace("import pickle, zlib, base64\n", "")
    text = text.replace(", protocol=pickle.HIGHEST_PROTOCOL", "")
    text, count = re.subn(r"\bpickle\.(load|dump)\b", "_no_pickles", text)
    if count == 0 or "pickle." in text:
        raise SystemExit("Lark's standalone output changed: review the pickle replacement")
    return text.replace("\nclass Lark(Serialize):", _REFUSE + "\nclass Lark(Serialize):", 1)


def main() -> None:
    OUTPUT.write_text(generate(), encoding="utf-8")
    print(f"wrote {OUTPUT.relative_to(ROOT)}", file=sys.stderr)


if __name__ == "__main__":
    main()
