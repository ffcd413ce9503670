"""The MLflow upgrade drill: a database an older MLflow release wrote, served by the pinned release.

The older release (tests/upgrades/mlflow-previous.txt) and the pinned one (app/mlflow/requirements.txt) each run from
their own virtualenv, built from exactly those requirements as the images are. Without the platform's migration step
the pinned server migrates the database itself as it starts, with no backup first; after the step's command (the catalog's, `infra.services.data.mlflow.MIGRATION`)
it serves every experiment, run and registered model the older release wrote.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from pathlib import Path

import httpx
import psycopg
import pytest

from infra.services.data.mlflow import MIGRATION
from tests.app.services import Processes, free_port, new_postgres, wait_for
from tests.catalog_runs.venvs import REPO, image_venv

PREVIOUS = Path(__file__).with_name("mlflow-previous.txt")

#: Written by the older release through its own tracking client, straight into the database (as its server would).
WRITE_WITH_PREVIOUS = r"""
import json, sys
import mlflow
from mlflow import MlflowClient
client = MlflowClient(tracking_uri=sys.argv[1], registry_uri=sys.argv[1])
for e in range(2):
    exp = client.create_experiment(f"drill-{e}", artifact_location="s3://mlflow-artifacts/drill")
    for r in range(3):
        run = client.create_run(exp, run_name=f"run-{e}-{r}", tags={"drill": "yes"})
        client.log_param(run.info.run_id, "alpha", str(r))
        for step in range(4):
            client.log_metric(run.info.run_id, "loss", 1.0 / (step + 1), step=step)
        client.set_terminated(run.info.run_id)
client.create_registered_model("drill-model")
client.create_model_version("drill-model", "s3://mlflow-artifacts/drill/model", run_id=run.info.run_id)
client.set_registered_model_alias("drill-model", "champion", 1)  # an int: with SQLAlchemy 2.1 a str fails to compare
print(mlflow.__version__)
"""

#: Tables the drill counts before and after (MLflow's schema in mlflow/store/tracking/dbmodels/models.py).
COUNTED = ("experiments", "runs", "params", "metrics", "latest_metrics", "tags", "registered_models", "model_versions",
           "registered_model_aliases")  # fmt: skip


@pytest.fixture(scope="module")
def venvs():
    return image_venv("mlflow-previous", PREVIOUS), image_venv("mlflow", REPO / "app/mlflow/requirements.txt")


@pytest.fixture
def database(venvs):
    procs = Processes(Path(tempfile.mkdtemp(prefix="mlflow-drill-")))
    pg = new_postgres(procs)
    uri = f"{pg.url}/mlflow"
    previous, _ = venvs
    written = subprocess.run([previous / "bin/python", "-c", WRITE_WITH_PREVIOUS, uri], capture_output=True, text=True)
    assert written.returncode == 0, written.stderr[-3000:]
    yield uri, procs, written.stdout.strip()
    procs.stop_all()


def version(venv: Path) -> str:
    return subprocess.run([venv / "bin/python", "-c", "import mlflow; print(mlflow.__version__)"],
                          capture_output=True, text=True, check=True).stdout.strip()  # fmt: skip


def row_counts(uri: str) -> dict[str, int]:
    with psycopg.connect(uri) as conn:
        return {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in COUNTED}


def schema_revision(uri: str) -> str:
    with psycopg.connect(uri) as conn:
        return conn.execute("SELECT version_num FROM alembic_version").fetchone()[0]


def server(venv: Path, uri: str, procs: Processes, name: str):
    """`mlflow server` as app/mlflow/Dockerfile's CMD starts it, configured by the catalog's MLFLOW_* variables."""
    from tests.app.services import mlflow_catalog_switches

    port = free_port()
    env = {"PATH": f"{venv / 'bin'}:{os.environ['PATH']}", "MLFLOW_BACKEND_STORE_URI": uri,
           "MLFLOW_ARTIFACTS_DESTINATION": "s3://mlflow-artifacts", **mlflow_catalog_switches()}  # fmt: skip
    proc = procs.start(name, ["mlflow", "server", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"], env=env)
    return proc, f"http://127.0.0.1:{port}", procs.root / f"{name}.log"


def migrate(venv: Path, uri: str) -> subprocess.CompletedProcess:
    """The catalog's migration command, in the pinned release's environment, given the server's store URI."""
    env = {**os.environ, "PATH": f"{venv / 'bin'}:{os.environ['PATH']}", "MLFLOW_BACKEND_STORE_URI": uri}
    return subprocess.run(list(MIGRATION.command), env=env, capture_output=True, text=True, timeout=600)


