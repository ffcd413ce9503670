"""How many rows a training job can hold within the worker's memory limit.

A worker past its container's limit is killed by the kernel, mid-job, with nothing said. So before
it reads a data set's features the worker estimates what training needs per row and takes only as
many rows as fit (a stratified sample), or refuses the job, by the policy TRAINING_OVERSIZE.

The estimate follows what `modeling` builds: the data frame and its held-out split (8 bytes a cell:
float64 numbers, shared string objects) and, dominating it, the pipeline's one-hot encoded matrix of
float64 (numbers plus one column per category), which scikit-learn's ColumnTransformer assembles from
its parts and HistGradientBoosting copies again for its early-stopping split. The coefficients were
measured (docs/data-at-size.md gives the figures).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa

from .datasets import Source

MiB = 1024 * 1024
CGROUP_MEMORY_MAX = Path("/sys/fs/cgroup/memory.max")

#: The share of the limit a job plans to use at its peak, the process's memory before it included.
PLAN_FRACTION = 0.75
#: Bytes per training row: per cell of the frame, per encoded column, and per row beside them.
FRAME_CELL_BYTES = 20
ENCODED_CELL_BYTES = 17
ROW_BYTES = 100
#: Distinct values counted per text column; beyond it a column's width is taken as one per row.
DISTINCT_CAP = 200_000
#: Fewer sampled rows than this are not worth a model: the job fails instead.
MIN_SAMPLE_ROWS = 200


def limit_bytes(configured_mb: int, cgroup: Path = CGROUP_MEMORY_MAX) -> int:
    """The smaller of MEMORY_LIMIT_MB and cgroup v2's `memory.max` when it holds a number ("max": none)."""
    limit = configured_mb * MiB
    try:
        text = cgroup.read_text().strip()
    except OSError:
        return limit
    return min(limit, int(text)) if text.isdigit() else limit


def rss_bytes() -> int:
    """This process's resident memory now."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@dataclass
class Columns:
    """What the estimate needs of a data set's feature columns."""

    numeric: int
    distinct: list[int]  # per text or true/false column: its distinct values (capped)

    def width(self, rows: int) -> int:
        """Encoded columns for `rows` rows: a text column cannot have more categories than rows."""
        return self.numeric + sum(min(d, rows) for d in self.distinct)

    def bytes_per_row(self, rows: int) -> int:
        cells = self.numeric + len(self.distinct)
        return FRAME_CELL_BYTES * cells + ENCODED_CELL_BYTES * self.width(rows) + ROW_BYTES


@dataclass
class Survey:
    """One pass over the target and the text columns, row group by row group."""

    target: "pa.ChunkedArray"
    columns: Columns


def survey(source: Source, target: str) -> Survey:
    features = [c for c in source.columns if c != target]
    text = source.strings(features)
    seen: dict[str, set] = {c: set() for c in text}
    chunks = []
    for table in source.groups(source.columns):  # whole row groups: one ranged GET each, not one per column
        chunks.extend(table.column(target).chunks)
        for c in text:
            if len(seen[c]) >= DISTINCT_CAP:
                continue
            for chunk in table.column(c).chunks:
                seen[c].update(chunk.dictionary.to_pylist() if pa.types.is_dictionary(chunk.type) else chunk.unique().to_pylist())
            seen[c].discard(None)
    flags = [f.name for f in source.schema if f.name in features and pa.types.is_boolean(f.type)]
    numeric = len(features) - len(text) - len(flags)
    distinct = [len(seen[c]) if len(seen[c]) < DISTINCT_CAP else source.num_rows for c in text]
    return Survey(pa.chunked_array(chunks), Columns(numeric, distinct + [2] * len(flags)))


@dataclass
class Plan:
    total_rows: int
    rows: int  # rows to train on: all of them, or the sample's size
    bytes_per_row: int
    budget: int  # bytes the rows may take
    limit: int

    @property
    def sampled(self) -> bool:
        return self.rows < self.total_rows


def plan(total_rows: int, columns: Columns, limit: int, in_use: int) -> Plan:
    """The most rows (up to all) whose estimate fits in PLAN_FRACTION of `limit` beside `in_use`."""
    budget = max(0, int(limit * PLAN_FRACTION) - in_use)
    lo, hi = 0, total_rows
    while lo < hi:  # bytes grow with rows: the largest count that fits
        mid = (lo + hi + 1) // 2
        if mid * columns.bytes_per_row(mid) <= budget:
            lo = mid
        else:
            hi = mid - 1
    rows = lo
    return Plan(total_rows, rows, columns.bytes_per_row(max(rows, 1) if rows < total_rows else total_rows), budget, limit)


def stratified_rows(labels: np.ndarray, size: int, seed: int) -> np.ndarray:
    """Sorted positions of `size` rows with a non-negative label code, each class in its share (at least
    two rows of a class that has them, so the held-out split can stratify)."""
    valid = np.flatnonzero(labels >= 0)
    codes = labels[valid]
    counts = np.bincount(codes)
    present = np.flatnonzero(counts)
    share = counts[present] * (size / len(valid))
    take = np.maximum(np.floor(share).astype(np.int64), np.minimum(counts[present], 2))
    spare = size - int(take.sum())
    if spare > 0:  # the rows floor() left out go to the classes with the largest remainders
        for i in np.argsort(-(share - np.floor(share)), kind="stable")[:spare]:
            take[i] = min(counts[present][i], take[i] + 1)
    elif spare < 0:  # the rare classes' two rows come out of the largest classes
        for i in np.argsort(-take, kind="stable")[:-spare]:
            take[i] -= 1
    rng = np.random.default_rng(seed)
    order = np.argsort(codes, kind="stable")
    starts = np.concatenate([[0], np.cumsum(counts)])
    picked = [rng.choice(order[starts[c] : starts[c + 1]], int(k), replace=False) for c, k in zip(present, take)]
    return np.sort(valid[np.concatenate(picked)])
