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


@pytest.mark.parametrize("separator, named", [(";", "';'"), ("\t", "tabs"), ("|", "'|'")])
def test_a_file_separated_by_something_other_than_commas_is_refused_naming_its_separator(client, separator, named):
    data = separator.join(["age", "job", "income"]).encode() + b"\n" + separator.join(["30", "clerk", "low"]).encode() + b"\n"
    r = client.post("/api/v1/datasets", files={"file": ("x.csv", data, "text/csv")})
    assert r.status_code == 422 and r.json()["field"] == "file"
    assert f"separated by {named}" in r.json()["detail"] and "commas" in r.json()["detail"], r.json()["detail"]


def test_a_model_name_with_a_space_is_refused_in_words_not_a_pattern(client):
    r = client.post("/api/v1/training-jobs", json={"dataset_id": "x", "target": "y", "model_name": "my model"})
    assert r.status_code == 422 and r.json()["field"] == "model_name"
    reason = r.json()["errors"][0]["reason"]
    assert "letters, digits" in reason and "^" not in reason and "pattern" not in reason, reason


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


def json_body_operations(client) -> list[str]:
    """Every operation whose body is JSON, from the API's own OpenAPI document."""
    spec = client.get("/openapi.json").json()
    return [
        path
        for path, operations in spec["paths"].items()
        for method, op in operations.items()
        if "application/json" in op.get("requestBody", {}).get("content", {})
    ]


def assert_body_error(r: httpx.Response, reason: str) -> None:
    assert r.status_code == 422, (r.request.url, r.status_code, r.text)
    assert r.json() == {"detail": f"body: {reason}", "field": "body", "errors": [{"field": "body", "reason": reason}]}


def post_raw(client, path: str, content: bytes) -> httpx.Response:
    return client.post(path, content=content, headers={"Content-Type": "application/json"})


def test_a_body_that_is_not_json_gets_422_naming_the_body_and_the_parse_error(client):
    paths = json_body_operations(client)
    assert {"/api/v1/training-jobs", "/api/v1/prediction-jobs", "/api/v1/feedback", "/api/v1/predictions"} <= set(paths)
    for path in paths:
        assert_body_error(post_raw(client, path, b"{bad"), "not valid JSON: Expecting property name enclosed in double quotes at line 1 column 2")
        assert_body_error(post_raw(client, path, b'{"a": 1,\n  ]'), "not valid JSON: Expecting property name enclosed in double quotes at line 2 column 3")


def test_a_body_that_is_not_utf8_gets_422_naming_the_body_and_the_byte(client):
    for path in json_body_operations(client):
        latin1 = '{"target": "é"}'.encode("latin-1")
        assert_body_error(post_raw(client, path, latin1), "not valid JSON: byte 0xe9 at position 12 is not UTF-8 (invalid continuation byte)")


def test_a_body_nested_too_deeply_gets_422_naming_the_body(client):
    for path in json_body_operations(client):
        assert_body_error(post_raw(client, path, b"[" * 100_000 + b"]" * 100_000), "not valid JSON: it is nested too deeply")
