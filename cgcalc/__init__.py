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
from typing import Literal, overload

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


def __getattr__(name: str):
    """``derivative``, ``hessian``, ``Hessian`` and ``jacobian`` from
    :mod:`cgcalc.differentiate`, loaded at first use so that evaluating never imports it."""
    if name in ("derivative", "hessian", "Hessian", "jacobian"):
        from . import differentiate

        return getattr(differentiate, name)
    raise AttributeError(f"module 'cgcalc' has no attribute {name!r}")


def grad(program: Program | str,
         bindings: Mapping[str, Binding] | None = None) -> dict[str, Value]:
    """d(value)/d(variable) for every variable: a program or its text, at one point."""
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
