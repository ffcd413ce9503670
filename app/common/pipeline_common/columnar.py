"""Uploaded files (CSV or Parquet) converted, in bounded memory, to the one stored form: Parquet.

The stored file holds four column types (int64, float64, bool, string) in row groups of at most
ROW_GROUP_ROWS rows, read with the rules `tabular.read_csv` applies to a CSV file: header names and
text cells stripped of surrounding whitespace, the missing-value tokens (`tabular.MISSING` and
pandas' own) as nulls. `frame_from_table` turns such a table into the frame `read_csv` gives.

A CSV file is read as text in blocks (pyarrow's streaming reader) and each column is cast to the
type its first block suggests; when a later block holds a value that type cannot take (a word in
a column of numbers), the column is widened (int64 -> float64 -> string, bool -> string) and the
conversion starts again from the top of the raw object. The profile is computed in the same pass
(`ProfileBuilder`).
"""

from __future__ import annotations

import codecs
import io
import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
from pandas._libs.parsers import STR_NA_VALUES

from .profile import TOP_VALUES, binned, counts_problem, json_number, profile
from .storage import ObjectStore
from .tabular import MISSING, DataError, too_few_columns

#: Rows per Parquet row group: a preview reads one group, a worker streams group by group.
ROW_GROUP_ROWS = 65_536
#: The most rows a preview shows (the preview endpoint's limit): conversion stores this many first
#: rows beside the data set (`head_key`), so that a preview is one small GET.
PREVIEW_MAX_ROWS = 200
#: Bytes of CSV text pyarrow parses at a time (one block; type guesses come from the first one).
#: pyarrow's streaming reader holds the blocks it reads ahead, each a Python `bytes` read from the
#: object: tracemalloc found 25 of them (25 MB) alive at once with 1 MiB blocks, and a 500 MB
#: upload's conversion peaked at +149 MB RSS; with 256 KiB blocks at +103 MB, and no slower
#: (the Adult rows repeated, on the 2-core test machine).
BLOCK_BYTES = 256 * 1024
#: Tables up to this many cells are profiled exactly as `profile.profile` does on the whole frame;
#: larger ones with the streaming `ProfileBuilder` (bounded memory, documented approximations).
EXACT_PROFILE_CELLS = 1_000_000
#: Distinct values counted exactly per column; a column with more reports this number (a lower bound).
DISTINCT_CAP = 10_000
#: Values kept per numeric column (evenly spaced over its rows) for the median and histogram of a
#: large table.
SAMPLE_VALUES = 100_000

NA_TOKENS = sorted(set(MISSING) | set(STR_NA_VALUES))
TRUE, FALSE = ["True", "true", "TRUE"], ["False", "false", "FALSE"]
PARQUET_MAGIC = b"PAR1"
#: Types a CSV column can be widened to, in order.
WIDER = {"null": "int64", "int64": "float64", "float64": "string", "bool": "string"}
ARROW = {"int64": pa.int64(), "float64": pa.float64(), "bool": pa.bool_(), "string": pa.string()}


@dataclass
class Converted:
    rows: int
    columns: list[dict]  # [{"name", "dtype"}] as `tabular.describe_columns` gives for the frame
    profile: dict
    size_bytes: int  # of the stored Parquet file


# --- reading the stored form back -----------------------------------------------------------


def frame_from_table(table: pa.Table, gaps_in: set[str] | frozenset = frozenset()) -> pd.DataFrame:
    """The frame `tabular.read_csv` gives for the CSV this table was converted from, text as pandas'
    `str` dtype (what previews show and profiles describe). A part of a file (a row group) takes the
    dtypes of the whole when `gaps_in` names the file's columns with gaps."""
    return _frame(table, gaps_in, lambda column: pd.Series(column.to_pylist(), dtype="str"))


def frame_with_object_text(table: pa.Table, gaps_in: set[str] | frozenset = frozenset()) -> pd.DataFrame:
    """`frame_from_table`'s frame with text as Python objects (NaN where missing), each distinct value
    of a dictionary-encoded column one string shared by its cells: the frame models are fitted and
    scored on, since `modeling.prepare` and `tabular.coerce` turn text into objects anyway and from a
    `str` column would make one Python string per cell (the worker's memory plan counts 8 bytes a cell)."""
    return _frame(table, gaps_in, _object_text)


def _object_text(column: pa.ChunkedArray) -> pd.Series:
    if pa.types.is_dictionary(column.type):
        return column.to_pandas().astype(object)
    values = column.to_numpy(zero_copy_only=False)
    return pd.Series(values, dtype=object).where(pd.notna(values), np.nan)


