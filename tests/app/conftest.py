import sys

import httpx
import numpy as np
import pandas as pd
import pytest

from .services import PYTHONPATH, Stack

for p in reversed(PYTHONPATH.split(":")):
    if p not in sys.path:
        sys.path.insert(0, p)


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


@pytest.fixture(scope="session")
def stack():
    s = Stack().start()
    yield s
    s.stop()


@pytest.fixture(scope="session")
def api_url(stack):
    return stack.start_api()


@pytest.fixture(scope="session")
def worker(stack):
    return stack.start_worker()


@pytest.fixture(scope="session")
def client(api_url, stack):
    with httpx.Client(base_url=api_url, headers={"Authorization": f"Bearer {stack.api_token}"}, timeout=30) as c:
        yield c


@pytest.fixture(scope="session")
def csv_bytes():
    return make_csv()
