"""The model: a scikit-learn pipeline for any tabular classification data set.

Features and their types come from the data; nothing is specific to one data
set. Numeric features are imputed with the median, categorical ones with the
most frequent value and one-hot encoded; a histogram gradient-boosted tree
ensemble does the classification.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.metrics import accuracy_score, f1_score, roc_auc_score
from sklearn.model_selection import RandomizedSearchCV, train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder

from pipeline_common.tabular import DataError

RANDOM_STATE = 42
TEST_SIZE = 0.2

#: Types skops may load besides its defaults: numpy dtypes of the encoder categories and
#: HistGradientBoosting's fitted trees. Chosen deliberately (MLflow saves scikit-learn models with skops and refuses
#: unknown types); nothing else in our pipeline needs trust.
SKOPS_TRUSTED_TYPES = [
    "numpy.dtype",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
]


@dataclass
class Split:
    X_train: pd.DataFrame
    X_test: pd.DataFrame
    y_train: pd.Series
    y_test: pd.Series


def prepare(df: pd.DataFrame, target: str) -> tuple[pd.DataFrame, pd.Series]:
    if target not in df.columns:
        raise DataError("target", f"column '{target}' is not in the data set")
    df = df[df[target].notna()]
    y = df[target].astype(str)
    if y.nunique() < 2:
        raise DataError("target", f"column '{target}' needs at least two classes")
    X = df.drop(columns=[target])
    for col in X.columns:
        if pd.api.types.is_bool_dtype(X[col]):
            X[col] = X[col].astype(str)
        elif pd.api.types.is_numeric_dtype(X[col]):
            X[col] = X[col].astype("float64")
        else:
            X[col] = X[col].astype("object").where(X[col].notna(), None)
    return X, y


def split(X: pd.DataFrame, y: pd.Series, target: str = "target") -> Split:
    """Hold out TEST_SIZE of the rows, stratified when every class has enough rows for it.

    Too few rows to train on two classes is the data's fault: a DataError naming the target.
    """
    counts = y.value_counts()
    n_test = math.ceil(len(y) * TEST_SIZE)
    enough = counts.min() >= 2 and n_test >= len(counts) and len(y) - n_test >= len(counts)
    X_tr, X_te, y_tr, y_te = train_test_split(
        X, y, test_size=TEST_SIZE, random_state=RANDOM_STATE, stratify=y if enough else None
    )
    if y_tr.nunique() < 2 or len(y_te) == 0:
        rare = counts.idxmin()
        raise DataError(
            "target",
            f"column '{target}' has too few rows for a held-out split ({len(y)} rows; class {rare!r} has "
            f"{counts.min()}): give every class at least 2 rows and the data set at least {2 * len(counts) + 1}",
        )
    return Split(X_tr, X_te, y_tr, y_te)


def build_pipeline(X: pd.DataFrame, **params) -> Pipeline:
    numeric = [c for c in X.columns if pd.api.types.is_numeric_dtype(X[c])]
    categorical = [c for c in X.columns if c not in numeric]
    pre = ColumnTransformer(
        [
            ("num", SimpleImputer(strategy="median"), numeric),
            (
                "cat",
                Pipeline(
                    [
                        ("impute", SimpleImputer(strategy="most_frequent")),
                        ("onehot", OneHotEncoder(handle_unknown="ignore", sparse_output=False)),
                    ]
                ),
                categorical,
            ),
        ]
    )
    clf = HistGradientBoostingClassifier(random_state=RANDOM_STATE, **params)
    return Pipeline([("preprocess", pre), ("model", clf)])


def fit(split_: Split, optimize: bool = False) -> tuple[Pipeline, dict]:
    pipe = build_pipeline(split_.X_train)
    if not optimize:
        pipe.fit(split_.X_train, split_.y_train)
        return pipe, {}
    search = RandomizedSearchCV(
        pipe,
        {
            "model__learning_rate": [0.03, 0.05, 0.1, 0.2],
            "model__max_leaf_nodes": [15, 31, 63],
            "model__l2_regularization": [0.0, 0.1, 1.0],
            "model__max_iter": [100, 200, 300],
        },
        n_iter=6,
        cv=3,
        scoring="roc_auc_ovr" if split_.y_train.nunique() > 2 else "roc_auc",
        random_state=RANDOM_STATE,
        n_jobs=1,
    )
    search.fit(split_.X_train, split_.y_train)
    return search.best_estimator_, {k.removeprefix("model__"): v for k, v in search.best_params_.items()}


def evaluate(model, X: pd.DataFrame, y: pd.Series) -> dict[str, float]:
    pred = model.predict(X)
    proba = model.predict_proba(X)
    classes = list(model.classes_)
    if y.nunique() < 2:  # one class in the held-out rows: ROC AUC is undefined (stored as null)
        auc = float("nan")
        f1 = f1_score(y, pred, average="macro")
    elif len(classes) == 2:
        auc = roc_auc_score((y == classes[1]).astype(int), proba[:, 1])
        f1 = f1_score(y, pred, pos_label=classes[1])
    else:
        present = [c for c in classes if c in set(y)]
        auc = roc_auc_score(y, proba, multi_class="ovr", labels=classes) if len(present) == len(classes) else float("nan")
        f1 = f1_score(y, pred, average="macro")
    return {"accuracy": float(accuracy_score(y, pred)), "f1": float(f1), "roc_auc": float(auc)}


def better(new: dict[str, float], old: dict[str, float] | None, metric: str = "roc_auc") -> bool:
    """True when `new` beats `old` on `metric`; an undefined (NaN/None) old score always loses."""
    def score(metrics):
        value = (metrics or {}).get(metric)
        return np.nan if value is None else float(value)

    if old is None or np.isnan(score(old)):
        return True
    return score(new) > score(old)
