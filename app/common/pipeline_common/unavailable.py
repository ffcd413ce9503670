"""Which exceptions mean "a dependency is unavailable" (worth a retry / a 503), and which one.

Everything else is the caller's problem (bad data: fail at once, 422) or a bug. The API
maps these to 503 with Retry-After; the worker retries only these.
"""

from __future__ import annotations


class Unavailable(Exception):
    """A dependency could not be reached or answered that it cannot serve right now."""

    def __init__(self, dependency: str, cause: BaseException | None = None):
        reason = f" ({type(cause).__name__})" if cause is not None else ""
        super().__init__(f"the {dependency} is unavailable{reason}; try again later")
        self.dependency = dependency


# MLflow error codes that say "not now" rather than "no such thing" (mlflow/protos/databricks.proto).
_MLFLOW_TRANSIENT = {"INTERNAL_ERROR", "TEMPORARILY_UNAVAILABLE", "REQUEST_LIMIT_EXCEEDED", "DEADLINE_EXCEEDED"}


def dependency_of(exc: BaseException) -> str | None:
    """The name of the unavailable dependency `exc` reports, or None when it is not such an error."""
    if isinstance(exc, Unavailable):
        return exc.dependency
    module = type(exc).__module__ or ""
    if module.startswith("sqlalchemy") or module.startswith("psycopg"):
        from sqlalchemy.exc import DBAPIError, OperationalError, TimeoutError as PoolTimeout

        if isinstance(exc, (OperationalError, PoolTimeout)) or (isinstance(exc, DBAPIError) and exc.connection_invalidated):
            return "database"
        try:
            import psycopg

            if isinstance(exc, psycopg.OperationalError):
                return "database"
        except ImportError:  # pragma: no cover
            pass
        return None
    if module.startswith("botocore") or module.startswith("urllib3"):
        from botocore.exceptions import ClientError, ConnectionError as BotoConnectionError, HTTPClientError

        if isinstance(exc, (BotoConnectionError, HTTPClientError)):
            return "object store"
        if isinstance(exc, ClientError):
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
            return "object store" if status >= 500 or status == 429 else None
        return None
    if module.startswith("mlflow"):
        code = getattr(exc, "error_code", "")
        message = str(exc)
        if code in _MLFLOW_TRANSIENT or "API request to" in message or "Max retries exceeded" in message:
            return "model registry"
        return None
    if module.startswith(("kombu", "amqp", "celery")):
        return "job queue"
    if module.startswith("requests") or module.startswith("httpx"):
        return "model registry"
    if isinstance(exc, (ConnectionError, TimeoutError)):
        return "network"
    return None
