"""`python -m pipeline_api`: serve the API with uvicorn, trusting X-Forwarded-* from the proxy network."""

import os

import uvicorn

from pipeline_common.telemetry import setup_logging, setup_tracing


def main() -> None:
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
    )


if __name__ == "__main__":
    main()
