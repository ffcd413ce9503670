"""The worker loses nothing when killed, and poison messages end in the dead-letter queue."""

import signal
import time

import kombu

from pipeline_common.queue import queue_names

from .flow import upload, wait_job
from .conftest import make_csv


def dead_letters(stack) -> list:
    """Drain the dead-letter queue, returning the task argument of each message."""
    name = queue_names(stack.prefix)["dead"]
    out = []
    with kombu.Connection(stack.amqp) as conn:
        channel = conn.default_channel
        while (msg := channel.basic_get(name, no_ack=True)) is not None:
            out.append(msg.headers.get("argsrepr") or msg.body)
    return out


def test_a_job_survives_its_worker_being_killed_and_completes_exactly_once(stack, client, worker):
    # A slow job (hyper-parameter search) on a dedicated worker that we kill mid-job.
    stack.procs.stop(worker)  # the shared worker would otherwise take the job
    victim = stack.start_worker("victim")
    ds = upload(client, make_csv(3000, seed=5), "slow")
    r = client.post("/api/v1/training-jobs", json={"dataset_id": ds["id"], "target": "income", "model_name": "killed-model", "optimize": True})
    job_id = r.json()["id"]
    wait_job(client, job_id, until=("running",))
    time.sleep(0.5)
    stack.procs.stop(victim, sig=signal.SIGKILL)
    assert client.get(f"/api/v1/jobs/{job_id}").json()["status"] == "running"

    stack.start_worker("rescuer")
    job = wait_job(client, job_id, timeout=300)
    assert job["status"] == "succeeded", job["error"]
    model = next(m for m in client.get("/api/v1/models").json() if m["name"] == "killed-model")
    assert [v["version"] for v in model["versions"]] == ["1"]


def test_a_poison_message_lands_in_the_dead_letter_queue(stack, client):
    from pipeline_common.queue import make_celery, TRAIN_TASK

    stack.start_worker("poison-worker")
    app = make_celery(stack.amqp, stack.prefix)
    app.send_task(TRAIN_TASK, args=["not-a-valid-id!"])
    app.send_task(TRAIN_TASK, args=["0123456789abcdef0123456789abcdef"])  # no such job
    deadline = time.monotonic() + 60
    seen = []
    while time.monotonic() < deadline and len(seen) < 2:
        seen += dead_letters(stack)
        time.sleep(1)
    assert len(seen) == 2
