"""Test-only fault points, harmless in production.

With `FAULT_PAUSE_AT=<step>[,<step>...]` in its environment, a worker reaching one of
those steps of a job logs `fault-point <step> job=<id>` and blocks there, so a test can
wait for that line and act at a known moment: SIGKILL the worker, or stop a dependency.
It blocks for good, or, with `FAULT_RELEASE_FILE=<path>`, until that file exists (the
test creates it to let the worker go on into the stopped dependency); once it exists,
later jobs pass the step without pausing. Without FAULT_PAUSE_AT (production)
`fault_point` does nothing.
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path

log = logging.getLogger("data_processor.faults")

#: The steps of a training job, in order.
STEPS = ("claimed", "fitting", "logged", "registered", "tagged", "promoted", "finishing")


def fault_point(step: str, job_id: str) -> None:
    wanted = os.environ.get("FAULT_PAUSE_AT", "")
    if step not in wanted.split(","):
        return
    release = os.environ.get("FAULT_RELEASE_FILE")
    if release and Path(release).exists():
        return
    log.warning("fault-point %s job=%s", step, job_id, extra={"job_id": job_id})
    if not release:
        threading.Event().wait()  # until the test kills this process
        return
    while not Path(release).exists():  # the worker's side of the test's event, not the test's
        threading.Event().wait(0.05)
    log.warning("fault-point %s released job=%s", step, job_id, extra={"job_id": job_id})
