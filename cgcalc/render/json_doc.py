"""The ``--json`` document: strict JSON, full precision, no NaN or Infinity tokens.

Schema (documented in the README)::

    {"value": number,
     "gradients": {variable: d value / d variable, ...},
     "nodes": [{"id", "op", "name", "inputs", "value", "grad", "local"}, ...]}  # --nodes only

The nodes are written in chunks as they are encoded, so a 300,000-node graph is
never held as one giant string.
"""

from __future__ import annotations

import json
from typing import TextIO

from ..engine import Result

CHUNK = 10_000  #: nodes encoded per write


def write(result: Result, file: TextIO, nodes: bool = False) -> None:
    """Write the document and a newline to ``file``."""
    head = json.dumps({"value": result.value, "gradients": result.gradients}, allow_nan=False)
    if not nodes:
        file.write(head + "\n")
        return
    file.write(head[:-1] + ', "nodes": [')
    everything = result.nodes
    for start in range(0, len(everything), CHUNK):
        chunk = [node._asdict() for node in everything[start:start + CHUNK]]
        file.write((", " if start else "") + json.dumps(chunk, allow_nan=False)[1:-1])
    file.write("]}\n")
