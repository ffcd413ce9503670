"""A stored data set as the processor reads it: in row groups, only the columns a job needs.

A data set is stored as Parquet (`datasets/<id>.parquet`, row groups of at most
`columnar.ROW_GROUP_ROWS` rows, columns int64, double, bool or string; docs/data-at-size.md):
`pq.ParquetFile` over the store's ranged reader fetches the footer, then only the row groups and columns asked for. Strings are read
dictionary-encoded, so a column of repeated labels costs a small code per row instead of a Python
string per cell. A data set uploaded before Parquet is a CSV file: it is parsed whole once (the
upload limit was 100 MiB then) and turned into the same Arrow table, so every job sees one kind of
source.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from pipeline_common.columnar import ROW_GROUP_ROWS, frame_with_object_text
from pipeline_common.storage import ObjectStore
from pipeline_common.tabular import read_csv

#: Bytes fetched per ranged GET of a Parquet data set.
READ_AHEAD = 32 * 1024 * 1024


@dataclass
class Source:
    """Row groups of one stored data set, as Arrow tables; string columns come dictionary-encoded."""

    schema: pa.Schema  # the stored types (strings as `string`)
    num_rows: int
    group_rows: list[int]
    stored_bytes: int
    _parquet: pq.ParquetFile | None = None
    _table: pa.Table | None = None

    @property
    def columns(self) -> list[str]:
        return list(self.schema.names)

    def strings(self, columns: list[str] | None = None) -> list[str]:
        return [f.name for f in self.schema if pa.types.is_string(f.type) and (columns is None or f.name in columns)]

    def row_group(self, i: int, columns: list[str]) -> pa.Table:
        if self._parquet is not None:
            return self._parquet.read_row_group(i, columns=columns)
        start = sum(self.group_rows[:i])
        return self._table.select(columns).slice(start, self.group_rows[i])

    def groups(self, columns: list[str]):
        for i in range(len(self.group_rows)):
            yield self.row_group(i, columns)


def open_source(store: ObjectStore, key: str, field: str = "dataset_id") -> Source:
    if key.endswith(".parquet"):
        raw = store.reader(key)
        # Jobs read row groups in order: one ranged GET fetches READ_AHEAD bytes (several groups), and
        # pre_buffer asks for a group's column chunks in one read rather than one per column.
        reader = io.BufferedReader(raw, buffer_size=READ_AHEAD)
        schema = pq.read_schema(reader)
        strings = [f.name for f in schema if pa.types.is_string(f.type)]
        pf = pq.ParquetFile(reader, read_dictionary=strings, pre_buffer=True)
        meta = pf.metadata
        groups = [meta.row_group(i).num_rows for i in range(meta.num_row_groups)]
        return Source(schema, meta.num_rows, groups, raw.size(), _parquet=pf)
    data = store.get(key)
    stored = len(data)
    df = read_csv(data, field=field)
    del data
    table = pa.Table.from_pandas(df, preserve_index=False)
    del df
    # pandas' `str` columns arrive as large_string: the stored type is `string` (memory plan, results).
    table = table.cast(pa.schema([pa.field(f.name, pa.string()) if pa.types.is_large_string(f.type) else f for f in table.schema]))
    schema = table.schema.remove_metadata()
    table = pa.table({n: pc.dictionary_encode(c) if pa.types.is_string(c.type) else c for n, c in zip(table.column_names, table.columns)})
    sizes = [min(ROW_GROUP_ROWS, table.num_rows - s) for s in range(0, table.num_rows, ROW_GROUP_ROWS)]
    return Source(schema, table.num_rows, sizes, stored, _table=table)


def plain(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """`table` with its columns in their stored types again (dictionary strings back to `string`)."""
    return table.cast(pa.schema([schema.field(n) for n in table.column_names]))


def read_rows(source: Source, columns: list[str], rows: np.ndarray | None = None) -> pd.DataFrame:
    """`columns` of the rows at the sorted positions `rows` (all rows when None), one row group at a time."""
    parts, start = [], 0
    for i, size in enumerate(source.group_rows):
        if rows is None:
            parts.append(source.row_group(i, columns))
        else:
            lo, hi = np.searchsorted(rows, [start, start + size])
            if hi > lo:
                parts.append(source.row_group(i, columns).take(pa.array(rows[lo:hi] - start)))
        start += size
    if not parts:
        return frame_with_object_text(source.row_group(0, columns).slice(0, 0))
    return frame_with_object_text(pa.concat_tables(parts))  # to_pandas unifies the row groups' dictionaries
