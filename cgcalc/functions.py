"""Functions a program defines, ``softplus(x) = log(1 + exp(x))``, and their calls.

A definition's body is parsed into a program of its own (a template), in which the
parameters are variable nodes; it adds nothing to the program being parsed. Each call
copies the body's nodes into that program (:meth:`Program.splice`), the parameters
becoming the arguments, so the engine, ``--nodes``, ``--explain`` and the pictures see
ordinary nodes, and :class:`~cgcalc.graph.Call` records which ones a call made.

A name in a body that is not a parameter is looked up where the function is called, as
Python looks up a global: the newest assignment there, else a variable of the program.
A function may call the built-ins and the functions defined before it, never itself,
so every call can be copied out and the graph stays finite.
"""

from __future__ import annotations

from typing import NamedTuple

from .graph import Program


class Function(NamedTuple):
    """A defined function: its name, its parameters and its body."""

    name: str
    params: tuple[str, ...]
    body: Program  #: the template; its output node is the function's value
    param_nodes: tuple[int, ...]  #: the body's node of each parameter
    text: str  #: the body as written

    def signature(self, args: list[str] | None = None) -> str:
        """``softplus(x)``, or applied to ``args``."""
        return f"{self.name}({', '.join(self.params if args is None else args)})"

    def definition(self) -> str:
        """``softplus(x) = log(1 + exp(x))``."""
        return f"{self.signature()} = {self.text}"
