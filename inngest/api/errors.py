"""The one place that maps errors to HTTP status codes and JSON error bodies."""

from __future__ import annotations

import logging
from typing import Any

from litestar import Request, Response
from litestar.exceptions import HTTPException, SerializationException
from litestar.exceptions import ValidationException as LitestarValidation

from inngest import errors

log = logging.getLogger(__name__)

OK = 200
CREATED = 201
BAD_REQUEST = 400
UNAUTHORIZED = 401
NOT_FOUND = 404
CONFLICT = 409
TOO_LARGE = 413
UNPROCESSABLE = 422
BAD_GATEWAY = 502
UNAVAILABLE = 503


def error_body(status: int, message: str, **extra: Any) -> dict[str, Any]:
    return {"status": status, "error": message, **{k: v for k, v in extra.items() if v is not None}}


def _validation(_: Request[Any, Any, Any], exc: errors.ValidationError) -> Response[Any]:
    message = (
        f"{exc.field}: {exc.message}" if exc.field and exc.field not in exc.message else exc.message
    )
    return Response(error_body(BAD_REQUEST, message, field=exc.field), status_code=BAD_REQUEST)


def _not_found(_: Request[Any, Any, Any], exc: errors.NotFound) -> Response[Any]:
    return Response(error_body(NOT_FOUND, str(exc)), status_code=NOT_FOUND)


def _unauthorized(_: Request[Any, Any, Any], exc: errors.Unauthorized) -> Response[Any]:
    return Response(error_body(UNAUTHORIZED, str(exc) or "Unauthorized"), status_code=UNAUTHORIZED)


def _litestar_validation(_: Request[Any, Any, Any], exc: LitestarValidation) -> Response[Any]:
    return Response(
        error_body(BAD_REQUEST, str(exc.detail), details=exc.extra or None),
        status_code=BAD_REQUEST,
    )


def _http(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    if exc.status_code == TOO_LARGE:
        limit = request.app.state.deps.settings.api.max_body_bytes
        message = f"request body is larger than {limit} bytes (setting api.max_body_bytes)"
        return Response(error_body(TOO_LARGE, message), status_code=TOO_LARGE)
    detail = str(exc.detail)
    if isinstance(exc.__cause__, SerializationException):
        # Litestar's message alone ("Input data was truncated") does not say it is about JSON.
        detail = f"request body is not valid JSON: {detail}"
    return Response(
        error_body(exc.status_code, detail), status_code=exc.status_code, headers=exc.headers
    )


def _internal(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    log.exception("unhandled API error", extra={"action": "api.error", "path": request.url.path})
    return Response(error_body(500, "internal server error"), status_code=500)


HANDLERS: dict[Any, Any] = {
    errors.ValidationError: _validation,
    errors.NotFound: _not_found,
    errors.Unauthorized: _unauthorized,
    LitestarValidation: _litestar_validation,
    HTTPException: _http,
    Exception: _internal,
}
