"""Celery tasks: one per job kind, both thin wrappers around `Worker.run`."""

from __future__ import annotations

import logging
import os
import threading
import time
from pathlib import Path

from celery.exceptions import Reject
from celery.signals import worker_ready

from pipeline_common.config import get_settings
from pipeline_common.queue import PREDICT_TASK, TRAIN_TASK, ensure_topology, make_celery

from .jobs import LeaseHeld, Worker

log = logging.getLogger("data_processor.worker")
HEARTBEAT = Path(os.environ.get("HEARTBEAT_FILE", "/tmp/processor-heartbeat"))

settings = get_settings()
celery = make_celery(settings.amqp_url, settings.queue_prefix)
_worker: Worker | None = None


def worker() -> Worker:
    global _worker
    if _worker is None:
        _worker = Worker(settings)
    return _worker


def _execute(task, job_id) -> str:
    if not isinstance(job_id, str) or not job_id.isalnum() or len(job_id) > 32:
        log.error("poison message: job id %r is not valid; dead-lettering", job_id)
        raise Reject(f"invalid job id {job_id!r}", requeue=False)
    w = worker()
    try:
        return w.run(job_id)
    except LeaseHeld as exc:  # another worker is on it; look again once its lease may have run out
        log.info("%s; retrying later", exc, extra={"job_id": job_id})
        raise task.retry(exc=exc, countdown=max(1.0, exc.seconds_left + 0.5), max_retries=None)
    except LookupError as exc:
        log.error("poison message: %s; dead-lettering", exc, extra={"job_id": job_id})
        raise Reject(str(exc), requeue=False)
    except Exception as exc:
        if w.attempts(job_id) >= settings.max_job_attempts:
            w.give_up(job_id, f"gave up after {settings.max_job_attempts} attempts: {exc}")
            log.exception("job failed repeatedly; dead-lettering", extra={"job_id": job_id})
            raise Reject(str(exc), requeue=False)
        log.warning("job attempt failed, retrying: %s", exc, extra={"job_id": job_id})
        raise task.retry(exc=exc, countdown=2, max_retries=None)


@celery.task(name=TRAIN_TASK, bind=True)
def train(self, job_id):
    return _execute(self, job_id)


@celery.task(name=PREDICT_TASK, bind=True)
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
