"""Wide data (issue #26 item 3): a 5,000-column data set trains and predicts, online and in batch.
Its input columns outgrow MLflow's limit for a registry tag value (100,000 characters) and are
read from the model's signature instead; narrow models keep them in the tag."""

import numpy as np
import pandas as pd
import pytest
from mlflow import MlflowClient

from .flow import upload, wait_job

COLUMNS, ROWS = 5000, 150
MODEL = "wide-model"


@pytest.fixture(scope="module")
def wide(client, worker) -> tuple[dict, pd.DataFrame]:
    rng = np.random.default_rng(3)
    values = rng.integers(0, 10, (ROWS, COLUMNS))
    df = pd.DataFrame(values, columns=[f"feature_{i:04d}" for i in range(COLUMNS)])
    df["label"] = np.where(values[:, 0] + values[:, 1] > 9, "high", "low")
    data = df.to_csv(index=False).encode()
    assert len(data) < 2 * 1024 * 1024  # the test stack's MAX_UPLOAD_BYTES
    return upload(client, data, "wide"), df


@pytest.fixture(scope="module")
def trained(client, wide) -> dict:
    ds, _ = wide
    r = client.post("/api/v1/training-jobs", json={"dataset_id": ds["id"], "target": "label", "model_name": MODEL})
    assert r.status_code == 202, r.text
    job = wait_job(client, r.json()["id"])
    assert job["status"] == "succeeded", job["error"]
    return job


def test_a_five_thousand_column_model_keeps_its_input_columns_out_of_the_tag(stack, trained):
    tags = MlflowClient(stack.mlflow).get_model_version(MODEL, trained["result"]["model_version"]).tags
    assert "input_columns" not in tags and tags["job_id"] == trained["id"]


def test_a_five_thousand_column_model_predicts_online(client, wide, trained):
    _, df = wide
    records = df.drop(columns=["label"]).head(2).to_dict(orient="records")
    r = client.post("/api/v1/predictions", json={"model_name": MODEL, "records": records})
    assert r.status_code == 200, r.text[:500]
    assert [p["prediction"] in ("high", "low") for p in r.json()["predictions"]] == [True, True]


def test_a_five_thousand_column_model_scores_a_data_set(client, wide, trained):
    ds, _ = wide
    r = client.post("/api/v1/prediction-jobs", json={"model_name": MODEL, "dataset_id": ds["id"]})
    assert r.status_code == 202, r.text[:500]
    job = wait_job(client, r.json()["id"])
    assert job["status"] == "succeeded", job["error"]
    assert job["result"]["rows"] == ROWS


def test_a_five_thousand_column_model_takes_a_retraining_on_the_same_columns(client, wide, trained):
    ds, _ = wide
    r = client.post("/api/v1/training-jobs", json={"dataset_id": ds["id"], "target": "label", "model_name": MODEL})
    assert r.status_code == 202, r.text[:500]
    again = wait_job(client, r.json()["id"])
    assert again["status"] == "succeeded", again["error"]
    assert again["result"]["model_version"] == "2"


def test_the_predict_page_asks_a_five_thousand_column_record_as_json_not_field_by_field(api_url, stack, monkeypatch, trained):
    from .test_ui import run_view

    monkeypatch.setenv("API_URL", api_url)
    monkeypatch.setenv("API_TOKEN", stack.api_token)
    at = run_view("predict", state={"predict_model": MODEL})
    assert not at.exception
    assert any(f"{MODEL} takes 5,000 columns" in i.value for i in at.info)
    assert len(at.text_input) == 0
    assert [a.label for a in at.text_area] == ["JSON record"]