def _frame(table: pa.Table, gaps_in, text) -> pd.DataFrame:
    """Numbers and booleans as `read_csv` types them (whole numbers with gaps float64, booleans with gaps
    objects with None); text columns (string or dictionary-encoded) by `text`."""
    out = {}
    for name, column in zip(table.column_names, table.columns):
        t, gaps = column.type, column.null_count > 0 or name in gaps_in
        if pa.types.is_integer(t):
            out[name] = column.to_numpy().astype("float64") if gaps else column.to_numpy().astype("int64")
        elif pa.types.is_floating(t) or pa.types.is_null(t):
            out[name] = column.cast(pa.float64()).to_numpy()
        elif pa.types.is_boolean(t):
            out[name] = pd.Series(column.to_pylist(), dtype=object) if gaps else column.to_numpy().astype(bool)
        else:
            out[name] = text(column)
    return pd.DataFrame(out, columns=table.column_names, copy=False)


def dtype_name(arrow_type: pa.DataType, gaps: bool) -> str:
    """The pandas dtype `frame_from_table` gives a column (what `describe_columns` lists)."""
    if pa.types.is_integer(arrow_type):
        return "float64" if gaps else "int64"
    if pa.types.is_boolean(arrow_type):
        return "object" if gaps else "bool"
    if pa.types.is_string(arrow_type):
        return str(pd.Series(["a"], dtype="str").dtype)
    return "float64"


def columns_with_gaps(parquet: pq.ParquetFile) -> set[str]:
    """Columns with a null in any row group, from the footer's statistics (a column without them counts)."""
    meta, names = parquet.metadata, parquet.schema_arrow.names
    gaps = set()
    for group in range(meta.num_row_groups):
        for i, name in enumerate(names):
            stats = meta.row_group(group).column(i).statistics
            if stats is None or not stats.has_null_count or stats.null_count:
                gaps.add(name)
    return gaps


def head_key(key: str) -> str:
    """Where the first PREVIEW_MAX_ROWS rows of the data set stored at `key` are kept."""
    return key.removesuffix(".parquet") + ".head.parquet"


def preview_frame(store: ObjectStore, key: str, rows: int, size: int | None = None) -> pd.DataFrame:
    """The first `rows` (at most PREVIEW_MAX_ROWS) rows: one GET of the data set's head object.

    A Parquet data set converted before head objects existed is read with ranged GETs instead (its
    footer, then its first row group's column chunks in one coalesced read; `size`, the object's
    size, saves a HEAD request); an old CSV data set is read whole.
    """
    if key.endswith(".csv"):
        from .tabular import read_csv

        return read_csv(store.get(key)).head(rows)
    try:
        head = pq.read_table(pa.BufferReader(store.get(head_key(key))))
    except store.client.exceptions.NoSuchKey:
        parquet = pq.ParquetFile(store.reader(key, size), pre_buffer=True)
        batch = next(parquet.iter_batches(batch_size=rows, row_groups=[0]), None) if parquet.num_row_groups else None
        head = pa.Table.from_batches([batch]) if batch is not None else parquet.schema_arrow.empty_table()
    return frame_from_table(head.slice(0, rows))


# --- converting an upload ---------------------------------------------------------------------


def _first_bytes(store: ObjectStore, key: str, size: int) -> bytes:
    """The object's first `size` bytes (an empty object has none: S3 refuses its ranges)."""
    if store.size(key) == 0:
        return b""
    return store.client.get_object(Bucket=store.bucket, Key=key, Range=f"bytes=0-{size - 1}")["Body"].read()


def is_parquet(store: ObjectStore, key: str) -> bool:
    return _first_bytes(store, key, len(PARQUET_MAGIC)) == PARQUET_MAGIC


def convert(store: ObjectStore, raw_key: str, key: str, field: str = "file") -> Converted:
    """Convert the raw upload `raw_key` (CSV or Parquet) to Parquet at `key`, with its profile.

    DataError (naming `field`) when the file is not a data set; nothing is stored under `key` then.
    """
    if is_parquet(store, raw_key):
        return _write(store, key, _parquet_batches(store, raw_key, field))
    types: dict[str, str] | None = None
    while True:
        try:
            return _write(store, key, _csv_batches(store, raw_key, field, types))
        except _Widen as widen:
            types = widen.types


