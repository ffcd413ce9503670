"""verify against a working local stack: every check passes and nothing is left behind."""

import httpx

from .conftest import STACK, failed, results


def test_a_working_stack_passes_every_check_and_leaves_nothing_behind(site, verify, vstack, api_url, grafana):
    code, report = verify(site())
    assert report["checks"], report
    assert not failed(report), failed(report)
    assert code == 0 and report["ok"] is True
    assert set(results(report).values()) == {"ok"}
    names = set(results(report))
    assert {"https api", "https api_docs", "auth minio", "api ready", "e2e job", "e2e cleanup", "tempo trace"} <= names

    headers = {"Authorization": f"Bearer {vstack.api_token}"}
    datasets = httpx.get(f"{api_url}/api/v1/datasets", headers=headers).json()
    assert not [d for d in datasets if d["name"] == f"verify-{STACK}"]
    model = httpx.get(f"{vstack.mlflow}/api/2.0/mlflow/registered-models/get", params={"name": f"verify-{STACK}"})
    assert model.status_code == 404 and "RESOURCE_DOES_NOT_EXIST" in model.text
    exp = httpx.get(f"{vstack.mlflow}/api/2.0/mlflow/experiments/get-by-name", params={"experiment_name": f"verify-{STACK}"})
    runs = httpx.post(f"{vstack.mlflow}/api/2.0/mlflow/runs/search", json={"experiment_ids": [exp.json()["experiment"]["experiment_id"]]})
    assert runs.json().get("runs", []) == []  # active runs; deleted ones are only listed on request
