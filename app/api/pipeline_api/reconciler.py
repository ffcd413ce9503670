"""The job reconciler: finds jobs whose state and queue disagree and publishes them again (issue #27).

It runs in the API, not in the workers: the API always runs (the Kubernetes target keeps at
least two replicas), while KEDA may scale the workers to zero, and a lost message leaves the
queue empty, which is when it would. One pass at a time across replicas: a pass holds a
transaction-level advisory lock, and a replica that does not get it skips that pass.

- A `queued` job that has waited longer than the grace period while the jobs queue holds no
  ready message has lost its message: it is published again.
- A `running` job whose lease ran out more than the grace period ago is held by no worker (a
  live worker renews its lease every third of it; a dead worker's redelivered message is
  claimed within a second of the expiry): it is put back to `queued` and published again. Its
  attempts stay counted, so a job whose workers keep dying still ends at MAX_JOB_ATTEMPTS.

Publishing a job twice is harmless: a claim takes a job once, a message for a job another
worker holds is retried after its lease, and one for a finished job is acknowledged and skipped.
"""

from __future__ import annotations

import logging
import threading
from datetime import timedelta

from prometheus_client import Counter
from sqlalchemy import func, select, update

from pipeline_common.db import Job, engine_for, utcnow
from pipeline_common.queue import PREDICT_TASK, TRAIN_TASK, queue_names

from .dependencies import Services

log = logging.getLogger("pipeline_api.reconciler")

HEALED = Counter("pipeline_jobs_healed_total", "Jobs the reconciler published again, by the state it found them in", ["state"])
for _state in ("running", "queued"):  # both series exist from the start (the alert's increase() needs them)
    HEALED.labels(state=_state)
#: pg_try_advisory_xact_lock key of a reconciliation pass (any constant the platform uses once).
LOCK_KEY = 271_027


class Reconciler:
    def __init__(self, services: Services):
        self.services = services
        self.settings = services.settings
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._loop, name="job-reconciler", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.stopped.set()
        self.thread.join(timeout=10)

    def _loop(self) -> None:
        while not self.stopped.wait(self.settings.job_reconcile_seconds):
            try:
                self.run_once()
            except Exception as exc:  # a dependency is down: the next pass tries again
                log.warning("job reconciliation skipped: %s: %s", type(exc).__name__, exc)

    def run_once(self) -> dict[str, list[str]]:
        """One pass: the ids published again, by the state they were found in."""
        grace = timedelta(seconds=self.settings.job_reconcile_grace_seconds)
        healed: dict[str, list[str]] = {"running": [], "queued": []}
        queue_empty = self._jobs_queue_is_empty()
        with engine_for(self.settings.database_url).begin() as c:
            if not c.execute(select(func.pg_try_advisory_xact_lock(LOCK_KEY))).scalar():
                return healed  # another replica's pass is under way
            now = utcnow()
            lost = c.execute(
                update(Job)
                .where(Job.status == "running", Job.lease_expires_at < now - grace)
                .values(status="queued", lease_owner=None, lease_expires_at=None, enqueued_at=now)
                .returning(Job.id, Job.kind)
            ).all()
            waiting = []
            if queue_empty:  # with ready messages the workers are busy, and a queued job may just be waiting
                waiting = c.execute(
                    update(Job)
                    .where(Job.status == "queued", func.coalesce(Job.enqueued_at, Job.created_at) < now - grace)
                    .values(enqueued_at=now)
                    .returning(Job.id, Job.kind)
                ).all()
            for state, rows in (("running", lost), ("queued", waiting)):
                for job_id, kind in rows:
                    self.services.publish(TRAIN_TASK if kind == "training" else PREDICT_TASK, job_id)
                    healed[state].append(job_id)
        for state, ids in healed.items():
            for job_id in ids:
                HEALED.labels(state=state).inc()
                log.warning(
                    "healed job: found %s %s, published again", state,
                    "with its lease expired and no worker holding it" if state == "running" else "with no message in the queue",
                    extra={"job_id": job_id},
                )  # fmt: skip
        return healed

    def _jobs_queue_is_empty(self) -> bool:
        name = queue_names(self.settings.queue_prefix)["jobs"]
        self.services.declare_queues()  # before the first submission, too
        with self.services.celery.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=5)
            return conn.default_channel.queue_declare(name, passive=True).message_count == 0
