"""GET /api/v1/datasets/{dataset_id}/profile: per-column types, gaps, distributions and target fitness.

The router is built from the API's session factory and object store so it needs nothing else of the
application; `create_app` mounts it under the API prefix with the bearer guard.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from datetime import datetime
from typing import Literal

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel

from pipeline_common.db import Dataset
from pipeline_common.profile import profile
from pipeline_common.tabular import read_csv

#: Profiles kept in memory: a data set never changes after upload, so a profile never goes stale.
CACHED_PROFILES = 32


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


def router(sessions, store) -> APIRouter:
    """The profile route over the API's database sessions and object store."""
    api = APIRouter(tags=["datasets"])
    cache: OrderedDict[str, dict] = OrderedDict()
    lock = threading.Lock()

    @api.get("/datasets/{dataset_id}/profile", response_model=DatasetProfile)
    def dataset_profile(dataset_id: str) -> DatasetProfile:
        with sessions() as s:
            ds = s.get(Dataset, dataset_id)
        if ds is None:
            raise HTTPException(404, f"dataset_id: dataset '{dataset_id}' does not exist")
        with lock:
            found = cache.get(dataset_id)
        if found is None:
            found = profile(read_csv(store.get(ds.object_key)))
            with lock:
                cache[dataset_id] = found
                while len(cache) > CACHED_PROFILES:
                    cache.popitem(last=False)
        return DatasetProfile(dataset_id=ds.id, name=ds.name, created_at=ds.created_at, **found)

    return api
