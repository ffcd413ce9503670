"""Exactly one version per training job, whatever moment a worker is killed at (issue #10 items 2-4).

Workers started with FAULT_PAUSE_AT=<step> log `fault-point <step> job=<id>` and block there;
the tests wait for that line, SIGKILL the worker and let a fresh worker finish the job.
"""

import os
import signal

import httpx
import psycopg
import pytest
from mlflow import MlflowClient

from pipeline_common.config import AppSettings
from pipeline_common.db import Job, new_id

from .flow import upload, wait_job
from .services import S3_ENV

STEPS = ("claimed", "fitting", "logged", "registered", "tagged", "promoted", "finishing")


@pytest.fixture
def worker_settings(stack, api_url, monkeypatch):
    for k, v in S3_ENV.items():  # this process is the worker: the S3 keys the catalog gives the processor
        monkeypatch.setenv(k, v)
    return AppSettings(database_url=f"{stack.pg}/pipeline", amqp_url=stack.amqp, mlflow_tracking_uri=stack.mlflow, s3_endpoint_url=stack.s3)


def test_a_running_job_with_a_live_lease_is_not_claimed_again_but_an_expired_one_is(stack, worker_settings):
    from data_processor.errors import LeaseHeld
    from data_processor.jobs import Worker

    first, second = Worker(worker_settings), Worker(worker_settings)
    job_id = new_id()
    with first.sessions.begin() as s:
        s.add(Job(id=job_id, kind="training", status="queued", params={}))
    assert first.start(job_id).attempts == 1
    with pytest.raises(LeaseHeld):
        second.start(job_id)
    with psycopg.connect(f"{stack.pg}/pipeline") as conn:  # the first worker died: its lease runs out
        conn.execute("UPDATE jobs SET lease_expires_at = now() - interval '1 second' WHERE id = %s", (job_id,))
    assert second.start(job_id).attempts == 2



def queued_job(worker) -> str:
    job_id = new_id()
    with worker.sessions.begin() as s:
        s.add(Job(id=job_id, kind="prediction", status="queued", params={"records": [{"age": 1}]}))
    return job_id


def expire_lease(stack, job_id: str) -> None:
    with psycopg.connect(f"{stack.pg}/pipeline") as conn:
        conn.execute("UPDATE jobs SET lease_expires_at = now() - interval '1 second' WHERE id = %s", (job_id,))


def test_a_claimed_job_carries_its_row_and_this_workers_lease(stack, worker_settings):
    from data_processor.jobs import Worker

    worker = Worker(worker_settings)
    job_id = queued_job(worker)
    job = worker.start(job_id)
    assert (job.id, job.kind, job.status, job.params, job.attempts) == (job_id, "prediction", "running", {"records": [{"age": 1}]}, 1)
    assert job.lease_owner == worker.owner and job.lease_expires_at > job.started_at


def test_a_finished_job_is_not_claimed_again(stack, worker_settings):
    from data_processor.jobs import Worker

    worker = Worker(worker_settings)
    job_id = queued_job(worker)
    worker.start(job_id)
    assert worker.finish(job_id, "succeeded", result={"rows": 1})
    assert worker.start(job_id) is None


def test_claiming_a_job_that_does_not_exist_is_a_lookup_error(stack, worker_settings):
    from data_processor.jobs import Worker

    with pytest.raises(LookupError):
        Worker(worker_settings).start(new_id())


def test_a_worker_whose_lease_was_taken_cannot_record_success(stack, worker_settings):
    from data_processor.jobs import Worker

    first, second = Worker(worker_settings), Worker(worker_settings)
    job_id = queued_job(first)
    started = first.start(job_id).started_at
    expire_lease(stack, job_id)
    assert second.start(job_id).started_at == started  # a job keeps its first start time
    assert not first.finish(job_id, "succeeded", result={"by": "first"})
    assert second.finish(job_id, "succeeded", result={"by": "second"})
    with second.sessions() as s:
        job = s.get(Job, job_id)
        assert (job.status, job.result, job.attempts, job.lease_owner, job.lease_expires_at) == ("succeeded", {"by": "second"}, 2, None, None)
        assert job.finished_at >= job.started_at


def test_a_finished_job_keeps_its_first_outcome(stack, worker_settings):
    from data_processor.jobs import Worker

    worker = Worker(worker_settings)
    job_id = queued_job(worker)
    worker.start(job_id)
    assert worker.finish(job_id, "failed", error="records[0].age: expected a number")
    assert not worker.finish(job_id, "succeeded", result={"rows": 1})
    with worker.sessions() as s:
        assert (s.get(Job, job_id).status, s.get(Job, job_id).error) == ("failed", "records[0].age: expected a number")

