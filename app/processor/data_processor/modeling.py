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
from sklearn.inspection import permutation_importance
from sklearn.metrics import accuracy_score, check_scoring, confusion_matrix, f1_score, roc_auc_score, roc_curve
from sklearn.model_selection import RandomizedSearchCV, train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder
from sklearn.utils import check_random_state

from pipeline_common.tabular import DataError, json_safe

RANDOM_STATE = 42
TEST_SIZE = 0.2
MAX_CURVE_POINTS = 50  # per ROC curve: enough to draw it, small enough for the job's JSON
IMPORTANCE_ROWS = 2000  # held-out rows permuted for feature importance (a fixed sample beyond that)
IMPORTANCE_REPEATS = 2  # shuffles per column: 2,000 rows x 2 keeps this near a third of a default fit on Adult

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


def diagnostics(model, X: pd.DataFrame, y: pd.Series) -> dict:
    """What to draw of a model on its held-out rows, as JSON-safe data (no NaN; None where undefined).

    - `confusion_matrix`: `labels` (the model's classes, then any class only the held-out rows have) and
      `counts[i][j]`: rows of true class i predicted as class j.
    - `roc`: one curve per class scored one-vs-rest (binary: only the positive class, `classes[1]`), each
      `{label, fpr, tpr, auc}` with at most MAX_CURVE_POINTS points; a class absent from the rows (or the
      only one there) has no curve, and no curve at all is None.
    - `feature_importance`: permutation importance per *input column* (the whole pipeline is scored with
      the column shuffled) on at most IMPORTANCE_ROWS rows: `{scoring, rows, repeats, features}` with
      `features` as `{feature, importance, std}`, most important first.
    """
    classes = [str(c) for c in model.classes_]
    y = y.astype(str)
    proba = model.predict_proba(X)
    pred = model.classes_[proba.argmax(axis=1)]  # what predict returns, without a second pass
    labels = classes + sorted(set(y) - set(classes))
    counts = confusion_matrix(y, pred.astype(str), labels=labels)
    return json_safe(
        {
            "confusion_matrix": {"labels": labels, "counts": counts.tolist()},
            "roc": _roc_curves(classes, y, proba),
            "feature_importance": _importance(model, X, y, classes),
        }
    )


def _roc_curves(classes: list[str], y: pd.Series, proba: np.ndarray) -> list[dict] | None:
    scored = [1] if len(classes) == 2 else range(len(classes))
    curves = []
    for i in scored:
        positive = (y == classes[i]).to_numpy()
        if positive.all() or not positive.any():  # one-vs-rest needs both sides in the rows
            continue
        fpr, tpr, _ = roc_curve(positive, proba[:, i])
        keep = _thin(len(fpr), MAX_CURVE_POINTS)
        curves.append(
            {
                "label": classes[i],
                "fpr": [round(float(v), 4) for v in fpr[keep]],
                "tpr": [round(float(v), 4) for v in tpr[keep]],
                "auc": round(float(roc_auc_score(positive, proba[:, i])), 4),
            }
        )
    return curves or None


def _thin(n: int, limit: int) -> np.ndarray:
    """At most `limit` indices of 0..n-1, evenly spread, first and last kept."""
    if n <= limit:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, limit).round().astype(int))


def _importance(model, X: pd.DataFrame, y: pd.Series, classes: list[str]) -> dict:
    if len(X) > IMPORTANCE_ROWS:
        X = X.sample(n=IMPORTANCE_ROWS, random_state=RANDOM_STATE)
        y = y.loc[X.index]
    # The score the model is chosen by (see fit and better); accuracy where ROC AUC is undefined.
    if len(classes) == 2:
        scoring = "roc_auc" if y.nunique() == 2 and set(y) <= set(classes) else "accuracy"
    else:
        scoring = "roc_auc_ovr" if set(y) == set(classes) else "accuracy"
    means, stds = permutation_scores(model, X, y, scoring, IMPORTANCE_REPEATS)
    features = [
        {"feature": str(col), "importance": round(float(mean), 5), "std": round(float(std), 5)}
        for col, mean, std in zip(X.columns, means, stds)
    ]
    features.sort(key=lambda f: (-f["importance"], f["feature"]))
    return {"scoring": scoring, "rows": len(X), "repeats": IMPORTANCE_REPEATS, "features": features}


