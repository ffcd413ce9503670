"""A fitted preprocessing step replayed with numpy and pandas: the numbers its `transform`
gives, without scikit-learn's per-call checks.

`ColumnTransformer.transform` spent about 8 ms on one record (input validation, feature-name
checks and dataframe dispatch, once per transformer): most of an online prediction, and most of
the worker's CPU time for a one-record job, competing with the API on a small host. On a 30k-row
data set it took about 66 ms. The replay only knows the step `modeling.build_pipeline` fits: a
ColumnTransformer of median/mean/most-frequent imputers and one-hot encoders that ignore unknown
categories, with dense output. Any other step, and any frame it cannot read the same way
(a column missing, text cells that are not strings), goes through scikit-learn's `transform`.
`tests/app/test_encoding.py` asserts that both give the same array.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass

import numpy as np
import pandas as pd
import sklearn
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder


@dataclass(frozen=True)
class _Numbers:
    """Numeric columns through a SimpleImputer: NaN becomes the fitted statistic."""

    columns: list[str]
    fill: np.ndarray
    offset: int

    @property
    def width(self) -> int:
        return len(self.columns)

    def write(self, X: pd.DataFrame, out: np.ndarray) -> bool:
        for j, name in enumerate(self.columns):
            series = X[name]
            if series.dtype.kind not in "fi":
                return False
            values = series.to_numpy(dtype=np.float64, na_value=np.nan)
            out[:, self.offset + j] = np.where(np.isnan(values), self.fill[j], values)
        return True


@dataclass(frozen=True)
class _OneHot:
    """One text column, optionally imputed first, one-hot encoded; unknown categories are all zeros.

    As in scikit-learn, the imputer fills only NaN: None is a value of its own, which the
    encoder learnt as a category when the training data had it (see the tests).
    """

    column: str
    impute: bool
    fill: str | None  # the imputer's statistic (None may be the most frequent value)
    positions: dict[str, int]  # each learnt string's column in the block
    none_at: int  # the column of None when the encoder learnt it, else -1
    offset: int
    width: int

    @property
    def columns(self) -> list[str]:
        return [self.column]

    def write(self, X: pd.DataFrame, out: np.ndarray) -> bool:
        values = X[self.column].to_numpy(dtype=object)
        codes, uniques = pd.factorize(values)  # hashed in C; None and NaN both come out as -1
        table = np.empty(len(uniques) + 1, dtype=np.intp)
        for i, value in enumerate(uniques):
            if not isinstance(value, str):
                return False  # numbers or other objects: scikit-learn decides what they mean
            table[i] = self.positions.get(value, -1)
        table[-1] = -1
        at = table[codes]
        for i in np.flatnonzero(codes < 0).tolist():
            position = self._gap(values[i])
            if position is None:
                return False
            at[i] = position
        known = at >= 0
        out[np.flatnonzero(known), self.offset + at[known]] = 1.0
        return True

    def _gap(self, value) -> int | None:
        if value is None:
            return self.none_at
        if isinstance(value, float) and value != value and self.impute:  # NaN: the imputer's value
            return self.none_at if self.fill is None else self.positions.get(self.fill, -1)
        return None  # pandas' NA types, or NaN without an imputer: left to scikit-learn


class Replay:
    """A fitted ColumnTransformer's `transform`, for the frames it can read alike."""

    def __init__(self, blocks: list, width: int):
        self.blocks, self.width = blocks, width
        self.columns = [name for block in blocks for name in block.columns]  # the input columns it reads

    def __call__(self, X: pd.DataFrame) -> np.ndarray | None:
        """The encoded rows, or None when this frame must go through scikit-learn."""
        if len(X) == 0 or any(name not in X.columns for name in self.columns):
            return None
        out = np.zeros((len(X), self.width), dtype=np.float64)
        return out if all(block.write(X, out) for block in self.blocks) else None


