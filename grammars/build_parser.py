"""Write ``cgcalc/_lark_parser.py``: the LALR parser Lark generates from ``cgcalc.lark``.

    python grammars/build_parser.py      # after any change to grammars/cgcalc.lark

The module is Lark's standalone tool's output (``python -m lark.tools.standalone -l basic``):
Lark's runtime and the grammar's parse tables as Python literals, so cgcalc starts
without analysing the grammar and without reading a cache. Lark's module can also save
and load parsers as pickles; cgcalc never does, and a pickle read from a place that
others can write runs their code, so those calls are replaced by one that refuses.
Three of the runtime's imports are replaced by what cgcalc uses of them, because a
run of ``cgcalc`` pays for every module it loads (``logging``, ``dataclasses`` and
``inspect`` are a quarter of a scalar run's start-up): Lark's logger, which it sets to
CRITICAL and calls only at lower levels, becomes one that drops every call; the one
dataclass (``TextSlice``) gets its methods from a small decorator; ``inspect``'s
``getmembers`` and ``getmro``, used only by Lark's ``v_args``, load it when called.
Its annotations are left unevaluated (``from __future__ import annotations``): nothing
reads them, and evaluating them (``Optional[Callable]``) at import was a third of its time.
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


_LOGGER = ('''import logging
from dataclasses import dataclass
from typing import Generic, AnyStr

logger: logging.Logger = logging.getLogger("lark")
logger.addHandler(logging.StreamHandler())
##

##

logger.setLevel(logging.CRITICAL)
''', '''from typing import Generic, AnyStr


class _Silent:
    """cgcalc: Lark's logger, set to CRITICAL, logs at lower levels only: every call is
    dropped, without importing logging."""

    def _drop(self, *args, **kwargs):
        pass

    debug = info = warning = exception = _drop


logger = _Silent()


def dataclass(frozen):
    """cgcalc: the one dataclass, TextSlice (frozen), without importing dataclasses: its
    fields in order, set once by __init__, then __post_init__; equality, hash, repr."""
    def make(cls):
        fields = tuple(cls.__annotations__)

        def __init__(self, *args, **kwargs):
            values = {**dict(zip(fields, args)), **kwargs}
            for name in fields:
                object.__setattr__(self, name, values[name])
            self.__post_init__()

        def __setattr__(self, name, value):
            raise AttributeError(f"cannot assign to field {name!r}")

        def __delattr__(self, name):
            raise AttributeError(f"cannot delete field {name!r}")

        def key(self):
            return tuple(getattr(self, name) for name in fields)

        cls.__init__, cls.__setattr__, cls.__delattr__ = __init__, __setattr__, __delattr__
        cls.__eq__ = lambda self, other: type(other) is type(self) and key(self) == key(other)
        cls.__hash__ = lambda self: hash(key(self))
        cls.__repr__ = lambda self: f"{cls.__qualname__}({', '.join(f'{n}={getattr(self, n)!r}' for n in fields)})"
        return cls
    return make
''')

_INSPECT = ("from inspect import getmembers, getmro\n", '''

def getmembers(*args):
    """cgcalc: only Lark's v_args calls this and getmro; inspect is loaded when they are."""
    from inspect import getmembers

    return getmembers(*args)


def getmro(cls):
    return cls.__mro__

''')


def _replace(text: str, old: str, new: str) -> str:
    """``old`` replaced once by ``new``; stop if Lark's output no longer holds it."""
    if text.count(old) != 1:
        raise SystemExit(f"Lark's standalone output changed: review the replacement of {old!r}")
    return text.replace(old, new)


def generate() -> str:
    """The standalone parser's text, its pickle calls and three imports replaced."""
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
    text = _replace(text, "\nclass Lark(Serialize):", _REFUSE + "\nclass Lark(Serialize):")
    rest = text.replace(_LOGGER[0], "").replace(_INSPECT[0], "")
    if re.search(r"\blogging\b|\binspect\b|dataclasses|logger\.(?!debug|info|warning|exception)",
                 rest):
        raise SystemExit("Lark's standalone output changed: review the replaced imports")
    text = _replace(text, "\n__version__ = ", "\nfrom __future__ import annotations\n__version__ = ")
    return _replace(_replace(text, *_LOGGER), *_INSPECT)


def main() -> None:
    OUTPUT.write_text(generate(), encoding="utf-8")
    print(f"wrote {OUTPUT.relative_to(ROOT)}", file=sys.stderr)


if __name__ == "__main__":
    main()
