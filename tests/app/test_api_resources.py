"""The resources other clients rely on: deleting a data set, listing jobs, model version details."""

import pytest

from .flow import train_ok, upload, wait_job

MODEL = "resources-model"


def test_deleting_a_dataset_removes_its_row_and_its_object(stack, client, csv_bytes):
    import boto3

    from .services import S3_ENV

    ds = upload(client, csv_bytes, "to-delete")
    assert client.delete(f"/api/v1/datasets/{ds['id']}").status_code == 204
    assert client.get(f"/api/v1/datasets/{ds['id']}").status_code == 404
    s3 = boto3.client("s3", endpoint_url=stack.s3, region_name="us-east-1", aws_access_key_id=S3_ENV["AWS_ACCESS_KEY_ID"], aws_secret_access_key=S3_ENV["AWS_SECRET_ACCESS_KEY"])
    assert s3.list_objects_v2(Bucket="pipeline-data", Prefix=f"datasets/{ds['id']}").get("KeyCount") == 0
    r = client.delete(f"/api/v1/datasets/{ds['id']}")
    assert r.status_code == 404 and r.json()["field"] == "dataset_id"


@pytest.fixture(scope="module")
def trained(client, worker, csv_bytes):
    ds, job = train_ok(client, csv_bytes, "resources", MODEL)
    return ds, job


def test_jobs_are_listed_newest_first_with_params_and_filters(client, trained):
    ds, training = trained
    r = client.post("/api/v1/prediction-jobs", json={"model_name": MODEL, "records": [{"age": 30, "hours": 40, "job": "clerk"}] * 3})
    prediction = wait_job(client, r.json()["id"])
    listed = client.get("/api/v1/jobs", params={"limit": 50}).json()
    ids = [j["id"] for j in listed]
    assert ids.index(prediction["id"]) < ids.index(training["id"])
    by_id = {j["id"]: j for j in listed}
    assert by_id[prediction["id"]]["params"] == {"model_name": MODEL, "model_version": "1", "record_count": 3}
    assert by_id[training["id"]]["params"]["dataset_id"] == ds["id"]
    kinds = {j["kind"] for j in client.get("/api/v1/jobs", params={"kind": "training"}).json()}
    assert kinds == {"training"}
    assert all(j["status"] == "succeeded" for j in client.get("/api/v1/jobs", params={"status": "succeeded"}).json())
    assert len(client.get("/api/v1/jobs", params={"limit": 1}).json()) == 1
    assert client.get(f"/api/v1/jobs/{prediction['id']}").json()["params"]["record_count"] == 3


def test_model_versions_carry_their_run_params_and_creation_time(client, trained):
    ds, _ = trained
    model = next(m for m in client.get("/api/v1/models").json() if m["name"] == MODEL)
    version = model["versions"][0]
    assert version["params"]["target"] == "income" and version["params"]["dataset_id"] == ds["id"]
    assert version["params"]["rows"] == "400"
    assert version["created_at"]