def kill_at(stack, name: str, step: str, queue: str, **env):
    proc = stack.start_worker(name, wait=False, QUEUE_PREFIX=queue, FAULT_PAUSE_AT=step, JOB_LEASE_SECONDS="5", **env)
    return proc


def job_versions(registry: MlflowClient, model: str) -> list:
    return registry.search_model_versions(f"name='{model}'")


def running_runs(registry: MlflowClient, model: str) -> list:
    experiment = registry.get_experiment_by_name(model)
    if experiment is None:
        return []
    return registry.search_runs([experiment.experiment_id], "attributes.status = 'RUNNING'")


def test_kill_drill_every_job_succeeds_once_with_one_version_whatever_the_kill_point(stack, csv_bytes):
    queue = "drill-" + os.urandom(3).hex()
    api = stack.start_api("drill-api", QUEUE_PREFIX=queue)
    victims = {step: kill_at(stack, f"victim-{step}", step, queue) for step in STEPS}
    for step, proc in victims.items():
        stack.wait_worker(f"victim-{step}", proc)
    with httpx.Client(base_url=api, headers={"Authorization": f"Bearer {stack.api_token}"}, timeout=60) as client:
        ds = upload(client, csv_bytes, "drill")
        jobs = {}
        for step in STEPS:
            r = client.post("/api/v1/training-jobs", json={"dataset_id": ds["id"], "target": "income", "model_name": f"drill-{step}"})
            assert r.status_code == 202, r.text
            jobs[step] = r.json()["id"]
        for step, proc in victims.items():  # each victim holds one job, blocked at its own step
            stack.wait_log(f"victim-{step}", f"fault-point {step} job=", proc)
        for proc in victims.values():
            stack.procs.stop(proc, sig=signal.SIGKILL)

        # Two fresh workers share the seven orphaned jobs: each job must still run to the end once.
        rescuers = [stack.start_worker(f"drill-rescuer-{i}", wait=False, QUEUE_PREFIX=queue, JOB_LEASE_SECONDS="5") for i in (1, 2)]
        for i, proc in enumerate(rescuers, 1):
            stack.wait_worker(f"drill-rescuer-{i}", proc)
        finished = {step: wait_job(client, job_id, timeout=600) for step, job_id in jobs.items()}
    registry = MlflowClient(stack.mlflow)
    for step, job in finished.items():
        assert job["status"] == "succeeded", (step, job["error"])
        assert [v.version for v in job_versions(registry, f"drill-{step}")] == ["1"], step
        assert job["result"]["model_version"] == "1" and job["result"]["champion"] is True, step
        assert job["result"]["diagnostics"]["confusion_matrix"]["labels"] == ["<=50K", ">50K"], step  # read back after "logged"
        assert registry.get_model_version_by_alias(f"drill-{step}", "champion").version == "1", step
        assert running_runs(registry, f"drill-{step}") == [], step


def test_a_first_training_that_gives_up_after_registering_leaves_no_model_behind(stack, csv_bytes):
    queue = "giveup-" + os.urandom(3).hex()
    api = stack.start_api("giveup-api", QUEUE_PREFIX=queue)
    victim = kill_at(stack, "giveup-victim", "promoted", queue)
    stack.wait_worker("giveup-victim", victim)
    with httpx.Client(base_url=api, headers={"Authorization": f"Bearer {stack.api_token}"}, timeout=60) as client:
        ds = upload(client, csv_bytes, "giveup")
        r = client.post("/api/v1/training-jobs", json={"dataset_id": ds["id"], "target": "income", "model_name": "giveup-model"})
        stack.wait_log("giveup-victim", "fault-point promoted job=", victim)
        stack.procs.stop(victim, sig=signal.SIGKILL)
        stack.start_worker("giveup-rescuer", QUEUE_PREFIX=queue, JOB_LEASE_SECONDS="5", MAX_JOB_ATTEMPTS="1")
        job = wait_job(client, r.json()["id"], timeout=300)
    assert job["status"] == "failed" and "attempts" in job["error"]
    registry = MlflowClient(stack.mlflow)
    assert job_versions(registry, "giveup-model") == []
    assert registry.search_registered_models("name = 'giveup-model'") == []  # no empty model (issue #26 item 5)
    assert running_runs(registry, "giveup-model") == []
