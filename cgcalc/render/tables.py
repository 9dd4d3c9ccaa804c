"""Tables for people: the result, the variables, and (``--nodes``) every node.

Numbers are rounded to ``precision`` significant digits for reading only, so
715.0000000000001 reads 715; ``--json`` keeps every digit. Arrays are laid out as
NumPy prints them, with the same rounding, in full up to ``FULL`` elements and
summarised with "..." beyond; a shape column appears when there are arrays.
Without ``--nodes`` a long variables table is summarised. Rich draws tables of up
to ``RICH_ROWS`` rows; longer ones (a 300,000-node graph) are written as plain
aligned columns, because Rich needs about 0.4 ms a row.

No digit is ever cut off: a table too wide for the terminal is printed with each row
stacked as ``column  value`` lines, and output that is not a terminal has no width
limit (nothing there wraps). No line ends in spaces.
"""

from __future__ import annotations

import io
import re
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

from rich.cells import cell_len
from rich.console import Console
from rich.table import Table
from rich.text import Text

from ..walk import Result
from . import number
from .names import NodeNames

if TYPE_CHECKING:
    from ..check import GradientCheck

FULL = 100  #: arrays with more elements show only their first and last three per axis
VARIABLES_SHOWN = 40  #: variables listed without --nodes before the table is summarised
RICH_ROWS = 2000  #: longer tables are plain columns
UNLIMITED = 1 << 20  #: the width of a console that is not a terminal: nothing there wraps

#: spaces (and the style codes among them, which hold no space) that end a line
_TRAILING_SPACES = re.compile(r"(?:\x1b\[[0-9;]*m| )+$")
_AFTER_COMMA, _SPACE = re.compile("(?<=,) "), re.compile(" ")  #: where _wrap breaks a line


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
    called = NodeNames(program, precision)
    out = called[program.output]
    _print_value(console, out, result.value, precision)
    seed = result.grads[program.output]  # 1 (ones) unless an upstream gradient was given
    upstream = not all(v == 1 for v in (seed.ravel().tolist() if _is_array(seed) else [seed]))
    if upstream:  # the gradients are of some L downstream, as the book's dout
        _print_value(console, f"upstream ∂L/∂{out}", seed, precision)
    names = list(result.gradients)
    hidden = len(names) - VARIABLES_SHOWN if not nodes and len(names) > VARIABLES_SHOWN else 0
    if names:
        names = names[:VARIABLES_SHOWN] if hidden else names
        values = [result.values[program.variables[name]] for name in names]
        grads = [result.gradients[name] for name in names]
        arrays = any(map(_is_array, values)) or any(map(_is_array, grads))
        columns = [("variable", "left"), ("shape", "left"), ("value", "right"),
                   (f"∂{'L' if upstream else out}/∂variable", "right")]
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
        _nodes_table(console, result, called, precision)


def buffered(draw: Callable[[Console], None]) -> None:
    """Draw on a console that writes to memory, then print it all at once, so that
    nothing is half-written to stdout if drawing fails. The console takes the real
    stdout's settings (terminal or not, colours, width, NO_COLOR); when stdout is not a
    terminal its width is unlimited, since nothing there wraps. No line ends in spaces.
    Emoji codes are not replaced: ``f:smile:add`` is an operation in a call, not 😄 (and
    Rich's table of emoji is not loaded)."""
    real = Console()
    terminal = real.is_terminal
    buffer = io.StringIO()
    draw(Console(file=buffer, force_terminal=terminal, color_system=real.color_system,
                 width=real.width if terminal else UNLIMITED, no_color=real.no_color,
                 highlight=False, emoji=False))
    text = "\n".join(map(_without_trailing_spaces, buffer.getvalue().split("\n")))
    for start in range(0, len(text), 1 << 16):  # pieces, so that a closed pipe is noticed
        sys.stdout.write(text[start:start + (1 << 16)])


def _without_trailing_spaces(line: str) -> str:
    """The line without the spaces that end it, keeping the style codes among them (a
    pattern only where a code may end the line: it is slow on 100,000 lines)."""
    if not line.endswith("m"):
        return line.rstrip(" ")
    return _TRAILING_SPACES.sub(lambda m: m[0].replace(" ", ""), line)


