"""Jobs: training and prediction jobs are queued for the Data Processor; results are read back here."""

from __future__ import annotations

import logging
import os
from typing import Literal

import pyarrow.parquet as pq
from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse
from opentelemetry import trace
from prometheus_client import Counter
from sqlalchemy import delete, insert, select

from pipeline_common.columnar import columns_with_gaps, frame_from_table
from pipeline_common.db import Job, new_id
from pipeline_common.queue import PREDICT_TASK, TRAIN_TASK
from pipeline_common.tabular import checked_rows
from pipeline_common.telemetry import current_traceparent
from pipeline_common.unavailable import Unavailable

from ..dependencies import API, Services, authorized, get_services
from ..errors import COMMON, NOT_FOUND, ApiError, doc
from ..job_wait import MAX_WAIT_SECONDS
from ..links import links
from ..schemas import JobCreated, JobOut, PredictionJobIn, TrainingJobIn
from .datasets import find_dataset, plausible_id
from .models import CONTRACT, champion_schema, check_training_contract

log = logging.getLogger("pipeline_api")
tracer = trace.get_tracer("pipeline_api")
JOBS_SUBMITTED = Counter("api_jobs_submitted_total", "Jobs accepted", ["kind"])

router = APIRouter(prefix=API, tags=["jobs"], dependencies=[Depends(authorized)], responses=COMMON)

JOB = f"{API}/jobs/{{job_id}}"
RESULT = {"GetJobResult": (f"{JOB}/result", "get")}
JOB_AND_RESULT = {"GetJob": (JOB, "get"), **RESULT}


def job_links(pointer: str, targets: dict[str, tuple[str, str]]) -> dict:
    return links("job_id", f"$response.body{pointer}", targets)


SUBMITTED = job_links("#/id", JOB_AND_RESULT)


def submit(svc: Services, kind: str, params: dict) -> JobCreated:
    """Store the job, then queue it. When the queue is down the row is removed again (503): a
    client never holds the id of a job that cannot run."""
    job_id = new_id()
    with svc.autocommit.connect() as c:
        c.execute(insert(Job).values(id=job_id, kind=kind, status="queued", params=params, traceparent=current_traceparent()))
    try:
        with tracer.start_as_current_span("rabbitmq.publish"):
            svc.publish(TRAIN_TASK if kind == "training" else PREDICT_TASK, job_id)
    except Unavailable:
        with svc.autocommit.connect() as c:
            c.execute(delete(Job).where(Job.id == job_id))
        raise
    JOBS_SUBMITTED.labels(kind).inc()
    log.info("job queued", extra={"job_id": job_id, "kind": kind})
    return JobCreated(id=job_id, kind=kind, status="queued")


@router.post("/training-jobs", status_code=202, response_model=JobCreated, responses={202: SUBMITTED, **CONTRACT})
def create_training_job(body: TrainingJobIn, svc: Services = Depends(get_services)) -> JobCreated:
    ds = find_dataset(svc, body.dataset_id, status=422)
    columns = [c["name"] for c in ds.columns]
    if body.target not in columns:
        raise ApiError(422, "target", f"column '{body.target}' is not in dataset '{ds.id}' ({', '.join(columns)})")
    params = body.model_dump()
    params["model_name"] = body.model_name or svc.settings.default_model_name
    check_training_contract(params["model_name"], ds, body.target)  # 409: another target or other inputs
    return submit(svc, "training", params)


@router.post("/prediction-jobs", status_code=202, response_model=JobCreated, responses={202: SUBMITTED})
def create_prediction_job(body: PredictionJobIn, svc: Services = Depends(get_services)) -> JobCreated:
    name, version, schema = champion_schema(svc.settings, body.model_name)
    params = {"model_name": name, "model_version": version}
    if body.records is not None:
        checked_rows(body.records, schema)  # raises DataError -> 422 naming the field
        params["records"] = body.records
    else:
        ds = find_dataset(svc, body.dataset_id, status=422)
        columns = {c["name"] for c in ds.columns}
        missing = [c.name for c in schema if c.name not in columns]
        if missing:
            raise ApiError(422, "dataset_id", f"dataset lacks model input column '{missing[0]}'")
        params["dataset_id"] = ds.id
    return submit(svc, "prediction", params)


def public_params(params: dict) -> dict:
    out = {k: v for k, v in (params or {}).items() if k != "records"}
    if "records" in (params or {}):
        out["record_count"] = len(params["records"])
    return out