class _Widen(Exception):
    """A block held values its columns' types cannot take: convert again with `types`."""

    def __init__(self, types: dict[str, str]):
        super().__init__(", ".join(f"{k}: {v}" for k, v in types.items()))
        self.types = types


class _Utf8Checked(io.RawIOBase):
    """The raw object's bytes, checked as UTF-8 on the way (read_csv's error names the position).
    pyarrow reads a Python file with `read` only (no `readinto`)."""

    def __init__(self, body, field: str):
        super().__init__()
        self.body, self.field = body, field
        self.decoder = codecs.getincrementaldecoder("utf-8")()
        self.position = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        data = self.body.read(size if size and size > 0 else None)
        pending = len(self.decoder.getstate()[0])
        try:
            self.decoder.decode(data, final=not data)
        except UnicodeDecodeError as exc:
            at = self.position - pending + exc.start
            raise DataError(self.field, f"not UTF-8 text (invalid byte at position {at})") from None
        self.position += len(data)
        return data


def _header_names(raw: list[str], field: str) -> list[str]:
    """Header names as read_csv gives them: duplicates numbered as pandas does, then stripped."""
    seen: dict[str, int] = {}
    names = []
    for name in (n.lstrip() for n in raw):  # read_csv skips the spaces after a delimiter
        base, n = name, seen.get(name, 0)
        while name in seen:
            name = f"{base}.{n}"
            n += 1
            seen[base] = n
        seen.setdefault(name, 0)
        names.append(name)
    names = [n.strip() for n in names]
    _check_names(names, field)
    return names


def _check_names(names: list[str], field: str) -> None:
    if len(names) < 2:
        raise DataError(field, too_few_columns(names))
    if len(set(names)) != len(names):
        raise DataError(field, "column names must be unique")
    if any(not n or n.startswith("Unnamed:") for n in names):
        raise DataError(field, "every column needs a header name")


def _csv_header(store: ObjectStore, raw_key: str, field: str) -> list[str]:
    """The header's names as pyarrow reads them, from the object's first block (cut at a line end)."""
    head = _first_bytes(store, raw_key, BLOCK_BYTES)
    if not head.strip():
        raise DataError(field, "the file is empty")
    if len(head) == BLOCK_BYTES and b"\n" in head:
        head = head[: head.rindex(b"\n") + 1]
    # A byte that is not UTF-8 is refused first, naming its position: pyarrow would either refuse
    # the file for another reason or fail decoding the header's names (an image uploaded as data).
    _Utf8Checked(io.BytesIO(head), field).read()
    try:
        return pa_csv.open_csv(io.BytesIO(head), read_options=pa_csv.ReadOptions(block_size=BLOCK_BYTES * 2)).schema.names
    except pa.ArrowInvalid as exc:
        raise _csv_error(exc, field) from None


def _csv_error(exc: Exception, field: str) -> DataError:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    text = text if len(text) <= 200 else text[:200] + "..."
    return DataError(field, f"not a valid CSV file ({text})")


def _cleaned(column: pa.Array) -> pa.Array:
    """Text cells stripped; the missing-value tokens as nulls."""
    text = pc.utf8_trim_whitespace(column)
    return pc.if_else(pc.is_in(text, value_set=pa.array(NA_TOKENS)), pa.scalar(None, pa.string()), text)


def _guess(column: pa.Array) -> str:
    if column.null_count == len(column):
        return "null"
    for kind in ("int64", "float64"):
        try:
            pc.cast(column, ARROW[kind])
            return kind
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            pass
    if pc.all(pc.is_in(column.drop_null(), value_set=pa.array(TRUE + FALSE))).as_py():
        return "bool"
    return "string"


def _typed(column: pa.Array, kind: str) -> pa.Array | None:
    """`column` (cleaned text) as `kind`, or None when one of its values does not fit."""
    if kind in ("null", "float64") and column.null_count == len(column):
        return pa.nulls(len(column), pa.float64())
    if kind == "null":
        return None
    if kind == "string":
        return column
    if kind == "bool":
        present = column.drop_null()
        if not pc.all(pc.is_in(present, value_set=pa.array(TRUE + FALSE))).as_py():
            return None
        return pc.if_else(pc.is_null(column), pa.scalar(None, pa.bool_()), pc.is_in(column, value_set=pa.array(TRUE)))
    try:
        return pc.cast(column, ARROW[kind])
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None


