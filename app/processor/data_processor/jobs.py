"""Job execution: state transitions in PostgreSQL around the training and prediction work.

A worker claims a job with a lease (renewed while it works); a running job whose lease
is alive is not claimed again, one whose lease ran out (its worker died) is. A job's
outcome is committed before its message is acknowledged (Celery acks_late), so a worker
killed mid-job leaves the message unacknowledged and another worker resumes the job:
each training step finds what an earlier attempt left by the job id (see registry), so
a retried job still yields exactly one run and one version. Data errors fail a job at
once; only an unavailable dependency is retried. A training job that ends failed takes
its version (and the champion alias) back out of the registry.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from datetime import timedelta

import pandas as pd
from opentelemetry import trace
from prometheus_client import Counter, Histogram
from sqlalchemy import and_, func, or_, select, true, update

from pipeline_common.config import AppSettings
from pipeline_common.db import FINAL_STATUSES, Dataset, Feedback, Job, engine_for, session_factory, utcnow
from pipeline_common.storage import ObjectStore
from pipeline_common.tabular import DataError, json_safe
from pipeline_common.telemetry import context_from
from pipeline_common.unavailable import dependency_of

from . import datasets, memory, modeling, promotion, registry, scoring
from .errors import LeaseHeld, PermanentError
from .faults import fault_point
from .registry import ModelCache, champion_version

log = logging.getLogger("data_processor.jobs")
tracer = trace.get_tracer("data_processor")

JOBS = Counter("pipeline_jobs_total", "Finished jobs", ["kind", "status"])
DURATION = Histogram(
    "pipeline_job_duration_seconds", "Job run time", ["kind"], buckets=(0.1, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 900)
)


class Worker:
    def __init__(self, settings: AppSettings):
        self.settings = settings
        self.sessions = session_factory(settings.database_url)
        self.engine = engine_for(settings.database_url)  # the sessions' engine (one pool per URL)
        self.store = ObjectStore(settings.s3_endpoint_url, settings.s3_bucket)
        self.models = ModelCache()
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.lease = timedelta(seconds=settings.job_lease_seconds)

    # -- lifecycle -----------------------------------------------------------------
    def start(self, job_id: str) -> Job | None:
        """Claim the job: None when it is already finished (a redelivered message).

        Raises LeaseHeld while another worker's lease on it is alive. One UPDATE claims the job
        and returns its row (the ORM's get-then-flush was a fifth of a one-record job's CPU).
        """
        now = utcnow()
        claimable = and_(
            Job.id == job_id,
            Job.status.not_in(FINAL_STATUSES),
            or_(
                Job.status != "running",
                Job.lease_owner.is_not_distinct_from(self.owner),
                Job.lease_expires_at.is_(None),
                Job.lease_expires_at <= now,
            ),
        )
        claim = (
            update(Job)
            .where(claimable)
            .values(
                status="running",
                attempts=Job.attempts + 1,
                lease_owner=self.owner,
                lease_expires_at=now + self.lease,
                started_at=func.coalesce(Job.started_at, now),
                error=None,
            )
            .returning(*Job.__table__.columns)
        )
        with self.engine.begin() as c:
            row = c.execute(claim).one_or_none()
            if row is not None:
                return Job(**row._mapping)
            held = c.execute(select(Job.status, Job.lease_expires_at).where(Job.id == job_id)).one_or_none()
        if held is None:
            raise LookupError(f"job {job_id} does not exist")
        if held.status in FINAL_STATUSES:
            return None
        raise LeaseHeld(job_id, (held.lease_expires_at - now).total_seconds() if held.lease_expires_at else 0.0)

    def renew(self, job_id: str) -> None:
        with self.sessions.begin() as s:
            s.execute(
                update(Job)
                .where(Job.id == job_id, Job.lease_owner == self.owner, Job.status == "running")
                .values(lease_expires_at=utcnow() + self.lease)
            )

    def _keep_lease(self, job_id: str, done: threading.Event) -> None:
        while not done.wait(self.lease.total_seconds() / 3):
            try:
                self.renew(job_id)
            except Exception as exc:  # the next renewal may succeed; the lease outlives a few misses
                log.warning("lease renewal failed: %s", exc, extra={"job_id": job_id})

    def finish(self, job_id: str, status: str, result: dict | None = None, error: str | None = None) -> bool:
        """Commit the outcome; False when the job is finished already, or when this worker no
        longer holds it (its lease was taken) and the outcome is a success."""
        ours = or_(Job.lease_owner.is_(None), Job.lease_owner == self.owner) if status == "succeeded" else true()
        record = (
            update(Job)
            .where(Job.id == job_id, Job.status.not_in(FINAL_STATUSES), ours)
            .values(status=status, result=json_safe(result), error=error, finished_at=utcnow(), lease_owner=None, lease_expires_at=None)
            .returning(Job.kind)
        )
        with tracer.start_as_current_span("postgres.finish_job"), self.engine.begin() as c:
            kind = c.execute(record).scalar_one_or_none()
        if kind is None:
            log.warning("job is no longer ours; outcome %s dropped", status, extra={"job_id": job_id})
            return False
        JOBS.labels(kind=kind, status=status).inc()
        return True

    def fail(self, job: Job, error: str) -> None:
        """Fail the job; a training job's version and champion alias are rolled back first."""
        if job.kind == "training":
            self.roll_back(job)
        self.finish(job.id, "failed", error=error)
        log.warning("job failed: %s", error, extra={"job_id": job.id, "status": "failed"})

    def roll_back(self, job: Job) -> None:
        from mlflow import MlflowClient

        name = job.params.get("model_name") or self.settings.default_model_name
        removed = registry.roll_back(MlflowClient(), name, job.id)
        if removed:
            log.warning("rolled back version(s) %s of %s", ",".join(removed), name, extra={"job_id": job.id})

    def run(self, job_id: str) -> str:
        """Run one job. Returns the final status; raises for errors worth a retry."""
        job = self.start(job_id)
        if job is None:
            log.info("job already finished, acknowledging redelivery", extra={"job_id": job_id})
            return "skipped"
        fault_point("claimed", job.id)
        if job.attempts > self.settings.max_job_attempts:
            where = f", the last time while {job.step}" if job.step else ""
            self.fail(job, f"gave up after {self.settings.max_job_attempts} attempts: the worker was lost each time{where}")
            return "failed"
        done = threading.Event()
        threading.Thread(target=self._keep_lease, args=(job.id, done), daemon=True, name="lease").start()
        try:
            return self._run(job)
        finally:
            done.set()

    def _run(self, job: Job) -> str:
        with tracer.start_as_current_span(f"job.{job.kind}", context=context_from(job.traceparent)) as span:
            span.set_attribute("job.id", job.id)
            log.info("job started", extra={"job_id": job.id, "kind": job.kind})
            started = time.perf_counter()
            try:
                handler = self.train if job.kind == "training" else self.predict
                result = handler(job)
            except (PermanentError, DataError, LookupError) as exc:
                self.fail(job, str(exc))
                return "failed"
            except Exception as exc:
                if dependency_of(exc) is not None:
                    raise  # transient: the task retries it
                log.exception("job failed on an unexpected error", extra={"job_id": job.id})
                self.fail(job, f"internal error: {type(exc).__name__}: {exc}")
                return "failed"
            finally:
                DURATION.labels(kind=job.kind).observe(time.perf_counter() - started)
            fault_point("finishing", job.id)
            self.finish(job.id, "succeeded", result=result)
            log.info("job succeeded", extra={"job_id": job.id, "status": "succeeded"})
            return "succeeded"

    def release(self, job_id: str) -> None:
        """Put a job this worker holds back to `queued` while a dependency is unavailable. The
        attempt is not counted: attempts bound lost workers and failures, not outages."""
        with self.engine.begin() as c:
            c.execute(
                update(Job)
                .where(Job.id == job_id, Job.lease_owner == self.owner, Job.status == "running")
                .values(status="queued", attempts=Job.attempts - 1, lease_owner=None, lease_expires_at=None, enqueued_at=utcnow())
            )

    def give_up(self, job_id: str, error: str) -> None:
        with self.sessions() as s:
            job = s.get(Job, job_id)
        if job is not None and job.status not in FINAL_STATUSES:
            self.fail(job, error)

    def attempts(self, job_id: str) -> int:
        with self.sessions() as s:
            job = s.get(Job, job_id)
            return job.attempts if job else 0

    # -- work ----------------------------------------------------------------------
    def enter(self, job: Job, step: str) -> None:
        """Record the step the job is in: a job whose workers keep dying says where (see `run`)."""
        with self.engine.begin() as c:
            c.execute(update(Job).where(Job.id == job.id, Job.lease_owner == self.owner).values(step=step))

    def source(self, dataset_id: str) -> datasets.Source:
        with tracer.start_as_current_span("postgres.select_dataset"), self.sessions() as s:
            ds = s.get(Dataset, dataset_id)
        if ds is None:
            raise PermanentError(f"dataset_id: dataset {dataset_id} does not exist")
        with tracer.start_as_current_span("s3.open_dataset") as span:
            span.set_attribute("s3.key", ds.object_key)
            return datasets.open_source(self.store, ds.object_key)

    def training_frame(self, dataset_id: str, target: str) -> tuple[pd.DataFrame, dict]:
        """The rows to train on, all of them or a stratified sample that fits the memory limit
        (TRAINING_OVERSIZE=sample), with {sample_rows, total_rows} when sampled."""
        source = self.source(dataset_id)
        if target not in source.columns:
            raise DataError("target", f"column '{target}' is not in the data set")
        survey = memory.survey(source, target)
        limit = memory.limit_bytes(self.settings.memory_limit_mb)
        plan = memory.plan(source.num_rows, survey.columns, limit, memory.rss_bytes())
        log.info(
            "training plan: %d of %d rows, about %d bytes a row, %d MiB of a %d MiB limit free",
            plan.rows, plan.total_rows, plan.bytes_per_row, plan.budget // memory.MiB, limit // memory.MiB,
        )
        rows, sampling = None, {}
        if plan.sampled:
            need = source.num_rows * survey.columns.bytes_per_row(source.num_rows)
            size = (
                f"the data set has {source.num_rows:,} rows ({source.stored_bytes / memory.MiB:,.0f} MiB stored) and training "
                f"on all of them needs about {need / memory.MiB:,.0f} MiB; this worker's memory limit is {limit // memory.MiB:,} MiB"
            )
            if self.settings.training_oversize == "refuse":
                raise PermanentError(f"dataset_id: {size} (TRAINING_OVERSIZE=refuse: no sampling)")
            if plan.rows < memory.MIN_SAMPLE_ROWS:
                raise PermanentError(f"dataset_id: {size}, and a sample that fits would have {plan.rows} rows, fewer than {memory.MIN_SAMPLE_ROWS}")
            labels, _ = pd.factorize(survey.target.to_pandas())
            rows = memory.stratified_rows(labels, plan.rows, modeling.RANDOM_STATE)
            sampling = {"sample_rows": len(rows), "total_rows": source.num_rows}
            log.warning("training on a stratified sample of %d of %d rows (memory limit %d MiB)", len(rows), source.num_rows, limit // memory.MiB)
        del survey
        with tracer.start_as_current_span("s3.read_dataset"):
            return datasets.read_rows(source, source.columns, rows), sampling

    def feedback_frame(self, model_name: str, target: str, columns: list[str]) -> pd.DataFrame:
        with tracer.start_as_current_span("postgres.select_feedback"), self.sessions() as s:
            rows = s.query(Feedback).filter(Feedback.model_name == model_name).all()
        records = [{**{c: r.record.get(c) for c in columns if c != target}, target: r.label} for r in rows]
        return pd.DataFrame(records, columns=columns)

    def train(self, job: Job) -> dict:
        from mlflow import MlflowClient

        p = job.params
        name = p.get("model_name") or self.settings.default_model_name
        self.enter(job, "loading")
        df, sampling = self.training_frame(p["dataset_id"], p["target"])
        if p.get("include_feedback"):
            extra = self.feedback_frame(name, p["target"], list(df.columns))
            df = pd.concat([df, extra.astype(df.dtypes.to_dict(), errors="ignore")], ignore_index=True)
            sampling["feedback_rows"] = len(extra)  # logged with the run: the result says how much feedback it used
        rows = len(df)
        X, y = modeling.prepare(df, p["target"])
        del df  # the frame's cells are copied into X: only one copy is kept through the fit
        client = MlflowClient()
        contract = registry.training_contract(client, name, p["target"], X, y)  # DataError: another model's data
        split = modeling.split(X, y, p["target"])
        del X, y
        run = registry.job_run(client, name, job.id)
        with tracer.start_as_current_span("mlflow.log_and_register"):
            if registry.MODEL_URI_TAG not in run.data.tags:  # not logged by an earlier attempt
                self.enter(job, "fitting")
                fault_point("fitting", job.id)
                with tracer.start_as_current_span("train.fit"):
                    model, best = modeling.fit(split, optimize=bool(p.get("optimize")))
                metrics = modeling.evaluate(model, split.X_test, split.y_test)
                with tracer.start_as_current_span("train.diagnostics"):
                    diagnostics = modeling.diagnostics(model, split.X_test, split.y_test)
                params = {"target": p["target"], "dataset_id": p["dataset_id"], "rows": rows, **sampling, **best}
                self.enter(job, "logging")
                registry.log_model(run, model, split.X_train, params, metrics, diagnostics)
                run = client.get_run(run.info.run_id)
                fault_point("logged", job.id)
            # Read back from the run on every attempt: a retry that did not fit reports the same.
            metrics = registry.logged_metrics(run)
            diagnostics = registry.logged_diagnostics(client, run)
            sampling = {k: int(run.data.params[k]) for k in ("sample_rows", "total_rows", "feedback_rows") if k in run.data.params}
            self.enter(job, "registering")
            version = registry.ensure_version(client, name, run, job.id, contract)
            fault_point("registered", job.id)
            registry.tag_run(client, run.info.run_id, version)
            fault_point("tagged", job.id)
        self.enter(job, "promoting")
        promoted, champion_metrics, said = self.promote_if_better(client, name, version, run.info.run_id, metrics, split)
        fault_point("promoted", job.id)
        registry.end_run(client, run.info.run_id)
        return {
            "run_id": run.info.run_id,
            "model_name": name,
            "model_version": version,
            "metrics": metrics,
            "diagnostics": diagnostics,
            "champion": promoted,
            "previous_champion_metrics": champion_metrics,
            "promotion": said,
            **sampling,
        }

    def promote_if_better(self, client, name: str, version: str, run_id: str, metrics: dict, split) -> tuple[bool, dict | None, dict]:
        """Move `champion` only if the new version beats it on this job's held-out split by the stated
        rule (promotion.Rule); returns (promoted, the champion's metrics, {rule, verdict}).

        Both are scored on the same rows, and the contract gives them the same inputs; a champion
        that still cannot score them is kept (nothing was compared). The decision is recorded on
        the run before the alias moves; a retry replays it.
        """
        import json

        rule = promotion.Rule.of(self.settings)
        tags = client.get_run(run_id).data.tags
        if registry.PROMOTION_TAG in tags:
            promote = tags[registry.PROMOTION_TAG] == "champion"
            if promote:
                client.set_registered_model_alias(name, registry.CHAMPION, version)
            said = {"rule": tags.get(registry.RULE_TAG, rule.text()), "verdict": tags.get(registry.VERDICT_TAG, "")}
            return promote, json.loads(tags.get(registry.PREVIOUS_METRICS_TAG) or "null"), said
        current = champion_version(client, name)
        if current is not None and str(current.version) == version:
            return True, metrics, {"rule": rule.text(), "verdict": "promoted: this version is the champion already"}
        old_metrics = None
        if current is None:
            decision = rule.first()
        else:
            try:
                _, old_model, _ = self.models.resolve(name, str(current.version))
                old_metrics = modeling.evaluate(old_model, split.X_test, split.y_test)
                decision = rule.decide(metrics, old_metrics, str(current.version))
            except Exception as exc:
                if dependency_of(exc) is not None:
                    raise
                log.warning("champion v%s cannot score this data (%s); it stays", current.version, exc)
                decision = rule.unscorable(str(current.version), f"{type(exc).__name__}: {exc}")
        previous = str(current.version) if current else None
        registry.record_promotion(client, run_id, decision.promote, previous, old_metrics, rule.text(), decision.verdict)
        if decision.promote:
            client.set_registered_model_alias(name, registry.CHAMPION, version)
        return decision.promote, old_metrics, {"rule": rule.text(), "verdict": decision.verdict}

    def predict(self, job: Job) -> dict:
        return scoring.predict(self, job)
