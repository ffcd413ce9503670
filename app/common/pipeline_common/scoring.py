"""Scoring a fitted classifier: one definition for the API's online predictions and the
processor's prediction jobs, so both give the same label and probability for a record.

The model is the raw scikit-learn estimator (not MLflow's pyfunc wrapper): the callers have
already checked and typed the frame against the model's signature, so pyfunc's second schema
enforcement would only add time.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np
import pandas as pd
from sklearn.pipeline import Pipeline
from threadpoolctl import ThreadpoolController

from . import encoding

#: Decimal places of every probability we return or write.
DECIMALS = 6

#: Bytes of encoded rows per `predict_proba` call of a pipeline's final estimator. A tree
#: ensemble walks every row once per tree: on Adult (30k rows one-hot encoded to 104 float64
#: columns, 25 MB) the 100 trees of the gradient-boosted model streamed the matrix from memory
#: 100 times, and blocks that stay in the CPU cache took that step from 325 ms to about 155 ms
#: (chunks of 2,000-8,000 rows measured alike; 16,000 rows were as slow as one call).
BLOCK_BYTES = 4 * 2**20

#: Frames with fewer rows are scored on one OpenMP thread. A tree ensemble runs one parallel loop
#: per tree, and after each loop the idle thread spins: one record cost 16 ms of CPU on two threads
#: against 4.6 ms on one, in the same wall time, and that CPU is taken from the API sharing the
#: host. Two threads only pay from about 500 rows (1,000 rows: 12 ms against 15 ms wall).
SERIAL_ROWS = 500


@dataclass(frozen=True)
class Scores:
    classes: np.ndarray  # class labels, in the order of proba's columns
    proba: np.ndarray  # shape (rows, classes)

    @property
    def _top(self) -> np.ndarray:
        return self.proba.argmax(axis=1)

    def labels(self) -> np.ndarray:
        return self.classes[self._top]

    def probability(self) -> np.ndarray:
        """The probability of each row's predicted label, rounded."""
        return np.round(self.proba[np.arange(len(self.proba)), self._top], DECIMALS)

    def class_probabilities(self) -> np.ndarray:
        """Every class's probability for each row, rounded; columns in `classes` order."""
        return np.round(self.proba, DECIMALS)

    def records(self) -> list[dict]:
        """One {prediction, probability, probabilities} per row (the online API's shape)."""
        names = [str(c) for c in self.classes]
        rounded = self.class_probabilities().tolist()
        return [
            {"prediction": names[i], "probability": row[i], "probabilities": dict(zip(names, row))}
            for i, row in zip(self._top.tolist(), rounded)
        ]


def score_classes(model) -> np.ndarray:
    """The model's class labels as text, in the order of its probabilities' columns."""
    return np.asarray(model.classes_).astype(str)


def score(model, X: pd.DataFrame) -> Scores:
    return Scores(score_classes(model), predict_proba(model, X))


def predict_proba(model, X: pd.DataFrame) -> np.ndarray:
    """`model.predict_proba(X)`, the same numbers, with a pipeline's final step run on blocks of
    encoded rows (BLOCK_BYTES) once its transformers have encoded the whole frame; fewer than
    SERIAL_ROWS rows on one OpenMP thread."""
    if len(X) >= SERIAL_ROWS:
        return _predict_proba(model, X)
    with _openmp().limit(limits=1, user_api="openmp"):
        return _predict_proba(model, X)


@cache
def _openmp() -> ThreadpoolController:
    """Made on first use, when the model has loaded scikit-learn's OpenMP runtime."""
    return ThreadpoolController()


def _predict_proba(model, X: pd.DataFrame) -> np.ndarray:
    if not isinstance(model, Pipeline) or len(model.steps) < 2:
        return model.predict_proba(X)
    encoded = encoding.transform(model[:-1], X)
    final = model[-1]
    if not isinstance(encoded, np.ndarray) or encoded.ndim != 2:  # sparse or frame output: one call
        return final.predict_proba(encoded)
    rows = max(1, BLOCK_BYTES // max(1, encoded.shape[1] * encoded.itemsize))
    if len(encoded) <= rows:
        return final.predict_proba(encoded)
    return np.concatenate([final.predict_proba(encoded[i : i + rows]) for i in range(0, len(encoded), rows)])
