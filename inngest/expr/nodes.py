"""The syntax tree of a parsed expression.

Macros (``has``, ``all``, ``exists``…) stay ordinary ``Call`` nodes here; the compiler gives
them their meaning, so the parser needs no knowledge of the function set.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeAlias


@dataclass(frozen=True, slots=True)
class Literal:
    """A constant: int, float, str, bytes, bool or None."""

    value: object


@dataclass(frozen=True, slots=True)
class Ident:
    """A bare name: a variable, a macro's loop variable or a type name."""

    name: str
    pos: int


@dataclass(frozen=True, slots=True)
class Select:
    """``operand.field``."""

    operand: Node
    field: str


@dataclass(frozen=True, slots=True)
class Index:
    """``operand[index]``."""

    operand: Node
    index: Node


@dataclass(frozen=True, slots=True)
class Call:
    """``function(args)`` or, with a ``target``, ``target.function(args)``."""

    function: str
    target: Node | None
    args: tuple[Node, ...]
    pos: int


@dataclass(frozen=True, slots=True)
class ListLit:
    """``[a, b, …]``."""

    items: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class MapLit:
    """``{k: v, …}``."""

    entries: tuple[tuple[Node, Node], ...]


@dataclass(frozen=True, slots=True)
class Unary:
    """``!x`` or ``-x``."""

    op: str
    operand: Node


@dataclass(frozen=True, slots=True)
class Binary:
    """Arithmetic, comparison, ``in``, ``&&`` and ``||``."""

    op: str
    left: Node
    right: Node


@dataclass(frozen=True, slots=True)
class Ternary:
    """``cond ? then : otherwise``."""

    cond: Node
    then: Node
    otherwise: Node


Node: TypeAlias = (
    Literal | Ident | Select | Index | Call | ListLit | MapLit | Unary | Binary | Ternary
)