def _csv_batches(store: ObjectStore, raw_key: str, field: str, types: dict[str, str] | None):
    """Record batches of the stored form; raises _Widen when a column's type must grow."""
    names = _csv_header(store, raw_key, field)
    source = _Utf8Checked(store.stream(raw_key), field)
    try:
        reader = pa_csv.open_csv(
            source,
            read_options=pa_csv.ReadOptions(block_size=BLOCK_BYTES),
            convert_options=pa_csv.ConvertOptions(column_types={n: pa.string() for n in names}, strings_can_be_null=False, null_values=[]),
        )
    except pa.ArrowInvalid as exc:
        raise _csv_error(exc, field) from None
    if reader.schema.names != names or any(not pa.types.is_string(t) for t in reader.schema.types):
        raise DataError(field, "not a valid CSV file (its header could not be read)")
    names = _header_names(names, field)
    types = dict(types or {})
    schema = None
    while True:
        try:
            batch = reader.read_next_batch()
        except StopIteration:
            break
        except DataError:
            raise
        except pa.ArrowInvalid as exc:
            if "UTF8" in str(exc):
                raise DataError(field, "not UTF-8 text") from None
            raise _csv_error(exc, field) from None
        columns, widened = [], {}
        for name, column in zip(names, batch.columns):
            cleaned = _cleaned(column)
            kind = types.get(name) or _guess(cleaned)
            types.setdefault(name, kind)
            typed = _typed(cleaned, kind)
            while typed is None:
                kind = WIDER[kind] if kind != "null" else _guess(cleaned)
                typed = _typed(cleaned, kind)
            if kind != types[name]:
                widened[name] = kind
            columns.append(typed)
        if widened and schema is not None:
            raise _Widen({**types, **widened})
        types.update(widened)
        if schema is None:
            schema = pa.schema([(n, ARROW[types[n]] if types[n] != "null" else pa.float64()) for n in names])
        last = batch
        yield pa.RecordBatch.from_arrays([c.cast(t) for c, t in zip(columns, schema.types)], schema=schema)
    if schema is None:
        raise DataError(field, "the CSV file has a header but no rows")
    _check_last_row(last, field)


def _check_last_row(batch: pa.RecordBatch, field: str) -> None:
    """Lines end rows (newlines_in_values is off), so a line end inside the last row's values is a
    quote left open to the end of the file, which pyarrow takes as a value."""
    for column in batch.slice(batch.num_rows - 1).columns:
        if pc.any(pc.match_substring_regex(column, "[\r\n]")).as_py():
            raise DataError(field, "not a valid CSV file (a quoted value is not closed before the end of the file)")


#: How a Parquet upload's column types map to the stored four (anything else is refused).
def _stored_type(t: pa.DataType) -> pa.DataType | None:
    if pa.types.is_integer(t):
        return pa.int64()
    if pa.types.is_floating(t) or pa.types.is_decimal(t):
        return pa.float64()
    if pa.types.is_boolean(t):
        return pa.bool_()
    if pa.types.is_string(t) or pa.types.is_large_string(t) or (pa.types.is_dictionary(t) and pa.types.is_string(t.value_type)):
        return pa.string()
    if pa.types.is_null(t):
        return pa.float64()
    return None


def _parquet_batches(store: ObjectStore, raw_key: str, field: str):
    try:
        parquet = pq.ParquetFile(store.reader(raw_key))
    except (pa.ArrowInvalid, OSError) as exc:
        raise DataError(field, f"not a valid Parquet file ({str(exc).strip().splitlines()[0]})") from None
    arrow_schema = parquet.schema_arrow
    names = [n.strip() for n in arrow_schema.names]
    _check_names(names, field)
    refused = [f"'{f.name}' ({f.type})" for f in arrow_schema if _stored_type(f.type) is None]
    if refused:
        raise DataError(
            field,
            f"column{'s' if len(refused) > 1 else ''} {', '.join(refused)}: a data set's columns hold whole numbers, "
            "decimal numbers, true/false values or text; convert such columns to one of these before uploading",
        )
    schema = pa.schema([(n, _stored_type(f.type)) for n, f in zip(names, arrow_schema)])
    if parquet.metadata.num_rows == 0:
        raise DataError(field, "the Parquet file has columns but no rows")
    for batch in parquet.iter_batches(batch_size=ROW_GROUP_ROWS):
        columns = []
        for column, target in zip(batch.columns, schema.types):
            if pa.types.is_dictionary(column.type):
                column = column.dictionary_decode()
            column = column.cast(target)
            if pa.types.is_string(target):
                column = _cleaned(column)
            columns.append(column)
        yield pa.RecordBatch.from_arrays(columns, schema=schema)


