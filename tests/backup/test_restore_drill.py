"""Restore drill: the platform's data comes back to a point in time after losing everything.

Real PostgreSQL with pgBackRest (Debian packages) archiving to a second S3 server over
HTTPS, the catalog's object backup script (rclone, encrypted), and the real API, worker
and MLflow: write, back up, write more, lose the data, restore to a point between the two
writes, and check rows, objects and that the restored champion still predicts.
"""

from __future__ import annotations

import re

import pytest

from tests.app.conftest import make_csv
from tests.app.flow import wait_job

from .drill import Drill, api_client, train_and_score

MODEL = "drill-model"


@pytest.fixture(scope="module")
def drill():
    d = Drill()
    yield d
    d.stop()


def test_point_in_time_restore_brings_back_rows_objects_and_a_predicting_champion(drill):
    worker = drill.stack.start_worker("drill-worker", wait=False)  # starts while the API does
    client = api_client(drill)
    drill.stack.wait_worker("drill-worker", worker)
    api = drill.proc_running("pipeline_api")

    first = train_and_score(client, make_csv(300, seed=1), "before", MODEL)
    metrics = drill.backup_objects()
    assert 'mlops_backup_last_attempt_failed{kind="objects"} 0' in metrics
    pg_metrics = drill.backup_postgres()
    assert 'mlops_backup_last_attempt_failed{kind="postgres"} 0' in pg_metrics
    assert re.search(r'^mlops_backup_size_bytes\{kind="postgres"\} [1-9]', pg_metrics, re.M)
    assert "mlops_backup_last_full_timestamp_seconds" in pg_metrics
    rows_at_target, objects_at_target = drill.rows(), drill.objects()
    target_time = drill.recovery_target()
    stamp_at_target = max(drill.history_stamps(), default=None)

    second = train_and_score(client, make_csv(300, seed=2), "after", MODEL)
    assert second["training"]["result"]["model_version"] == "2"
    drill.archive_wal()  # what the archiver does on its own within archive_timeout

    drill.lose_everything([worker, api])
    assert not any(drill.stack.postgres.data.iterdir()) and drill.objects() == {}

    drill.restore(target_time, objects_after=stamp_at_target)
    assert drill.rows() == rows_at_target
    restored = drill.objects()
    assert {k: restored.get(k) for k in objects_at_target} == objects_at_target

    restored_worker = drill.stack.start_worker("drill-worker-restored", wait=False)
    client = api_client(drill)
    drill.stack.wait_worker("drill-worker-restored", restored_worker)
    datasets = {d["name"] for d in client.get("/api/v1/datasets").json()}
    assert datasets == {"before"}
    model = next(m for m in client.get("/api/v1/models").json() if m["name"] == MODEL)
    assert [v["version"] for v in model["versions"]] == ["1"] and model["aliases"] == {"champion": "1"}
    record = {"age": 50, "hours": 60, "job": "engineer"}
    r = client.post("/api/v1/prediction-jobs", json={"model_name": MODEL, "records": [record]})
    assert r.status_code == 202, r.text
    job = wait_job(client, r.json()["id"], timeout=300)
    assert job["status"] == "succeeded", job["error"]
    assert job["result"]["model_version"] == "1" and job["result"]["predictions"][0]["prediction"] in {">50K", "<=50K"}
    assert first["batch"]["result"]["object_key"] in {k.split("/", 1)[1] for k in restored}


def test_the_repository_is_encrypted(drill):
    """Nothing in the target is readable without the passphrase: pgBackRest's cipher is on."""
    info = drill.pgbackrest("info", "--output=json").stdout
    assert '"cipher":"aes-256-cbc"' in info.replace(" ", "")