def render_check(check: GradientCheck, precision: int = 10, console: Console | None = None) -> None:
    """The gradient check: per variable the largest differences, then the two methods' times."""
    if console is None:
        return buffered(lambda console: render_check(check, precision, console))
    result = check.result
    _print_value(console, NodeNames(result.program, precision)[result.program.output],
                 result.value, precision)
    columns = [("variable", "left"), ("shape", "left"), ("backprop", "right"),
               ("numerical", "right"), ("h", "right"), ("max abs diff", "right"),
               ("max rel diff", "right"), ("check", "left")]
    rows, worst = [], []
    for v in check.variables:
        verdict = (Text("pass", "green") if v.passed else Text("FAIL", "red")) \
            if v.passed is not None else "skipped: not differentiable"
        numbers = ["", "", "", "", ""]
        if v.max_abs is not None:
            k = v.worst
            backprop = cell(result.gradients[v.name], precision) if result.exact \
                else number(v.backprop[k], precision)  # --exact: the exact gradient
            numbers = [backprop, number(v.numerical[k], precision),
                       f"{v.step:.2g}", f"{v.max_abs:.2g}", f"{v.max_rel:.2g}"]
            if v.shape:
                worst.append(f"{v.name}{list(v.worst_at)}")
        rows.append([v.name, str(v.shape) if v.shape else "scalar", *numbers, verdict])
    console.print()
    if rows:
        _print_table(console, columns, rows, precision)
    else:
        console.print("no variables: the program is a constant, there is nothing to compare")
    notes = _edge_notes(check)
    if worst:
        notes.insert(0, "an array's gradients are shown at its element that differs most: "
                     + ", ".join(worst))
    if notes:
        console.print("\n".join(notes), soft_wrap=True)
    console.print()
    _print_table(console, [("", "left"), ("", "left"), ("", "right")], [
        ["backpropagation", "1 forward and 1 backward pass", _duration(check.backprop_seconds)],
        ["central differences", f"{check.forward_passes} forward passes, "
         f"h = {check.step:g} × max(1, |x|)", _duration(check.numerical_seconds)]],
        precision, header=False)
    console.print()
    verdict = "[green]passed[/]" if check.passed else "[red]failed[/]"
    console.print(f"{verdict}: tolerance {check.tol:g} (absolute, relative above 1)", soft_wrap=True)


def _edge_notes(check: GradientCheck) -> list[str]:
    """Where the differences were not central over h: near or at an edge of the domain."""
    notes = []
    for v in check.variables:
        for count, what in (
                (v.near_edge, f"nearer than h to an edge of the domain: there h = {check.step:g} "
                              "× the distance to it"),
                (v.one_sided, "at an edge of the domain: one-sided differences of second order, "
                              "from the side inside it")):
            if count:
                who = f"{v.name}: {count} of its elements are" if v.shape else f"{v.name} is"
                notes.append(f"{who} {what}")
    return notes


def _print_value(console: Console, name: str, value, precision: int) -> None:
    """``name = value``; an array aligned after the ``=``, a number never broken."""
    head = f"{name} = "
    title = Text.assemble((head, "bold"), (cell(value, precision, console.width, head), "bold cyan"))
    if _is_array(value):
        title.append(f"  shape {value.shape}")
    console.print(title, soft_wrap=True)


def _duration(seconds: float) -> str:
    return f"{seconds * 1e3:.3g} ms" if seconds < 1 else f"{seconds:.3g} s"


def _nodes_table(console: Console, result: Result, names: NodeNames, precision: int) -> None:
    """Every node, by the names of ``names`` (a number's name is its value: not repeated)."""
    values = result.values
    arrays = any(map(_is_array, values))
    columns = [("id", "right"), ("name", "left"), ("op", "left"), ("inputs", "left"),
               ("shape", "left"), ("value", "right"), ("local ∂", "right"), ("gradient", "right")]
    rows = []
    for node in result.nodes:
        if node.local is None:
            local = ""  # a leaf, or a node whose local derivative is a Jacobian
        else:
            local = ", ".join("undefined" if d is None else number(d, precision) for d in node.local)
        name = "" if node.op == "const" and node.name is None else names[node.id]
        rows.append([str(node.id), name, node.op, ", ".join(names[i] for i in node.inputs),
                     shape(node.value), node.value, local, node.grad])
    if not arrays:
        del columns[4]
        rows = [row[:4] + row[5:] for row in rows]
    _print_table(console, columns, rows, precision, title="nodes in forward order")