def _write(store: ObjectStore, key: str, batches) -> Converted:
    """Write `batches` as Parquet at `key` in row groups of ROW_GROUP_ROWS, profiling them, and
    their first PREVIEW_MAX_ROWS rows at `head_key(key)` (written last: a failure stores neither)."""
    builder = None
    pending: list[pa.RecordBatch] = []
    pending_rows = 0
    head: list[pa.RecordBatch] = []
    head_rows = 0
    with store.writer(key, "application/vnd.apache.parquet") as out:
        writer = None
        try:
            for batch in batches:
                if writer is None:
                    writer = pq.ParquetWriter(out, batch.schema, compression="zstd")
                    builder = ProfileBuilder(batch.schema)
                builder.add(batch)
                if head_rows < PREVIEW_MAX_ROWS:
                    head.append(batch.slice(0, PREVIEW_MAX_ROWS - head_rows))
                    head_rows += head[-1].num_rows
                pending.append(batch)
                pending_rows += batch.num_rows
                if pending_rows >= ROW_GROUP_ROWS:
                    table = pa.Table.from_batches(pending)
                    writer.write_table(table.slice(0, ROW_GROUP_ROWS), row_group_size=ROW_GROUP_ROWS)
                    rest = table.slice(ROW_GROUP_ROWS)
                    pending, pending_rows = rest.to_batches(), rest.num_rows
            if pending:
                writer.write_table(pa.Table.from_batches(pending), row_group_size=ROW_GROUP_ROWS)
            if writer is not None:
                writer.close()
        except BaseException:
            if writer is not None:
                try:
                    writer.close()
                except Exception:  # noqa: BLE001  (the first error is the one to report)
                    pass
            raise
    size = out.tell()
    if writer is not None:
        _write_head(store, key, pa.Table.from_batches(head))
    result = builder.result()
    return Converted(rows=result["rows"], columns=builder.columns(), profile=result, size_bytes=size)


def _write_head(store: ObjectStore, key: str, table: pa.Table) -> None:
    """Store the first rows beside the data set; the data set goes too when that fails."""
    buf = io.BytesIO()
    pq.write_table(table, buf, compression="zstd")
    try:
        store.put(head_key(key), buf.getvalue(), "application/vnd.apache.parquet")
    except BaseException:
        store.delete(key)
        raise


def stored_keys(key: str) -> list[str]:
    """Every object a data set stored at `key` may have (what deleting it removes)."""
    return [key] if key.endswith(".csv") else [head_key(key), key]


# --- profiling in one pass --------------------------------------------------------------------


@dataclass
class _ColumnStats:
    type: pa.DataType
    rows: int = 0
    missing: int = 0
    counts: dict = field(default_factory=dict)
    overflow: bool = False
    low: float = math.inf
    high: float = -math.inf
    total: float = 0.0
    whole: bool = True
    sample: list = field(default_factory=list)  # numpy arrays (Python floats would take 4x the memory)
    sampled: int = 0  # present values seen by the sampler
    step: int = 1


