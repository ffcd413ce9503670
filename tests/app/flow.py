"""Small helpers the application tests share."""

import time

import httpx


def upload(client, data: bytes, name: str = "demo") -> dict:
    r = client.post("/api/v1/datasets", files={"file": (f"{name}.csv", data, "text/csv")}, data={"name": name})
    assert r.status_code == 201, r.text
    return r.json()


def wait_job(client, job_id: str, timeout: float = 600, until=("succeeded", "failed"), interval: float = 0.3) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = client.get(f"/api/v1/jobs/{job_id}").json()
        if job["status"] in until:
            return job
        time.sleep(interval)
    raise TimeoutError(f"job {job_id} still {job['status']} after {timeout}s")


def train(client, dataset_id: str, model_name: str, **extra) -> dict:
    r = client.post("/api/v1/training-jobs", json={"dataset_id": dataset_id, "target": "income", "model_name": model_name, **extra})
    assert r.status_code == 202, r.text
    return wait_job(client, r.json()["id"])


def train_ok(client, data: bytes, dataset_name: str, model_name: str) -> tuple[dict, dict]:
    """Upload `data` and train `model_name` on it; the training must succeed. (data set, job)."""
    ds = upload(client, data, dataset_name)
    job = train(client, ds["id"], model_name)
    assert job["status"] == "succeeded", job["error"]
    return ds, job


def scrape(url: str, timeout: float = 30) -> dict[str, float]:
    """`name{labels}` -> value, from a Prometheus text page."""
    found = {}
    for line in httpx.get(url, timeout=timeout).text.splitlines():
        if line and not line.startswith("#"):
            key, value = line.rsplit(" ", 1)
            found[key] = float(value)
    return found