def served(url: str) -> dict[str, list]:
    with httpx.Client(base_url=url + "/api/2.0/mlflow", timeout=30) as c:
        exps = [e for e in c.post("/experiments/search", json={"max_results": 100}).raise_for_status().json()["experiments"]
                if e["name"].startswith("drill-")]  # fmt: skip
        runs = c.post("/runs/search", json={"experiment_ids": [e["experiment_id"] for e in exps], "max_results": 100})
        models = c.get("/registered-models/search").raise_for_status().json()["registered_models"]
        return {"experiments": exps, "runs": runs.raise_for_status().json()["runs"], "models": models}


def test_the_previous_release_is_older_than_the_pin_and_behind_its_schema(venvs, database):
    previous, pinned = venvs
    uri, _, written_by = database
    assert written_by == version(previous) != version(pinned)
    assert tuple(map(int, written_by.split("."))) < tuple(map(int, version(pinned).split(".")))


def test_without_the_step_the_pinned_server_migrates_the_database_itself_as_it_starts(venvs, database):
    """Why the step exists although this pair does not crash: the pinned release's store finds tables of its ORM
    missing (`_all_tables_exist`) and runs every migration inside the server process as it starts, with no backup
    first and, on a failure, no server (mlflow/store/tracking/sqlalchemy_store.py `__init__`, mlflow/store/db/utils.py
    `_initialize_tables` at v3.17.2). Only a release whose migrations add no table refuses with "Detected out-of-date
    database schema" (`_verify_schema`, same file)."""
    _, pinned = venvs
    uri, procs, _ = database
    revision_before = schema_revision(uri)
    proc, url, log = server(pinned, uri, procs, "mlflow-unmigrated")
    wait_for(lambda: httpx.get(url + "/health", timeout=2).status_code == 200, "the unmigrated server", 300, proc)
    assert "Creating initial MLflow database tables..." in log.read_text()
    assert schema_revision(uri) != revision_before


def test_after_the_migration_step_the_pinned_server_serves_everything(venvs, database):
    _, pinned = venvs
    uri, procs, _ = database
    before = row_counts(uri)
    revision_before = schema_revision(uri)
    result = migrate(pinned, uri)
    assert result.returncode == 0, result.stderr[-3000:]
    assert schema_revision(uri) != revision_before
    after = row_counts(uri)
    print(json.dumps({"before": before, "after": after, "revision": [revision_before, schema_revision(uri)]}))
    assert after == before
    proc, url, log = server(pinned, uri, procs, "mlflow-migrated")
    wait_for(lambda: httpx.get(url + "/health", timeout=2).status_code == 200, "the migrated server", 300, proc)
    got = served(url)
    assert sorted(e["name"] for e in got["experiments"]) == ["drill-0", "drill-1"]
    assert len(got["runs"]) == 6
    assert all(r["data"]["params"] and r["data"]["metrics"] for r in got["runs"])
    (model,) = [m for m in got["models"] if m["name"] == "drill-model"]
    assert model["aliases"] == [{"alias": "champion", "version": "1"}]


def test_the_migration_is_a_no_op_on_a_migrated_database(venvs, database):
    _, pinned = venvs
    uri, _, _ = database
    assert migrate(pinned, uri).returncode == 0
    revision, counts = schema_revision(uri), row_counts(uri)
    assert migrate(pinned, uri).returncode == 0
    assert (schema_revision(uri), row_counts(uri)) == (revision, counts)
