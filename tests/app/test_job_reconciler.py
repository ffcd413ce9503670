"""The API's job reconciler publishes again the jobs whose state and queue disagree (issue #27)."""

from __future__ import annotations

import os

import httpx
import psycopg
import pytest

from pipeline_common.config import AppSettings
from pipeline_common.db import new_id

from .flow import scrape, upload, wait_job
from .services import S3_ENV


def insert_job(stack, status: str, age_seconds: int, **columns) -> str:
    """A job row as a lost message leaves it: no message in any queue."""
    job_id = new_id()
    values = {"id": job_id, "kind": "prediction", "status": status, "params": '{"records": [{"age": 1}]}', "attempts": 0, **columns}
    names = ", ".join(values)
    marks = ", ".join(["%s"] * len(values))
    with psycopg.connect(f"{stack.pg}/pipeline") as conn:
        conn.execute(
            f"INSERT INTO jobs ({names}, created_at) VALUES ({marks}, now() - make_interval(secs => %s))",
            [*values.values(), age_seconds],
        )
    return job_id


@pytest.fixture
def reconciler(stack, api_url, monkeypatch):
    """A reconciler in this process on a queue no worker reads, with a 60 s grace."""
    from pipeline_api.dependencies import Services
    from pipeline_api.reconciler import Reconciler

    for k, v in S3_ENV.items():
        monkeypatch.setenv(k, v)
    prefix = "reconcile-" + os.urandom(3).hex()
    settings = AppSettings(
        database_url=f"{stack.pg}/pipeline", amqp_url=stack.amqp, mlflow_tracking_uri=stack.mlflow, s3_endpoint_url=stack.s3,
        queue_prefix=prefix, api_token="unused", job_reconcile_grace_seconds=60,
    )  # fmt: skip
    services = Services(settings)
    from pipeline_common.queue import ensure_topology

    ensure_topology(services.celery)
    yield Reconciler(services), prefix
    with psycopg.connect(f"{stack.pg}/pipeline") as conn:  # the session's other tests see only their own jobs
        conn.execute("DELETE FROM jobs WHERE status IN ('queued', 'running') AND params::text = %s", ('{"records": [{"age": 1}]}',))


def test_a_queued_job_without_a_message_is_published_once_its_grace_has_passed(stack, reconciler):
    rec, prefix = reconciler
    fresh = insert_job(stack, "queued", age_seconds=5)
    lost = insert_job(stack, "queued", age_seconds=300)
    healed = rec.run_once()
    assert lost in healed["queued"] and fresh not in healed["queued"]
    assert stack.queue_depths(prefix)["jobs"] == len(healed["queued"]) + len(healed["running"])  # the session's other jobs too


def test_a_job_is_published_again_at_most_once_per_grace_period(stack, reconciler):
    rec, _ = reconciler
    lost = insert_job(stack, "queued", age_seconds=300)
    assert lost in rec.run_once()["queued"]
    assert lost not in rec.run_once()["queued"]


def test_queued_jobs_are_left_alone_while_the_queue_holds_ready_messages(stack, reconciler):
    rec, prefix = reconciler
    insert_job(stack, "queued", age_seconds=300)
    rec.services.publish("pipeline.predict", new_id())  # a backlog: the workers are busy, not missing a message
    assert rec.run_once()["queued"] == []


def test_a_running_job_whose_lease_lapsed_long_ago_is_requeued_but_a_recent_lapse_is_left(stack, reconciler):
    rec, _ = reconciler
    long_ago = insert_job(stack, "running", 600, attempts=1, lease_owner="dead-worker", lease_expires_at="-infinity")
    recent = insert_job(stack, "running", 600, attempts=1, lease_owner="slow-worker", lease_expires_at="now")
    healed = rec.run_once()["running"]
    assert long_ago in healed and recent not in healed
    with psycopg.connect(f"{stack.pg}/pipeline") as conn:
        rows = {r[0]: r[1:] for r in conn.execute("SELECT id, status, attempts, lease_owner FROM jobs WHERE id = ANY(%s)", ([long_ago, recent],))}
    assert rows[long_ago] == ("queued", 1, None) and rows[recent] == ("running", 1, "slow-worker")


def test_a_pass_is_skipped_while_another_replica_holds_the_reconciliation_lock(stack, reconciler):
    from pipeline_api.reconciler import LOCK_KEY

    rec, _ = reconciler
    lost = insert_job(stack, "queued", age_seconds=300)
    with psycopg.connect(f"{stack.pg}/pipeline") as other_replica, other_replica.transaction():
        other_replica.execute("SELECT pg_advisory_xact_lock(%s)", (LOCK_KEY,))
        assert rec.run_once() == {"running": [], "queued": []}
    assert lost in rec.run_once()["queued"]


def test_a_job_whose_message_was_lost_runs_to_the_end_and_the_api_counts_and_logs_the_heal(stack, csv_bytes):
    prefix = "healed-" + os.urandom(3).hex()
    api = stack.start_api("reconciling-api", QUEUE_PREFIX=prefix, JOB_RECONCILE_SECONDS="0.5", JOB_RECONCILE_GRACE_SECONDS="2")
    stack.start_worker("reconciled-worker", QUEUE_PREFIX=prefix)
    with httpx.Client(base_url=api, headers={"Authorization": f"Bearer {stack.api_token}"}, timeout=60) as client:
        ds = upload(client, csv_bytes, "healed")
        params = f'{{"dataset_id": "{ds["id"]}", "target": "income", "model_name": "healed-model"}}'
        queued = insert_job(stack, "queued", 0, kind="training", params=params)
        lapsed = insert_job(stack, "running", 0, kind="training", params=params.replace("healed-model", "healed-model-2"),
                            attempts=1, lease_owner="dead-worker", lease_expires_at="-infinity")  # fmt: skip
        jobs = {job_id: wait_job(client, job_id, timeout=300) for job_id in (queued, lapsed)}
        assert {j["status"] for j in jobs.values()} == {"succeeded"}, [j["error"] for j in jobs.values()]
        metrics = scrape(f"{api}/metrics")
    assert metrics['pipeline_jobs_healed_total{state="queued"}'] >= 1 and metrics['pipeline_jobs_healed_total{state="running"}'] >= 1
    log = stack.log("reconciling-api")
    assert queued in log and lapsed in log and "healed job" in log
    with psycopg.connect(f"{stack.pg}/pipeline") as conn:
        assert conn.execute("SELECT attempts FROM jobs WHERE id = %s", (lapsed,)).fetchone()[0] == 2  # the lost attempt counts
