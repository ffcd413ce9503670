"""POST /api/v1/predictions scores records in the API process with the champion in memory;
GET /api/v1/jobs/{id}?wait=S answers when the job finishes."""

import threading
import time

import httpx
import pytest
from mlflow import MlflowClient
from pipeline_api.online import load_version
from sqlalchemy import create_engine, text

from pipeline_common.scoring import score
from pipeline_common.tabular import records_frame

from .conftest import make_csv
from .flow import scrape, train, train_ok, upload
from .services import S3_ENV, start_mlflow

MODEL = "online-model"
RECORDS = [{"age": 50, "hours": 60, "job": "engineer"}, {"age": 20, "hours": 10, "job": "clerk"}]


@pytest.fixture(scope="module")
def trained(client, worker, csv_bytes):
    ds, _ = train_ok(client, csv_bytes, "online", MODEL)
    return ds


def predict(client, records, model=MODEL, timeout=600):
    """The first request for a model waits for its load from the registry: slow on a busy host."""
    return client.post("/api/v1/predictions", json={"model_name": model, "records": records}, timeout=timeout)


# -- contract ---------------------------------------------------------------------------
def test_prediction_returns_label_and_probability_per_class(client, trained):
    r = predict(client, RECORDS)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["model_name"] == MODEL and body["model_version"] == "1"
    assert [p["prediction"] for p in body["predictions"]] == [">50K", "<=50K"]
    for p in body["predictions"]:
        assert set(p["probabilities"]) == {"<=50K", ">50K"}
        assert sum(p["probabilities"].values()) == pytest.approx(1, abs=1e-5)
        assert p["probability"] == p["probabilities"][p["prediction"]] == max(p["probabilities"].values())


def test_online_and_job_predictions_agree(client, trained):
    online = predict(client, RECORDS).json()["predictions"]
    job_id = client.post("/api/v1/prediction-jobs", json={"model_name": MODEL, "records": RECORDS}).json()["id"]
    job = client.get(f"/api/v1/jobs/{job_id}", params={"wait": 60}, timeout=90).json()
    assert job["status"] == "succeeded", job["error"]
    assert job["result"]["predictions"] == [{"prediction": p["prediction"], "probability": p["probability"]} for p in online]


def test_endpoint_is_in_the_openapi_document(client):
    doc = client.get("/openapi.json").json()
    op = doc["paths"]["/api/v1/predictions"]["post"]
    assert {"200", "413", "422"} <= set(op["responses"])


def test_prediction_needs_a_token(api_url):
    assert httpx.post(f"{api_url}/api/v1/predictions", json={"records": RECORDS}).status_code == 401


def test_latency_histogram_is_labelled_with_the_model(client, api_url, trained):
    predict(client, RECORDS)
    metrics = scrape(f"{api_url}/metrics")
    assert metrics[f'api_prediction_duration_seconds_count{{model="{MODEL}"}}'] >= 1


# -- errors -----------------------------------------------------------------------------
def test_wrong_type_gets_422_naming_the_field(client, trained):
    r = predict(client, [RECORDS[0], {"age": "old", "hours": 40, "job": "clerk"}])
    assert r.status_code == 422 and r.json()["field"] == "records[1].age" and "expected a number" in r.json()["detail"]


def test_missing_column_gets_422_naming_the_field(client, trained):
    r = predict(client, [{"age": 30, "job": "clerk"}])
    assert r.status_code == 422 and r.json()["field"] == "records[0].hours"


def test_model_without_champion_gets_422_naming_model_name(client):
    r = predict(client, RECORDS, model="never-trained")
    assert r.status_code == 422 and r.json()["field"] == "model_name" and "no champion" in r.json()["detail"]


def test_empty_records_get_422(client):
    assert predict(client, []).status_code == 422


def test_more_records_than_the_limit_get_413_pointing_to_prediction_jobs(client, trained):
    r = predict(client, [RECORDS[0]] * 1001)
    assert r.status_code == 413
    body = r.json()
    assert body["field"] == "records" and "1000" in body["detail"] and "/api/v1/prediction-jobs" in body["detail"]
    assert body["errors"] == [{"field": "records", "reason": body["detail"].removeprefix("records: ")}]


# -- champion swap ------------------------------------------------------------------------
@pytest.fixture
def mlflow_env(stack, monkeypatch):
    """This process reads the registry and artifacts like the services do (the catalog gives them these names)."""
    for k, v in {**S3_ENV, "MLFLOW_TRACKING_URI": stack.mlflow, "MLFLOW_S3_ENDPOINT_URL": stack.s3}.items():
        monkeypatch.setenv(k, v)
    return MlflowClient(stack.mlflow)


def expected(name: str, version: str) -> list[dict]:
    model, schema = load_version(name, version)
    return score(model, records_frame(RECORDS, schema)).records()


