"""Tables for people: the result, the variables, and (``--nodes``) every node.

Numbers are rounded to ``precision`` significant digits for reading only, so
715.0000000000001 reads 715; ``--json`` keeps every digit. Without ``--nodes`` a
long variables table is summarised. Rich draws tables of up to ``RICH_ROWS`` rows;
longer ones (a 300,000-node graph) are written as plain aligned columns, because
Rich needs about 0.4 ms a row.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Console
from rich.table import Table
from rich.text import Text

from ..engine import Result

VARIABLES_SHOWN = 40  #: variables listed without --nodes before the table is summarised
RICH_ROWS = 2000  #: longer tables are plain columns


def number(value: float, precision: int) -> str:
    """``value`` rounded to ``precision`` significant digits."""
    text = f"{value:.{precision}g}"
    return "0" if text == "-0" else text


def render(result: Result, precision: int = 10, nodes: bool = False,
           console: Console | None = None) -> None:
    """Print the value, the variables table and, with ``nodes``, the nodes table."""
    if console is None:
        console = Console()
        console.on_broken_pipe = _broken_pipe  # instead of Rich's own exit(1)
    program = result.program
    out = program.names.get(program.output) or "value"
    console.print(Text.assemble((out, "bold"), " = ", (number(result.value, precision), "bold cyan")))
    rows = [(name, number(result.values[program.variables[name]], precision), number(grad, precision))
            for name, grad in result.gradients.items()]
    hidden = len(rows) - VARIABLES_SHOWN if not nodes and len(rows) > VARIABLES_SHOWN else 0
    if rows:
        console.print()
        _table(console, ["variable", "value", f"∂{out}/∂variable"], "lrr",
               rows[:VARIABLES_SHOWN] if hidden else rows)
    if hidden:
        console.print(f"… and {hidden:,} more variables of {len(program):,} nodes "
                      "(--nodes or --json lists them all)", style="dim")
    if nodes:
        console.print()
        label = program.label
        node_rows = []
        for node in result.nodes:
            local = "" if not node.inputs else "undefined" if node.local is None else \
                ", ".join(number(d, precision) for d in node.local)
            node_rows.append((str(node.id), node.name or "", node.op,
                              ", ".join(map(label, node.inputs)), number(node.value, precision),
                              local, "undefined" if node.grad is None else number(node.grad, precision)))
        _table(console, ["id", "name", "op", "inputs", "value", "local ∂", "gradient"], "rlllrrr",
               node_rows, title="nodes in forward order")


def _broken_pipe() -> None:
    raise BrokenPipeError  # the CLI reports it with its documented exit code


def _table(console: Console, headers: list[str], justify: str, rows: Sequence[tuple[str, ...]],
           title: str | None = None) -> None:
    """One table; ``justify`` has an ``l`` or ``r`` per column."""
    if len(rows) <= RICH_ROWS:
        table = Table(title=title, title_justify="left", box=None, pad_edge=False,
                      header_style="bold")
        for header, side in zip(headers, justify):
            table.add_column(header, justify="right" if side == "r" else "left")
        for row in rows:
            table.add_row(*row)
        console.print(table)
        return
    widths = [max(len(header), *(len(row[i]) for row in rows)) for i, header in enumerate(headers)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(cell.rjust(w) if side == "r" else cell.ljust(w)
                         for cell, w, side in zip(cells, widths, justify)).rstrip()

    out = console.file
    if title:
        out.write(title + "\n")
    out.write(line(headers) + "\n")
    for start in range(0, len(rows), 10_000):
        out.write("\n".join(map(line, rows[start:start + 10_000])) + "\n")
