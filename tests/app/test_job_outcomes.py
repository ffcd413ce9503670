"""Job state and registry agree; data errors fail at once and say which column (issue #10 items 2 and 9)."""

import pandas as pd
import psycopg

from .flow import train, upload, wait_job


def attempts(stack, job_id: str) -> int:
    with psycopg.connect(f"{stack.pg}/pipeline") as conn:
        return conn.execute("SELECT attempts FROM jobs WHERE id = %s", (job_id,)).fetchone()[0]


def versions(client, model: str) -> list[dict]:
    return next((m["versions"] for m in client.get("/api/v1/models").json() if m["name"] == model), [])


def test_an_undefined_metric_is_stored_as_null_and_the_job_and_registry_agree(stack, client, worker):
    rows = 60
    df = pd.DataFrame({"x": range(rows), "color": ["red" if i % 2 else "blue" for i in range(rows)]})
    df["kind"] = ["A" if i < 29 else "B" for i in range(rows)]
    df.loc[[10, 40], "kind"] = "C"  # two rows: the held-out split has none, so ROC AUC is undefined
    ds = upload(client, df.to_csv(index=False).encode(), "rare-class")
    r = client.post("/api/v1/training-jobs", json={"dataset_id": ds["id"], "target": "kind", "model_name": "rare-class-model"})
    job = wait_job(client, r.json()["id"])
    assert job["status"] == "succeeded", job["error"]
    assert job["result"]["metrics"]["roc_auc"] is None and job["result"]["champion"] is True
    assert attempts(stack, job["id"]) == 1
    assert [v["version"] for v in versions(client, "rare-class-model")] == [job["result"]["model_version"]]


def test_too_few_rows_for_a_held_out_split_fails_at_once_naming_the_target(stack, client, worker):
    ds = upload(client, b"age,income\n20,a\n30,b\n", "two-rows")
    r = client.post("/api/v1/training-jobs", json={"dataset_id": ds["id"], "target": "income", "model_name": "two-rows-model"})
    job = wait_job(client, r.json()["id"])
    assert job["status"] == "failed"
    assert job["error"].startswith("target: ") and "'income'" in job["error"] and "held-out" in job["error"]
    assert attempts(stack, job["id"]) == 1
    assert versions(client, "two-rows-model") == []


def test_an_unparseable_value_in_batch_scoring_fails_at_once_naming_column_and_row(stack, client, worker, csv_bytes):
    ds = upload(client, csv_bytes, "score-base")
    assert train(client, ds["id"], "batch-errors-model")["status"] == "succeeded"
    bad = upload(client, b"age,hours,job\n30,40,clerk\nabc,41,clerk\n", "bad-batch")
    r = client.post("/api/v1/prediction-jobs", json={"model_name": "batch-errors-model", "dataset_id": bad["id"]})
    assert r.status_code == 202, r.text
    job = wait_job(client, r.json()["id"])
    assert job["status"] == "failed"
    assert job["error"].startswith("age: ") and "row 2" in job["error"] and "'abc'" in job["error"]
    assert attempts(stack, job["id"]) == 1
