"""Every bad input gets its status code and a message naming the field; nothing is half-stored."""

import httpx
import pytest

from .flow import upload


def test_requests_without_a_token_get_401(api_url):
    assert httpx.get(f"{api_url}/api/v1/datasets").status_code == 401


def test_requests_with_a_wrong_token_get_401(api_url):
    r = httpx.get(f"{api_url}/api/v1/datasets", headers={"Authorization": "Bearer wrong"})
    assert r.status_code == 401


def test_health_needs_no_token(api_url):
    assert httpx.get(f"{api_url}/health").json() == {"status": "ok"}


def test_openapi_docs_are_served(api_url):
    assert httpx.get(f"{api_url}/docs").status_code == 200


@pytest.mark.parametrize(
    "data, reason",
    [
        (b"", "empty"),
        (b"a,b\n", "no rows"),
        (b"\xff\xfe\x00bad", "not UTF-8"),
        (b'a,b\n1,"unterminated\n', "not a valid CSV"),
        (b"onlyone\n1\n2\n", "at least two columns"),
    ],
)
def test_bad_uploads_get_422_with_a_reason(client, data, reason):
    before = len(client.get("/api/v1/datasets").json())
    r = client.post("/api/v1/datasets", files={"file": ("x.csv", data, "text/csv")})
    assert r.status_code == 422 and reason in r.json()["detail"] and r.json()["field"] == "file"
    assert len(client.get("/api/v1/datasets").json()) == before


def test_oversized_upload_gets_413(client):
    r = client.post("/api/v1/datasets", files={"file": ("big.csv", b"a,b\n" + b"1,2\n" * 700_000, "text/csv")})
    assert r.status_code == 413 and "limit" in r.json()["detail"]


def test_training_on_unknown_dataset_gets_422(client):
    r = client.post("/api/v1/training-jobs", json={"dataset_id": "nope", "target": "income"})
    assert r.status_code == 422 and "dataset_id" in r.json()["detail"]


def test_training_on_a_missing_target_column_gets_422(client, csv_bytes):
    ds = upload(client, csv_bytes)
    r = client.post("/api/v1/training-jobs", json={"dataset_id": ds["id"], "target": "salary"})
    assert r.status_code == 422 and "target: column 'salary'" in r.json()["detail"]


def test_unknown_fields_in_a_job_request_get_422(client):
    r = client.post("/api/v1/training-jobs", json={"dataset_id": "x", "target": "y", "epochs": 3})
    assert r.status_code == 422 and "epochs" in r.text


def test_prediction_needs_exactly_one_source(client):
    r = client.post("/api/v1/prediction-jobs", json={})
    assert r.status_code == 422 and "exactly one of" in r.text


def test_prediction_for_a_model_without_champion_gets_422(client):
    r = client.post("/api/v1/prediction-jobs", json={"model_name": "never-trained", "records": [{"a": 1}]})
    assert r.status_code == 422 and "no champion" in r.json()["detail"]


def test_unknown_job_gets_404(client):
    assert client.get("/api/v1/jobs/doesnotexist").status_code == 404
