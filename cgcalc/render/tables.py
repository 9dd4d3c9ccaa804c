"""Rich tables for people: the result, the variables, and (``--nodes``) every node.

Numbers are rounded to ``precision`` significant digits for reading only, so
715.0000000000001 reads 715; ``--json`` keeps every digit. Arrays are laid out as
NumPy prints them, with the same rounding, in full up to ``FULL`` elements and
summarised with "..." beyond; a shape column appears when there are arrays.
"""

from __future__ import annotations

from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

from ..check import GradientCheck
from ..engine import Result

FULL = 100  #: arrays with more elements show only their first and last three per axis


def number(value: float, precision: int) -> str:
    """``value`` rounded to ``precision`` significant digits."""
    text = f"{value:.{precision}g}"
    return "0" if text == "-0" else text


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


def render(result: Result, precision: int = 10, nodes: bool = False, console: Console | None = None) -> None:
    """Print the result, the variables table and, if asked, the nodes table."""
    console = console or Console()
    program = result.program
    out = program.names.get(program.output)
    head = f"{out or 'value'} = "
    title = Text.assemble((head, "bold"),
                          (cell(result.value, precision, console.width, head), "bold cyan"))
    if _is_array(result.value):
        title.append(f"  shape {result.value.shape}")
    parts = [title]
    if result.gradients:
        values = [result.values[program.variables[name]] for name in result.gradients]
        arrays = any(map(_is_array, values)) or any(map(_is_array, result.gradients.values()))
        columns = [("variable", "left"), ("shape", "left"), ("value", "right"),
                   (f"∂{out or 'value'}/∂variable", "right")]
        rows = [[name, shape(value), value, grad]
                for (name, grad), value in zip(result.gradients.items(), values)]
        if not arrays:
            del columns[1]
            rows = [row[:1] + row[2:] for row in rows]
        table = _table(columns, rows, precision, console.width)
        table.columns[-1].style = "green"
        parts += [Text(), table]
    if nodes:
        parts += [Text(), _nodes_table(result, precision, console.width)]
    console.print(Group(*parts))


def render_check(check: GradientCheck, precision: int = 10, console: Console | None = None) -> None:
    """The gradient check: per variable the largest differences, then the two methods' times."""
    console = console or Console()
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


def _nodes_table(result: Result, precision: int, width: int) -> Table:
    program, values = result.program, result.values
    arrays = any(map(_is_array, values))
    columns = [("id", "right"), ("name", "left"), ("op", "left"), ("inputs", "left"),
               ("shape", "left"), ("value", "right"), ("local ∂", "right"), ("gradient", "right")]
    rows = []
    for node in result.nodes:
        if not node.inputs or any(_is_array(values[i]) for i in (node.id, *node.inputs)):
            local = ""  # a leaf, or a node whose local derivative is a Jacobian
        elif node.local is None:
            local = "undefined"
        else:
            local = ", ".join(number(d, precision) for d in node.local)
        rows.append([str(node.id), node.name or "", node.op,
                     ", ".join(program.label(i) for i in node.inputs), shape(node.value),
                     node.value, local, node.grad])
    if not arrays:
        del columns[4]
        rows = [row[:4] + row[5:] for row in rows]
    table = _table(columns, rows, precision, width)
    table.title, table.title_justify = "nodes in forward order", "left"
    return table


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
