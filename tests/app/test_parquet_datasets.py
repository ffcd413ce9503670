"""Parquet data sets are trained on and scored; batch results are Parquet files (issue #23)."""

import numpy as np
import pyarrow as pa

from .flow import train, wait_job
from .stored import csv_dataset, parquet_dataset, result_table, store_of


def adult_like(rows: int, seed: int = 0) -> pa.Table:
    """make_csv's columns in the stored types: whole numbers with gaps stay int64, text with gaps."""
    rng = np.random.default_rng(seed)
    age = rng.integers(18, 80, rows)
    hours = rng.integers(5, 70, rows)
    job = rng.choice(["clerk", "engineer", "farmer", "teacher"], rows).astype(object)
    score = 0.04 * (age - 40) + 0.05 * (hours - 40) + (job == "engineer") * 1.5 + rng.normal(0, 0.7, rows)
    job[rng.choice(rows, 10, replace=False)] = None
    hours_mask = np.zeros(rows, bool)
    hours_mask[rng.choice(rows, 5, replace=False)] = True
    return pa.table(
        {
            "age": pa.array(age, pa.int64()),
            "hours": pa.array(hours, pa.int64(), mask=hours_mask),
            "job": pa.array(job, pa.string()),
            "income": pa.array(np.where(score > 0.5, ">50K", "<=50K"), pa.string()),
        }
    )


#: What a binary income model appends: the label, its probability, each class's (in `classes_` order).
RESULT_COLUMNS = ["prediction", "probability", "probability_<=50K", "probability_>50K"]


def records(table: pa.Table, n: int) -> list[dict]:
    return [{k: v for k, v in row.items() if k != "income"} for row in table.slice(0, n).to_pylist()]


def test_a_parquet_data_set_trains_a_model(stack, client, worker):
    dataset_id = parquet_dataset(stack, adult_like(500), "parquet-train")
    job = train(client, dataset_id, "parquet-model")
    assert job["status"] == "succeeded", job["error"]
    assert job["result"]["metrics"]["accuracy"] > 0.7
    assert "sample_rows" not in job["result"]  # it fits: all rows


def test_scoring_a_parquet_data_set_writes_its_rows_with_predictions_as_parquet(stack, client, worker):
    table = adult_like(70_000, seed=1)  # two row groups
    assert train(client, parquet_dataset(stack, adult_like(500), "parquet-base"), "parquet-scorer")["status"] == "succeeded"
    dataset_id = parquet_dataset(stack, table, "parquet-batch")
    r = client.post("/api/v1/prediction-jobs", json={"model_name": "parquet-scorer", "dataset_id": dataset_id})
    job = wait_job(client, r.json()["id"])
    assert job["status"] == "succeeded", job["error"]
    assert job["result"]["object_key"] == f"predictions/{job['id']}.parquet" and job["result"]["rows"] == 70_000
    scored = result_table(stack, job)
    assert scored.column_names == ["age", "hours", "job", "income", *RESULT_COLUMNS]
    assert scored.select(["age", "hours", "job", "income"]).equals(table)
    # the same rows sent as records score the same
    r = client.post("/api/v1/prediction-jobs", json={"model_name": "parquet-scorer", "records": records(table, 20)})
    inline = wait_job(client, r.json()["id"])["result"]["predictions"]
    assert scored.slice(0, 20).select(["prediction", "probability"]).to_pylist() == inline


def test_a_data_set_stored_as_csv_before_parquet_is_still_scored_into_parquet(stack, client, worker, csv_bytes):
    assert train(client, parquet_dataset(stack, adult_like(500), "csv-era-base"), "csv-era-model")["status"] == "succeeded"
    dataset_id = csv_dataset(stack, csv_bytes, "csv-era")
    r = client.post("/api/v1/prediction-jobs", json={"model_name": "csv-era-model", "dataset_id": dataset_id})
    job = wait_job(client, r.json()["id"])
    assert job["status"] == "succeeded", job["error"]
    scored = result_table(stack, job)
    assert scored.num_rows == 400 == job["result"]["rows"]
    assert scored.column_names == ["age", "hours", "job", "income", *RESULT_COLUMNS]
    assert set(scored.column("prediction").to_pylist()) <= {">50K", "<=50K"}


def test_a_data_set_stored_as_csv_before_parquet_is_read_with_text_columns_as_stored_strings(stack, client, csv_bytes):
    """What the memory plan counts as text (one-hot columns) and what results store: `string`, as in Parquet data sets."""
    from data_processor.datasets import open_source

    dataset_id = csv_dataset(stack, csv_bytes, "csv-era-types")
    source = open_source(store_of(stack), f"datasets/{dataset_id}.csv")
    assert source.strings() == ["job", "income"]
    assert [source.schema.field(c).type for c in ("job", "income")] == [pa.string(), pa.string()]
