"""The one root exception of the server and its hierarchy.

    InngestError
    ├── ConfigError            a setting is invalid; start-up stops
    ├── ValidationError        input from a client or an SDK is malformed (field, message)
    │   └── ProtocolError      an SDK answer or register payload breaks the wire protocol
    ├── NotFound               an id names nothing (kind, id)
    ├── Unauthorized           a key or token does not match
    └── LeaseLost              a queue item's lease was taken over; its writes were dropped

User code failures are values (``protocol.outcome.Outcome``), never exceptions.
"""

from __future__ import annotations


class InngestError(Exception):
    """Root of every error this server raises on purpose."""


class ConfigError(InngestError):
    """A setting is invalid."""


class ValidationError(InngestError):
    """Input is malformed; ``field`` names where, when known."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class ProtocolError(ValidationError):
    """An SDK payload or answer breaks the wire protocol."""


class NotFound(InngestError):
    """An id names nothing."""

    def __init__(self, kind: str, ident: str) -> None:
        super().__init__(f"{kind} not found: {ident}")
        self.kind = kind
        self.ident = ident


class Unauthorized(InngestError):
    """A key or token does not match."""


class LeaseLost(InngestError):
    """A queue item's lease was taken over by another worker."""

    def __init__(self, item_id: int, lease_token: str) -> None:
        super().__init__(f"lease lost on queue item {item_id}")
        self.item_id = item_id
        self.lease_token = lease_token
