"""Split a CEL expression into tokens.

Covers the CEL lexical grammar: decimal and hex integers (with the ``u`` suffix), doubles,
single/double/triple-quoted strings with escapes, raw (``r``) and bytes (``b``) prefixes,
identifiers, operators, and ``//`` comments.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass


class Kind(enum.Enum):
    """Token kinds; operators and punctuation share ``OP``."""

    INT = "int"
    UINT = "uint"
    DOUBLE = "double"
    STRING = "string"
    BYTES = "bytes"
    IDENT = "ident"
    OP = "op"
    EOF = "end of input"


@dataclass(frozen=True, slots=True)
class Token:
    """One token; ``pos`` is its 0-based offset, used in error messages."""

    kind: Kind
    text: str
    pos: int
    value: object = None


class LexError(Exception):
    """The source holds something that is not a CEL token."""

    def __init__(self, message: str, pos: int) -> None:
        super().__init__(message)
        self.message = message
        self.pos = pos


# Longest operators first so that "==" is not read as "=" "=".
_OPERATORS = (
    "==",
    "!=",
    "<=",
    ">=",
    "&&",
    "||",
    "<",
    ">",
    "!",
    "?",
    ":",
    ".",
    ",",
    "[",
    "]",
    "{",
    "}",
    "(",
    ")",
    "+",
    "-",
    "*",
    "/",
    "%",
)
_NUMBER = re.compile(
    r"0[xX][0-9a-fA-F]+[uU]?"
    r"|(?:[0-9]+\.[0-9]+|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"
    r"|[0-9]+[eE][+-]?[0-9]+"
    r"|[0-9]+[uU]?"
)
_IDENT = re.compile(r"[_a-zA-Z][_a-zA-Z0-9]*")
_SPACE = re.compile(r"(?:\s|//[^\n]*)+")
_STRING_PREFIX = re.compile(r"(?:[rR][bB]?|[bB][rR]?)?(?:'''|\"\"\"|'|\")")
_SIMPLE_ESCAPES = {
    "a": "\a",
    "b": "\b",
    "f": "\f",
    "n": "\n",
    "r": "\r",
    "t": "\t",
    "v": "\v",
    "\\": "\\",
    "'": "'",
    '"': '"',
    "`": "`",
    "?": "?",
}
_HEX_WIDTH = {"x": 2, "X": 2, "u": 4, "U": 8}


def tokenize(source: str) -> list[Token]:
    """Return the tokens of ``source``, ending with an ``EOF`` token."""
    tokens: list[Token] = []
    pos = 0
    while True:
        space = _SPACE.match(source, pos)
        if space:
            pos = space.end()
        if pos >= len(source):
            tokens.append(Token(Kind.EOF, "", pos))
            return tokens
        prefix = _STRING_PREFIX.match(source, pos)
        if prefix:
            token, pos = _read_string(source, pos, prefix.group())
            tokens.append(token)
            continue
        number = _NUMBER.match(source, pos)
        if number and not _IDENT.match(source, number.end()):
            tokens.append(_number_token(number.group(), pos))
            pos = number.end()
            continue
        ident = _IDENT.match(source, pos)
        if ident:
            tokens.append(Token(Kind.IDENT, ident.group(), pos))
            pos = ident.end()
            continue
        for op in _OPERATORS:
            if source.startswith(op, pos):
                tokens.append(Token(Kind.OP, op, pos))
                pos += len(op)
                break
        else:
            raise LexError(f"unexpected character {source[pos]!r}", pos)


def _number_token(text: str, pos: int) -> Token:
    lowered = text.lower()
    if lowered.endswith("u"):
        return Token(Kind.UINT, text, pos, int(lowered[:-1], 0))
    if lowered.startswith("0x"):
        return Token(Kind.INT, text, pos, int(lowered, 16))
    if "." in lowered or "e" in lowered:
        return Token(Kind.DOUBLE, text, pos, float(lowered))
    return Token(Kind.INT, text, pos, int(lowered))


def _read_string(source: str, start: int, prefix: str) -> tuple[Token, int]:
    flags = prefix.rstrip("'\"").lower()
    quote = prefix[len(flags) :]
    raw, is_bytes = "r" in flags, "b" in flags
    pos = start + len(prefix)
    out: list[str] = []
    while True:
        if pos >= len(source) or (len(quote) == 1 and source[pos] == "\n"):
            raise LexError("unterminated string literal", start)
        if source.startswith(quote, pos):
            pos += len(quote)
            break
        char = source[pos]
        if char == "\\" and not raw:
            text, pos = _read_escape(source, pos)
            out.append(text)
            continue
        out.append(char)
        pos += 1
    text = "".join(out)
    if is_bytes:
        # Escapes in bytes literals name bytes, not code points: latin-1 keeps them 1:1.
        data = text.encode("latin-1", errors="ignore") if not raw else text.encode()
        return Token(Kind.BYTES, source[start:pos], start, data), pos
    return Token(Kind.STRING, source[start:pos], start, text), pos


def _read_escape(source: str, pos: int) -> tuple[str, int]:
    if pos + 1 >= len(source):
        raise LexError("unterminated escape sequence", pos)
    kind = source[pos + 1]
    if kind in _SIMPLE_ESCAPES:
        return _SIMPLE_ESCAPES[kind], pos + 2
    if kind in _HEX_WIDTH:
        width = _HEX_WIDTH[kind]
        digits = source[pos + 2 : pos + 2 + width]
        if len(digits) != width or not all(c in "0123456789abcdefABCDEF" for c in digits):
            raise LexError(f"invalid escape sequence \\{kind}{digits}", pos)
        return chr(int(digits, 16)), pos + 2 + width
    digits = source[pos + 1 : pos + 4]
    if len(digits) == 3 and all(c in "01234567" for c in digits):
        return chr(int(digits, 8)), pos + 4
    raise LexError(f"invalid escape sequence \\{kind}", pos)
