"""The replayed preprocessing step gives exactly the array scikit-learn's `transform` gives."""

import numpy as np
import pandas as pd
import pytest
import sklearn
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from data_processor import modeling
from pipeline_common import encoding, scoring
from pipeline_common.tabular import Column, coerce, read_csv, records_frame


def frame(n: int, seed: int, jobs=("clerk", "smith", "nurse", None)) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "age": rng.integers(18, 90, n).astype("float64"),
            "hours": np.where(rng.random(n) < 0.1, np.nan, rng.normal(40, 10, n)),
            "children": rng.integers(0, 4, n),  # int64: the imputer reads it as float
            "job": pd.Series(rng.choice(np.array(jobs, dtype=object), n), dtype=object),
            "city": pd.Series(rng.choice(["Bonn", "Köln", np.nan], n), dtype=object),
        }
    )


@pytest.fixture(scope="module")
def pipeline() -> Pipeline:
    X = frame(2_000, 1)
    y = pd.Series(np.where(X["age"] + X["children"] * 5 > 55, ">50K", "<=50K"))
    return modeling.build_pipeline(X, max_iter=20).fit(X, y)


def assert_replayed_alike(step, X: pd.DataFrame) -> None:
    replayed = encoding.compile_transform(step)(X)
    assert replayed is not None, "the frame was not replayed"
    np.testing.assert_array_equal(replayed, step.transform(X))


def test_the_pipelines_preprocessing_step_is_replayed(pipeline):
    assert encoding.compile_transform(pipeline[:-1]) is not None


def test_a_data_set_is_encoded_alike(pipeline):
    assert_replayed_alike(pipeline[:-1], frame(3_000, 2))


def test_one_record_is_encoded_alike(pipeline):
    X = frame(50, 3)
    for i in range(len(X)):
        assert_replayed_alike(pipeline[:-1], X.iloc[[i]])


def test_unknown_categories_are_all_zeros_as_the_encoder_ignores_them(pipeline):
    X = frame(200, 4, jobs=("astronaut", "clerk"))
    assert_replayed_alike(pipeline[:-1], X)


def test_text_none_stays_a_category_and_nan_takes_the_imputed_value(pipeline):
    # SimpleImputer masks only NaN in object columns; None was learnt by the encoder as a value.
    X = frame(4, 5)
    X["job"] = pd.Series([None, np.nan, "clerk", ""], dtype=object)  # "" was not learnt: all zeros
    X["city"] = pd.Series([np.nan, np.nan, None, "Bonn"], dtype=object)
    assert_replayed_alike(pipeline[:-1], X)


def test_frames_the_records_and_csv_readers_build_are_encoded_alike(pipeline):
    schema = [Column(name, kind, required=False) for name, kind in [("age", "double"), ("hours", "double"), ("children", "long"), ("job", "string"), ("city", "string")]]
    records = [{"age": 40, "hours": None, "children": 2, "job": "nurse", "city": "?"}, {"age": "51.5", "hours": 38, "children": 0, "job": "pilot", "city": "Bonn"}]
    assert_replayed_alike(pipeline[:-1], records_frame(records, schema))
    data = b"age,hours,children,job,city\n40,?,2,nurse,?\n51.5,38,0,pilot,Bonn\n"
    assert_replayed_alike(pipeline[:-1], coerce(read_csv(data), schema))


def test_scoring_with_the_replay_gives_the_pipelines_own_probabilities(pipeline):
    X = frame(1_000, 6)
    np.testing.assert_array_equal(scoring.predict_proba(pipeline, X), pipeline.predict_proba(X))


def test_scoring_does_not_call_scikit_learns_transform_for_a_frame_it_replays(pipeline, monkeypatch):
    X = frame(10, 7)
    expected = pipeline.predict_proba(X)

    def refuse(*_):
        raise AssertionError("ColumnTransformer.transform was called")

    monkeypatch.setattr(ColumnTransformer, "transform", refuse)
    np.testing.assert_array_equal(scoring.predict_proba(pipeline, X), expected)


def test_text_cells_that_are_not_strings_go_through_scikit_learn(pipeline):
    X = frame(5, 8)
    X["job"] = pd.Series([1, 2, "clerk", None, 3.5], dtype=object)
    assert encoding.compile_transform(pipeline[:-1])(X) is None
    np.testing.assert_array_equal(encoding.transform(pipeline[:-1], X), pipeline[:-1].transform(X))


def test_a_frame_without_a_model_column_gets_scikit_learns_own_error(pipeline):
    X = frame(5, 9).drop(columns=["city"])
    assert encoding.compile_transform(pipeline[:-1])(X) is None
    with pytest.raises(ValueError, match="city"):
        encoding.transform(pipeline[:-1], X)


@pytest.mark.parametrize(
    "numeric, text",
    [
        (StandardScaler(), OneHotEncoder(handle_unknown="ignore", sparse_output=False)),
        (SimpleImputer(strategy="median", add_indicator=True), OneHotEncoder(handle_unknown="ignore", sparse_output=False)),
        (SimpleImputer(strategy="median"), OneHotEncoder(handle_unknown="ignore", sparse_output=False, drop="first")),
        (SimpleImputer(strategy="median"), OneHotEncoder(handle_unknown="infrequent_if_exist", sparse_output=False, min_frequency=50)),
        (SimpleImputer(strategy="median"), OneHotEncoder(handle_unknown="ignore", sparse_output=True)),
        ("passthrough", OneHotEncoder(handle_unknown="ignore", sparse_output=False)),
    ],
    ids=["scaler", "missing-indicator", "drop-first", "infrequent", "sparse", "passthrough"],
)
def test_a_step_it_does_not_know_is_left_to_scikit_learn(numeric, text):
    X = frame(500, 10).fillna({"hours": 40.0})
    step = ColumnTransformer([("num", numeric, ["age", "hours", "children"]), ("cat", text, ["job"])]).fit(X)
    assert encoding.compile_transform(step) is None
    expected = step.transform(X)
    got = encoding.transform(step, X)
    if hasattr(expected, "toarray"):
        expected, got = expected.toarray(), got.toarray()
    np.testing.assert_array_equal(got, expected)


def test_a_step_set_to_give_frames_is_left_to_scikit_learn():
    step = modeling.build_pipeline(frame(10, 11))[:-1].fit(frame(500, 12))
    step.set_output(transform="pandas")
    assert encoding.compile_transform(step) is None


@pytest.mark.filterwarnings("ignore:X has feature names")  # scikit-learn's own, between its steps
def test_frames_asked_for_globally_come_from_scikit_learn(pipeline):
    X = frame(20, 13)
    with sklearn.config_context(transform_output="pandas"):
        pd.testing.assert_frame_equal(encoding.transform(pipeline[:-1], X), pipeline[:-1].transform(X))


def test_an_all_numeric_frame_is_replayed_as_scikit_learn_encodes_it():
    """No categorical column: the pipeline's one-hot encoder has no columns and is never fitted."""
    df = pd.DataFrame({"a": np.arange(60.0), "b": np.arange(60.0) % 7, "y": ["p", "q"] * 30})
    X, y = modeling.prepare(df, "y")
    pre = modeling.build_pipeline(X).fit(X, y).named_steps["preprocess"]
    assert encoding.compile_transform(pre) is not None
    assert np.array_equal(encoding.transform(pre, X), pre.transform(X))
