"""The stack and helpers of the dependency fault drills (test_outage_drills.py).

A stack of its own, so stopping one of its services does not disturb the session's stack. Its
object store sits behind a `Gate`: moto keeps its buckets in memory, so a stopped and restarted
moto would come back empty, where MinIO keeps its data on a volume; closing the gate cuts every
connection and refuses new ones, as a stopped server does, and reopening it is the restart.
MLflow reaches the object store through the same gate, as it reaches MinIO on a host.
"""

from __future__ import annotations

import time

import psycopg
from mlflow import MlflowClient

from .outages import Gate
from .services import MLflow, RabbitMQ, Stack, new_postgres, start_s3


class DrillStack(Stack):
    def start(self) -> "DrillStack":
        self.postgres = new_postgres(self.procs)
        self.pg = self.postgres.url
        self.rabbitmq = RabbitMQ(self.procs).start()
        self.amqp = self.rabbitmq.url
        moto = start_s3(self.procs)
        self.s3_gate = Gate(int(moto.rsplit(":", 1)[1]))
        self.s3 = f"http://127.0.0.1:{self.s3_gate.port}"
        self.mlflow_server = MLflow(self.procs, self.pg, self.s3).start()
        self.mlflow = self.mlflow_server.url
        return self

    def jobs(self, ids: list[str]) -> dict[str, tuple[str, int]]:
        """id -> (status, attempts), read from PostgreSQL."""
        with psycopg.connect(f"{self.pg}/pipeline") as conn:
            rows = conn.execute("SELECT id, status, attempts FROM jobs WHERE id = ANY(%s)", (ids,)).fetchall()
        return {job_id: (status, attempts) for job_id, status, attempts in rows}

    def unfinished_jobs(self) -> list[tuple[str, str]]:
        with psycopg.connect(f"{self.pg}/pipeline") as conn:
            return conn.execute("SELECT id, status FROM jobs WHERE status NOT IN ('succeeded', 'failed')").fetchall()


def wait_jobs(client, ids, timeout: float = 300) -> dict[str, dict]:
    """Each job as the API reports it once it is final, or as it last was when the shared
    deadline passed (so a stuck job shows in the assertion instead of a timeout per job)."""
    deadline = time.monotonic() + timeout
    found: dict[str, dict] = {}
    for job_id in ids:
        while True:
            left = deadline - time.monotonic()
            r = client.get(f"/api/v1/jobs/{job_id}", params={"wait": max(0, min(20, left))})
            if r.status_code == 200:
                found[job_id] = r.json()
                if found[job_id]["status"] in ("succeeded", "failed") or left <= 0:
                    break
            elif left <= 0:
                found[job_id] = {"status": f"HTTP {r.status_code}", "error": r.text}
                break
    return found


def runs_and_versions(mlflow_url: str, model: str, job_id: str) -> tuple[int, int]:
    """How many MLflow runs and registered versions carry this training job's id."""
    registry = MlflowClient(mlflow_url)
    experiment = registry.get_experiment_by_name(model)
    runs = registry.search_runs([experiment.experiment_id], f"tags.job_id = '{job_id}'") if experiment else []
    versions = registry.search_model_versions(f"name = '{model}' and tags.job_id = '{job_id}'")
    return len(runs), len(versions)
