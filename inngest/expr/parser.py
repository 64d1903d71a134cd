"""Parse CEL source into a syntax tree (``nodes``) by recursive descent.

Precedence, loosest first: ``?:``, ``||``, ``&&``, relations (``== != < <= > >= in``),
``+ -``, ``* / %``, unary ``! -``, member access (``.f``, ``.f()``, ``[i]``).
"""

from __future__ import annotations

from collections.abc import Callable

from inngest.expr import lexer, nodes
from inngest.expr.lexer import Kind, Token

# CEL reserves these words; cel-go rejects them as identifiers, and so do we so that an
# expression accepted here is accepted by Inngest too. ``async`` is not among them.
_RESERVED = frozenset(
    {
        *("as", "break", "const", "continue", "else", "for", "function", "if", "import"),
        *("let", "loop", "package", "namespace", "return", "var", "void", "while"),
    }
)
_RELATIONS = frozenset({"==", "!=", "<", "<=", ">", ">=", "in"})
# Each nesting level costs about ten Python frames; 50 keeps far from the recursion limit
# while real expressions stay below a handful.
_MAX_DEPTH = 50


class ParseError(Exception):
    """The source is not a CEL expression; ``pos`` is the 0-based offset of the problem."""

    def __init__(self, message: str, pos: int) -> None:
        super().__init__(message)
        self.message = message
        self.pos = pos


def parse(source: str) -> nodes.Node:
    """Parse a whole expression; raise ``ParseError`` on the first problem."""
    try:
        tokens = lexer.tokenize(source)
    except lexer.LexError as exc:
        raise ParseError(exc.message, exc.pos) from None
    parser = _Parser(tokens)
    tree = parser.expr()
    parser.expect_end()
    return tree


class _Parser:
    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens
        self.at = 0
        self.depth = 0

    @property
    def token(self) -> Token:
        return self.tokens[self.at]

    def advance(self) -> Token:
        token = self.tokens[self.at]
        if token.kind is not Kind.EOF:
            self.at += 1
        return token

    def accept(self, op: str) -> bool:
        if self.token.kind is Kind.OP and self.token.text == op:
            self.at += 1
            return True
        return False

    def expect(self, op: str) -> None:
        if not self.accept(op):
            raise self.error(f"expected '{op}'")

    def expect_end(self) -> None:
        if self.token.kind is not Kind.EOF:
            raise self.error("unexpected trailing input")

    def error(self, message: str) -> ParseError:
        token = self.token
        found = "end of input" if token.kind is Kind.EOF else f"'{token.text}'"
        return ParseError(f"{message}, found {found}", token.pos)

    def enter(self) -> None:
        self.depth += 1
        if self.depth > _MAX_DEPTH:
            raise self.error("expression nested too deeply")

    def expr(self) -> nodes.Node:
        self.enter()
        cond = self.logical("||", self.and_)
        if self.accept("?"):
            then = self.logical("||", self.and_)
            self.expect(":")
            cond = nodes.Ternary(cond, then, self.expr())
        self.depth -= 1
        return cond

    def and_(self) -> nodes.Node:
        return self.logical("&&", self.relation)

    def logical(self, op: str, operand: Callable[[], nodes.Node]) -> nodes.Node:
        left = operand()
        while self.accept(op):
            left = nodes.Binary(op, left, operand())
        return left

    def relation(self) -> nodes.Node:
        left = self.addition()
        while self.token.text in _RELATIONS and self.token.kind in (Kind.OP, Kind.IDENT):
            op = self.advance().text
            left = nodes.Binary(op, left, self.addition())
        return left

    def addition(self) -> nodes.Node:
        left = self.multiplication()
        while self.token.kind is Kind.OP and self.token.text in ("+", "-"):
            op = self.advance().text
            left = nodes.Binary(op, left, self.multiplication())
        return left

    def multiplication(self) -> nodes.Node:
        left = self.unary()
        while self.token.kind is Kind.OP and self.token.text in ("*", "/", "%"):
            op = self.advance().text
            left = nodes.Binary(op, left, self.unary())
        return left

    def unary(self) -> nodes.Node:
        if self.token.kind is Kind.OP and self.token.text in ("!", "-"):
            op = self.advance().text
            self.enter()
            operand = self.unary()
            self.depth -= 1
            # Fold "-5" into a literal so that the most negative int64 stays representable.
            if op == "-" and isinstance(operand, nodes.Literal):
                value = operand.value
                if isinstance(value, int | float) and not isinstance(value, bool):
                    return nodes.Literal(-value)
            return nodes.Unary(op, operand)
        return self.member()

    def member(self) -> nodes.Node:
        node = self.primary()
        while True:
            if self.accept("."):
                name = self.ident("a field name after '.'")
                if self.accept("("):
                    node = nodes.Call(name.text, node, self.args(")"), name.pos)
                else:
                    node = nodes.Select(node, name.text)
            elif self.accept("["):
                node = nodes.Index(node, self.expr())
                self.expect("]")
            else:
                return node

    def primary(self) -> nodes.Node:
        token = self.token
        if token.kind in (Kind.INT, Kind.UINT, Kind.DOUBLE, Kind.STRING, Kind.BYTES):
            self.advance()
            return nodes.Literal(token.value)
        if token.kind is Kind.IDENT:
            return self.name()
        if self.accept("("):
            inner = self.expr()
            self.expect(")")
            return inner
        if self.accept("["):
            return nodes.ListLit(self.args("]"))
        if self.accept("{"):
            return self.map_literal()
        if token.kind is Kind.OP and token.text == ".":
            raise self.error("leading '.' names are not supported")
        raise self.error("expected a value")

    def name(self) -> nodes.Node:
        token = self.ident("a name")
        constants: dict[str, object] = {"true": True, "false": False, "null": None}
        if token.text in constants:
            return nodes.Literal(constants[token.text])
        if self.accept("("):
            return nodes.Call(token.text, None, self.args(")"), token.pos)
        if self.token.kind is Kind.OP and self.token.text == "{":
            raise self.error("message construction is not supported")
        return nodes.Ident(token.text, token.pos)

    def ident(self, what: str) -> Token:
        token = self.token
        if token.kind is not Kind.IDENT or token.text == "in":
            raise self.error(f"expected {what}")
        if token.text in _RESERVED:
            raise ParseError(f"'{token.text}' is a reserved word", token.pos)
        return self.advance()

    def args(self, close: str) -> tuple[nodes.Node, ...]:
        items: list[nodes.Node] = []
        while not self.accept(close):
            items.append(self.expr())
            if not self.accept(","):
                self.expect(close)
                break
        return tuple(items)

    def map_literal(self) -> nodes.Node:
        entries: list[tuple[nodes.Node, nodes.Node]] = []
        while not self.accept("}"):
            key = self.expr()
            self.expect(":")
            entries.append((key, self.expr()))
            if not self.accept(","):
                self.expect("}")
                break
        return nodes.MapLit(tuple(entries))
