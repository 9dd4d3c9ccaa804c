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

from .engine import NodeValue, Result, evaluate
from .errors import (BindingError, CgcalcError, EvaluationError, ParseError,
                     UnknownNameError)
from .graph import Program
from .parser import parse

__version__ = "0.1.0"

__all__ = [
    "BindingError", "CgcalcError", "EvaluationError", "Hessian", "NodeValue", "ParseError",
    "Program", "Result", "UnknownNameError", "derivative", "evaluate", "grad", "hessian", "jacobian", "parse",
    "__version__",
]


def __getattr__(name: str):
    """``derivative``, ``hessian``, ``Hessian`` and ``jacobian`` from
    :mod:`cgcalc.differentiate`, loaded at first use so that evaluating never imports it."""
    if name in ("derivative", "hessian", "Hessian", "jacobian"):
        from . import differentiate

        return getattr(differentiate, name)
    raise AttributeError(f"module 'cgcalc' has no attribute {name!r}")


def grad(program: Program | str, bindings: Mapping[str, float] | None = None) -> dict[str, float]:
    """d(value)/d(variable) for every variable: a program or its text, at one point."""
    if isinstance(program, str):
        program = parse(program)
    return evaluate(program, bindings).gradients
