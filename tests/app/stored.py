"""Data sets put straight into the test stack's store, in the stored format of docs/data-at-size.md.

A stand-in for the API's upload where a test needs a Parquet data set (or one stored as CSV before
Parquet) whatever the API's own upload path does: it stores what the upload would store, converted
by the upload's own code (`columnar.convert`), and writes the `datasets` row.
"""

import os

import pyarrow as pa
import pyarrow.parquet as pq

from pipeline_common.columnar import convert
from pipeline_common.db import Dataset, new_id, session_factory
from pipeline_common.storage import ObjectStore
from pipeline_common.tabular import describe_columns, json_safe, read_csv

from .services import S3_ENV


def store_of(stack) -> ObjectStore:
    for k, v in S3_ENV.items():  # the keys every service of the stack is given
        os.environ.setdefault(k, v)
    return ObjectStore(stack.s3, "pipeline-data")


def add_dataset(stack, dataset_id: str, name: str, key: str, rows: int, columns: list[dict], **more) -> str:
    with session_factory(f"{stack.pg}/pipeline").begin() as s:
        s.add(Dataset(id=dataset_id, name=name, object_key=key, rows=rows, columns=columns, **more))
    return dataset_id


def parquet_dataset(stack, table: pa.Table, name: str) -> str:
    """Store `table` as its upload as a Parquet file would be stored (data set, head object, profile); its id."""
    dataset_id, store = new_id(), store_of(stack)
    raw, key = f"uploads/{dataset_id}.raw", f"datasets/{dataset_id}.parquet"
    with store.writer(raw) as w:
        pq.write_table(table, w)
    try:
        done = convert(store, raw, key)
    finally:
        store.delete(raw)
    return add_dataset(stack, dataset_id, name, key, done.rows, done.columns, profile=json_safe(done.profile), size_bytes=done.size_bytes)


def csv_dataset(stack, data: bytes, name: str) -> str:
    """Store `data` as a data set uploaded before Parquet: a CSV object (its key ends in .csv), a row
    without profile or size; its id."""
    dataset_id = new_id()
    key = f"datasets/{dataset_id}.csv"
    store_of(stack).put(key, data)
    frame = read_csv(data)
    return add_dataset(stack, dataset_id, name, key, len(frame), describe_columns(frame))


def result_table(stack, job: dict) -> pa.Table:
    return pq.read_table(store_of(stack).reader(job["result"]["object_key"]))
