"""Test data and an object-store client for the application tests; their services are the session's (tests/conftest.py)."""

import numpy as np
import pandas as pd
import pytest


def make_csv(rows: int = 400, seed: int = 0) -> bytes:
    """A small tabular classification set with numeric and categorical features and '?' gaps."""
    rng = np.random.default_rng(seed)
    age = rng.integers(18, 80, rows)
    hours = rng.integers(5, 70, rows)
    job = rng.choice(["clerk", "engineer", "farmer", "teacher"], rows)
    score = 0.04 * (age - 40) + 0.05 * (hours - 40) + (job == "engineer") * 1.5 + rng.normal(0, 0.7, rows)
    label = np.where(score > 0.5, ">50K", "<=50K")
    df = pd.DataFrame({"age": age, "hours": hours, "job": job, "income": label})
    df.loc[rng.choice(rows, 10, replace=False), "job"] = "?"
    return df.to_csv(index=False).encode()


@pytest.fixture(scope="module")
def s3(stack):
    """A client of the test stack's object store, with the keys its services are given."""
    import boto3

    from .services import S3_ENV

    return boto3.client("s3", endpoint_url=stack.s3, region_name="us-east-1",
                        aws_access_key_id=S3_ENV["AWS_ACCESS_KEY_ID"], aws_secret_access_key=S3_ENV["AWS_SECRET_ACCESS_KEY"])
