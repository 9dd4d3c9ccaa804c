"""The ``--json`` document: strict JSON, full precision, no NaN or Infinity tokens.

Schema (documented in the README)::

    {"value": number,
     "gradients": {variable: d value / d variable, ...},
     "nodes": [{"id", "op", "name", "inputs", "value", "grad", "local"}, ...]}  # --nodes only

An array is nested lists of the same shape; a gradient that does not exist (class
indices of a loss) is null.
"""

from __future__ import annotations

import json

from ..check import GradientCheck
from ..engine import Result


def document(result: Result, nodes: bool = False) -> dict:
    """The JSON document as Python data."""
    doc: dict = {"value": plain(result.value),
                 "gradients": {name: plain(g) for name, g in result.gradients.items()}}
    if nodes:
        doc["nodes"] = [
            {"id": n.id, "op": n.op, "name": n.name, "inputs": n.inputs, "value": plain(n.value),
             "grad": plain(n.grad), "local": n.local}
            for n in result.nodes
        ]
    return doc


def plain(value):
    """A number as is, an array as nested lists of the same shape."""
    return value.tolist() if hasattr(value, "tolist") else value


def dumps(result: Result, nodes: bool = False) -> str:
    """The JSON text; every number in it is finite (the engine guarantees it)."""
    return json.dumps(document(result, nodes), allow_nan=False)


def check_document(check: GradientCheck) -> dict:
    """``cgcalc check --json``: per variable the largest differences (null: not differentiable)."""
    return {
        "value": plain(check.result.value),
        "passed": check.passed,
        "tolerance": check.tol,
        "step": check.step,
        "variables": {v.name: {"shape": list(v.shape), "max_abs_diff": v.max_abs,
                               "max_rel_diff": v.max_rel, "passed": v.passed}
                      for v in check.variables},
        "seconds": {"backprop": check.backprop_seconds,
                    "central_differences": check.numerical_seconds},
        "forward_passes": check.forward_passes,
    }


def check_dumps(check: GradientCheck) -> str:
    return json.dumps(check_document(check), allow_nan=False)
