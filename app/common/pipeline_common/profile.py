"""A data set's profile: what each column holds, so people (and forms) can judge it before training.

Kinds follow how the model treats a column (`modeling.prepare`): numbers are numeric or
integer features, booleans and everything else are categorical values.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

#: Categorical columns list all their values up to this many, else the most frequent ones.
TOP_VALUES = 50
HISTOGRAM_BINS = 20
#: A classifier's target may have at most this many classes.
MAX_CLASSES = 20


def column_kind(series: pd.Series) -> str:
    if pd.api.types.is_bool_dtype(series):
        return "boolean"
    if pd.api.types.is_integer_dtype(series):
        return "integer"
    if pd.api.types.is_numeric_dtype(series):
        present = series.dropna()
        # A column of whole numbers with gaps is read as float; it is still an integer column.
        if len(present) and bool((present == np.floor(present)).all()):
            return "integer"
        return "numeric"
    return "categorical"


def json_number(value) -> float | int | None:
    """A statistic as the profile gives it: whole numbers as int, None for NaN or infinity."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return None
    as_float = float(value)
    return int(as_float) if as_float.is_integer() else as_float


def _top_values(present: pd.Series) -> list[dict]:
    counts = present.astype(str).value_counts().head(TOP_VALUES)
    return [{"value": str(v), "count": int(c)} for v, c in counts.items()]


def binned(values: np.ndarray, low: float, high: float, kind: str) -> tuple[np.ndarray, np.ndarray]:
    """(counts, edges) of a column's histogram over [low, high]: HISTOGRAM_BINS bars, or one bar per
    whole number when an integer column has fewer of them."""
    bins = HISTOGRAM_BINS
    if kind == "integer":
        bins = max(1, min(HISTOGRAM_BINS, int(high - low) + 1))
    return np.histogram(values, bins=bins, range=(low, high) if high > low else (low - 0.5, low + 0.5))


def _histogram(present: pd.Series, kind: str) -> dict:
    values = present.astype("float64").to_numpy()
    counts, edges = binned(values, float(values.min()), float(values.max()), kind)
    return {"edges": [float(e) for e in edges], "counts": [int(c) for c in counts]}


def target_problem(series: pd.Series, kind: str | None = None) -> str | None:
    """Why this column cannot be a classifier's target (one sentence), or None if it can."""
    return counts_problem(series.dropna().astype(str).value_counts(), kind or column_kind(series))


def counts_problem(counts, kind: str, distinct: str | None = None) -> str | None:
    """`target_problem` from a column's value counts (a mapping of value label to rows, most
    frequent first: a `value_counts` Series or a dict); `distinct` words their number when
    `len(counts)` is not all of them (a streamed profile counts up to a cap)."""
    many = distinct or f"{len(counts):,}"
    if len(counts) == 0:
        return "it has no values"
    if len(counts) < 2:
        return f"it has a single value ('{next(iter(counts.keys()))}'); a classifier needs at least two classes"
    if kind == "numeric":
        return f"it holds continuous numbers ({many} distinct values); pick a column of classes, such as a label or a category"
    if len(counts) > MAX_CLASSES and kind == "integer":
        return (
            f"it holds numbers with {many} distinct values, a measurement rather than classes; "
            f"a target may have at most {MAX_CLASSES} classes"
        )
    if len(counts) > MAX_CLASSES:
        return f"it has {many} distinct values; a target may have at most {MAX_CLASSES} classes"
    rare = next((value for value, rows in counts.items() if rows < 2), None)
    if rare is not None:
        return f"class '{rare}' has only one row; every class needs at least two rows so it can be both learnt and tested"
    return None


def profile_column(name: str, series: pd.Series) -> dict:
    kind = column_kind(series)
    present = series.dropna()
    out = {
        "name": name,
        "dtype": str(series.dtype),
        "kind": kind,
        "missing": int(series.isna().sum()),
        "distinct": int(present.nunique()),
        "target_problem": target_problem(series, kind),
    }
    if kind in ("numeric", "integer") and len(present):
        out.update(
            min=json_number(present.min()),
            max=json_number(present.max()),
            median=json_number(present.median()),
            mean=json_number(present.mean()),
            histogram=_histogram(present, kind),
        )
    if kind in ("categorical", "boolean") or out["distinct"] <= TOP_VALUES:
        # Few-valued numeric columns list their values too: they may be class labels.
        out["top_values"] = _top_values(present)
    return out


def profile(df: pd.DataFrame) -> dict:
    """Rows, column count and one entry per column (see `profile_column`)."""
    return {
        "rows": int(len(df)),
        "column_count": int(len(df.columns)),
        "columns": [profile_column(str(c), df[c]) for c in df.columns],
    }