def permutation_scores(model, X: pd.DataFrame, y: pd.Series, scoring: str, n_repeats: int) -> tuple[np.ndarray, np.ndarray]:
    """sklearn's permutation_importance of the pipeline per input column (mean, std), preprocessing once.

    Imputing and one-hot encoding work row by row, so shuffling an input column shuffles the rows of
    its block of encoded columns and nothing else: the rows are encoded once and each shuffle only
    re-runs the classifier. The shuffles are sklearn's (same seed, same order) and so are the scores,
    so the numbers are sklearn's (a test checks); a pipeline not shaped like build_pipeline's takes
    sklearn's own path.
    """
    blocks = _input_blocks(model, list(X.columns))
    if blocks is None:
        r = permutation_importance(model, X, y, scoring=scoring, n_repeats=n_repeats, random_state=RANDOM_STATE, n_jobs=1)
        return r.importances_mean, r.importances_std
    clf = model.named_steps["model"]
    Z = np.asarray(model.named_steps["preprocess"].transform(X))
    scorer = _scorer(clf, scoring, y)
    baseline = scorer(Z)
    seed = check_random_state(RANDOM_STATE).randint(np.iinfo(np.int32).max + 1)
    drops = np.zeros((len(blocks), n_repeats))
    used = _split_features(clf)
    for j, block in enumerate(blocks):
        if used is not None and not used.intersection(block.tolist()):
            continue  # no tree splits on it: shuffling it cannot change a prediction (drop 0, as sklearn finds)
        rng = check_random_state(seed)
        order = np.arange(len(Z))
        Zp = Z.copy()
        for k in range(n_repeats):
            rng.shuffle(order)
            Zp[:, block] = Zp[order[:, None], block]
            drops[j, k] = baseline - scorer(Zp)
    return drops.mean(axis=1), drops.std(axis=1)


def _split_features(clf) -> set[int] | None:
    """The encoded columns a fitted histogram gradient-boosting model splits on (None for another
    model). On wide data most columns are never used; skipping them keeps importance affordable
    (5,000 columns took minutes of predictions that could not change)."""
    predictors = getattr(clf, "_predictors", None)
    if predictors is None:
        return None
    used: set[int] = set()
    for trees in predictors:
        for tree in trees:
            nodes = tree.nodes
            used.update(int(i) for i in nodes["feature_idx"][~nodes["is_leaf"].astype(bool)])
    return used


def _scorer(clf, scoring: str, y: pd.Series):
    """sklearn's scorer `scoring` of `clf` on `y` as a function of the encoded rows, with the labels
    turned into class positions once (sorting string labels on every call cost as much as predicting)."""
    classes = list(clf.classes_)
    index = {c: i for i, c in enumerate(classes)}
    codes = np.array([index.get(v, -1) for v in y])
    if scoring == "accuracy":
        return lambda Z: float(np.mean(clf.predict_proba(Z).argmax(axis=1) == codes))
    if scoring == "roc_auc" and len(classes) == 2:
        response = clf.decision_function if hasattr(clf, "decision_function") else lambda Z: clf.predict_proba(Z)[:, 1]
        return lambda Z: float(roc_auc_score(codes == 1, response(Z)))
    if scoring == "roc_auc_ovr":
        return lambda Z: float(roc_auc_score(codes, clf.predict_proba(Z), multi_class="ovr", labels=np.arange(len(classes))))
    scorer = check_scoring(clf, scoring=scoring)
    return lambda Z: scorer(clf, Z, y)


def _input_blocks(model, columns: list[str]) -> list[np.ndarray] | None:
    """Per input column, the indices of the encoded columns made from it; None for another pipeline."""
    steps = getattr(model, "named_steps", {})
    pre = steps.get("preprocess")
    if list(steps) != ["preprocess", "model"] or not isinstance(pre, ColumnTransformer):
        return None
    blocks = {c: np.arange(0) for c in columns}
    for name, trans, cols in pre.transformers_:
        if name == "remainder" and trans == "drop" or len(cols) == 0:
            continue
        parts = [t for _, t in trans.steps] if isinstance(trans, Pipeline) else [trans]
        if not all(isinstance(t, SimpleImputer) for t in parts[:-1]) or not all(
            isinstance(t, SimpleImputer)
            or isinstance(t, OneHotEncoder) and t.drop is None and t.min_frequency is None and t.max_categories is None
            for t in parts
        ):
            return None
        kept = list(cols)
        for t in parts[:-1] if isinstance(parts[-1], OneHotEncoder) else parts:
            kept = [c for c in kept if c in set(t.get_feature_names_out(kept))]  # all-missing columns are dropped
        sizes = [len(c) for c in parts[-1].categories_] if isinstance(parts[-1], OneHotEncoder) else [1] * len(kept)
        start = pre.output_indices_[name].start
        for c, n in zip(kept, sizes, strict=True):
            blocks[c] = np.arange(start, start + n)
            start += n
        if start != pre.output_indices_[name].stop:
            return None
    width = max(sl.stop for sl in pre.output_indices_.values())
    if sorted(i for b in blocks.values() for i in b) != list(range(width)):
        return None
    return [blocks[c] for c in columns]
