"""GET /models lists the whole registry, and what it costs the registry does not grow with versions:
every page of models and versions is read, runs in batches, and a finished run only once."""

from __future__ import annotations

import pytest
from mlflow import MlflowClient
from pipeline_api import registry_listing

from .services import S3_ENV

PREFIX = "listing-page-"
MANY = 101  # one past the 100 models a search_registered_models page holds by default


@pytest.fixture
def many_models(stack):
    client = MlflowClient(stack.mlflow)
    names = [f"{PREFIX}{i:03d}" for i in range(MANY)]
    for name in names:
        client.create_registered_model(name)
    yield names
    for name in names:  # the session's other tests list models too
        client.delete_registered_model(name)


def test_every_registered_model_is_listed_past_the_registrys_first_page(client, many_models):
    r = client.get("/api/v1/models")
    assert r.status_code == 200
    listed = {m["name"] for m in r.json()}
    assert set(many_models) <= listed, f"{len(set(many_models) - listed)} models left out"


@pytest.fixture
def counted(stack, monkeypatch):
    """registry_listing in this process against the session's registry, its MLflow calls counted."""
    for k, v in {**S3_ENV, "MLFLOW_S3_ENDPOINT_URL": stack.s3, "MLFLOW_TRACKING_URI": stack.mlflow}.items():
        monkeypatch.setenv(k, v)
    monkeypatch.setattr(registry_listing, "_runs", type(registry_listing._runs)())
    calls = {"get_run": 0, "search_runs": 0}
    for method in calls:
        original = getattr(MlflowClient, method)

        def counting(self, *args, _name=method, _original=original, **kw):
            calls[_name] += 1
            return _original(self, *args, **kw)

        monkeypatch.setattr(MlflowClient, method, counting)
    return calls


def test_a_listing_reads_runs_in_batches_and_never_one_version_at_a_time(counted, read_only_model):
    models = registry_listing.list_models()
    runs = {v["run_id"] for m in models for v in m["versions"] if v["run_id"]}
    assert counted["get_run"] == 0
    assert 1 <= counted["search_runs"] <= -(-len(runs) // registry_listing.RUNS_PER_SEARCH)


def test_a_second_listing_reads_no_finished_run_again(counted, read_only_model):
    registry_listing.list_models()
    before = counted["search_runs"]
    registry_listing.list_models()
    assert counted["search_runs"] == before


def test_each_version_carries_its_own_runs_params_and_metrics(stack, counted, read_only_model):
    (model,) = [m for m in registry_listing.list_models() if m["name"] == read_only_model]
    for version in model["versions"]:
        run = MlflowClient(stack.mlflow).get_run(version["run_id"])
        assert (version["metrics"], version["params"]) == (run.data.metrics, run.data.params)


def test_each_version_names_the_training_job_that_registered_it(client, read_only_model):
    (model,) = [m for m in client.get("/api/v1/models").json() if m["name"] == read_only_model]
    for version in model["versions"]:
        job = client.get(f"/api/v1/jobs/{version['job_id']}").json()
        assert (job["kind"], job["result"]["model_name"], job["result"]["model_version"]) == ("training", read_only_model, version["version"])
