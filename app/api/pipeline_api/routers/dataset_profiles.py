"""GET /api/v1/datasets/{dataset_id}/profile: per-column types, gaps, distributions and target fitness."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel
from sqlalchemy import select, update

from pipeline_common.db import Dataset
from pipeline_common.profile import profile
from pipeline_common.tabular import json_safe, read_csv

from ..dependencies import API, Services, authorized, get_services
from ..errors import COMMON, NOT_FOUND
from .datasets import find_dataset

router = APIRouter(prefix=f"{API}/datasets", tags=["datasets"], dependencies=[Depends(authorized)], responses=COMMON)


class ValueCount(BaseModel):
    value: str
    count: int


class Histogram(BaseModel):
    edges: list[float]
    counts: list[int]


class ColumnProfile(BaseModel):
    name: str
    dtype: str
    kind: Literal["numeric", "integer", "categorical", "boolean"]
    missing: int
    distinct: int
    target_problem: str | None = None  # why the column cannot be a classifier's target, if it cannot
    min: float | None = None
    max: float | None = None
    median: float | None = None
    mean: float | None = None
    histogram: Histogram | None = None
    top_values: list[ValueCount] | None = None


class DatasetProfile(BaseModel):
    dataset_id: str
    name: str
    rows: int
    column_count: int
    created_at: datetime | None
    columns: list[ColumnProfile]


def stored_profile(svc: Services, ds: Dataset) -> dict:
    """The profile computed at upload; a data set uploaded before profiles were stored (a CSV
    object) is profiled on first request and its profile stored."""
    with svc.sessions() as s:
        found = s.scalar(select(Dataset.profile).where(Dataset.id == ds.id))
    if found is None:
        found = json_safe(profile(read_csv(svc.store.get(ds.object_key))))
        with svc.sessions.begin() as s:
            s.execute(update(Dataset).where(Dataset.id == ds.id).values(profile=found))
    return found


@router.get("/{dataset_id}/profile", response_model=DatasetProfile, responses=NOT_FOUND)
def dataset_profile(dataset_id: str, svc: Services = Depends(get_services)) -> DatasetProfile:
    ds = find_dataset(svc, dataset_id)
    return DatasetProfile(dataset_id=ds.id, name=ds.name, created_at=ds.created_at, **stored_profile(svc, ds))
