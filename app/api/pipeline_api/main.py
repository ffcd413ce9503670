"""The FastAPI application. Handlers are sync `def`s (run in a thread pool), so a slow
database or broker never blocks the event loop."""

from __future__ import annotations

import logging
import os
import secrets
import time
from contextlib import asynccontextmanager

import httpx
from fastapi import Depends, FastAPI, File, Form, HTTPException, Request, Response, UploadFile
from fastapi.responses import JSONResponse, StreamingResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from opentelemetry import trace
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest
from sqlalchemy import select, text

from pipeline_common.config import AppSettings, get_settings
from pipeline_common.db import Dataset, Feedback, Job, migrate, new_id, session_factory
from pipeline_common.queue import PREDICT_TASK, TRAIN_TASK, ensure_topology, make_celery
from pipeline_common.storage import ObjectStore
from pipeline_common.tabular import DataError, describe_columns, read_csv, records_frame
from pipeline_common.telemetry import current_traceparent

from . import models_info
from .routers import dataset_profiles
from .schemas import DatasetOut, FeedbackIn, FeedbackOut, JobCreated, JobOut, PredictionJobIn, TrainingJobIn

log = logging.getLogger("pipeline_api")
tracer = trace.get_tracer("pipeline_api")

REQUESTS = Counter("api_requests_total", "HTTP requests", ["method", "route", "status"])
LATENCY = Histogram(
    "api_request_duration_seconds",
    "HTTP request latency",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
JOBS_SUBMITTED = Counter("api_jobs_submitted_total", "Jobs accepted", ["kind"])


class Services:
    def __init__(self, settings: AppSettings):
        self.settings = settings
        self.sessions = session_factory(settings.database_url)
        self.store = ObjectStore(settings.s3_endpoint_url, settings.s3_bucket)
        self.celery = make_celery(settings.amqp_url, settings.queue_prefix)
        self.topology_ready = False

    def publish(self, task: str, job_id: str) -> None:
        if not self.topology_ready:
            ensure_topology(self.celery)
            self.topology_ready = True
        self.celery.send_task(task, args=[job_id])


def create_app(settings: AppSettings | None = None) -> FastAPI:
    settings = settings or get_settings()
    if not settings.api_token:
        raise SystemExit("invalid environment: API_TOKEN must be set")

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        migrate(settings.database_url)
        yield

    app = FastAPI(
        title="MLOps Pipeline API",
        version="0.1.0",
        description="Upload tabular data, train and register classifiers in MLflow, predict, collect feedback.",
        lifespan=lifespan,
    )
    FastAPIInstrumentor.instrument_app(app, excluded_urls="health,metrics")
    svc = Services(settings)
    bearer = HTTPBearer(auto_error=False)

    def authorized(creds: HTTPAuthorizationCredentials | None = Depends(bearer)) -> None:
        if creds is None or not secrets.compare_digest(creds.credentials.encode(), settings.api_token.encode()):
            raise HTTPException(401, "missing or invalid bearer token", headers={"WWW-Authenticate": "Bearer"})

    @app.middleware("http")
    async def metrics_middleware(request: Request, call_next):
        started = time.perf_counter()
        response = await call_next(request)
        route = request.scope.get("route")
        path = getattr(route, "path", "unmatched")
        LATENCY.labels(request.method, path).observe(time.perf_counter() - started)
        REQUESTS.labels(request.method, path, str(response.status_code)).inc()
        return response

    @app.exception_handler(DataError)
    async def data_error(_: Request, exc: DataError):
        return JSONResponse(status_code=422, content={"detail": str(exc), "field": exc.field})

    # -- operations ------------------------------------------------------------------
    @app.get("/health", tags=["operations"])
    def health() -> dict:
        return {"status": "ok"}

    @app.get("/ready", tags=["operations"])
    def ready(response: Response) -> dict:
        checks = {}

        def check(name, fn):
            try:
                fn()
                checks[name] = "ok"
            except Exception as exc:  # report, do not raise: this is a status page
                checks[name] = f"error: {type(exc).__name__}"

        def pg():
            with svc.sessions() as s:
                s.execute(text("SELECT 1"))

        def mq():
            with svc.celery.connection_for_write() as conn:
                conn.ensure_connection(max_retries=1, timeout=3)

        def mlflow_health():
            httpx.get(settings.mlflow_tracking_uri.rstrip("/") + "/health", timeout=3).raise_for_status()

        check("postgres", pg)
        check("rabbitmq", mq)
        check("s3", svc.store.ping)
        check("mlflow", mlflow_health)
        ok = all(v == "ok" for v in checks.values())
        response.status_code = 200 if ok else 503
        return {"status": "ready" if ok else "not ready", "checks": checks}

    @app.get("/metrics", tags=["operations"], include_in_schema=False)
    def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    # -- datasets ---------------------------------------------------------------------
    api = "/api/v1"
    guard = [Depends(authorized)]

    @app.post(f"{api}/datasets", status_code=201, response_model=DatasetOut, dependencies=guard, tags=["datasets"])
    def upload_dataset(file: UploadFile = File(...), name: str | None = Form(None)) -> DatasetOut:
        data = file.file.read(settings.max_upload_bytes + 1)
        if len(data) > settings.max_upload_bytes:
            raise HTTPException(413, f"file: larger than the limit of {settings.max_upload_bytes} bytes")
        df = read_csv(data)
        ds_name = (name or file.filename or "dataset").strip()[:200] or "dataset"
        dataset_id = new_id()
        key = f"datasets/{dataset_id}.csv"
        with tracer.start_as_current_span("s3.put_object"):
            svc.store.put(key, data)
        try:
            with svc.sessions.begin() as s:
                s.add(Dataset(id=dataset_id, name=ds_name, object_key=key, rows=len(df), columns=describe_columns(df)))
        except Exception:
            svc.store.delete(key)  # nothing half-stored
            raise
        return DatasetOut(id=dataset_id, name=ds_name, rows=len(df), columns=describe_columns(df))

    @app.get(f"{api}/datasets", response_model=list[DatasetOut], dependencies=guard, tags=["datasets"])
    def list_datasets() -> list[DatasetOut]:
        with svc.sessions() as s:
            rows = s.scalars(select(Dataset).order_by(Dataset.created_at.desc())).all()
        return [DatasetOut(id=d.id, name=d.name, rows=d.rows, columns=d.columns, created_at=d.created_at) for d in rows]

    def get_dataset_or_404(dataset_id: str, status: int = 404) -> Dataset:
        with svc.sessions() as s:
            ds = s.get(Dataset, dataset_id)
        if ds is None:
            raise HTTPException(status, f"dataset_id: dataset '{dataset_id}' does not exist")
        return ds

    @app.get(f"{api}/datasets/{{dataset_id}}", response_model=DatasetOut, dependencies=guard, tags=["datasets"])
    def get_dataset(dataset_id: str) -> DatasetOut:
        d = get_dataset_or_404(dataset_id)
        return DatasetOut(id=d.id, name=d.name, rows=d.rows, columns=d.columns, created_at=d.created_at)

    @app.get(f"{api}/datasets/{{dataset_id}}/preview", dependencies=guard, tags=["datasets"])
    def preview_dataset(dataset_id: str, rows: int = 20) -> dict:
        d = get_dataset_or_404(dataset_id)
        df = read_csv(svc.store.get(d.object_key)).head(max(1, min(rows, 200)))
        return {"columns": list(df.columns), "rows": df.astype(object).where(df.notna(), None).to_dict("records")}

    # -- jobs -------------------------------------------------------------------------
    def submit(kind: str, params: dict) -> JobCreated:
        job_id = new_id()
        with svc.sessions.begin() as s:
            s.add(Job(id=job_id, kind=kind, status="queued", params=params, traceparent=current_traceparent()))
        try:
            with tracer.start_as_current_span("rabbitmq.publish"):
                svc.publish(TRAIN_TASK if kind == "training" else PREDICT_TASK, job_id)
        except Exception as exc:
            with svc.sessions.begin() as s:
                job = s.get(Job, job_id)
                job.status, job.error = "failed", f"queue unavailable: {type(exc).__name__}"
            raise HTTPException(503, "the job queue is unavailable; try again later") from None
        JOBS_SUBMITTED.labels(kind).inc()
        log.info("job queued", extra={"job_id": job_id, "kind": kind})
        return JobCreated(id=job_id, kind=kind, status="queued")

    @app.post(f"{api}/training-jobs", status_code=202, response_model=JobCreated, dependencies=guard, tags=["jobs"])
    def create_training_job(body: TrainingJobIn) -> JobCreated:
        ds = get_dataset_or_404(body.dataset_id, status=422)
        columns = [c["name"] for c in ds.columns]
        if body.target not in columns:
            raise HTTPException(422, f"target: column '{body.target}' is not in dataset '{ds.id}' ({', '.join(columns)})")
        params = body.model_dump()
        params["model_name"] = body.model_name or settings.default_model_name
        return submit("training", params)

    def champion_schema(model_name: str | None):
        """(name, version, input schema) of a model's champion, or 422 naming `model_name`."""
        name = model_name or settings.default_model_name
        try:
            return (name, *models_info.champion_schema(name, settings.champion_cache_seconds))
        except models_info.NoChampion as exc:
            raise HTTPException(422, f"model_name: {exc}") from None

    @app.post(f"{api}/prediction-jobs", status_code=202, response_model=JobCreated, dependencies=guard, tags=["jobs"])
    def create_prediction_job(body: PredictionJobIn) -> JobCreated:
        name, version, schema = champion_schema(body.model_name)
        params = {"model_name": name, "model_version": version}
        if body.records is not None:
            records_frame(body.records, schema)  # raises DataError -> 422 naming the field
            params["records"] = body.records
        else:
            ds = get_dataset_or_404(body.dataset_id, status=422)
            columns = {c["name"] for c in ds.columns}
            missing = [c.name for c in schema if c.name not in columns]
            if missing:
                raise HTTPException(422, f"dataset_id: dataset lacks model input column '{missing[0]}'")
            params["dataset_id"] = ds.id
        return submit("prediction", params)

    def job_out(job: Job) -> JobOut:
        result = dict(job.result) if job.result else None
        if result and result.get("object_key"):
            base = (settings_public_url() or "").rstrip("/")
            result["download_url"] = f"{base}{api}/jobs/{job.id}/result"
        return JobOut(
            id=job.id,
            kind=job.kind,
            status=job.status,
            created_at=job.created_at,
            started_at=job.started_at,
            finished_at=job.finished_at,
            result=result,
            error=job.error,
        )

    @app.get(f"{api}/jobs/{{job_id}}", response_model=JobOut, dependencies=guard, tags=["jobs"])
    def get_job(job_id: str) -> JobOut:
        with svc.sessions() as s:
            job = s.get(Job, job_id)
        if job is None:
            raise HTTPException(404, f"job '{job_id}' does not exist")
        return job_out(job)

    @app.get(f"{api}/jobs/{{job_id}}/result", dependencies=guard, tags=["jobs"])
    def download_result(job_id: str) -> StreamingResponse:
        with svc.sessions() as s:
            job = s.get(Job, job_id)
        if job is None or not job.result or not job.result.get("object_key"):
            raise HTTPException(404, f"job '{job_id}' has no downloadable result")
        body = svc.store.client.get_object(Bucket=svc.store.bucket, Key=job.result["object_key"])["Body"]
        return StreamingResponse(
            body.iter_chunks(),
            media_type="text/csv",
            headers={"Content-Disposition": f'attachment; filename="predictions-{job_id}.csv"'},
        )

    # -- feedback and models ------------------------------------------------------------
    @app.post(f"{api}/feedback", status_code=201, response_model=FeedbackOut, dependencies=guard, tags=["feedback"])
    def create_feedback(body: FeedbackIn) -> FeedbackOut:
        name, _, schema = champion_schema(body.model_name)
        records_frame([body.record], schema, field="record")
        fb = Feedback(id=new_id(), model_name=name, record=body.record, label=body.label)
        with svc.sessions.begin() as s:
            s.add(fb)
        return FeedbackOut(id=fb.id, model_name=name, label=body.label)

    @app.get(f"{api}/models", dependencies=guard, tags=["models"])
    def list_models() -> list[dict]:
        return models_info.list_models()

    def settings_public_url() -> str | None:
        return os.environ.get("PUBLIC_URL")

    app.include_router(dataset_profiles.router(svc.sessions, svc.store), prefix=api, dependencies=guard)
    return app
