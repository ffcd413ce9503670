"""Training knows its memory: a data set that does not fit is sampled, or refused (issue #23 item 4)."""

import os

import numpy as np
import pyarrow as pa
import pytest
from mlflow import MlflowClient

from .flow import wait_job
from .stored import parquet_dataset

ROWS = 120_000
SMALL_LIMIT_MB = "768"  # the worker's own ~0.3 GB plus far less than these rows need (~0.8 GB)


def wide(rows: int = ROWS, seed: int = 3) -> pa.Table:
    """Rows whose one-hot encoding is wide (400 codes): about 7 kB a training row. One row in five is 'yes'."""
    rng = np.random.default_rng(seed)
    code = rng.integers(0, 400, rows)
    x = rng.normal(size=rows)
    label = np.where(rng.random(rows) < 0.2, "yes", "no")
    return pa.table(
        {
            "x": pa.array(x),
            "n": pa.array(rng.integers(0, 100, rows), pa.int64()),
            "code": pa.array(np.char.add("c", code.astype(str)), pa.string()),
            "kind": pa.array(rng.choice(["a", "b", "c"], rows), pa.string()),
            "label": pa.array(label, pa.string()),
        }
    )


@pytest.fixture(scope="module")
def wide_dataset(stack, api_url):
    return parquet_dataset(stack, wide(), "wide")


def api_and_worker(stack, name: str, **env):
    """An API and one worker on a queue of their own, the worker with `env`."""
    import httpx

    queue = f"{name}-" + os.urandom(3).hex()
    api = stack.start_api(f"{name}-api", QUEUE_PREFIX=queue)
    stack.start_worker(f"{name}-worker", QUEUE_PREFIX=queue, **env)
    return httpx.Client(base_url=api, headers={"Authorization": f"Bearer {stack.api_token}"}, timeout=60)


def submit(client, dataset_id: str, model: str) -> dict:
    r = client.post("/api/v1/training-jobs", json={"dataset_id": dataset_id, "target": "label", "model_name": model})
    assert r.status_code == 202, r.text
    return wait_job(client, r.json()["id"], timeout=900)


def test_a_data_set_larger_than_the_memory_limit_trains_on_a_stratified_sample_stated_in_params_and_result(stack, wide_dataset):
    with api_and_worker(stack, "sampling", MEMORY_LIMIT_MB=SMALL_LIMIT_MB, TRAINING_OVERSIZE="sample") as client:
        job = submit(client, wide_dataset, "sampled-model")
    assert job["status"] == "succeeded", job["error"]
    result = job["result"]
    assert result["total_rows"] == ROWS and 200 <= result["sample_rows"] < ROWS
    params = MlflowClient(stack.mlflow).get_run(result["run_id"]).data.params
    assert (int(params["sample_rows"]), int(params["total_rows"]), int(params["rows"])) == (result["sample_rows"], ROWS, result["sample_rows"])
    # stratified by the target: the held-out rows (a fifth of the sample) have the data set's share of 'yes'
    matrix = result["diagnostics"]["confusion_matrix"]
    held_out = dict(zip(matrix["labels"], map(sum, matrix["counts"])))
    share = np.mean(wide().column("label").to_numpy(zero_copy_only=False) == "yes")
    assert abs(held_out["yes"] / sum(held_out.values()) - share) < 0.005
    assert f"training on a stratified sample of {result['sample_rows']} of {ROWS} rows" in stack.log("sampling-worker")


def test_a_data_set_larger_than_the_memory_limit_is_refused_at_once_when_the_policy_is_refuse(stack, wide_dataset):
    with api_and_worker(stack, "refusing", MEMORY_LIMIT_MB=SMALL_LIMIT_MB, TRAINING_OVERSIZE="refuse") as client:
        job = submit(client, wide_dataset, "refused-model")
        models = {m["name"] for m in client.get("/api/v1/models").json()}
    assert job["status"] == "failed"
    assert job["error"].startswith("dataset_id: the data set has 120,000 rows (")
    assert f"this worker's memory limit is {SMALL_LIMIT_MB} MiB" in job["error"] and "TRAINING_OVERSIZE=refuse" in job["error"]
    assert "refused-model" not in models  # failed before any run or version


def test_the_memory_limit_is_the_smaller_of_the_setting_and_cgroup_memory_max(tmp_path):
    from data_processor.memory import MiB, limit_bytes

    cgroup = tmp_path / "memory.max"
    cgroup.write_text("max\n")
    assert limit_bytes(2048, cgroup) == 2048 * MiB
    cgroup.write_text(f"{1024 * MiB}\n")
    assert limit_bytes(2048, cgroup) == 1024 * MiB
    assert limit_bytes(512, cgroup) == 512 * MiB
    assert limit_bytes(2048, tmp_path / "absent") == 2048 * MiB


def test_a_stratified_sample_keeps_each_class_share_and_two_rows_of_a_rare_class():
    from data_processor.memory import stratified_rows

    labels = np.array([0] * 9000 + [1] * 990 + [2] * 10 + [-1] * 50)  # -1: no target, never sampled
    rows = stratified_rows(labels, 1000, seed=42)
    assert len(rows) == 1000 and np.all(np.diff(rows) > 0)
    picked = np.bincount(labels[rows])
    assert picked.tolist() == [899, 99, 2]


def test_the_settings_read_the_env_names_the_catalog_gives_the_processor(monkeypatch):
    from pipeline_common.config import AppSettings, _ENV

    assert (_ENV["memory_limit_mb"], _ENV["training_oversize"]) == ("MEMORY_LIMIT_MB", "TRAINING_OVERSIZE")
    assert AppSettings(database_url="x", amqp_url="x", mlflow_tracking_uri="x").training_oversize == "sample"
    with pytest.raises(ValueError):
        AppSettings(database_url="x", amqp_url="x", mlflow_tracking_uri="x", training_oversize="truncate")
