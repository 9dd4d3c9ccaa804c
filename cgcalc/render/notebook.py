"""Results and programs as Jupyter shows them, and ``cgcalc.draw`` for scripts.

A notebook asks an object for its ``_repr_*_`` methods; ``Result`` and ``Program`` keep
those as one-line methods that call here, so this module (and through it the pictures)
is loaded only when something is shown, never by a run of the command line.
A notebook shows the richest form it gets, HTML before Markdown before SVG: so the HTML
holds both the picture and the tables, and the SVG and Markdown are there on their own
for the places that take only those.
"""

from __future__ import annotations

import io
import re
from html import escape
from typing import TYPE_CHECKING

from ..errors import RenderError
from . import value_text
from .names import NodeNames

if TYPE_CHECKING:
    from ..walk import Result
    from ..graph import Program

SHOWN = 40  #: variables listed in a table (and 10 in a repr) before the rest are counted
_REPR_SHOWN = 10
_SOURCE_SHOWN = 2000  #: characters of a program's source shown; the rest are counted


def draw(result: Result, format: str = "svg", precision: int = 10) -> str | bytes:
    """The graph of ``result`` with every edge's value and gradient, as ``cgcalc graph``
    draws it: text for svg, dot, mermaid and tree, bytes for Graphviz's other formats."""
    from .picture import Picture

    picture = Picture(result, precision=precision)
    if format == "tree":
        from .tree import render

        buffer = io.StringIO()
        render(picture, file=buffer)
        return buffer.getvalue()
    from .dot import drawn

    data = drawn(picture, format)
    return data.decode("utf-8") if format in ("svg", "dot", "mermaid") else data


def svg(result: Result) -> str | None:
    """The picture as SVG; None (the notebook shows the tables alone) without Graphviz."""
    try:
        picture = draw(result, "svg")
    except RenderError:
        return None
    assert isinstance(picture, str)
    return picture


def result_repr(result: Result) -> str:
    """``<Result value=715 gradients={apple: 2.2, ...}>``, numbers rounded as the tables do."""
    names = list(result.gradients)
    shown = [f"{name}: {value_text(result.gradients[name], 10)}" for name in names[:_REPR_SHOWN]]
    if len(names) > _REPR_SHOWN:
        shown.append(f"… {len(names) - _REPR_SHOWN:,} more")
    return (f"<{type(result).__name__} value={value_text(result.value, 10)} "
            f"gradients={{{', '.join(shown)}}}>")


def _rows(result: Result) -> tuple[str, list[tuple[str, str, str]], int]:
    """The value's name, then (variable, value, gradient) texts, and how many are left out."""
    program = result.program
    names = list(result.gradients)
    rows = [(name, value_text(result.values[program.variables[name]], 10),
             value_text(result.gradients[name], 10, shape=False)) for name in names[:SHOWN]]
    return NodeNames(program)[program.output], rows, max(0, len(names) - SHOWN)


def markdown(result: Result) -> str:
    """The value, and a table of the variables' values and gradients."""
    out, rows, hidden = _rows(result)
    lines = [f"**`{out}` = {value_text(result.value, 10)}**"]
    if rows:
        lines += ["", f"| variable | value | ∂{out}/∂variable |", "|:--|--:|--:|",
                  *(f"| `{name}` | {value} | {grad} |" for name, value, grad in rows)]
    if hidden:
        lines += ["", f"… and {hidden:,} more variables"]
    return "\n".join(lines) + "\n"


def html(result: Result) -> str:
    """The picture (when Graphviz is there) above the value and the variables' table."""
    out, rows, hidden = _rows(result)
    parts = []
    picture = svg(result)
    if picture is not None:
        parts.append(picture[picture.index("<svg"):])  # inline: without the XML prologue
    parts.append(f"<p><b>{escape(out)} = {escape(value_text(result.value, 10))}</b></p>")
    if rows:
        cells = "".join(f"<tr><td>{escape(name)}</td><td>{escape(value)}</td>"
                        f"<td>{escape(grad)}</td></tr>" for name, value, grad in rows)
        parts.append(f"<table><tr><th>variable</th><th>value</th><th>∂{escape(out)}/∂variable"
                     f"</th></tr>{cells}</table>")
    if hidden:
        parts.append(f"<p>… and {hidden:,} more variables</p>")
    return "\n".join(parts)


def program_repr(program: Program) -> str:
    """``<Program 'x*y + x': 5 nodes, variables x, y>``."""
    source = program.source if len(program.source) <= 40 else program.source[:39] + "…"
    names = program.free_variables()
    shown = ", ".join(names[:_REPR_SHOWN]) + (f", … {len(names) - _REPR_SHOWN:,} more"
                                              if len(names) > _REPR_SHOWN else "")
    return f"<Program {source!r}: {len(program):,} nodes, variables {shown or 'none'}>"


def program_markdown(program: Program) -> str:
    """The program's source, and the variables it needs bound."""
    source = program.source[:_SOURCE_SHOWN]
    if len(program.source) > _SOURCE_SHOWN:
        source += f"\n… {len(program.source) - _SOURCE_SHOWN:,} more characters"
    fence = "`" * max(3, 1 + max(map(len, re.findall("`+", source)), default=0))  # comments
    names = ", ".join(f"`{name}`" for name in program.free_variables()) or "none"
    return f"{fence}\n{source}\n{fence}\n\n{len(program):,} nodes; variables: {names}\n"
