"""Scoring a pipeline in blocks of encoded rows gives exactly what `predict_proba` gives."""

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from data_processor import modeling
from pipeline_common import scoring


@pytest.fixture(scope="module")
def data() -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(7)
    n = 3_000
    X = pd.DataFrame(
        {
            "age": rng.integers(18, 90, n).astype("float64"),
            "hours": np.where(rng.random(n) < 0.05, np.nan, rng.normal(40, 10, n)),
            "job": pd.Series(rng.choice(["clerk", "smith", "nurse", None], n), dtype=object),
        }
    )
    y = pd.Series(np.where(X["age"] + rng.normal(0, 15, n) > 50, ">50K", "<=50K"))
    return X, y


@pytest.fixture(scope="module")
def pipeline(data):
    X, y = data
    return modeling.build_pipeline(X, max_iter=30).fit(X, y)


def test_blocks_of_encoded_rows_give_the_pipelines_own_probabilities(pipeline, data, monkeypatch):
    X, _ = data
    encoded_row = pipeline[:-1].transform(X.head(1)).nbytes
    monkeypatch.setattr(scoring, "BLOCK_BYTES", encoded_row * 700)  # 3,000 rows -> five blocks, the last one short
    np.testing.assert_array_equal(scoring.predict_proba(pipeline, X), pipeline.predict_proba(X))


def test_a_frame_within_one_block_is_scored_in_one_call(pipeline, data, monkeypatch):
    X, _ = data
    calls = []
    final = pipeline[-1]
    monkeypatch.setattr(final, "predict_proba", lambda Z: calls.append(len(Z)) or type(final).predict_proba(final, Z))
    scoring.predict_proba(pipeline, X)
    assert calls == [len(X)]


def test_an_estimator_that_is_not_a_pipeline_is_scored_as_is(data):
    X, y = data
    model = LogisticRegression().fit(X[["age"]], y)
    np.testing.assert_array_equal(scoring.predict_proba(model, X[["age"]]), model.predict_proba(X[["age"]]))


def openmp_threads_of_final_step(pipeline, X, monkeypatch) -> int:
    from sklearn.utils._openmp_helpers import _openmp_effective_n_threads

    seen = []
    final = pipeline[-1]
    monkeypatch.setattr(final, "predict_proba", lambda Z: seen.append(_openmp_effective_n_threads()) or type(final).predict_proba(final, Z))
    scoring.predict_proba(pipeline, X)
    return seen[0]


def test_a_few_rows_are_scored_on_one_openmp_thread(pipeline, data, monkeypatch):
    X, _ = data
    assert openmp_threads_of_final_step(pipeline, X.head(scoring.SERIAL_ROWS - 1), monkeypatch) == 1


def test_many_rows_are_scored_on_every_openmp_thread(pipeline, data, monkeypatch):
    from sklearn.utils._openmp_helpers import _openmp_effective_n_threads

    X, _ = data
    assert openmp_threads_of_final_step(pipeline, X.head(scoring.SERIAL_ROWS), monkeypatch) == _openmp_effective_n_threads() > 1
