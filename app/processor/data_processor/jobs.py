"""Job execution: state transitions in PostgreSQL around the training and prediction work.

A job's outcome is committed before its message is acknowledged (Celery
acks_late), so a worker killed mid-job leaves the message unacknowledged and
another worker runs the job again; training reuses a version already
registered for the job, so a retried job still yields exactly one version.
"""

from __future__ import annotations

import logging
import time

import pandas as pd
from opentelemetry import trace
from prometheus_client import Counter, Histogram

from pipeline_common.config import AppSettings
from pipeline_common.db import Dataset, Feedback, Job, session_factory, utcnow
from pipeline_common.storage import ObjectStore
from pipeline_common.tabular import DataError, read_csv
from pipeline_common.telemetry import context_from

from . import modeling, scoring
from .registry import ModelCache, champion_version, log_and_register

log = logging.getLogger("data_processor.jobs")
tracer = trace.get_tracer("data_processor")

JOBS = Counter("pipeline_jobs_total", "Finished jobs", ["kind", "status"])
DURATION = Histogram(
    "pipeline_job_duration_seconds", "Job run time", ["kind"], buckets=(0.1, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 900)
)


class PermanentError(Exception):
    """The job cannot succeed by retrying (bad data, unknown model): fail it at once."""


class Worker:
    def __init__(self, settings: AppSettings):
        self.settings = settings
        self.sessions = session_factory(settings.database_url)
        self.store = ObjectStore(settings.s3_endpoint_url, settings.s3_bucket)
        self.models = ModelCache()

    # -- lifecycle -----------------------------------------------------------------
    def start(self, job_id: str) -> Job | None:
        """Mark the job running; None when it is already finished (a redelivered message)."""
        with self.sessions.begin() as s:
            job = s.get(Job, job_id, with_for_update=True)
            if job is None:
                raise LookupError(f"job {job_id} does not exist")
            if job.status in ("succeeded", "failed"):
                return None
            job.status = "running"
            job.attempts += 1
            job.started_at = job.started_at or utcnow()
            job.error = None
            s.flush()
            s.expunge(job)
            return job

    def finish(self, job_id: str, status: str, result: dict | None = None, error: str | None = None) -> None:
        with tracer.start_as_current_span("postgres.finish_job"), self.sessions.begin() as s:
            job = s.get(Job, job_id, with_for_update=True)
            job.status = status
            job.result = result
            job.error = error
            job.finished_at = utcnow()
        JOBS.labels(kind=job.kind, status=status).inc()

    def run(self, job_id: str) -> str:
        """Run one job. Returns the final status; raises for errors worth a retry."""
        job = self.start(job_id)
        if job is None:
            log.info("job already finished, acknowledging redelivery", extra={"job_id": job_id})
            return "skipped"
        with tracer.start_as_current_span(f"job.{job.kind}", context=context_from(job.traceparent)) as span:
            span.set_attribute("job.id", job.id)
            log.info("job started", extra={"job_id": job.id, "kind": job.kind})
            started = time.perf_counter()
            try:
                handler = self.train if job.kind == "training" else self.predict
                result = handler(job)
            except (PermanentError, DataError, LookupError) as exc:
                self.finish(job.id, "failed", error=str(exc))
                log.warning("job failed: %s", exc, extra={"job_id": job.id, "status": "failed"})
                return "failed"
            finally:
                DURATION.labels(kind=job.kind).observe(time.perf_counter() - started)
            self.finish(job.id, "succeeded", result=result)
            log.info("job succeeded", extra={"job_id": job.id, "status": "succeeded"})
            return "succeeded"

    def attempts(self, job_id: str) -> int:
        with self.sessions() as s:
            job = s.get(Job, job_id)
            return job.attempts if job else 0

    # -- work ----------------------------------------------------------------------
    def load_dataset(self, dataset_id: str) -> pd.DataFrame:
        with tracer.start_as_current_span("postgres.select_dataset"), self.sessions() as s:
            ds = s.get(Dataset, dataset_id)
        if ds is None:
            raise PermanentError(f"dataset {dataset_id} does not exist")
        with tracer.start_as_current_span("s3.get_object") as span:
            span.set_attribute("s3.key", ds.object_key)
            data = self.store.get(ds.object_key)
        return read_csv(data)

    def feedback_frame(self, model_name: str, target: str, columns: list[str]) -> pd.DataFrame:
        with tracer.start_as_current_span("postgres.select_feedback"), self.sessions() as s:
            rows = s.query(Feedback).filter(Feedback.model_name == model_name).all()
        records = [{**{c: r.record.get(c) for c in columns if c != target}, target: r.label} for r in rows]
        return pd.DataFrame(records, columns=columns)

    def train(self, job: Job) -> dict:
        p = job.params
        name = p.get("model_name") or self.settings.default_model_name
        df = self.load_dataset(p["dataset_id"])
        if p.get("include_feedback"):
            extra = self.feedback_frame(name, p["target"], list(df.columns))
            df = pd.concat([df, extra.astype(df.dtypes.to_dict(), errors="ignore")], ignore_index=True)
        X, y = modeling.prepare(df, p["target"])
        split = modeling.split(X, y)
        with tracer.start_as_current_span("train.fit"):
            model, best = modeling.fit(split, optimize=bool(p.get("optimize")))
        metrics = modeling.evaluate(model, split.X_test, split.y_test)
        params = {"target": p["target"], "dataset_id": p["dataset_id"], "rows": len(df), **best}
        with tracer.start_as_current_span("mlflow.log_and_register"):
            run_id, version = log_and_register(model, split.X_train, name, job.id, params, metrics)
        promoted, champion_metrics = self.promote_if_better(name, version, metrics, split)
        return {
            "run_id": run_id,
            "model_name": name,
            "model_version": version,
            "metrics": metrics,
            "champion": promoted,
            "previous_champion_metrics": champion_metrics,
        }

    def promote_if_better(self, name: str, version: str, metrics: dict, split) -> tuple[bool, dict | None]:
        """Move `champion` only if the new version beats it on this job's held-out split."""
        from mlflow import MlflowClient

        client = MlflowClient()
        current = champion_version(client, name)
        old_metrics = None
        if current is not None and str(current.version) != version:
            try:
                _, old_model, _ = self.models.resolve(name, str(current.version))
                old_metrics = modeling.evaluate(old_model, split.X_test, split.y_test)
            except Exception as exc:  # the old champion cannot score these features: replace it
                log.warning("champion v%s cannot score this data (%s)", current.version, exc)
        elif current is not None:
            return True, metrics
        if modeling.better(metrics, old_metrics):
            client.set_registered_model_alias(name, "champion", version)
            return True, old_metrics
        return False, old_metrics

    def predict(self, job: Job) -> dict:
        return scoring.predict(self, job)
