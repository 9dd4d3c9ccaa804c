"""cgcalc: a computational-graph calculator.

Parse an expression or program once, then evaluate it at as many points as you like;
every evaluation runs the forward pass and one reverse pass (backpropagation)::

    >>> import cgcalc
    >>> program = cgcalc.parse("(apple*apple_num + orange*orange_num)*tax")
    >>> result = cgcalc.evaluate(program, {"apple": 100, "apple_num": 2,
    ...                                    "orange": 150, "orange_num": 3, "tax": 1.1})
    >>> result.value
    715.0000000000001
    >>> result.gradients["tax"]
    650.0
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Literal, overload

if TYPE_CHECKING:
    from .differentiate import Hessian, derivative, hessian, jacobian
    from .engine import evaluate
    from .errors import (BindingError, CgcalcError, EvaluationError, ParseError,
                         UnboundVariableError, UnknownNameError)
    from .graph import Program
    from .parser import parse
    from .walk import Binding, NodeValue, Result, Value

__version__ = "0.1.0"

__all__ = [
    "Binding", "BindingError", "CgcalcError", "EvaluationError", "Hessian", "NodeValue",
    "ParseError", "Program", "Result", "UnboundVariableError", "UnknownNameError", "Value",
    "derivative", "draw", "evaluate", "grad", "hessian", "jacobian", "parse",
    "__version__",
]


#: where each public name lives; loaded at first use, so that ``import cgcalc`` costs
#: nothing, evaluating never imports what differentiating needs, and the ``cgcalc``
#: command can import its modules with the garbage collector off (see __main__)
_HOMES = {
    "evaluate": "engine", "parse": "parser", "Program": "graph",
    "BindingError": "errors", "CgcalcError": "errors", "EvaluationError": "errors",
    "ParseError": "errors", "UnboundVariableError": "errors", "UnknownNameError": "errors",
    "Binding": "walk", "NodeValue": "walk", "Result": "walk", "Value": "walk",
    "derivative": "differentiate", "hessian": "differentiate", "Hessian": "differentiate",
    "jacobian": "differentiate",
}


def __getattr__(name: str):
    """The public names of :data:`_HOMES`, each imported from its module when first asked."""
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'cgcalc' has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(f".{home}", __name__), name)
    globals()[name] = value
    return value


def grad(program: Program | str,
         bindings: Mapping[str, Binding] | None = None) -> dict[str, Value]:
    """d(value)/d(variable) for every variable: a program or its text, at one point."""
    from .engine import evaluate
    from .parser import parse

    if isinstance(program, str):
        program = parse(program)
    return evaluate(program, bindings).gradients


@overload
def draw(result: Result, format: Literal["svg", "dot", "mermaid", "tree"] = ...,
         precision: int = ...) -> str: ...
@overload
def draw(result: Result, format: Literal["png", "pdf", "jpg", "gif"],
         precision: int = ...) -> bytes: ...
@overload
def draw(result: Result, format: str, precision: int = ...) -> str | bytes: ...


def draw(result: Result, format: str = "svg", precision: int = 10) -> str | bytes:
    """The graph of an evaluated program, each edge with its value above and its gradient
    below, as ``cgcalc graph`` draws it: ``svg``, ``dot``, ``mermaid`` or ``tree`` as text,
    any other format Graphviz writes (``png``, ``pdf``) as bytes. All but dot, mermaid and
    tree need Graphviz's ``dot`` (a :class:`CgcalcError` says so when it is missing)."""
    from .render.notebook import draw as drawn

    return drawn(result, format, precision)
