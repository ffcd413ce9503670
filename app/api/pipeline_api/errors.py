"""The one place that turns exceptions into responses, and the `ErrorOut` body they all share.

DataError, request-validation errors and a JSON body that cannot be read (`json_body`) -> 422
naming the field; ApiError -> its status; 405 -> `allowed_methods`;
an unavailable dependency (database, queue, object store, model registry) -> 503 with
Retry-After; anything else -> 500 with the same body (and a logged traceback).
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from pipeline_common.tabular import DataError
from pipeline_common.unavailable import Unavailable, dependency_of

from . import json_body
from .schemas import PATTERN_WORDS

log = logging.getLogger("pipeline_api.errors")


class ErrorItem(BaseModel):
    field: str
    reason: str


class ErrorOut(BaseModel):
    """Every 4xx/5xx body: one readable sentence, the first offending field, and every problem found."""

    detail: str
    field: str | None = None
    errors: list[ErrorItem] = []


class ApiError(Exception):
    """An answer other than 2xx that our own code decides on (404, 413, 422 ...)."""

    def __init__(self, status: int, field: str | None, reason: str, headers: dict | None = None):
        super().__init__(f"{field}: {reason}" if field else reason)
        self.status, self.field, self.reason, self.headers = status, field, reason, headers


def not_found(field: str, what: str) -> ApiError:
    return ApiError(404, field, f"{what} does not exist")


def doc(description: str) -> dict:
    return {"model": ErrorOut, "description": description}


#: OpenAPI `responses=` for the API's operations (every one needs the bearer token).
AUTH = {401: doc("Missing or invalid bearer token")}
INVALID = {422: doc("Invalid request: `field` names the first problem, `errors` lists all")}
UNAVAILABLE = {503: doc("A dependency (database, queue, object store or model registry) is unavailable; see Retry-After")}
NOT_FOUND = {404: doc("No such resource")}
TOO_LARGE = {413: doc("The upload exceeds the size limit")}
MALFORMED = {400: doc("The body is not valid multipart/form-data")}
COMMON = {**AUTH, **INVALID, **UNAVAILABLE}


def body(detail: str, field: str | None = None, errors: list[dict] | None = None) -> dict:
    if errors is None:
        errors = [{"field": field, "reason": detail}] if field else []
    return {"detail": detail, "field": field, "errors": errors}


def field_path(loc) -> str | None:
    """Pydantic's location ("body", "records", 0, "age") in API path syntax: records[0].age."""
    parts = [p for p in loc if p not in ("body", "query", "path", "header", "cookie")]
    out = ""
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out or None


def _reason(err: dict) -> str:
    if err.get("type") == "string_pattern_mismatch":
        pattern = (err.get("ctx") or {}).get("pattern")
        return PATTERN_WORDS.get(pattern, "holds characters that are not allowed here")
    msg = err.get("msg", "is invalid")
    return msg.removeprefix("Value error, ")


def _item(err: dict, document) -> dict:
    if json_body.is_decode_error(err):
        return {"field": json_body.FIELD, "reason": json_body.decode_error_reason(err, document)}
    return {"field": field_path(err.get("loc", ())) or "body", "reason": _reason(err)}


def install(app: FastAPI, retry_after: int) -> None:
    def unavailable(dependency: str) -> JSONResponse:
        return JSONResponse(
            status_code=503,
            content=body(f"the {dependency} is unavailable; try again later"),
            headers={"Retry-After": str(retry_after)},
        )

    @app.exception_handler(DataError)
    async def data_error(_: Request, exc: DataError):
        return JSONResponse(status_code=422, content=body(str(exc), exc.field, [{"field": exc.field, "reason": exc.reason}]))

    @app.exception_handler(ApiError)
    async def api_error(_: Request, exc: ApiError):
        errors = [{"field": exc.field, "reason": exc.reason}] if exc.field else []
        return JSONResponse(status_code=exc.status, content=body(str(exc), exc.field, errors), headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, exc: RequestValidationError):
        errors = [_item(e, exc.body) for e in exc.errors()]
        first = errors[0] if errors else {"field": None, "reason": "invalid request"}
        return JSONResponse(status_code=422, content=body(f"{first['field']}: {first['reason']}", first["field"], errors))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException):
        reason = json_body.unreadable_reason(exc) if exc.status_code == 400 else None
        if reason is not None:
            field = json_body.FIELD
            return JSONResponse(status_code=422, content=body(f"{field}: {reason}", field, [{"field": field, "reason": reason}]))
        return JSONResponse(status_code=exc.status_code, content=body(str(exc.detail)), headers=getattr(exc, "headers", None))

    async def dependency_error(request: Request, exc: Exception):
        dependency = dependency_of(exc)
        if dependency is not None:
            log.warning("%s unavailable on %s %s: %s", dependency, request.method, request.url.path, type(exc).__name__)
            return unavailable(dependency)
        log.error("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
        return JSONResponse(status_code=500, content=body("internal error; the request was not completed"))

    # Registered per family (not for Exception): handlers for Exception run outside the routing
    # middleware, after which Starlette re-raises and uvicorn closes the keep-alive connection.
    for family in _dependency_families():
        app.add_exception_handler(family, dependency_error)
    app.add_exception_handler(Unavailable, dependency_error)


def _dependency_families() -> list[type[BaseException]]:
    from botocore.exceptions import BotoCoreError, ClientError
    from kombu.exceptions import KombuError
    from mlflow.exceptions import MlflowException
    from sqlalchemy.exc import SQLAlchemyError

    families: list[type[BaseException]] = [SQLAlchemyError, BotoCoreError, ClientError, MlflowException, KombuError, OSError]
    try:
        import psycopg

        families.append(psycopg.Error)
    except ImportError:  # pragma: no cover
        pass
    return families
