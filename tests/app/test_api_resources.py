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


def test_the_result_of_a_job_that_does_not_exist_is_404(client):
    r = client.get("/api/v1/jobs/0123456789abcdef/result")
    assert r.status_code == 404
    assert r.json()["errors"] == [{"field": "job_id", "reason": "job '0123456789abcdef' does not exist"}]


def test_a_training_job_has_no_result_file_409(client, trained):
    _, training = trained
    r = client.get(f"/api/v1/jobs/{training['id']}/result")
    assert r.status_code == 409
    reason = f"job '{training['id']}' is a training job: only a prediction job of a data set has a result file"
    assert r.json()["errors"] == [{"field": "job_id", "reason": reason}]


def test_a_prediction_job_of_records_has_its_predictions_in_the_job_not_in_a_file_409(client, trained):
    r = client.post("/api/v1/prediction-jobs", json={"model_name": MODEL, "records": [{"age": 30, "hours": 40, "job": "clerk"}]})
    job = wait_job(client, r.json()["id"])
    r = client.get(f"/api/v1/jobs/{job['id']}/result")
    assert r.status_code == 409
    reason = f"job '{job['id']}' is a prediction job of records: its predictions are in the job's `result`, not in a file"
    assert r.json()["errors"] == [{"field": "job_id", "reason": reason}]


@pytest.mark.parametrize("status", ["queued", "running", "failed"])
def test_a_prediction_job_of_a_data_set_that_has_not_succeeded_has_no_result_file_yet(status):
    from pipeline_api.routers.jobs import missing_result

    from pipeline_common.db import Job

    job = Job(id="abc", kind="prediction", status=status, params={"dataset_id": "d"}, result=None)
    expected = {
        "queued": "job 'abc' is queued: its result file is there once it has succeeded",
        "running": "job 'abc' is running: its result file is there once it has succeeded",
        "failed": "job 'abc' failed: it has no result file",
    }
    assert missing_result(job) == expected[status]
