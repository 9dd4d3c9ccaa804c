"""The ``--json`` document: strict JSON, full precision, no NaN or Infinity tokens.

Schema (documented in the README)::

    {"value": number,
     "gradients": {variable: d value / d variable, ...},
     "nodes": [{"id", "op", "name", "inputs", "value", "grad", "local"}, ...]}  # --nodes only

The nodes are written in chunks as they are encoded, so a 300,000-node graph is
never held as one giant string.
An array is nested lists of the same shape; a gradient that does not exist (class
indices of a loss) is null.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TextIO

from ..walk import Result

if TYPE_CHECKING:
    from ..check import GradientCheck

CHUNK = 10_000  #: nodes encoded per write


def write(result: Result, file: TextIO, nodes: bool = False) -> None:
    """Write the document and a newline to ``file``."""
    if result.exact:
        return _write_exact(result, file, nodes)
    head = _head(result)
    if not nodes:
        file.write(head + "\n")
        return
    import json

    file.write(head[:-1] + ', "nodes": [')
    everything = result.nodes
    for start in range(0, len(everything), CHUNK):
        chunk = [{"id": n.id, "op": n.op, "name": n.name, "inputs": n.inputs,
                  "value": plain(n.value), "grad": plain(n.grad), "local": n.local}
                 for n in everything[start:start + CHUNK]]
        file.write((", " if start else "") + json.dumps(chunk, allow_nan=False)[1:-1])
    file.write("]}\n")


def _write_exact(result: Result, file: TextIO, nodes: bool) -> None:
    """``--exact``: numbers as :mod:`cgcalc.render.exact_numbers` writes them; each node
    also says whether its value and its gradient are exact and, when its value does not
    terminate, its fraction."""
    from .exact_numbers import is_exact, json_head, json_number

    head = json_head(result)
    if not nodes:
        file.write(head + "\n")
        return
    import json

    def number(value) -> str:
        return "null" if value is None else json_number(value, result.digits)[0]

    file.write(head[:-1] + ', "nodes": [')
    for node in result.nodes:
        text, exact_form = json_number(node.value, result.digits)
        local = "null" if node.local is None else "[" + ", ".join(map(number, node.local)) + "]"
        file.write(("" if node.id == 0 else ", ") +
                   f'{{"id": {node.id}, "op": "{node.op}", "name": {json.dumps(node.name)}, '
                   f'"inputs": {list(node.inputs)}, "value": {text}, '
                   f'"exact": {json.dumps(is_exact(node.value))}, ' +
                   (f'"exact_value": "{exact_form}", ' if exact_form else "") +
                   f'"grad": {number(node.grad)}, "grad_exact": {json.dumps(is_exact(node.grad))}, '
                   f'"local": {local}}}')
    file.write("]}\n")


def _head(result: Result) -> str:
    """``{"value": ..., "gradients": {...}}``. For numbers, written directly: a finite
    float's repr is its JSON, and names are identifiers, so the common case does not
    wait for the json module to load (start-up)."""
    if not result.arrays:
        pairs = ", ".join(f'"{name}": {grad!r}' for name, grad in result.gradients.items())
        return f'{{"value": {result.value!r}, "gradients": {{{pairs}}}}}'
    import json

    return json.dumps({"value": plain(result.value),
                       "gradients": {name: plain(g) for name, g in result.gradients.items()}},
                      allow_nan=False)


def plain(value):
    """A number as is, an array as nested lists of the same shape."""
    return value.tolist() if hasattr(value, "tolist") else value


def check_document(check: GradientCheck) -> dict:
    """``cgcalc check --json``: per variable both gradients compared (``backprop`` and
    ``numerical``, each in the variable's shape), the largest differences (null: not
    differentiable), the largest h used, and how many elements were differenced near an
    edge of the domain (with a smaller h) or at one (one-sidedly)."""
    return {
        "value": plain(check.result.value),
        "passed": check.passed,
        "tolerance": check.tol,
        "step": check.step,
        "variables": {v.name: {"shape": list(v.shape),
                               "backprop": _shaped(v.backprop, v.shape),
                               "numerical": _shaped(v.numerical, v.shape),
                               "max_abs_diff": v.max_abs,
                               "max_rel_diff": v.max_rel, "passed": v.passed, "step": v.step,
                               "near_edge": v.near_edge, "one_sided": v.one_sided}
                      for v in check.variables},
        "seconds": {"backprop": check.backprop_seconds,
                    "central_differences": check.numerical_seconds},
        "forward_passes": check.forward_passes,
    }


def _shaped(flat: list[float] | None, shape: tuple[int, ...]):
    """A flat list of elements as nested lists of ``shape`` (a number for a scalar)."""
    if flat is None:
        return None
    if not shape:
        return flat[0]
    import numpy as np

    return np.reshape(flat, shape).tolist()


def check_dumps(check: GradientCheck) -> str:
    """The document as text; with ``--exact``, the value and the gradients backpropagation
    gave are written first, as eval's exact JSON writes them (``json_head``)."""
    import json

    document = check_document(check)
    if not check.result.exact:
        return json.dumps(document, allow_nan=False)
    from .exact_numbers import json_head

    del document["value"]
    return json_head(check.result)[:-1] + ", " + json.dumps(document, allow_nan=False)[1:]
