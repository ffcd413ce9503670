"""How a job step tells the worker what to do with a failure: fail the job, or wait for another worker."""

from __future__ import annotations


class PermanentError(Exception):
    """The job cannot succeed by retrying (bad data, unknown model): fail it at once."""


class LeaseHeld(Exception):
    """Another live worker holds the job; try again once its lease may have run out."""

    def __init__(self, job_id: str, seconds_left: float):
        super().__init__(f"job {job_id} is held by another worker for {seconds_left:.0f} s more")
        self.seconds_left = seconds_left
