"""The computational graph: flat, append-only lists indexed by node id.

Nodes are added while the parser reduces, children before parents, so ids are
already a topological order: the forward pass walks ids upwards, the reverse pass
downwards, and neither needs recursion or a sort. Flat lists instead of one object
per node keep a 300,000-node graph cheap to build and to walk. A node's inputs are
kept only in the operation steps the passes read (:attr:`Program.steps`), not also
as a tuple per node (64 bytes of each binary node): :attr:`Program.inputs` makes the
tuples when asked. The steps are one list of Python objects, not ``array``s: reading an
``array`` makes a new int or float object at every step, and made the passes half as
fast again; and one list, not a column each: lists that grow side by side leave the
blocks each outgrew as holes in the C heap (15 bytes per node; see the README's
Performance section).
"""

from __future__ import annotations

import copy
from array import array
from bisect import bisect_left
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, NamedTuple, overload

from .ops import CONSTANTS, Const, Op, Var

if TYPE_CHECKING:
    from .functions import Function


STEP = 5  #: entries of each operation node in Program.steps: id, forward, backward, inputs


class Call(NamedTuple):
    """One call of a function the program defined: the nodes its body was copied to."""

    function: Function
    inputs: tuple[int, ...]  #: ids of its arguments
    nodes: range  #: contiguous ids of the body's copy (empty if the body is a parameter)