def until_version(client, name: str, version: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r = predict(client, RECORDS, model=name)
        if r.status_code == 200 and r.json()["model_version"] == version:
            return
    raise TimeoutError(f"{name} never served version {version}")


def test_champion_swap_while_requests_run_serves_old_or_new_never_a_mix(client, worker, mlflow_env):
    name = "swap-model"
    for seed in (0, 1):  # two versions trained on different data: their probabilities differ
        ds = upload(client, make_csv(seed=seed), f"swap-{seed}")
        assert train(client, ds["id"], name)["status"] == "succeeded"
    mlflow_env.set_registered_model_alias(name, "champion", "1")
    want = {v: expected(name, v) for v in ("1", "2")}
    assert want["1"] != want["2"]
    until_version(client, name, "1")

    responses: list[list[tuple[int, dict]]] = [[] for _ in range(4)]
    seen_new = threading.Event()

    def hammer(out):
        with httpx.Client(base_url=str(client.base_url), headers=client.headers, timeout=30) as c:
            deadline = time.monotonic() + 90
            after_swap = 0
            while after_swap < 20 and time.monotonic() < deadline:
                r = predict(c, RECORDS, model=name)
                out.append((r.status_code, r.json()))
                if r.status_code == 200 and r.json()["model_version"] == "2":
                    seen_new.set()
                if seen_new.is_set():
                    after_swap += 1

    threads = [threading.Thread(target=hammer, args=(out,)) for out in responses]
    for t in threads:
        t.start()
    mlflow_env.set_registered_model_alias(name, "champion", "2")
    for t in threads:
        t.join()

    assert seen_new.is_set()
    for out in responses:
        versions = [body.get("model_version") for _, body in out]
        assert all(status == 200 for status, _ in out), [b for s, b in out if s != 200][:1]
        assert all(body["predictions"] == want[body["model_version"]] for _, body in out)
        assert versions == sorted(versions), "a request saw the old version after the new one"
        assert versions[0] == "1" and versions[-1] == "2"


# -- registry outage ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def outage(stack, client, worker, trained):
    """An API on its own MLflow server (same backend store), which is then stopped."""
    proc_count = len(stack.procs.procs)
    registry = start_mlflow(stack.procs, stack.pg, stack.s3, workers=1)  # only to be stopped: one worker starts faster
    registry_proc = stack.procs.procs[proc_count]
    api = stack.start_api(
        MLFLOW_TRACKING_URI=registry,
        CHAMPION_CACHE_SECONDS="0",  # check the alias on every request: the outage is hit at once
        MLFLOW_HTTP_REQUEST_MAX_RETRIES="0",
        MLFLOW_HTTP_REQUEST_TIMEOUT="5",
    )
    c = httpx.Client(base_url=api, headers={"Authorization": f"Bearer {stack.api_token}"}, timeout=30)
    # The new registry's first answers can outlast the 5 s client timeout on a loaded host (503):
    # the model is loaded once one request gets through.
    deadline = time.monotonic() + 300
    while (warm := predict(c, RECORDS)).status_code == 503 and time.monotonic() < deadline:
        time.sleep(0.2)  # pacing between attempts; the loop ends on the first 200
    assert warm.status_code == 200, warm.text
    stack.procs.stop(registry_proc)
    failed = f"champion check for {MODEL} failed"
    deadline = time.monotonic() + 60
    while failed not in stack.log("api") and time.monotonic() < deadline:
        predict(c, RECORDS)  # each request past max_age starts a check of the alias
        time.sleep(0.1)
    assert failed in stack.log("api")
    yield c, warm.json()
    c.close()


def test_registry_outage_keeps_the_loaded_model_serving(outage):
    c, before = outage
    for _ in range(10):
        r = predict(c, RECORDS)
        assert r.status_code == 200, r.text
        assert r.json() == before


def test_registry_outage_without_a_loaded_model_gets_503_with_retry_after(outage):
    c, _ = outage
    r = predict(c, RECORDS, model="not-loaded-here")
    assert r.status_code == 503 and int(r.headers["Retry-After"]) > 0
    assert "registry is unavailable" in r.json()["detail"]


# -- GET /jobs/{id}?wait= ------------------------------------------------------------------
def test_wait_answers_when_a_prediction_job_finishes(client, trained):
    job_id = client.post("/api/v1/prediction-jobs", json={"model_name": MODEL, "records": RECORDS}).json()["id"]
    job = client.get(f"/api/v1/jobs/{job_id}", params={"wait": 60}, timeout=90).json()
    assert job["status"] == "succeeded", job


def test_wait_returns_an_unfinished_job_after_the_timeout(stack, client):
    job_id = "waitqueued" + "0" * 22
    engine = create_engine(f"{stack.pg}/pipeline".replace("postgresql://", "postgresql+psycopg://"))
    with engine.begin() as conn:  # a job no worker will ever see (never published)
        conn.execute(
            text("INSERT INTO jobs (id, kind, status, params, attempts, created_at) VALUES (:id, 'prediction', 'queued', '{}', 0, now())"),
            {"id": job_id},
        )
    engine.dispose()
    started = time.monotonic()
    job = client.get(f"/api/v1/jobs/{job_id}", params={"wait": 1}).json()
    assert job["status"] == "queued" and time.monotonic() - started >= 1


def test_wait_over_sixty_seconds_gets_422(client):
    r = client.get("/api/v1/jobs/whatever", params={"wait": 61})
    assert r.status_code == 422
