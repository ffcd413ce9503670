"""GET /api/v1/datasets/{id}/profile against the running API."""

import io

import numpy as np
import pandas as pd

from .flow import upload


def profile_of(client, data: bytes, name: str) -> dict:
    ds = upload(client, data, name)
    r = client.get(f"/api/v1/datasets/{ds['id']}/profile")
    assert r.status_code == 200, r.text
    return r.json()


def columns(p: dict) -> dict:
    return {c["name"]: c for c in p["columns"]}


def test_profile_counts_rows_columns_and_upload_time(client, csv_bytes):
    p = profile_of(client, csv_bytes, "profile-shape")
    assert (p["rows"], p["column_count"], p["name"]) == (400, 4, "profile-shape")
    assert p["created_at"]
    assert [c["name"] for c in p["columns"]] == ["age", "hours", "job", "income"]


def test_numeric_columns_have_range_median_and_a_histogram(client, csv_bytes):
    age = columns(profile_of(client, csv_bytes, "profile-numeric"))["age"]
    df = pd.read_csv(io.BytesIO(csv_bytes))
    assert age["kind"] == "integer"
    assert (age["min"], age["max"], age["median"]) == (df.age.min(), df.age.max(), df.age.median())
    assert sum(age["histogram"]["counts"]) == 400
    assert len(age["histogram"]["edges"]) == len(age["histogram"]["counts"]) + 1


def test_categorical_columns_list_their_values_and_missing_markers_count_as_missing(client, csv_bytes):
    job = columns(profile_of(client, csv_bytes, "profile-categorical"))["job"]
    assert job["kind"] == "categorical"
    assert job["missing"] == 10  # the "?" cells
    assert {v["value"] for v in job["top_values"]} == {"clerk", "engineer", "farmer", "teacher"}
    assert sum(v["count"] for v in job["top_values"]) == 390


def test_profile_says_why_a_column_cannot_be_a_target(client):
    rng = np.random.default_rng(1)
    df = pd.DataFrame(
        {
            "weight": rng.normal(70, 10, 60).round(3),  # continuous
            "id": np.arange(60),  # whole numbers, all distinct
            "constant": ["x"] * 60,
            "label": ["a"] * 30 + ["b"] * 29 + ["c"],  # class "c" has one row
            "income": ["<=50K", ">50K"] * 30,
        }
    )
    cols = columns(profile_of(client, df.to_csv(index=False).encode(), "profile-targets"))
    assert "continuous numbers" in cols["weight"]["target_problem"]
    assert "60 distinct values" in cols["id"]["target_problem"]
    assert "single value" in cols["constant"]["target_problem"]
    assert "class 'c' has only one row" in cols["label"]["target_problem"]
    assert cols["income"]["target_problem"] is None


def test_profile_of_an_unknown_data_set_is_404_naming_the_id(client):
    r = client.get("/api/v1/datasets/nope/profile")
    assert r.status_code == 404
    assert "nope" in r.json()["detail"]


def test_profile_needs_the_bearer_token(api_url, client, csv_bytes):
    ds = upload(client, csv_bytes, "profile-auth")
    import httpx

    assert httpx.get(f"{api_url}/api/v1/datasets/{ds['id']}/profile").status_code == 401
