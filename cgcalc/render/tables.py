"""Tables for people: the result, the variables, and (``--nodes``) every node.

Numbers are rounded to ``precision`` significant digits for reading only, so
715.0000000000001 reads 715; ``--json`` keeps every digit. Arrays are laid out as
NumPy prints them, with the same rounding, in full up to ``FULL`` elements and
summarised with "..." beyond; a shape column appears when there are arrays.
Without ``--nodes`` a long variables table is summarised. Rich draws tables of up
to ``RICH_ROWS`` rows; longer ones (a 300,000-node graph) are written as plain
aligned columns, because Rich needs about 0.4 ms a row.
"""

from __future__ import annotations

import io
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

from ..engine import Result
from . import number

if TYPE_CHECKING:
    from ..check import GradientCheck

FULL = 100  #: arrays with more elements show only their first and last three per axis
VARIABLES_SHOWN = 40  #: variables listed without --nodes before the table is summarised
RICH_ROWS = 2000  #: longer tables are plain columns


def cell(value, precision: int, width: int = 80, prefix: str = "") -> str:
    """A number, an array (lines at most ``width`` wide, aligned after ``prefix``) or 'undefined'."""
    if value is None:
        return "undefined"
    if not _is_array(value):
        return number(value, precision)
    import numpy as np

    widths = [0]

    def measure(v) -> str:  # a first pass finds the widest number shown, to align columns
        text = number(v, precision)
        widths[0] = max(widths[0], len(text))
        return text

    options = {"separator": ", ", "threshold": FULL, "edgeitems": 3, "max_line_width": width,
               "prefix": prefix}
    np.array2string(value, formatter={"float_kind": measure}, **options)
    return np.array2string(
        value, formatter={"float_kind": lambda v: number(v, precision).rjust(widths[0])}, **options)


def shape(value) -> str:
    """'(2, 3)' for an array, 'scalar' for a number."""
    return str(value.shape) if _is_array(value) else "scalar"


def render(result: Result, precision: int = 10, nodes: bool = False,
           console: Console | None = None) -> None:
    """Print the value, the variables table and, with ``nodes``, the nodes table."""
    if console is None:
        return buffered(lambda console: render(result, precision, nodes, console))
    program = result.program
    out = program.names.get(program.output) or "value"
    head = f"{out} = "
    title = Text.assemble((head, "bold"),
                          (cell(result.value, precision, console.width, head), "bold cyan"))
    if _is_array(result.value):
        title.append(f"  shape {result.value.shape}")
    console.print(title)
    names = list(result.gradients)
    hidden = len(names) - VARIABLES_SHOWN if not nodes and len(names) > VARIABLES_SHOWN else 0
    if names:
        names = names[:VARIABLES_SHOWN] if hidden else names
        values = [result.values[program.variables[name]] for name in names]
        grads = [result.gradients[name] for name in names]
        arrays = any(map(_is_array, values)) or any(map(_is_array, grads))
        columns = [("variable", "left"), ("shape", "left"), ("value", "right"),
                   (f"∂{out}/∂variable", "right")]
        rows = [[name, shape(value), value, grad] for name, value, grad in zip(names, values, grads)]
        if not arrays:
            del columns[1]
            rows = [row[:1] + row[2:] for row in rows]
        console.print()
        _print_table(console, columns, rows, precision, style="green")
    if hidden:
        console.print(f"… and {hidden:,} more variables of {len(program):,} nodes "
                      "(--nodes or --json lists them all)", style="dim")
    if nodes:
        console.print()
        _nodes_table(console, result, precision)


def buffered(draw: Callable[[Console], None]) -> None:
    """Draw on a console that writes to memory, then print it all at once, so that
    nothing is half-written to stdout if drawing fails. The console takes the real
    stdout's settings (terminal or not, colours, width, NO_COLOR)."""
    real = Console()
    buffer = io.StringIO()
    draw(Console(file=buffer, force_terminal=real.is_terminal, color_system=real.color_system,
                 width=real.width, no_color=real.no_color, highlight=False))
    text = buffer.getvalue()
    for start in range(0, len(text), 1 << 16):  # pieces, so that a closed pipe is noticed
        sys.stdout.write(text[start:start + (1 << 16)])


