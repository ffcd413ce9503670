"""Celery tasks: one per job kind, both thin wrappers around `Worker.run`."""

from __future__ import annotations

import logging
import os
import threading
import time
from pathlib import Path

from celery.exceptions import Reject
from celery.signals import worker_ready
from prometheus_client import Counter

from pipeline_common.config import get_settings
from pipeline_common.queue import PREDICT_TASK, TRAIN_TASK, ensure_topology, make_celery
from pipeline_common.unavailable import dependency_of

from .errors import LeaseHeld
from .jobs import Worker

log = logging.getLogger("data_processor.worker")
HEARTBEAT = Path(os.environ.get("HEARTBEAT_FILE", "/tmp/processor-heartbeat"))

RETRIES = Counter("pipeline_job_retries_total", "Job attempts put back because a dependency was unavailable", ["dependency"])
RETRY_BACKOFF_CAP_SECONDS = 30  # below the reconciler's grace (JOB_RECONCILE_GRACE_SECONDS), so it never races a retry

settings = get_settings()
celery = make_celery(settings.amqp_url, settings.queue_prefix)
_worker: Worker | None = None


def worker() -> Worker:
    global _worker
    if _worker is None:
        _worker = Worker(settings)
    return _worker


def _execute(task, job_id) -> str:
    """Every way out either finishes the job, retries the message later or dead-letters it with a
    reason; none acknowledges a message whose job is unfinished (issue #27)."""
    if not isinstance(job_id, str) or not job_id.isalnum() or len(job_id) > 32:
        log.error("poison message: job id %r is not valid; dead-lettering", job_id)
        raise Reject(f"invalid job id {job_id!r}", requeue=False)
    w = worker()
    try:
        return w.run(job_id)
    except LeaseHeld as exc:  # another worker is on it; look again once its lease may have run out
        log.info("%s; retrying later", exc, extra={"job_id": job_id})
        raise task.retry(exc=exc, countdown=max(1.0, exc.seconds_left + 0.5))
    except LookupError as exc:
        log.error("poison message: %s; dead-lettering", exc, extra={"job_id": job_id})
        raise Reject(str(exc), requeue=False)
    except Exception as exc:
        failure = exc
    try:
        if dependency_of(failure) is None:
            _give_up_if_exhausted(w, job_id, failure)
    except Reject:
        raise
    except Exception as exc:  # recording the failure failed too: the same outage, most likely
        if dependency_of(exc) is None:
            raise  # a bug: Celery rejects the message into the dead-letter queue (task_acks_on_failure=False)
        failure = exc
    return _retry_later(task, w, job_id, failure)


def _give_up_if_exhausted(w: Worker, job_id: str, exc: Exception) -> None:
    """An unexpected error outside the job's own handling: retried up to MAX_JOB_ATTEMPTS."""
    if w.attempts(job_id) >= settings.max_job_attempts:
        w.give_up(job_id, f"gave up after {settings.max_job_attempts} attempts: {exc}")
        log.exception("job failed repeatedly; dead-lettering", extra={"job_id": job_id})
        raise Reject(str(exc), requeue=False)
    log.warning("job attempt failed, retrying: %s", exc, extra={"job_id": job_id})


def _retry_later(task, w: Worker, job_id: str, exc: Exception):
    """Back off (1, 2, 4 ... 30 s) and run the job again; an outage does not use up its attempts.

    `task.retry` publishes the retry before the message is acknowledged. If that publish fails,
    Celery rejects the message (celery 5.7.0 `Task.retry`): with the broker down the reject does
    not reach it either, and RabbitMQ delivers the unacknowledged message again; otherwise it is
    dead-lettered and the API's reconciler publishes the queued job again.
    """
    dependency = dependency_of(exc)
    countdown = min(RETRY_BACKOFF_CAP_SECONDS, 2 ** min(task.request.retries, 5))
    if dependency is not None:
        RETRIES.labels(dependency=dependency).inc()
        log.warning("the %s is unavailable; retrying the job in %d s: %s", dependency, countdown, exc, extra={"job_id": job_id})
        try:
            w.release(job_id)
        except Exception as release_error:  # the lease then runs out; the job's next claim counts it
            log.info("could not release the job (%s); its lease will run out", type(release_error).__name__, extra={"job_id": job_id})
    raise task.retry(exc=exc, countdown=countdown)


# max_retries=None on the task itself: Task.retry(max_retries=None) falls back to the task's
# attribute, 3 by default (celery 5.7.0 celery/app/task.py), and a fourth retry then raised.
@celery.task(name=TRAIN_TASK, bind=True, max_retries=None)
def train(self, job_id):
    return _execute(self, job_id)


@celery.task(name=PREDICT_TASK, bind=True, max_retries=None)
def predict(self, job_id):
    return _execute(self, job_id)


def _beat() -> None:
    while True:
        HEARTBEAT.touch()
        time.sleep(10)


@worker_ready.connect
def _start_heartbeat(**_):
    ensure_topology(celery)
    threading.Thread(target=_beat, daemon=True, name="heartbeat").start()
