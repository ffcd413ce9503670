"""Why a JSON request body could not be read, in plain words, for the 422 that names `body`.

FastAPI 0.163.2 reads a JSON body with Starlette's `Request.json()` (`json.loads` of the bytes),
in `get_request_handler` (fastapi/routing.py), and fails in one of two ways:
- a `json.JSONDecodeError` becomes a `RequestValidationError` whose one error has type
  `json_invalid`, `loc` ("body", <character offset>), msg "JSON decode error" and the parser's
  message in `ctx["error"]`; the document is the exception's `body`;
- any other exception becomes `HTTPException(400, "There was an error parsing the body")`
  raised from it: `json.loads` raises `UnicodeDecodeError` for bytes that are not text in the
  encoding it detects (UTF-8, or UTF-16/32 from the first bytes) and `RecursionError` for
  nesting deeper than the interpreter's stack. (Starlette 1.10.0's form parser decodes
  leniently and wraps its errors in its own HTTPException, so neither comes from a form.)
Both become the documented 422 with field `body`.
"""

from __future__ import annotations

import json

from starlette.exceptions import HTTPException

FIELD = "body"


def is_decode_error(err: dict) -> bool:
    """FastAPI's error for the body as a whole (pydantic's own `json_invalid`, for a `Json` field,
    carries the field's name in `loc` instead of an offset)."""
    loc = tuple(err.get("loc", ()))
    return err.get("type") == "json_invalid" and len(loc) == 2 and loc[0] == "body" and isinstance(loc[1], int)


def decode_error_reason(err: dict, document: str) -> str:
    """'not valid JSON: Expecting value at line 1 column 1' from FastAPI's `json_invalid` error."""
    problem = (err.get("ctx") or {}).get("error", "malformed")
    where = json.JSONDecodeError(problem, document, err["loc"][1])  # the stdlib's own line and column arithmetic
    return f"not valid JSON: {problem} at line {where.lineno} column {where.colno}"


def unreadable_reason(exc: HTTPException) -> str | None:
    """The reason, when FastAPI's 400 means the body could not be decoded as JSON text; else None."""
    cause = exc.__cause__
    if isinstance(cause, UnicodeDecodeError):
        byte = cause.object[cause.start]
        return f"not valid JSON: byte {byte:#04x} at position {cause.start} is not {cause.encoding.upper()} ({cause.reason})"
    if isinstance(cause, RecursionError):
        return "not valid JSON: it is nested too deeply"
    return None
