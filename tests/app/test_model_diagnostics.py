"""The pictures of a trained model (confusion matrix, ROC curves, feature importance), computed in
process on small generated data: no services."""

from __future__ import annotations

import io
import json
import math

import numpy as np
import pandas as pd
import pytest
from threadpoolctl import threadpool_limits

from data_processor import modeling

from .conftest import make_csv


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """OpenMP threads in the tree models only fight over a busy machine's cores at this size."""
    with threadpool_limits(1):
        yield


def trained(df: pd.DataFrame, target: str):
    X, y = modeling.prepare(df, target)
    split = modeling.split(X, y, target)
    model, _ = modeling.fit(split)
    return model, split


@pytest.fixture(scope="module")
def binary():
    return trained(pd.read_csv(io.BytesIO(make_csv(rows=600))), "income")


@pytest.fixture(scope="module")
def multiclass():
    rng = np.random.default_rng(1)
    n = 600
    x = rng.normal(0, 1, n)
    noise = rng.normal(0, 1, n)
    colour = rng.choice(["red", "green"], n)
    kind = np.where(x < -0.5, "low", np.where(x < 0.5, "mid", "high"))
    return trained(pd.DataFrame({"x": x, "noise": noise, "colour": colour, "kind": kind}), "kind")


def test_confusion_matrix_counts_every_held_out_row_by_true_and_predicted_class(binary):
    model, split = binary
    cm = modeling.diagnostics(model, split.X_test, split.y_test)["confusion_matrix"]
    assert cm["labels"] == ["<=50K", ">50K"]
    assert len(cm["counts"]) == 2 and all(len(row) == 2 for row in cm["counts"])
    assert sum(map(sum, cm["counts"])) == len(split.y_test)
    assert [sum(row) for row in cm["counts"]] == [int((split.y_test == c).sum()) for c in cm["labels"]]  # rows: true class


def test_binary_roc_is_one_curve_for_the_positive_class_from_corner_to_corner(binary):
    model, split = binary
    roc = modeling.diagnostics(model, split.X_test, split.y_test)["roc"]
    assert [c["label"] for c in roc] == [">50K"]
    curve = roc[0]
    assert (curve["fpr"][0], curve["tpr"][0]) == (0.0, 0.0) and (curve["fpr"][-1], curve["tpr"][-1]) == (1.0, 1.0)
    assert curve["fpr"] == sorted(curve["fpr"]) and curve["tpr"] == sorted(curve["tpr"])
    assert 0.5 < curve["auc"] <= 1


def test_roc_curves_are_cut_to_at_most_fifty_points(binary):
    model, _ = binary
    X, y = modeling.prepare(pd.read_csv(io.BytesIO(make_csv(rows=4000, seed=7))), "income")
    curve = modeling.diagnostics(model, X, y)["roc"][0]
    assert len(curve["fpr"]) == len(curve["tpr"]) <= modeling.MAX_CURVE_POINTS
    assert (curve["fpr"][0], curve["tpr"][-1]) == (0.0, 1.0)


def test_multiclass_has_one_roc_curve_per_class_and_a_square_confusion_matrix(multiclass):
    model, split = multiclass
    d = modeling.diagnostics(model, split.X_test, split.y_test)
    assert [c["label"] for c in d["roc"]] == ["high", "low", "mid"]
    assert d["confusion_matrix"]["labels"] == ["high", "low", "mid"]
    assert len(d["confusion_matrix"]["counts"]) == 3 and all(len(r) == 3 for r in d["confusion_matrix"]["counts"])


def test_one_class_held_out_rows_have_no_roc_but_a_confusion_matrix(binary):
    model, split = binary
    only = split.y_test == ">50K"
    d = modeling.diagnostics(model, split.X_test[only], split.y_test[only])
    assert d["roc"] is None
    assert sum(map(sum, d["confusion_matrix"]["counts"])) == int(only.sum())
    assert d["feature_importance"]["features"]  # importance still has a score to lose (accuracy)


def test_a_class_missing_from_the_held_out_rows_gets_no_curve(multiclass):
    model, split = multiclass
    keep = split.y_test != "mid"
    d = modeling.diagnostics(model, split.X_test[keep], split.y_test[keep])
    assert [c["label"] for c in d["roc"]] == ["high", "low"]
    assert d["confusion_matrix"]["labels"] == ["high", "low", "mid"]


def test_diagnostics_are_strict_json_without_nan(binary):
    model, split = binary
    only = split.y_test == "<=50K"
    for X, y in ((split.X_test, split.y_test), (split.X_test[only], split.y_test[only])):
        d = modeling.diagnostics(model, X, y)
        text = json.dumps(d, allow_nan=False)
        assert json.loads(text) == d

        def floats(v):
            if isinstance(v, dict):
                return [f for x in v.values() for f in floats(x)]
            if isinstance(v, list):
                return [f for x in v for f in floats(x)]
            return [v] if isinstance(v, float) else []

        assert all(math.isfinite(f) for f in floats(d))


