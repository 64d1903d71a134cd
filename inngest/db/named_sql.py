"""Loads hand-written SQL files of named statements once.

A file holds blocks that start with ``-- name: <aggregate>_<verb>``; each block is one statement
with psycopg named placeholders (``%(param)s``). Hot-path statements live in such files so that
what runs is what was reviewed, and so a test can check every statement's parameters.
"""

from __future__ import annotations

import re
from functools import cache
from importlib import resources

_NAME = re.compile(r"^--\s*name:\s*(\w+)\s*$", re.MULTILINE)
_PARAM = re.compile(r"%\((\w+)\)s")


@cache
def load(package: str, filename: str) -> dict[str, str]:
    """Return {name: sql} for a .sql file shipped inside ``package``."""
    text = resources.files(package).joinpath(filename).read_text(encoding="utf-8")
    parts = _NAME.split(text)
    statements: dict[str, str] = {}
    for name, body in zip(parts[1::2], parts[2::2], strict=True):
        sql = body.strip().rstrip(";").strip()
        if name in statements:
            raise ValueError(f"{package}/{filename}: statement {name} defined twice")
        statements[name] = sql
    return statements


def params_of(sql: str) -> set[str]:
    """Names of the placeholders a statement needs."""
    return set(_PARAM.findall(sql))
