"""A registered model keeps the target and inputs of its first version (issue #26 item 1): a
training job that would change them is refused before it runs, by the API and by the worker."""

import io

import pandas as pd

from .flow import train_ok, upload, wait_job

MODEL = "contract-model"


def refused(client, dataset_id: str, target: str, model: str) -> dict:
    r = client.post("/api/v1/training-jobs", json={"dataset_id": dataset_id, "target": target, "model_name": model})
    assert r.status_code == 409, r.text
    return r.json()


def test_training_another_target_into_a_model_is_refused_naming_the_target_and_a_new_name(client, worker, csv_bytes):
    ds, _ = train_ok(client, csv_bytes, "contract", MODEL)
    body = refused(client, ds["id"], "job", MODEL)
    assert body["field"] == "target" and body["errors"] == [{"field": "target", "reason": body["detail"].removeprefix("target: ")}]
    assert "predicts 'income', not 'job'" in body["detail"]
    assert f"train into a new model instead, e.g. '{MODEL}-job'" in body["detail"]


def test_training_data_with_other_input_columns_into_a_model_is_refused_naming_the_data_set(client, worker, csv_bytes):
    ds, _ = train_ok(client, csv_bytes, "contract-inputs", "contract-inputs-model")
    df = pd.read_csv(io.BytesIO(csv_bytes)).drop(columns=["hours"]).assign(city="Oslo")
    other = upload(client, df.to_csv(index=False).encode(), "contract-other-inputs")
    body = refused(client, other["id"], "income", "contract-inputs-model")
    assert body["field"] == "dataset_id"
    assert "lacks the model's input column 'hours'" in body["detail"] and "does not take: 'city'" in body["detail"]
    # The same columns with another kind (text where the model has numbers) are other inputs too.
    df = pd.read_csv(io.BytesIO(csv_bytes)).assign(age=lambda d: "y" + d["age"].astype(str))
    text_age = upload(client, df.to_csv(index=False).encode(), "contract-text-age")
    body = refused(client, text_age["id"], "income", "contract-inputs-model")
    assert body["field"] == "dataset_id" and "'age' (number in the model, category here)" in body["detail"]


def test_the_worker_refuses_a_training_that_a_model_created_meanwhile_does_not_take(client, worker, csv_bytes):
    """Both jobs are accepted (the model does not exist yet); whichever registers first fixes the
    contract, and the other fails with the API's message instead of replacing its champion."""
    ds = upload(client, csv_bytes, "contract-race")
    model = "contract-race-model"
    ids = []
    for target in ("income", "job"):
        r = client.post("/api/v1/training-jobs", json={"dataset_id": ds["id"], "target": target, "model_name": model})
        assert r.status_code == 202, r.text
        ids.append(r.json()["id"])
    jobs = [wait_job(client, i) for i in ids]
    assert sorted(j["status"] for j in jobs) == ["failed", "succeeded"]
    won, lost = sorted(jobs, key=lambda j: j["status"] == "failed")
    assert lost["error"].startswith("target: ") and f"model '{model}' cannot take this training" in lost["error"]
    assert "train into a new model instead" in lost["error"]
    models = {m["name"]: m for m in client.get("/api/v1/models").json()}
    assert [v["version"] for v in models[model]["versions"]] == [won["result"]["model_version"]]
    assert models[model]["aliases"] == {"champion": won["result"]["model_version"]}


def test_retraining_with_the_same_target_and_inputs_is_accepted(client, worker, csv_bytes):
    ds, first = train_ok(client, csv_bytes, "contract-again", "contract-again-model")
    again = train_ok(client, csv_bytes, "contract-again-2", "contract-again-model")[1]
    assert again["result"]["model_version"] == "2" and first["result"]["model_version"] == "1"
