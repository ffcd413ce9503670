"""`python -m pipeline_api`: serve the API with uvicorn, trusting X-Forwarded-* from the proxy network."""

import os

import uvicorn

from pipeline_common.config import bound_mlflow_client
from pipeline_common.telemetry import setup_logging, setup_tracing


def main() -> None:
    bound_mlflow_client("api")  # a request waits seconds, not minutes, for an unreachable registry
    setup_logging()
    setup_tracing(os.environ.get("OTEL_SERVICE_NAME", "api"))
    from .main import create_app

    uvicorn.run(
        create_app(),
        host="0.0.0.0",
        port=int(os.environ.get("PORT", "8000")),
        proxy_headers=True,
        forwarded_allow_ips=os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1"),
        log_config=None,
        access_log=False,
        # Each request starts from an empty context: after a body >64 KiB uvicorn resumes reading
        # from the request's task, and asyncio leaked that task's context (its trace) into the next
        # request on the connection (python/cpython#140947, Kludex/uvicorn#2167; flag added in
        # Kludex/uvicorn#2912, uvicorn/config.py `reset_contextvars` at 0.54.0).
        reset_contextvars=True,
    )


if __name__ == "__main__":
    main()
