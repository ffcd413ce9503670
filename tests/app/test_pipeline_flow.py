"""End to end through real services: upload -> train -> champion -> predict -> feedback -> retrain."""

import io

import pandas as pd
import pytest

from .flow import train, upload, wait_job

MODEL = "e2e-model"


def test_full_pipeline_from_upload_to_retraining(client, worker, csv_bytes):
    ds = upload(client, csv_bytes)
    assert ds["rows"] == 400 and [c["name"] for c in ds["columns"]] == ["age", "hours", "job", "income"]

    job = train(client, ds["id"], MODEL)
    assert job["status"] == "succeeded", job["error"]
    result = job["result"]
    assert result["model_version"] == "1" and result["champion"] is True
    assert set(result["metrics"]) == {"accuracy", "f1", "roc_auc"}
    assert result["metrics"]["accuracy"] > 0.7
    assert set(result["diagnostics"]) == {"confusion_matrix", "roc", "feature_importance"}
    assert {f["feature"] for f in result["diagnostics"]["feature_importance"]["features"]} == {"age", "hours", "job"}

    models = {m["name"]: m for m in client.get("/api/v1/models").json()}
    assert models[MODEL]["aliases"] == {"champion": "1"}

    r = client.post("/api/v1/prediction-jobs", json={"model_name": MODEL, "records": [{"age": 50, "hours": 60, "job": "engineer"}, {"age": 20, "hours": 10, "job": "clerk"}]})
    assert r.status_code == 202, r.text
    single = wait_job(client, r.json()["id"])
    assert single["status"] == "succeeded", single["error"]
    preds = single["result"]["predictions"]
    assert [p["prediction"] for p in preds] == [">50K", "<=50K"]

    r = client.post("/api/v1/prediction-jobs", json={"model_name": MODEL, "dataset_id": ds["id"]})
    batch = wait_job(client, r.json()["id"])
    assert batch["status"] == "succeeded", batch["error"]
    assert batch["result"]["rows"] == 400 and batch["result"]["download_url"].endswith("/result")
    csv = client.get(f"/api/v1/jobs/{batch['id']}/result")
    scored = pd.read_csv(io.BytesIO(csv.content))
    assert len(scored) == 400 and {"prediction", "probability"} <= set(scored.columns)
    # The data set holds income, the column the model predicts: the result says how often they agree.
    labelled = scored[scored["income"].notna()]
    assert (batch["result"]["target"], batch["result"]["labelled_rows"]) == ("income", len(labelled))
    assert batch["result"]["agreement"] == pytest.approx((labelled["prediction"] == labelled["income"].astype(str)).mean())

    fb = client.post("/api/v1/feedback", json={"model_name": MODEL, "record": {"age": 33, "hours": 45, "job": "teacher"}, "label": ">50K"})
    assert fb.status_code == 201, fb.text

    retrained = train(client, ds["id"], MODEL, include_feedback=True)
    assert retrained["status"] == "succeeded", retrained["error"]
    assert retrained["result"]["model_version"] == "2"
    assert retrained["result"]["feedback_rows"] == 1  # the retrain says how much feedback it used
    model = next(m for m in client.get("/api/v1/models").json() if m["name"] == MODEL)
    versions = {v["version"] for v in model["versions"]}
    assert {"1", "2"} <= versions


def test_ready_reports_every_dependency(client, worker):
    r = client.get("/ready")
    assert r.status_code == 200, r.text
    assert r.json()["checks"] == {"postgres": "ok", "rabbitmq": "ok", "s3": "ok", "mlflow": "ok"}


def test_metrics_endpoint_exposes_request_counters(client):
    client.get("/health")
    text = client.get("/metrics").text
    assert "api_requests_total" in text and "api_request_duration_seconds_bucket" in text
