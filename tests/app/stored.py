"""Data sets put straight into the test stack's store, in the stored format of docs/data-at-size.md.

A stand-in for the API's upload where a test needs a Parquet data set (or one stored as CSV before
Parquet) whatever the API's own upload path does: it writes the object and the `datasets` row the
upload would write.
"""

import os

import pyarrow as pa
import pyarrow.parquet as pq

from pipeline_common.db import Dataset, new_id, session_factory
from pipeline_common.storage import ObjectStore

from .services import S3_ENV

ROW_GROUP_ROWS = 65_536  # the stored files' row groups (docs/data-at-size.md)


def store_of(stack) -> ObjectStore:
    for k, v in S3_ENV.items():  # the keys every service of the stack is given
        os.environ.setdefault(k, v)
    return ObjectStore(stack.s3, "pipeline-data")


def add_dataset(stack, name: str, key: str, rows: int, columns: list[dict], size: int) -> str:
    dataset_id = key.split("/")[-1].split(".")[0]
    with session_factory(f"{stack.pg}/pipeline").begin() as s:
        s.add(Dataset(id=dataset_id, name=name, object_key=key, rows=rows, columns=columns, size_bytes=size))
    return dataset_id


def parquet_dataset(stack, table: pa.Table, name: str) -> str:
    """Store `table` as a Parquet data set; its id."""
    key = f"datasets/{new_id()}.parquet"
    store = store_of(stack)
    with store.writer(key) as w:
        pq.write_table(table, w, row_group_size=ROW_GROUP_ROWS)
    columns = [{"name": f.name, "dtype": str(f.type)} for f in table.schema]
    return add_dataset(stack, name, key, table.num_rows, columns, store.size(key))


def csv_dataset(stack, data: bytes, name: str, columns: list[str]) -> str:
    """Store `data` as a data set uploaded before Parquet (its key ends in .csv); its id."""
    key = f"datasets/{new_id()}.csv"
    store_of(stack).put(key, data)
    return add_dataset(stack, name, key, data.count(b"\n") - 1, [{"name": c, "dtype": "object"} for c in columns], len(data))


def result_table(stack, job: dict) -> pa.Table:
    return pq.read_table(store_of(stack).reader(job["result"]["object_key"]))
