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
    for k, v in S3_ENV.items():
        monkeypatch.setenv(k, v)
    return AppSettings(database_url=f"{stack.pg}/pipeline", amqp_url=stack.amqp, mlflow_tracking_uri=stack.mlflow, s3_endpoint_url=stack.s3)


def test_a_running_job_with_a_live_lease_is_not_claimed_again_but_an_expired_one_is(stack, worker_settings):
    from data_processor.jobs import LeaseHeld, Worker

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


def test_a_job_that_gives_up_after_registering_leaves_no_version_and_no_champion(stack, csv_bytes):
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
    assert registry.get_registered_model("giveup-model").aliases == {}
    assert running_runs(registry, "giveup-model") == []
