"""The ``--json`` document: strict JSON, full precision, no NaN or Infinity tokens.

Schema (documented in the README)::

    {"value": number,
     "gradients": {variable: d value / d variable, ...},
     "nodes": [{"id", "op", "name", "inputs", "value", "grad", "local"}, ...]}  # --nodes only
"""

from __future__ import annotations

import json

from ..engine import Result


def document(result: Result, nodes: bool = False) -> dict:
    """The JSON document as Python data."""
    doc: dict = {"value": result.value, "gradients": result.gradients}
    if nodes:
        doc["nodes"] = [
            {"id": n.id, "op": n.op, "name": n.name, "inputs": n.inputs, "value": n.value,
             "grad": n.grad, "local": n.local}
            for n in result.nodes
        ]
    return doc


def dumps(result: Result, nodes: bool = False) -> str:
    """The JSON text; every number in it is finite (the engine guarantees it)."""
    return json.dumps(document(result, nodes), allow_nan=False)
