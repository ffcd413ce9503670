"""An unavailable dependency gives a JSON 503 with Retry-After, promptly, and leaves nothing behind."""

from concurrent.futures import ThreadPoolExecutor

import httpx
import psycopg
import pytest

from .flow import upload
from .outages import Gate, StoreDown
from .services import free_port


@pytest.fixture(scope="module")
def outage(stack):
    """A dedicated API whose PostgreSQL and MLflow can be taken away, and whose broker never answers."""
    pg_port = int(stack.pg.rsplit(":", 1)[1])
    gate = Gate(pg_port)
    mlflow = StoreDown(stack.mlflow)
    api = stack.start_api(
        "outage-api",
        DATABASE_URL=f"postgresql://postgres@127.0.0.1:{gate.port}/pipeline",
        MLFLOW_TRACKING_URI=mlflow.url,
        AMQP_URL=f"amqp://guest:guest@127.0.0.1:{free_port()}//",  # nothing listens there
    )
    with httpx.Client(base_url=api, headers={"Authorization": f"Bearer {stack.api_token}"}, timeout=60) as client:
        yield gate, mlflow, client
    gate.reopen()
    mlflow.up.set()


def assert_503(r: httpx.Response, dependency: str) -> None:
    assert r.status_code == 503, r.text
    assert int(r.headers["Retry-After"]) > 0
    body = r.json()
    assert dependency in body["detail"] and "errors" in body and "field" in body


def test_postgres_outage_gives_json_503_and_the_connection_survives(outage):
    gate, _, client = outage
    assert client.get("/api/v1/datasets").status_code == 200
    gate.close()
    try:
        assert_503(client.get("/api/v1/datasets"), "database")
        assert_503(client.post("/api/v1/training-jobs", json={"dataset_id": "a" * 32, "target": "income"}), "database")
    finally:
        gate.reopen()
    assert client.get("/api/v1/datasets").status_code == 200  # same keep-alive connection


def test_mlflow_store_outage_gives_503_and_ready_reports_it(outage):
    _, mlflow, client = outage
    mlflow.up.clear()
    try:
        # Each call waits out the API's bounded MLflow timeout and retry (~30 s): all three at once.
        with ThreadPoolExecutor(3) as pool:
            models = pool.submit(client.get, "/api/v1/models")
            predict = pool.submit(client.post, "/api/v1/prediction-jobs", json={"model_name": "any-model", "records": [{"a": 1}]})
            ready = pool.submit(client.get, "/ready")
        assert_503(models.result(), "registry")
        assert_503(predict.result(), "registry")
        assert ready.result().status_code == 503 and ready.result().json()["checks"]["mlflow"].startswith("error")
    finally:
        mlflow.up.set()
    assert client.get("/ready").json()["checks"]["mlflow"] == "ok"  # (the broker is down on purpose here)
    assert client.get("/api/v1/models").status_code == 200


def test_broker_outage_gives_503_and_leaves_no_job_row(stack, outage, csv_bytes):
    _, _, client = outage
    ds = upload(client, csv_bytes, "broker-outage")
    with psycopg.connect(f"{stack.pg}/pipeline") as conn:
        before = conn.execute("SELECT count(*) FROM jobs").fetchone()[0]
        r = client.post("/api/v1/training-jobs", json={"dataset_id": ds["id"], "target": "income", "model_name": "broker-outage-model"})
        assert_503(r, "queue")
        assert conn.execute("SELECT count(*) FROM jobs").fetchone()[0] == before
