"""Decoding wire JSON strictly: finite numbers only, and every failure a ValueError."""

from __future__ import annotations

import json
import math
from typing import Any


def _reject_constant(name: str) -> Any:
    # Python's json accepts NaN and Infinity; no SDK sends them and JCS cannot sign them.
    raise ValueError(f"{name} is not valid JSON")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"number {text[:32]} is out of range")
    return value


def decode(body: bytes | str) -> object:
    """The JSON value of ``body``; ValueError with a short reason when it is not strict JSON."""
    try:
        return json.loads(body, parse_constant=_reject_constant, parse_float=_finite_float)
    except RecursionError:
        # Deeply nested input would otherwise escape as RecursionError.
        raise ValueError("JSON is nested too deeply") from None
    except UnicodeDecodeError:
        raise ValueError("body is not UTF-8") from None
    except json.JSONDecodeError as exc:
        raise ValueError(
            f"invalid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None
