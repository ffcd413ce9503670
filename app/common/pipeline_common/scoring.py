"""Scoring a fitted classifier: one definition for the API's online predictions and the
processor's prediction jobs, so both give the same label and probability for a record.

The model is the raw scikit-learn estimator (not MLflow's pyfunc wrapper): the callers have
already checked and typed the frame against the model's signature, so pyfunc's second schema
enforcement would only add time.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

#: Decimal places of every probability we return or write.
DECIMALS = 6


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

    def records(self) -> list[dict]:
        """One {prediction, probability, probabilities} per row (the online API's shape)."""
        names = [str(c) for c in self.classes]
        rounded = np.round(self.proba, DECIMALS).tolist()
        return [
            {"prediction": names[i], "probability": row[i], "probabilities": dict(zip(names, row))}
            for i, row in zip(self._top.tolist(), rounded)
        ]


def score(model, X: pd.DataFrame) -> Scores:
    return Scores(np.asarray(model.classes_).astype(str), model.predict_proba(X))