def job_out(job: Job) -> JobOut:
    result = dict(job.result) if job.result else None
    if result and result.get("object_key"):
        base = (os.environ.get("PUBLIC_URL") or "").rstrip("/")
        result["download_url"] = f"{base}{API}/jobs/{job.id}/result"
    return JobOut(
        id=job.id,
        kind=job.kind,
        status=job.status,
        created_at=job.created_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
        params=public_params(job.params),
        result=result,
        error=job.error,
        step=job.step,
    )


def find_job(svc: Services, job_id: str) -> Job:
    job = None
    if plausible_id(job_id):
        with svc.sessions() as s:
            job = s.get(Job, job_id)
    if job is None:
        raise ApiError(404, "job_id", f"job '{job_id}' does not exist")
    return job


@router.get("/jobs", response_model=list[JobOut], responses={200: job_links("#/0/id", JOB_AND_RESULT)})
def list_jobs(
    limit: int = Query(50, ge=1, le=500),
    kind: Literal["training", "prediction"] | None = None,
    status: Literal["queued", "running", "succeeded", "failed"] | None = None,
    svc: Services = Depends(get_services),
) -> list[JobOut]:
    """Newest first."""
    query = select(Job).order_by(Job.created_at.desc()).limit(limit)
    if kind:
        query = query.where(Job.kind == kind)
    if status:
        query = query.where(Job.status == status)
    with svc.sessions() as s:
        return [job_out(j) for j in s.scalars(query).all()]


@router.get("/jobs/{job_id}", response_model=JobOut, responses={**NOT_FOUND, 200: job_links("#/id", RESULT)})
def get_job(
    job_id: str,
    wait: float = Query(0, ge=0, le=MAX_WAIT_SECONDS, description="seconds to wait for the job to finish"),
    svc: Services = Depends(get_services),
) -> JobOut:
    if wait:
        svc.waiter.until_finished(job_id, wait)
    return job_out(find_job(svc, job_id))


def missing_result(job: Job) -> str | None:
    """Why a job has no result file to download, or None when it has one."""
    if job.result and job.result.get("object_key"):
        return None
    if job.kind != "prediction":
        return f"job '{job.id}' is a {job.kind} job: only a prediction job of a data set has a result file"
    if "records" in (job.params or {}):
        return f"job '{job.id}' is a prediction job of records: its predictions are in the job's `result`, not in a file"
    if job.status in ("queued", "running"):
        return f"job '{job.id}' is {job.status}: its result file is there once it has succeeded"
    if job.status == "failed":
        return f"job '{job.id}' failed: it has no result file"
    return f"job '{job.id}' has no result file"


RESULT_FORMATS = {"csv": "text/csv", "parquet": "application/vnd.apache.parquet"}


@router.get(
    "/jobs/{job_id}/result",
    response_class=StreamingResponse,
    responses={
        200: {
            "content": {"text/csv": {}, "application/vnd.apache.parquet": {}},
            "description": "The data set's rows with `prediction`, `probability` (of the predicted class) and "
            "`probability_<class>` (each of the model's classes) appended, as CSV (the default) or Parquet",
        },
        404: doc("No job has this id"),
        409: doc(
            "The job has no result file: only a prediction job of a data set has one, once it has succeeded "
            "(its `result.download_url`); the reason says which case this is. Or: a result stored as CSV "
            "(before results were stored as Parquet) asked for as Parquet"
        ),
    },
)
def download_result(
    job_id: str,
    format: Literal["csv", "parquet"] = Query("csv", description="`csv` (converted row group by row group) or `parquet` (the stored file)"),
    svc: Services = Depends(get_services),
) -> StreamingResponse:
    job = find_job(svc, job_id)
    reason = missing_result(job)
    if reason is not None:
        raise ApiError(409, "job_id", reason)
    key = job.result["object_key"]
    stored = "parquet" if key.endswith(".parquet") else "csv"
    if stored == "csv" and format == "parquet":
        raise ApiError(409, "format", f"job '{job.id}' stored its result as CSV, before results were stored as Parquet: ask for format=csv")
    body = svc.store.stream(key).iter_chunks() if stored == format else result_csv(svc, key)
    return StreamingResponse(
        body,
        media_type=RESULT_FORMATS[format],
        headers={"Content-Disposition": f'attachment; filename="predictions-{job_id}.{format}"'},
    )


def result_csv(svc: Services, key: str):
    """A Parquet result as CSV, one row group in memory at a time (the CSV the results were before)."""
    parquet = pq.ParquetFile(svc.store.reader(key))
    gaps = columns_with_gaps(parquet)
    for group in range(parquet.num_row_groups):
        frame = frame_from_table(parquet.read_row_group(group), gaps)
        yield frame.to_csv(index=False, header=group == 0).encode()