def render_check(check: GradientCheck, precision: int = 10, console: Console | None = None) -> None:
    """The gradient check: per variable the largest differences, then the two methods' times."""
    if console is None:
        return buffered(lambda console: render_check(check, precision, console))
    result = check.result
    out = result.program.names.get(result.program.output) or "value"
    head = f"{out} = "
    title = Text.assemble((head, "bold"),
                          (cell(result.value, precision, console.width, head), "bold cyan"))
    table = Table(box=None, pad_edge=False, header_style="bold")
    for column, justify in (("variable", "left"), ("shape", "left"), ("max abs diff", "right"),
                            ("max rel diff", "right"), ("check", "left")):
        table.add_column(column, justify=justify)
    for v in check.variables:
        verdict = ("[green]pass[/]" if v.passed else "[red]FAIL[/]") if v.passed is not None \
            else "skipped: not differentiable"
        diffs = ["", ""] if v.max_abs is None else [f"{v.max_abs:.2g}", f"{v.max_rel:.2g}"]
        table.add_row(v.name, str(v.shape) if v.shape else "scalar", *diffs, verdict)
    times = Table(box=None, pad_edge=False, show_header=False)
    for _ in range(3):
        times.add_column()
    times.columns[2].justify = "right"
    times.add_row("backpropagation", "1 forward and 1 backward pass",
                  _duration(check.backprop_seconds))
    times.add_row("central differences", f"{check.forward_passes} forward passes, h = {check.step:g}",
                  _duration(check.numerical_seconds))
    verdict = "[green]passed[/]" if check.passed else "[red]failed[/]"
    console.print(Group(title, Text(), table, Text(), times, Text(),
                        f"{verdict}: tolerance {check.tol:g} (absolute, relative above 1)"))


def _duration(seconds: float) -> str:
    return f"{seconds * 1e3:.3g} ms" if seconds < 1 else f"{seconds:.3g} s"


def _nodes_table(console: Console, result: Result, precision: int) -> None:
    program, values = result.program, result.values
    arrays = any(map(_is_array, values))
    columns = [("id", "right"), ("name", "left"), ("op", "left"), ("inputs", "left"),
               ("shape", "left"), ("value", "right"), ("local ∂", "right"), ("gradient", "right")]
    rows = []
    label = program.label
    for node in result.nodes:
        if node.local is None:
            local = ""  # a leaf, or a node whose local derivative is a Jacobian
        else:
            local = ", ".join("undefined" if d is None else number(d, precision) for d in node.local)
        rows.append([str(node.id), node.name or "", node.op, ", ".join(map(label, node.inputs)),
                     shape(node.value), node.value, local, node.grad])
    if not arrays:
        del columns[4]
        rows = [row[:4] + row[5:] for row in rows]
    _print_table(console, columns, rows, precision, title="nodes in forward order")


def _print_table(console: Console, columns: list[tuple[str, str]], rows: list[list],
                 precision: int, title: str | None = None, style: str | None = None) -> None:
    """A table of text cells and number cells: Rich's, or plain columns when long."""
    if len(rows) > RICH_ROWS:
        _plain_table(console, columns, rows, precision, title)
        return
    table = _table(columns, rows, precision, console.width)
    if title:
        table.title, table.title_justify = title, "left"
    if style:
        table.columns[-1].style = style
    console.print(table)


def _plain_table(console: Console, columns: list[tuple[str, str]], rows: list[list],
                 precision: int, title: str | None) -> None:
    """Aligned columns written straight to the console's file, in chunks."""
    cells = [[item if isinstance(item, str) else cell(item, precision, 10**6).replace("\n", " ")
              for item in row] for row in rows]
    headers = [column for column, _ in columns]
    widths = [max(len(header), *(len(row[k]) for row in cells)) for k, header in enumerate(headers)]
    sides = [justify for _, justify in columns]

    def line(row: list[str]) -> str:
        return "  ".join(text.rjust(w) if side == "right" else text.ljust(w)
                         for text, w, side in zip(row, widths, sides)).rstrip()

    out = console.file
    out.write((f"{title}\n" if title else "") + line(headers) + "\n")
    for start in range(0, len(cells), 10_000):
        out.write("\n".join(map(line, cells[start:start + 10_000])) + "\n")


def _table(columns: list[tuple[str, str]], rows: list[list], precision: int, width: int) -> Table:
    """A table of text cells and number cells; arrays share the width the text leaves them.

    Each array column gets the width its widest array needs on one line per row if all
    fit, else a share in proportion to that need (NumPy then wraps long rows).
    """
    table = Table(box=None, pad_edge=False, header_style="bold")
    for column, justify in columns:
        table.add_column(column, justify=justify)
    if not rows:
        return table
    texts = {k for k, item in enumerate(rows[0]) if isinstance(item, str)}
    need = {k: max(len(columns[k][0]), *(_widest(row[k] if k in texts else
                                                 cell(row[k], precision, 10**6)) for row in rows))
            for k in range(len(columns))}
    room = width - sum(need[k] for k in texts) - 2 * (len(columns) - 1)
    wanted = sum(need[k] for k in need if k not in texts)
    shares = {k: need[k] if wanted <= room else max(20, room * need[k] // wanted) for k in need}
    for row in rows:
        table.add_row(*(item if k in texts else cell(item, precision, shares[k])
                        for k, item in enumerate(row)))
    for k in need.keys() - texts:
        if any(_is_array(row[k]) for row in rows):
            table.columns[k].justify = "left"  # Rich aligns each line: keep an array's lines together
    return table


def _widest(text: str) -> int:
    return max(map(len, text.splitlines() or [""]))


def _is_array(value) -> bool:
    return bool(getattr(value, "ndim", 0))
