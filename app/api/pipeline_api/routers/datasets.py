"""Datasets: CSV or Parquet uploads stored in S3 as Parquet (pipeline_common.columnar), with a row in
PostgreSQL holding their columns and profile."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request
from fastapi import Response
from opentelemetry import trace
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from pipeline_common.columnar import PREVIEW_MAX_ROWS, convert, preview_frame, stored_keys
from pipeline_common.db import Dataset, new_id
from pipeline_common.tabular import json_safe

from ..dependencies import API, Services, authorized, get_services
from ..errors import COMMON, MALFORMED, NOT_FOUND, TOO_LARGE, ApiError, not_found
from ..links import links
from ..schemas import DatasetOut, PreviewOut
from ..upload_stream import OPENAPI_BODY, receive

router = APIRouter(prefix=f"{API}/datasets", tags=["datasets"], dependencies=[Depends(authorized)], responses=COMMON)
tracer = trace.get_tracer("pipeline_api")

ITEM = f"{API}/datasets/{{dataset_id}}"
#: What a data set's id leads to. A listing may name other clients' data sets, so only an upload
#: (the caller's own) links to DELETE.
READS = {"GetDataset": (ITEM, "get"), "PreviewDataset": (f"{ITEM}/preview", "get"), "ProfileDataset": (f"{ITEM}/profile", "get")}
UPLOADED = links("dataset_id", "$response.body#/id", {**READS, "DeleteDataset": (ITEM, "delete")})
LISTED = links("dataset_id", "$response.body#/0/id", READS)


def plausible_id(value: str) -> bool:
    """Ids are uuid4 hex: anything else cannot exist (and never reaches the database)."""
    return value.isascii() and value.isalnum() and len(value) <= 32


def find_dataset(svc: Services, dataset_id: str, status: int = 404) -> Dataset:
    ds = None
    if plausible_id(dataset_id):
        with svc.sessions() as s:
            ds = s.get(Dataset, dataset_id)
    if ds is None:
        raise ApiError(status, "dataset_id", f"dataset '{dataset_id}' does not exist")
    return ds


def dataset_out(d: Dataset) -> DatasetOut:
    return DatasetOut(id=d.id, name=d.name, rows=d.rows, columns=d.columns, created_at=d.created_at)


def dataset_name(name: str | None, filename: str | None) -> str:
    return (name or filename or "dataset").replace("\x00", "").strip()[:200] or "dataset"


def register(svc: Services, dataset_id: str, raw_key: str, name: str) -> DatasetOut:
    """Convert the raw upload at `raw_key` to the stored Parquet form and add the data set's row.

    The raw object is deleted whatever happens; a failure leaves neither a stored object nor a row.
    """
    key = f"datasets/{dataset_id}.parquet"
    try:
        with tracer.start_as_current_span("dataset.convert"):
            done = convert(svc.store, raw_key, key)
    finally:
        svc.store.delete(raw_key)
    row = Dataset(id=dataset_id, name=name, object_key=key, rows=done.rows, columns=done.columns, profile=json_safe(done.profile), size_bytes=done.size_bytes)
    try:
        with svc.sessions.begin() as s:
            s.add(row)
    except Exception:
        for stored in stored_keys(key):  # nothing half-stored
            svc.store.delete(stored)
        raise
    return DatasetOut(id=dataset_id, name=name, rows=done.rows, columns=done.columns, created_at=row.created_at)


@router.post(
    "",
    status_code=201,
    response_model=DatasetOut,
    responses={201: UPLOADED, **TOO_LARGE, **MALFORMED},
    openapi_extra=OPENAPI_BODY,
)
async def upload_dataset(request: Request, svc: Services = Depends(get_services)) -> DatasetOut:
    """A CSV (UTF-8 with a header row) or Parquet file, read as it arrives: more than
    MAX_UPLOAD_BYTES is refused (413) as soon as the limit is passed, with nothing stored."""
    dataset_id = new_id()
    raw_key = f"uploads/{dataset_id}.raw"
    got = await receive(request, svc.store, raw_key, svc.settings.max_upload_bytes)
    return await run_in_threadpool(register, svc, dataset_id, raw_key, dataset_name(got.name, got.filename))


@router.get("", response_model=list[DatasetOut], responses={200: LISTED})
def list_datasets(svc: Services = Depends(get_services)) -> list[DatasetOut]:
    with svc.sessions() as s:
        rows = s.scalars(select(Dataset).order_by(Dataset.created_at.desc())).all()
    return [dataset_out(d) for d in rows]


@router.get("/{dataset_id}", response_model=DatasetOut, responses=NOT_FOUND)
def get_dataset(dataset_id: str, svc: Services = Depends(get_services)) -> DatasetOut:
    return dataset_out(find_dataset(svc, dataset_id))


@router.delete("/{dataset_id}", status_code=204, response_class=Response, responses=NOT_FOUND)
def delete_dataset(dataset_id: str, svc: Services = Depends(get_services)) -> Response:
    """Delete the stored objects, then the row (a failure in between leaves the row to delete again)."""
    ds = find_dataset(svc, dataset_id)
    for key in stored_keys(ds.object_key):
        svc.store.delete(key)
    with svc.sessions.begin() as s:
        row = s.get(Dataset, ds.id)
        if row is None:
            raise not_found("dataset_id", f"dataset '{dataset_id}'")
        s.delete(row)
    return Response(status_code=204)


@router.get("/{dataset_id}/preview", response_model=PreviewOut, responses=NOT_FOUND)
def preview_dataset(dataset_id: str, rows: int = Query(20, ge=1, le=PREVIEW_MAX_ROWS), svc: Services = Depends(get_services)) -> PreviewOut:
    """The first rows, from the small object of a data set's first rows that its upload stored."""
    d = find_dataset(svc, dataset_id)
    df = preview_frame(svc.store, d.object_key, rows, d.size_bytes)
    return PreviewOut(columns=list(df.columns), rows=df.astype(object).where(df.notna(), None).to_dict("records"))