class Program:
    """A parsed program: its graph, its variables and the node that is its value.

    Parse once with :func:`cgcalc.parse`, then :func:`cgcalc.evaluate` it as often
    as you like with different bindings.
    """

    def __init__(self, source: str) -> None:
        self.source = source
        self.ops = Operations()  #: operation of each node
        #: source offset each node was written at: 4 bytes each, 8 past 4 GiB of text
        self.pos = array("I")
        self.needs_grad = bytearray()  #: 1 where the node depends on a variable
        self.constants = Constants()  #: node id -> value of a number literal
        self.variables: dict[str, int] = {}  #: free variable name -> its one shared node
        self.names: dict[int, str] = {}  #: node id -> the name first assigned to it
        #: (assigned name or None, value node, first node id made by the statement)
        self.statements: list[tuple[str | None, int, int]] = []
        self.output = -1  #: the node whose value is the program's value
        #: Operation nodes in id order, ``STEP`` entries each, which the engine's passes
        #: read with ``zip(it, it, it, it, it)`` without building anything per node: the
        #: node's id, its forward and backward rules (backward None where no variable is
        #: upstream), and its inputs unpacked: the first input id, the second id or -1 for
        #: one input, -2 for more than two (the first is then an index into ``wide``, which
        #: holds their ids). :attr:`inputs` gives them as a tuple per node.
        self.steps: list = []
        self.wide: list[tuple[int, ...]] = []
        self.array_ops = False  #: uses an operation defined on arrays only (``@``, ``sum``)
        self.functions: dict[str, Function] = {}  #: functions the program defines, by name
        self.calls: list[Call] = []  #: each call of a defined function, after those in its body

    def __len__(self) -> int:
        return len(self.ops)

    @property
    def inputs(self) -> Inputs:
        """The input node ids of each node, by id: a tuple, ``()`` for a leaf."""
        return Inputs(self)

    @property
    def op_ids(self) -> list[int]:
        """The operation nodes' ids, in id order (a list made when asked)."""
        return self.steps[::STEP]

    def operation_inputs(self, k: int) -> tuple[int, ...]:
        """The input ids of the ``k``-th operation node (``op_ids[k]``)."""
        return self.step_inputs(*self.steps[STEP * k + 3:STEP * k + 5])

    def step_inputs(self, a: int, b: int) -> tuple[int, ...]:
        """The input ids that a step's two input entries ``a, b`` stand for (see ``steps``)."""
        return (a, b) if b >= 0 else (a,) if b == -1 else self.wide[a]

    def operation_index(self, node: int) -> int:
        """Which operation node ``node`` is (``op_ids.index(node)``), or -1 for a leaf."""
        steps, count = self.steps, len(self.steps) // STEP
        k = bisect_left(range(count), node, key=lambda k: steps[STEP * k])
        return k if k < count and steps[STEP * k] == node else -1

    def add(self, op: type[Op], inputs: tuple[int, ...], pos: int) -> int:
        """Append an operation node and return its id."""
        needs = self.needs_grad
        node = len(needs)
        count = len(inputs)
        if count == 2:
            a, b = inputs
            need = needs[a] or needs[b]
        elif count == 1:
            a, b = inputs[0], -1
            need = needs[a]
        else:
            a, b = len(self.wide), -2
            self.wide.append(tuple(inputs))
            need = any(map(needs.__getitem__, inputs))
        number = _NUMBERS.get(op)  # self.ops.append(op) without the call: once a node
        self.ops.codes.append(_number(op) if number is None else number)
        try:
            self.pos.append(pos)
        except OverflowError:
            self._far(pos)
        needs.append(need)
        if op.array_only:
            self.array_ops = True
        self.steps.extend((node, op.forward, op.backward if need else None, a, b))
        return node

    def constant(self, value: float, pos: int) -> int:
        """A number literal: its own node every time it is written."""
        node = self._leaf(Const, pos, False)
        self.constants.ids.append(node)
        self.constants.numbers.append(value)
        return node

    def variable(self, name: str, pos: int) -> int:
        """The one node of free variable ``name``, created at its first use.

        ``pi`` and ``e`` are constants unless bound, so nothing needs their gradient
        here; :meth:`binding_constants` makes them variables for an evaluation that binds them.
        """
        node = self.variables.get(name)
        if node is None:
            node = self.variables[name] = self._leaf(Var, pos, name not in CONSTANTS)
            self.names[node] = name
        return node

    def binding_constants(self, names: Iterable[str]) -> Program:
        """This program with the constants ``names`` (pi, e) bound as variables: they and
        everything computed from them need gradients. A shallow copy, made once per set."""
        names = frozenset(name for name in names if name in self.variables)
        if not names:
            return self
        variants = self.__dict__.setdefault("_variants", {})
        if names not in variants:
            variant = copy.copy(self)
            needs = variant.needs_grad = bytearray(self.needs_grad)
            for name in names:
                needs[self.variables[name]] = True
            op_ids = self.op_ids
            for k, node in enumerate(op_ids):
                if not needs[node]:
                    needs[node] = any(map(needs.__getitem__, self.operation_inputs(k)))
            variant.steps = self.steps.copy()
            variant.steps[2::STEP] = [self.ops[node].backward if needs[node] else None
                                      for node in op_ids]
            variants[names] = variant
        return variants[names]

    def named(self, name: str) -> int:
        """The node a name stands for at the end of the program: its newest assignment,
        else the free variable; an :class:`UnknownNameError` if the program has neither."""
        for assigned, node, _ in reversed(self.statements):
            if assigned == name:
                return node
        if name in self.variables:
            return self.variables[name]
        from .errors import UnknownNameError

        assigned = list(dict.fromkeys(n for n, _, _ in self.statements if n))
        raise UnknownNameError(f"{name} is not a name of the program (its names: "
                               f"{', '.join(assigned + self.free_variables()) or 'none'})")

    def with_output(self, node: int) -> Program:
        """This program with ``node`` as its value (``of=``): a shallow copy, the graph shared."""
        if node == self.output:
            return self
        variant = copy.copy(self)
        variant.__dict__.pop("_variants", None)  # binding_constants' copies keep their output
        variant.output = node
        return variant

    def _leaf(self, op: type[Op], pos: int, needs_grad: bool) -> int:
        number = _NUMBERS.get(op)
        self.ops.codes.append(_number(op) if number is None else number)
        try:
            self.pos.append(pos)
        except OverflowError:
            self._far(pos)
        self.needs_grad.append(needs_grad)
        return len(self.ops) - 1

    def _far(self, pos: int) -> None:
        """A position past 4 GiB of text: the positions take 8 bytes each from now on."""
        self.pos = array("q", self.pos)
        self.pos.append(pos)

    def parameter(self, name: str, pos: int) -> int:
        """A parameter of a function body: a variable node, but not a free variable (a free
        name of the same spelling, met when a function is called inside the body, is another)."""
        node = self._leaf(Var, pos, True)
        self.names[node] = name
        return node

    def splice(self, template: Program, leaves: dict[int, int], pos: int) -> int:
        """Copy ``template``'s nodes to the end of this program, in id order (so ids stay a
        topological order), at source position ``pos``; its variable nodes are not copied but
        become ``leaves[id]``. Its calls come along. Returns the id of its output's copy."""
        copied = [0] * len(template)
        for node, (op, ins) in enumerate(zip(template.ops, template.inputs)):
            if op is Var:
                copied[node] = leaves[node]
            elif op is Const:
                copied[node] = self.constant(template.constants[node], pos)
            else:
                copied[node] = self.add(op, tuple(copied[i] for i in ins), pos)
        self.calls.extend(
            Call(call.function, tuple(copied[i] for i in call.inputs),
                 range(copied[call.nodes[0]], copied[call.nodes[-1]] + 1) if call.nodes else range(0))
            for call in template.calls)
        return copied[template.output]

    def op_names(self) -> list[str]:
        """Each node's operation as ``--nodes`` shows it: ``add``, or ``softplus:add`` for a
        node of a call of ``softplus`` (``outer:inner:add`` inside a call in a body)."""
        names = [op.name for op in self.ops]
        if self.calls:
            within = [""] * len(names)
            # outer calls first (of two with the same nodes, the later one holds the other)
            for call in sorted(reversed(self.calls), key=lambda c: (c.nodes.start, -len(c.nodes))):
                for node in call.nodes:
                    within[node] += call.function.name + ":"
            names = [prefix + name for prefix, name in zip(within, names)]
        return names

    def label(self, node: int) -> str:
        """How a node is called: its variable or first assigned name, else ``#id``."""
        return self.names.get(node) or f"#{node}"

    def depends(self, node: int) -> list[bool]:
        """For every id, whether ``node`` depends on it (itself included); a loop, no recursion."""
        reached = [False] * len(self.ops)
        reached[node] = True
        op_ids = self.op_ids
        for k in range(bisect_left(op_ids, node + 1) - 1, -1, -1):
            if reached[op_ids[k]]:
                for j in self.operation_inputs(k):
                    reached[j] = True
        return reached

    def free_variables(self) -> list[str]:
        """Variables that need a binding: every free name but the built-in constants."""
        return [name for name in self.variables if name not in CONSTANTS]

    # Shown in a notebook or a console: cgcalc.render.notebook, loaded only when asked for.
    def __repr__(self) -> str:
        from .render.notebook import program_repr

        return program_repr(self)

    def _repr_markdown_(self) -> str:
        from .render.notebook import program_markdown

        return program_markdown(self)