def test_importance_is_per_input_column_not_per_encoded_feature(binary):
    model, split = binary
    features = modeling.diagnostics(model, split.X_test, split.y_test)["feature_importance"]["features"]
    assert sorted(f["feature"] for f in features) == sorted(split.X_test.columns)
    assert [f["importance"] for f in features] == sorted((f["importance"] for f in features), reverse=True)


def test_importance_ranks_the_informative_column_above_noise(multiclass):
    model, split = multiclass
    fi = modeling.diagnostics(model, split.X_test, split.y_test)["feature_importance"]
    assert fi["scoring"] == "roc_auc_ovr"
    assert fi["features"][0]["feature"] == "x"
    assert fi["features"][0]["importance"] > 0.1


def test_importance_scores_binary_models_by_roc_auc_on_at_most_2000_sampled_rows(binary):
    model, _ = binary
    X, y = modeling.prepare(pd.read_csv(io.BytesIO(make_csv(rows=4000, seed=7))), "income")
    fi = modeling.diagnostics(model, X, y)["feature_importance"]
    assert fi["scoring"] == "roc_auc"
    assert fi["rows"] == modeling.IMPORTANCE_ROWS == 2000


def test_diagnostics_are_the_same_on_every_call(binary):
    model, split = binary
    assert modeling.diagnostics(model, split.X_test, split.y_test) == modeling.diagnostics(model, split.X_test, split.y_test)


def test_a_class_only_the_held_out_rows_have_gets_its_own_confusion_matrix_row(binary):
    model, split = binary
    X = pd.concat([split.X_test, split.X_test.head(2)], ignore_index=True)
    y = pd.concat([split.y_test, pd.Series(["unseen", "unseen"])], ignore_index=True)
    d = modeling.diagnostics(model, X, y)
    assert d["confusion_matrix"]["labels"] == ["<=50K", ">50K", "unseen"]
    assert sum(d["confusion_matrix"]["counts"][2]) == 2
    assert d["feature_importance"]["scoring"] == "accuracy"  # ROC AUC cannot score a class the model lacks


# -- logged with the model: a retry that does not fit reads them back (a local MLflow store, no server) --
@pytest.fixture
def mlflow_client(tmp_path, monkeypatch):
    import mlflow
    from mlflow import MlflowClient

    monkeypatch.chdir(tmp_path)  # artifacts go to ./mlruns
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)  # this test's own local MLflow store, no service of the stack
    mlflow.set_tracking_uri(uri)
    yield MlflowClient(uri)
    mlflow.set_tracking_uri(None)


def test_the_logged_model_carries_its_diagnostics_for_a_retry_to_read_back(binary, mlflow_client):
    from data_processor import registry

    model, split = binary
    d = modeling.diagnostics(model, split.X_test, split.y_test)
    run = registry.job_run(mlflow_client, "diag-model", "job-1")
    registry.log_model(run, model, split.X_train, {}, modeling.evaluate(model, split.X_test, split.y_test), d)
    again = registry.job_run(mlflow_client, "diag-model", "job-1")  # what a retry finds
    assert registry.MODEL_URI_TAG in again.data.tags
    assert registry.logged_diagnostics(mlflow_client, again) == d


def test_a_run_logged_without_diagnostics_reads_back_none(mlflow_client):
    from data_processor import registry

    run = registry.job_run(mlflow_client, "old-model", "job-0")
    assert registry.logged_diagnostics(mlflow_client, run) is None


@pytest.mark.filterwarnings("ignore:Skipping features without any observed values")
@pytest.mark.parametrize("data, scoring", [("binary", "roc_auc"), ("binary", "accuracy"), ("multiclass", "roc_auc_ovr")])
def test_importance_equals_sklearns_permutation_importance_on_the_whole_pipeline(request, data, scoring):
    from sklearn.inspection import permutation_importance

    _, split = request.getfixturevalue(data)
    X = split.X_test.assign(empty=np.nan)  # a column with no values at all: encoded to nothing, importance 0
    X_train = split.X_train.assign(empty=np.nan)
    model = modeling.build_pipeline(X_train).fit(X_train, split.y_train)
    assert modeling._input_blocks(model, list(X.columns)) is not None  # the fast path is taken
    mean, std = modeling.permutation_scores(model, X, split.y_test, scoring, 3)
    expected = permutation_importance(model, X, split.y_test, scoring=scoring, n_repeats=3, random_state=modeling.RANDOM_STATE)
    np.testing.assert_allclose(mean, expected.importances_mean, atol=1e-12)
    np.testing.assert_allclose(std, expected.importances_std, atol=1e-12)
    assert mean[list(X.columns).index("empty")] == 0
