"""Recovery point and recovery time of the backups, measured on the restore drill's real services.

RPO: a commit is safe once the WAL segment holding it is in the backup target. Without forcing
anything, the time from commit to archived segment is what a host failure could lose; the
catalog's `archive_timeout` bounds it (goal: at most 5 minutes).
RTO: from the start of the restore (pgBackRest restore + WAL replay + objects) until the API is
ready again and the restored champion answered a prediction.
Run: .venv/bin/python benchmarks/restore.py  (PostgreSQL, pgBackRest, nginx and RabbitMQ from Debian)
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), *(str(ROOT / "app" / p) for p in ("common", "api", "processor"))]

import psycopg  # noqa: E402

from infra.configs.backup import ARCHIVE_TIMEOUT_SECONDS  # noqa: E402
from tests.app.conftest import make_csv  # noqa: E402
from tests.app.flow import wait_job  # noqa: E402
from tests.app.services import wait_for  # noqa: E402
from tests.backup.drill import Drill, api_client, train_and_score  # noqa: E402

SAMPLES = 3


def commit_to_archive_seconds(drill: Drill) -> float:
    with psycopg.connect(f"{drill.stack.pg}/pipeline", autocommit=True) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS rpo_probe (at timestamptz)")
        conn.execute("INSERT INTO rpo_probe VALUES (now())")
        started = time.monotonic()
        segment = conn.execute("SELECT pg_walfile_name(pg_current_wal_lsn())").fetchone()[0]

        def archived():
            return conn.execute("SELECT last_archived_wal FROM pg_stat_archiver").fetchone()[0] >= segment

        wait_for(archived, "the probe's WAL segment in the archive", ARCHIVE_TIMEOUT_SECONDS * 5)
    return time.monotonic() - started


def main() -> None:
    drill = Drill()
    try:
        client = api_client(drill)
        worker = drill.stack.start_worker("bench-worker")
        api = drill.proc_running("pipeline_api")
        train_and_score(client, make_csv(2000, seed=3), "bench", "bench-model")
        drill.backup_objects()
        drill.backup_postgres()
        rpo = [commit_to_archive_seconds(drill) for _ in range(SAMPLES)]
        rows = drill.rows()
        drill.lose_everything([worker, api])

        started = time.monotonic()
        drill.restore(None, objects_after=None)
        restored_db = time.monotonic() - started
        client = api_client(drill)
        drill.stack.start_worker("bench-worker-restored")
        last: list = []

        def ready() -> bool:
            last[:] = [client.get("/ready", timeout=30)]
            return last[0].status_code == 200

        try:
            wait_for(ready, "API ready", 300)
        except TimeoutError:
            raise SystemExit(f"the restored API did not become ready: {last[0].text if last else 'no answer'}") from None
        r = client.post("/api/v1/prediction-jobs", json={"model_name": "bench-model", "records": [{"age": 40, "hours": 40, "job": "clerk"}]})
        assert wait_job(client, r.json()["id"], timeout=300, interval=0.05)["status"] == "succeeded"
        rto = time.monotonic() - started
        assert drill.rows()["datasets"] == rows["datasets"]
        print(f"RPO: commit -> archived WAL {statistics.median(rpo):.1f} s median, {max(rpo):.1f} s max of {SAMPLES} "
              f"(archive_timeout {ARCHIVE_TIMEOUT_SECONDS} s; goal <= 300 s)")
        print(f"RTO: restore {restored_db:.1f} s (PostgreSQL + WAL replay + objects + MLflow up), "
              f"{rto:.1f} s until the restored champion answered a prediction")
    finally:
        drill.stop()


if __name__ == "__main__":
    main()
