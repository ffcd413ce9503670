"""`GET /jobs/{id}?wait=S`: hold the request until the job is finished, without polling lag.

One listener connection per API process runs `LISTEN job_finished` (migration 0003 notifies
on every final status) and wakes the requests waiting for that job. A waiter registers
before it reads the row, so a notification between the read and the wait is not lost; it
re-reads the row every RECHECK_SECONDS as well, so a listener that is reconnecting delays an
answer by at most that much.
"""

from __future__ import annotations

import logging
import threading
import time

import psycopg
from sqlalchemy import Engine, select

from pipeline_common.db import FINAL_STATUSES, Job

log = logging.getLogger("pipeline_api.job_wait")

CHANNEL = "job_finished"
MAX_WAIT_SECONDS = 60
RECHECK_SECONDS = 1.0


class JobWaiter:
    def __init__(self, engine: Engine):
        self.engine = engine  # reads the job's status; its URL is the listener's
        self._waiting: dict[str, set[threading.Event]] = {}
        self._lock = threading.Lock()
        self._listening = threading.Event()
        self._thread: threading.Thread | None = None

    def until_finished(self, job_id: str, timeout: float) -> None:
        """Return when the job is finished (or does not exist), or after `timeout` seconds."""
        self._start_listener()
        self._listening.wait(min(timeout, RECHECK_SECONDS))
        event = threading.Event()
        with self._lock:
            self._waiting.setdefault(job_id, set()).add(event)
        try:
            deadline = time.monotonic() + timeout
            while not self._finished(job_id):
                left = deadline - time.monotonic()
                if left <= 0:
                    return
                event.wait(min(left, RECHECK_SECONDS))
                event.clear()
        finally:
            with self._lock:
                events = self._waiting.get(job_id, set())
                events.discard(event)
                if not events:
                    self._waiting.pop(job_id, None)

    def _finished(self, job_id: str) -> bool:
        with self.engine.connect() as c:
            status = c.scalar(select(Job.status).where(Job.id == job_id))
        return status is None or status in FINAL_STATUSES

    def _start_listener(self) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._listen, daemon=True, name="job-wait-listener")
                self._thread.start()

    def _listen(self) -> None:
        url = self.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        while True:
            try:
                with psycopg.connect(url, autocommit=True) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    self._listening.set()
                    for note in conn.notifies():
                        self._wake(note.payload)
            except Exception as exc:  # reconnect; waiters re-read their rows meanwhile
                log.warning("job notification listener lost its connection (%s); reconnecting", type(exc).__name__)
            self._listening.clear()
            time.sleep(RECHECK_SECONDS)

    def _wake(self, job_id: str) -> None:
        with self._lock:
            for event in self._waiting.get(job_id, ()):
                event.set()