def _print_table(console: Console, columns: list[tuple[str, str]], rows: list[list],
                 precision: int, title: str | None = None, style: str | None = None,
                 header: bool = True) -> None:
    """A table of text cells (str or Text) and number cells, never cut: Rich's table if it
    fits the console's width, else each row stacked as ``column  value`` lines; plain
    columns when long. ``style`` colours the last column."""
    if len(rows) > RICH_ROWS:
        _plain_table(console, columns, rows, precision, title)
        return
    cells = _cells(columns, rows, precision, console.width)
    headers = [column if header else "" for column, _ in columns]
    widths = [max([cell_len(h), *(_widest(row[k]) for row in cells)]) for k, h in enumerate(headers)]
    if sum(widths) + 2 * (len(widths) - 1) > console.width:
        _stacked(console, headers, rows, precision, title, style)
        return
    table = Table(box=None, pad_edge=False, header_style="bold", show_header=header)
    for k, (column, justify) in enumerate(columns):
        if any(_is_array(row[k]) for row in rows):
            justify = "left"  # Rich aligns each line: keep an array's lines together
        table.add_column(column, justify=justify)
    for row in cells:
        table.add_row(*row)
    if title:
        table.title, table.title_justify = title, "left"
    if style:
        table.columns[-1].style = style
    console.print(table)


def _stacked(console: Console, headers: list[str], rows: list[list], precision: int,
             title: str | None, style: str | None) -> None:
    """Each row as lines ``column  value`` (rows apart by a blank line), values wrapped
    between words and arrays laid out as wide as the console leaves them; a row of a
    table without headers as one line. A number is never broken: the terminal wraps a
    line that is still too long."""
    key_width = max(map(cell_len, headers))
    room = console.width - key_width - 2
    lines = [Text(title)] if title else []
    for row in rows:
        if lines and key_width:
            lines.append(Text())
        texts = [item.copy() if isinstance(item, Text) else
                 Text(item if isinstance(item, str) else cell(item, precision, room))
                 for item in row]
        if style:
            texts[-1].stylize(style)
        if not key_width:
            lines.append(Text("  ").join(text for text in texts if text))
            continue
        for key, text in zip(headers, texts):
            for k, line in enumerate(_wrap(text, room)):
                lead = key.ljust(key_width) if k == 0 else " " * key_width
                lines.append(Text.assemble((lead, "bold" if k == 0 else ""), "  ", line))
    console.print(Text("\n").join(lines), soft_wrap=True)


def _wrap(text: Text, width: int) -> list[Text]:
    """The lines of ``text`` broken after spaces to at most ``width`` cells, where they
    can be: a word longer than that (a number) stays whole. Rich's own wrapping either
    crops such a word or folds it in two. Text with commas (an array, a list of inputs)
    is broken only after them, so an element keeps its brackets and padding; and never
    in the spaces that begin a line (an array's indent), which would leave a line of
    spaces alone."""
    lines, breakable = [], _AFTER_COMMA if "," in text.plain else _SPACE
    for line in text.split("\n") if text else ():
        plain, start = line.plain, 0
        breaks = [match.start() for match in breakable.finditer(plain)]
        while cell_len(plain[start:]) > width:
            word = len(plain) - len(plain[start:].lstrip(" "))  # the first word's start
            later = [at for at in breaks if at > word]
            if not later:
                break
            fitting = [at for at in later if at <= start + width]
            cut = fitting[-1] if fitting else later[0]
            lines.append(line[start:cut])
            start = cut + 1
        lines.append(line[start:])
    return lines


def _plain_table(console: Console, columns: list[tuple[str, str]], rows: list[list],
                 precision: int, title: str | None) -> None:
    """Aligned columns written straight to the console's file, in chunks."""
    texts = {k for k, item in enumerate(rows[0]) if _is_text(item)}
    cells = [[_plain(item) if k in texts else cell(item, precision, 10**6).replace("\n", " ")
              for k, item in enumerate(row)] for row in rows]
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


def _cells(columns: list[tuple[str, str]], rows: list[list], precision: int,
           width: int) -> list[list]:
    """Every cell as text; arrays share the width the text cells leave them.

    Each array column gets the width its widest array needs on one line per row if all
    fit, else a share in proportion to that need (NumPy then wraps long rows).
    """
    if not rows:
        return []
    texts = {k for k, item in enumerate(rows[0]) if _is_text(item)}
    need = {k: max(len(columns[k][0]), *(_widest(row[k] if k in texts else
                                                 cell(row[k], precision, 10**6)) for row in rows))
            for k in range(len(columns))}
    room = width - sum(need[k] for k in texts) - 2 * (len(columns) - 1)
    wanted = sum(need[k] for k in need if k not in texts)
    shares = {k: need[k] if wanted <= room else max(20, room * need[k] // wanted)
              for k in need.keys() - texts}
    return [[item if k in texts else cell(item, precision, shares[k]) for k, item in enumerate(row)]
            for row in rows]


def _widest(text: str | Text) -> int:
    return max(map(cell_len, _plain(text).splitlines() or [""]))


def _is_text(item) -> bool:
    return isinstance(item, (str, Text))


def _plain(text: str | Text) -> str:
    return text if isinstance(text, str) else text.plain


def _is_array(value) -> bool:
    return bool(getattr(value, "ndim", 0))
