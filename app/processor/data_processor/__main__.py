"""`python -m data_processor`: a queue worker taking one job at a time, metrics on METRICS_PORT."""

import os

from prometheus_client import start_http_server

from pipeline_common.config import bound_mlflow_client
from pipeline_common.telemetry import setup_logging, setup_tracing


def main() -> None:
    bound_mlflow_client("processor")
    setup_logging()
    setup_tracing(os.environ.get("OTEL_SERVICE_NAME", "processor"))
    start_http_server(int(os.environ.get("METRICS_PORT", "9100")))
    from .worker import celery, settings
    from pipeline_common.queue import queue_names

    celery.worker_main(
        [
            "worker",
            # One job at a time in a thread: the solo pool's consumer loop stalled up to 2 s between
            # jobs (tests/app/test_queue_pickup.py). `threads` is celery 5.7.0's
            # celery/concurrency/__init__.py ALIASES['threads'] (celery.concurrency.thread:TaskPool).
            "--pool=threads",
            "--concurrency=1",
            "--without-gossip",
            "--without-mingle",
            "--loglevel=INFO",
            "-Q",
            queue_names(settings.queue_prefix)["jobs"],
            "-n",
            f"processor-{os.getpid()}@%h",
        ]
    )


if __name__ == "__main__":
    main()