class ProfileBuilder:
    """A table's profile from its batches, in bounded memory.

    Up to EXACT_PROFILE_CELLS cells it keeps the batches and profiles the whole frame with
    `profile.profile` (the same numbers as before storage went columnar). Beyond that, per column:
    rows, missing, min, max and mean are exact; value counts (distinct, top values, target fitness)
    are exact for the first DISTINCT_CAP distinct values (a column with more reports DISTINCT_CAP
    distinct values, and its top values among those); the median and histogram come from
    SAMPLE_VALUES values evenly spaced over the column, the histogram's counts scaled to the
    column's present values.
    """

    def __init__(self, schema: pa.Schema):
        self.schema = schema
        self.kept: list[pa.RecordBatch] | None = []
        self.cells = 0
        self.stats = [_ColumnStats(f.type) for f in schema]

    def add(self, batch: pa.RecordBatch) -> None:
        self.cells += batch.num_rows * batch.num_columns
        if self.kept is not None:
            self.kept.append(batch)
            if self.cells > EXACT_PROFILE_CELLS:
                self.kept = None
        for stats, column in zip(self.stats, batch.columns):
            self._add(stats, column)

    def _add(self, s: _ColumnStats, column: pa.Array) -> None:
        s.rows += len(column)
        s.missing += column.null_count
        present = column.drop_null()
        if not len(present):
            return
        numeric = pa.types.is_integer(s.type) or pa.types.is_floating(s.type)
        if numeric:
            low_high = pc.min_max(present)
            s.low = min(s.low, low_high["min"].as_py())
            s.high = max(s.high, low_high["max"].as_py())
            s.total += pc.sum(present.cast(pa.float64())).as_py()
            if pa.types.is_floating(s.type) and s.whole:
                finite = present.to_numpy()
                s.whole = bool(np.all(finite == np.floor(finite)))
            self._sample(s, present.to_numpy().astype("float64"))
        if s.overflow and numeric:
            return  # a number column with that many values lists none
        counted = pc.value_counts(present)
        values, counts = counted.field("values"), counted.field("counts")
        if s.overflow:
            known = pa.array(list(s.counts), type=values.type)
            keep = pc.is_in(values, value_set=known)
            values, counts = values.filter(keep), counts.filter(keep)
        for v, c in zip(values.to_pylist(), counts.to_pylist()):
            if v in s.counts:
                s.counts[v] += c
            elif len(s.counts) < DISTINCT_CAP:
                s.counts[v] = c
            else:
                s.overflow = True

    @staticmethod
    def _sample(s: _ColumnStats, values: np.ndarray) -> None:
        """Keep every `step`-th present value; halve the sample (and double the step) when full."""
        first = (-s.sampled) % s.step
        s.sample.append(values[first :: s.step].copy())
        s.sampled += len(values)
        kept = sum(len(a) for a in s.sample)
        if kept >= 2 * SAMPLE_VALUES:
            joined = np.concatenate(s.sample)
            while len(joined) >= 2 * SAMPLE_VALUES:
                joined = joined[::2]
                s.step *= 2
            s.sample = [joined.copy()]

    def columns(self) -> list[dict]:
        return [{"name": f.name, "dtype": dtype_name(f.type, s.missing > 0)} for f, s in zip(self.schema, self.stats)]

    def result(self) -> dict:
        if self.kept is not None:
            table = pa.Table.from_batches(self.kept, schema=self.schema)
            return profile(frame_from_table(table))
        rows = self.stats[0].rows if self.stats else 0
        return {"rows": rows, "column_count": len(self.schema), "columns": [self._column(f, s) for f, s in zip(self.schema, self.stats)]}

    def _column(self, f: pa.Field, s: _ColumnStats) -> dict:
        gaps = s.missing > 0
        t = f.type
        if pa.types.is_boolean(t):
            kind = "boolean"
        elif pa.types.is_integer(t) or (pa.types.is_floating(t) and s.whole and s.rows > s.missing):
            kind = "integer"
        elif pa.types.is_floating(t):
            kind = "numeric"
        else:
            kind = "categorical"
        labels = {_label(v, t, gaps): c for v, c in s.counts.items()}
        ranked = sorted(labels.items(), key=lambda kv: -kv[1])  # most frequent first
        distinct = DISTINCT_CAP if s.overflow else len(labels)
        out = {
            "name": f.name,
            "dtype": dtype_name(t, gaps),
            "kind": kind,
            "missing": s.missing,
            "distinct": distinct,
            "target_problem": counts_problem(dict(ranked), kind, f"more than {DISTINCT_CAP:,}" if s.overflow else None),
        }
        present = s.rows - s.missing
        if kind in ("numeric", "integer") and present:
            sample = np.concatenate(s.sample)
            out.update(
                min=json_number(s.low),
                max=json_number(s.high),
                median=json_number(float(np.median(sample))),
                mean=json_number(s.total / present),
                histogram=_histogram(sample, s.low, s.high, kind, present),
            )
        if kind in ("categorical", "boolean") or distinct <= TOP_VALUES:
            out["top_values"] = [{"value": v, "count": int(c)} for v, c in ranked[:TOP_VALUES]]
        return out


def _label(value, t: pa.DataType, gaps: bool) -> str:
    """A value as `str()` of the frame's cell gives it (the profile's value labels)."""
    if pa.types.is_integer(t) and gaps:
        return str(float(value))
    return str(value)


def _histogram(sample: np.ndarray, low: float, high: float, kind: str, present: int) -> dict:
    """`profile`'s histogram of the sample, its counts scaled to the column's present values."""
    counts, edges = binned(sample, low, high, kind)
    scaled = np.floor(counts * (present / max(1, len(sample)))).astype("int64")
    if len(scaled):
        scaled[int(np.argmax(counts))] += present - int(scaled.sum())
    return {"edges": [float(e) for e in edges], "counts": [int(c) for c in scaled]}