class Operations(Sequence[type[Op]]):
    """Each node's operation, read like a list: two bytes a node (a list took eight), the
    number of the operation among all those any program of this process has used."""

    __slots__ = ("codes",)

    def __init__(self) -> None:
        self.codes = array("H")

    def append(self, op: type[Op]) -> None:
        number = _NUMBERS.get(op)
        self.codes.append(_number(op) if number is None else number)

    @overload
    def __getitem__(self, node: int) -> type[Op]: ...
    @overload
    def __getitem__(self, node: slice) -> list[type[Op]]: ...

    def __getitem__(self, node):
        if isinstance(node, slice):
            return list(map(_KNOWN.__getitem__, self.codes[node]))
        return _KNOWN[self.codes[node]]

    def __iter__(self) -> Iterator[type[Op]]:
        return map(_KNOWN.__getitem__, self.codes)

    def __len__(self) -> int:
        return len(self.codes)

    def __eq__(self, other: object) -> bool:
        return list(self) == list(other) if isinstance(other, (Operations, list)) else NotImplemented

    # The numbers are this process's: pickled (to a cluster's worker) as the operations.
    def __getstate__(self) -> list[type[Op]]:
        return list(self)

    def __setstate__(self, ops: list[type[Op]]) -> None:
        self.codes = array("H")
        for op in ops:
            self.append(op)

    def __repr__(self) -> str:
        return repr(list(self))


_KNOWN: list[type[Op]] = []  #: the operations by number, shared by every program
_NUMBERS: dict[type[Op], int] = {}


def _number(op: type[Op]) -> int:
    """The number of an operation met for the first time (safe in threads too)."""
    _KNOWN.append(op)
    return _NUMBERS.setdefault(op, _KNOWN.index(op))


class Constants(Mapping[int, float]):
    """The number literals' values by node id, read like a dict. Two lists, the ids (in
    ascending order: a literal is the newest node when it is added) and the numbers: a dict
    took about 45 bytes a literal more, and left each table it outgrew as a hole in the C heap."""

    __slots__ = ("ids", "numbers")

    def __init__(self) -> None:
        self.ids: list[int] = []
        self.numbers: list[float] = []

    def __getitem__(self, node: int) -> float:
        k = bisect_left(self.ids, node)
        if k == len(self.ids) or self.ids[k] != node:
            raise KeyError(node)
        return self.numbers[k]

    def __iter__(self) -> Iterator[int]:
        return iter(self.ids)

    def __len__(self) -> int:
        return len(self.ids)

    def __repr__(self) -> str:
        return repr(dict(zip(self.ids, self.numbers)))


class Inputs:
    """A program's inputs by node id, each a tuple made when asked from the columns
    ``first``, ``second`` and ``wide`` (no tuple is kept per node): indexed (a binary
    search among the operation ids), iterated in id order, compared like a list."""

    __slots__ = ("_program",)

    def __init__(self, program: Program) -> None:
        self._program = program

    def __len__(self) -> int:
        return len(self._program.ops)

    def __getitem__(self, node: int) -> tuple[int, ...]:
        program = self._program
        if not -len(program.ops) <= node < len(program.ops):
            raise IndexError("node id out of range")
        k = program.operation_index(node % len(program.ops))
        return () if k < 0 else program.operation_inputs(k)

    def __iter__(self) -> Iterator[tuple[int, ...]]:
        program = self._program
        op_ids, ins = program.op_ids, program.operation_inputs
        k, count = 0, len(op_ids)
        for node in range(len(program.ops)):
            if k < count and op_ids[k] == node:
                yield ins(k)
                k += 1
            else:
                yield ()

    def __eq__(self, other: object) -> bool:
        return list(self) == list(other) if isinstance(other, (Inputs, list)) else NotImplemented

    def __repr__(self) -> str:
        return repr(list(self))
