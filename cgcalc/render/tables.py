"""Rich tables for people: the result, the variables, and (``--nodes``) every node.

Rich is imported only when a table is drawn, so ``number`` is cheap for every renderer.
Numbers are rounded to ``precision`` significant digits for reading only, so
715.0000000000001 reads 715; ``--json`` keeps every digit.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..engine import Result

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table


def number(value: float, precision: int) -> str:
    """``value`` rounded to ``precision`` significant digits."""
    text = f"{value:.{precision}g}"
    return "0" if text == "-0" else text


def render(result: Result, precision: int = 10, nodes: bool = False, console: Console | None = None) -> None:
    """Print the result, the variables table and, if asked, the nodes table."""
    from rich.console import Console, Group
    from rich.table import Table
    from rich.text import Text

    program = result.program
    out = program.names.get(program.output)
    title = Text.assemble((out or "value", "bold"), " = ", (number(result.value, precision), "bold cyan"))
    parts = [title]
    if result.gradients:
        wrt = f"∂{out or 'value'}/∂"
        table = Table(box=None, pad_edge=False, header_style="bold")
        table.add_column("variable")
        table.add_column("value", justify="right")
        table.add_column(f"{wrt}variable", justify="right", style="green")
        for name, grad in result.gradients.items():
            table.add_row(name, number(result.values[program.variables[name]], precision),
                          number(grad, precision))
        parts += [Text(), table]
    if nodes:
        parts += [Text(), _nodes_table(result, precision)]
    (console or Console()).print(Group(*parts))


def _nodes_table(result: Result, precision: int) -> Table:
    from rich.table import Table

    program = result.program
    table = Table(title="nodes in forward order", title_justify="left", box=None,
                  pad_edge=False, header_style="bold")
    for column, justify in (("id", "right"), ("name", "left"), ("op", "left"), ("inputs", "left"),
                            ("value", "right"), ("local ∂", "right"), ("gradient", "right")):
        table.add_column(column, justify=justify)
    for node in result.nodes:
        local = "" if not node.inputs else "undefined" if node.local is None else \
            ", ".join(number(d, precision) for d in node.local)
        table.add_row(str(node.id), node.name or "", node.op,
                      ", ".join(program.label(i) for i in node.inputs),
                      number(node.value, precision), local, number(node.grad, precision))
    return table
