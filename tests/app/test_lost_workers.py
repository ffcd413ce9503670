"""A worker killed while it works does not loop: the job's attempts are counted across workers, and
past MAX_JOB_ATTEMPTS (2 in the test stack) it fails naming the step its worker was lost in (issue #23 item 6).

Workers started with FAULT_PAUSE_AT=fitting log `fault-point fitting job=<id>` and block there; the
test waits for that line and SIGKILLs the worker, as the kernel's OOM killer would.
"""

import os
import signal

import httpx

from .flow import upload, wait_job


def test_a_job_whose_workers_are_killed_past_the_attempt_limit_fails_naming_the_step_and_leaves_no_message(stack, csv_bytes):
    queue = "lost-" + os.urandom(3).hex()
    api = stack.start_api("lost-api", QUEUE_PREFIX=queue)
    env = {"QUEUE_PREFIX": queue, "JOB_LEASE_SECONDS": "5"}
    # Each next worker is running before the one holding the job is killed, so the message goes
    # straight back to it: the job never waits for a worker to start (another test's API, sharing
    # this database, would publish a job stranded past its reconcile grace to its own queue).
    victims = [stack.start_worker("lost-victim-1", FAULT_PAUSE_AT="fitting", **env)]
    with httpx.Client(base_url=api, headers={"Authorization": f"Bearer {stack.api_token}"}, timeout=60) as client:
        ds = upload(client, csv_bytes, "lost")
        r = client.post("/api/v1/training-jobs", json={"dataset_id": ds["id"], "target": "income", "model_name": "lost-model"})
        job_id = r.json()["id"]
        stack.wait_log("lost-victim-1", f"fault-point fitting job={job_id}", victims[0])
        assert client.get(f"/api/v1/jobs/{job_id}").json()["step"] == "fitting"  # what the UI shows while it runs
        victims.append(stack.start_worker("lost-victim-2", FAULT_PAUSE_AT="fitting", **env))
        stack.procs.stop(victims[0], sig=signal.SIGKILL)  # MAX_JOB_ATTEMPTS is 2: two workers lost
        stack.wait_log("lost-victim-2", f"fault-point fitting job={job_id}", victims[1])
        rescuer = stack.start_worker("lost-rescuer", **env)
        stack.procs.stop(victims[1], sig=signal.SIGKILL)
        job = wait_job(client, job_id, timeout=300)
        stack.wait_log("lost-rescuer", "job failed: gave up", rescuer)
        stack.procs.stop(rescuer)  # a message it still held unacknowledged would go back to the queue
    assert job["status"] == "failed"
    assert job["error"] == "gave up after 2 attempts: the worker was lost each time, the last time while fitting"
    assert stack.queue_depths(queue) == {"jobs": 0, "dead": 0}