def _plain_imputer(t) -> bool:
    return (
        isinstance(t, SimpleImputer)
        and t.strategy in ("mean", "median", "most_frequent", "constant")
        and not t.add_indicator
        and isinstance(t.missing_values, float)
        and np.isnan(t.missing_values)
    )


def _plain_one_hot(t) -> bool:
    return (
        isinstance(t, OneHotEncoder)
        and t.handle_unknown == "ignore"
        and t.drop is None
        and t.min_frequency is None
        and t.max_categories is None
        and not t.sparse_output
        and np.dtype(t.dtype) == np.float64
        and all(c.dtype == object and all(v is None or isinstance(v, str) for v in c) for c in t.categories_)
    )


def _blocks(t, columns: list[str], offset: int) -> list | None:
    """The replay of one fitted transformer on its columns, or None when it is not one we know."""
    steps = [s for _, s in t.steps] if isinstance(t, Pipeline) else [t]
    if len(steps) == 1 and _plain_imputer(steps[0]):
        fill = np.asarray(steps[0].statistics_)
        if fill.dtype.kind != "f" or np.isnan(fill).any() or len(fill) != len(columns):
            return None  # an all-missing column is dropped by the imputer: not replayed
        return [_Numbers(list(columns), fill, offset)]
    impute = len(steps) == 2 and _plain_imputer(steps[0]) and steps[0].strategy in ("most_frequent", "constant")
    encoder = steps[-1]
    if not (_plain_one_hot(encoder) and (impute or len(steps) == 1)):
        return None
    fills = steps[0].statistics_ if impute else [None] * len(columns)
    if impute and any(not (f is None or isinstance(f, str)) for f in fills):
        return None
    blocks = []
    for name, categories, fill in zip(columns, encoder.categories_, fills):
        learnt = list(categories)
        positions = {c: j for j, c in enumerate(learnt) if c is not None}
        none_at = learnt.index(None) if None in learnt else -1
        blocks.append(_OneHot(name, impute, fill, positions, none_at, offset, len(learnt)))
        offset += len(learnt)
    return blocks


def _inner(step):
    """A one-step Pipeline's step (`model[:-1]` of a pipeline is a new one on every call)."""
    return step.steps[0][1] if isinstance(step, Pipeline) and len(step.steps) == 1 else step


def compile_transform(step) -> Replay | None:
    """The replay of a fitted preprocessing step (a ColumnTransformer, or a one-step Pipeline of
    one), or None when it holds anything else."""
    step = _inner(step)
    if not isinstance(step, ColumnTransformer) or step.sparse_output_ or _output(step) != "default":
        return None
    blocks, width = [], 0
    for name, t, columns in step.transformers_:
        if isinstance(t, str) and t == "drop" or len(columns) == 0:
            continue  # dropped, or no columns of its kind (all-numeric data: an encoder never fitted)
        if isinstance(t, str) or not all(isinstance(c, str) for c in columns):
            return None  # passthrough, or columns chosen by position
        part = _blocks(t, list(columns), width)
        if part is None or step.output_indices_[name] != slice(width, width + sum(b.width for b in part)):
            return None
        blocks += part
        width = step.output_indices_[name].stop
    return Replay(blocks, width) if blocks else None


def _output(step) -> str:
    """The container `set_output` chose for the step's transform ("default" is numpy)."""
    return getattr(step, "_sklearn_output_config", {}).get("transform", "default")


_replays: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_UNSUPPORTED = object()


def transform(step, X: pd.DataFrame) -> np.ndarray:
    """`step.transform(X)`: replayed when the step and the frame allow it (compiled once per step)."""
    key = _inner(step)
    replay = _replays.get(key)
    if replay is None:
        replay = _replays[key] = compile_transform(key) or _UNSUPPORTED
    usable = replay is not _UNSUPPORTED and sklearn.get_config()["transform_output"] == "default"
    encoded = replay(X) if usable else None
    return encoded if encoded is not None else step.transform(X)
