"""Batch prediction results carry every class's probability, `probability_<class>` (issue #26, item 12)."""

import io

import numpy as np
import pandas as pd
import pytest

from .flow import train, upload, wait_job
from .stored import result_table

MODEL = "species-model"
CLASSES = ["adelie", "chinstrap", "gentoo"]
COLUMNS = [f"probability_{c}" for c in CLASSES]
#: Each probability is rounded to 6 decimals, so their sum is 1 within half a unit of the 6th decimal per class.
SUM_TOLERANCE = len(CLASSES) * 0.5e-6 + 1e-12


def species_csv(rows: int = 300, seed: int = 3) -> bytes:
    """make_csv's kind of data with a three-class target: a number and a category decide the class."""
    rng = np.random.default_rng(seed)
    bill = rng.normal(45, 6, rows).round(1)
    island = rng.choice(["biscoe", "dream", "torgersen"], rows)
    score = (bill - 45) / 6 + (island == "biscoe") * 1.2 + rng.normal(0, 0.6, rows)
    species = np.select([score < -0.4, score < 0.8], ["adelie", "chinstrap"], "gentoo")
    return pd.DataFrame({"bill": bill, "island": island, "species": species}).to_csv(index=False).encode()


@pytest.fixture(scope="module")
def species_dataset(client, worker) -> dict:
    ds = upload(client, species_csv(), "species")
    job = train(client, ds["id"], MODEL, target="species")
    assert job["status"] == "succeeded", job["error"]
    return ds


def scored_csv(client, dataset_id: str) -> tuple[dict, pd.DataFrame]:
    r = client.post("/api/v1/prediction-jobs", json={"model_name": MODEL, "dataset_id": dataset_id})
    assert r.status_code == 202, r.text
    job = wait_job(client, r.json()["id"])
    assert job["status"] == "succeeded", job["error"]
    csv = client.get(f"/api/v1/jobs/{job['id']}/result")
    assert csv.status_code == 200, csv.text
    return job, pd.read_csv(io.BytesIO(csv.content), keep_default_na=False)


def test_a_batch_result_has_each_class_probability_summing_to_one_beside_the_predicted_ones(client, species_dataset):
    _, scored = scored_csv(client, species_dataset["id"])
    assert list(scored.columns) == ["bill", "island", "species", "prediction", "probability", *COLUMNS]
    assert len(scored) == 300 and set(scored["prediction"]) <= set(CLASSES)
    np.testing.assert_allclose(scored[COLUMNS].sum(axis=1), 1, rtol=0, atol=SUM_TOLERANCE)
    of_predicted = [row[f"probability_{row['prediction']}"] for _, row in scored.iterrows()]
    assert scored["probability"].tolist() == of_predicted


def test_the_parquet_result_has_the_same_class_probabilities_as_the_csv(stack, client, species_dataset):
    job, scored = scored_csv(client, species_dataset["id"])
    table = result_table(stack, job)
    assert table.column_names == list(scored.columns)
    np.testing.assert_array_equal(table.select(COLUMNS).to_pandas().to_numpy(), scored[COLUMNS].to_numpy())


def test_an_input_column_named_like_a_class_probability_is_left_out_as_prediction_is(client, species_dataset):
    frame = pd.read_csv(io.BytesIO(species_csv(rows=40, seed=4)))
    frame["probability_gentoo"] = "from the input"
    frame["prediction"] = "from the input"
    ds = upload(client, frame.to_csv(index=False).encode(), "species-clash")
    _, scored = scored_csv(client, ds["id"])
    assert list(scored.columns) == ["bill", "island", "species", "prediction", "probability", *COLUMNS]
    assert "from the input" not in set(scored["probability_gentoo"].astype(str)) | set(scored["prediction"])
    np.testing.assert_allclose(scored[COLUMNS].sum(axis=1), 1, rtol=0, atol=SUM_TOLERANCE)
