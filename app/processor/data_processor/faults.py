"""Test-only fault points, harmless in production.

With `FAULT_PAUSE_AT=<step>[,<step>...]` in its environment, a worker reaching one of
those steps of a job logs `fault-point <step> job=<id>` and blocks there for good, so a
test can wait for that line and SIGKILL the worker at a known moment. Without the
variable (production) `fault_point` does nothing.
"""

from __future__ import annotations

import logging
import os
import threading

log = logging.getLogger("data_processor.faults")

#: The steps of a training job, in order.
STEPS = ("claimed", "fitting", "logged", "registered", "tagged", "promoted", "finishing")


def fault_point(step: str, job_id: str) -> None:
    wanted = os.environ.get("FAULT_PAUSE_AT", "")
    if step in wanted.split(","):
        log.warning("fault-point %s job=%s", step, job_id, extra={"job_id": job_id})
        threading.Event().wait()  # until the test kills this process
