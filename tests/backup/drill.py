"""The restore drill's moving parts: a platform whose PostgreSQL archives to a backup target
with pgBackRest, an object backup by the catalog's own script, and the restore steps.

Used by tests/backup and by benchmarks/restore.py (which prints RPO and RTO).
"""

from __future__ import annotations

import datetime
import hashlib
import os
import pwd
import shutil
import subprocess
import time
from pathlib import Path

import boto3
import httpx
import psycopg

from infra.catalog.image_facts import all_facts
from infra.catalog.model import volume_group_script
from infra.configs import backup as cfg
from infra.restore import vault_shell  # the restore command's rclone wrapper (passphrase -> vault)
from infra.services.data.pgbackrest import POSTGRES_GID, POSTGRES_UID
from tests.app.flow import upload, wait_job
from tests.app.services import BIN, S3_ENV, Stack, start_mlflow, wait_for
from tests.catalog_runs.runner import RUN_STACK, stack_catalog

from .target import ACCESS_KEY, SECRET_KEY, start_backup_target

CIPHER_PASS = "drill-cipher-passphrase"
OBJECT_PASSPHRASE = "drill-object-passphrase"
BUCKETS = ("pipeline-data", "mlflow-artifacts")


class Drill:
    def __init__(self):
        self.stack = Stack()
        try:
            self._start()
        except BaseException:
            self.stack.stop()
            raise

    def _start(self) -> None:
        root = self.stack.root
        self.target = start_backup_target(self.stack.procs)
        self.conf = root / "pgbackrest.conf"
        # pgBackRest's lock path as the image has it (app/postgres/Dockerfile `install -d ... /tmp/pgbackrest`,
        # image facts); the catalog sets no log or spool path (file logging off, archiving synchronous).
        lock = self._image_directory(root / "pgbackrest-lock", "/tmp/pgbackrest")
        self.conf.write_text(
            cfg.pgbackrest_conf(self.target, pg_path=str(root / "pg"), lock_path=str(lock), pg_socket_path=str(root / "pg"))
        )
        self.conf.chmod(0o644)  # as Docker uploads a file: root-owned 0644
        self.pgbackrest_env = {
            "PGBACKREST_REPO1_S3_KEY": ACCESS_KEY,
            "PGBACKREST_REPO1_S3_KEY_SECRET": SECRET_KEY,
            "PGBACKREST_REPO1_CIPHER_PASS": CIPHER_PASS,
        }
        self.stack.start(pg_settings=cfg.archive_settings(str(self.conf)), pg_env=self.pgbackrest_env)
        # pgBackRest talks to the cluster on its port and socket (the data directory here).
        self.conf.write_text(self.conf.read_text().replace("pg1-port=5432", f"pg1-port={self.stack.postgres.port}"))
        self.pgbackrest("stanza-create")
        self.platform_s3 = boto3.client("s3", endpoint_url=self.stack.s3, region_name="us-east-1", **_keys(S3_ENV))
        self.rclone_conf = root / "rclone.conf"
        self.rclone_conf.write_text(cfg.rclone_conf(self.stack.s3, S3_ENV["AWS_ACCESS_KEY_ID"], self.target))
        self.history: list[str] = []

    # -- running the tools as the containers do ------------------------------------------
    def _image_directory(self, path: Path, image_path: str) -> Path:
        """A directory of our PostgreSQL image, with its owner and mode there (image facts); the image's
        postgres (999) is this machine's postgres user, as which the cluster and pgBackRest run here."""
        fact = all_facts()["app/postgres"].paths[image_path]
        path.mkdir(mode=fact.mode)
        path.chmod(fact.mode)
        if os.geteuid() == 0 and fact.owner == all_facts()["app/postgres"].users["postgres"]:
            pw = pwd.getpwnam("postgres")  # the cluster's user when the tests run as root (tests/app/services.py)
            os.chown(path, pw.pw_uid, pw.pw_gid)
        return path

    def run_as_postgres(self, argv: list[str], timeout: float = 300) -> subprocess.CompletedProcess:
        """As the image's postgres user and group (999:999 there, this machine's postgres here), no other groups."""
        pw = pwd.getpwnam(self.stack.postgres.user)
        result = subprocess.run(
            argv, env={**os.environ, **self.pgbackrest_env}, user=pw.pw_uid, group=pw.pw_gid, extra_groups=[],
            capture_output=True, text=True, timeout=timeout,
        )  # fmt: skip
        if result.returncode != 0:
            raise RuntimeError(f"{' '.join(argv[:4])} failed ({result.returncode}): {result.stderr[-2000:]}")
        return result

    def pgbackrest(self, command: str, *options: str) -> subprocess.CompletedProcess:
        return self.run_as_postgres(["pgbackrest", f"--config={self.conf}", f"--stanza={cfg.STANZA}", *options, command])

    def rclone_env(self) -> dict[str, str]:
        return {
            **os.environ,
            "PATH": f"{BIN}:{os.environ['PATH']}",
            "RCLONE_CONFIG": str(self.rclone_conf),
            "RCLONE_CONFIG_PLATFORM_SECRET_ACCESS_KEY": S3_ENV["AWS_SECRET_ACCESS_KEY"],
            "RCLONE_CONFIG_TARGET_ACCESS_KEY_ID": ACCESS_KEY,
            "RCLONE_CONFIG_TARGET_SECRET_ACCESS_KEY": SECRET_KEY,
            "RCLONE_CA_CERT": self.target.ca_file or "",  # as the catalog sets it for backup.target.caCertificate
            "BACKUP_PASSPHRASE": OBJECT_PASSPHRASE,
        }

    def backup_postgres(self) -> str:
        """One round of the catalog's postgres-backup command as the catalog's user (a full backup on
        a first run); returns the metrics it wrote. Its metrics volume starts as Docker creates it for a
        path no image of its mounters has: root:root 0755."""
        spec = stack_catalog(RUN_STACK)[1].services["postgres-backup"]
        textfile = self.stack.root / "textfile-postgres"
        textfile.mkdir(mode=0o755)
        if spec.fs_group is not None:  # what the Docker target runs before the container starts
            assert spec.fs_group == POSTGRES_GID  # the image's postgres group: this machine's here
            gid = pwd.getpwnam(self.stack.postgres.user).pw_gid
            subprocess.run(["sh", "-c", volume_group_script(gid, [str(textfile)])], check=True)
        env = {
            "PGBACKREST_CONFIG": str(self.conf),  # the container reads the default path instead
            "PGHOST": str(self.stack.postgres.data),
            "PGPORT": str(self.stack.postgres.port),
            "INTERVAL": "0",
            "FULL_EVERY": str(7 * 86400),
            "TEXTFILE_DIR": str(textfile),
            "ONCE": "1",
        }
        # The catalog's user is the image's `postgres` (999:999); here that is this machine's `postgres`.
        assert spec.user == POSTGRES_UID, spec.user
        pw = pwd.getpwnam(self.stack.postgres.user)
        result = subprocess.run(
            list(spec.command), env={**os.environ, **self.pgbackrest_env, **env},
            user=pw.pw_uid, group=pw.pw_gid, extra_groups=[], capture_output=True, text=True, timeout=900,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr[-2000:]
        return "".join(p.read_text() for p in sorted(textfile.glob("*.prom")))

    def backup_objects(self) -> str:
        """One round of the catalog's object backup script; returns the metrics it wrote."""
        textfile = self.stack.root / "textfile"
        textfile.mkdir(exist_ok=True)  # root:root 0755, as Docker creates the metrics volume (no image has it)
        env = {
            **self.rclone_env(),
            "BUCKETS": " ".join(BUCKETS),
            "TEXTFILE_DIR": str(textfile),
            "KEEP_DAILY": "7",
            "KEEP_WEEKLY": "4",
            "KEEP_MONTHLY": "6",
            "INTERVAL": "86400",
            "ONCE": "1",
        }
        result = subprocess.run(["sh", "-s"], input=cfg.OBJECT_BACKUP_SCRIPT, env=env, capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, result.stderr[-2000:]
        return (textfile / "backup_objects.prom").read_text()

    def history_stamps(self) -> list[str]:
        """Dated history folders; none until a sync has replaced or deleted something."""
        def lsf(path: str) -> list[str]:
            argv = vault_shell(["rclone", "lsf", "--dirs-only", path])
            out = subprocess.run(argv, env=self.rclone_env(), capture_output=True, text=True, check=True)
            return [line.rstrip("/") for line in out.stdout.split()]

        return lsf("vault:history") if "history" in lsf("vault:") else []

    # -- what the platform holds ---------------------------------------------------------
    def objects(self) -> dict[str, str]:
        """bucket/key -> MD5 of the content, for every object of the platform."""
        found = {}
        for bucket in BUCKETS:
            for page in self.platform_s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
                for obj in page.get("Contents", []):
                    body = self.platform_s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read()
                    found[f"{bucket}/{obj['Key']}"] = hashlib.md5(body).hexdigest()
        return found

    def rows(self) -> dict[str, int]:
        with psycopg.connect(f"{self.stack.pg}/pipeline") as conn:
            return {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("datasets", "jobs", "feedback")}

    def recovery_target(self) -> str:
        """A point in time after every commit so far, in the form pgBackRest's --target reads
        (`YYYY-MM-DD HH:MM:SS+00`): the next whole second by the server's clock. Returns once the
        server's clock has passed it, so later commits fall after it."""
        with psycopg.connect(f"{self.stack.pg}/postgres") as conn:
            target = conn.execute("SELECT date_trunc('second', clock_timestamp()) + interval '1 second'").fetchone()[0]
            wait_for(lambda: conn.execute("SELECT clock_timestamp() > %s", (target,)).fetchone()[0], "the recovery target", 5)
        return target.astimezone(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S+00")

    def archive_wal(self) -> float:
        """Switch to a new WAL segment and wait until the archiver shipped the old one; seconds."""
        started = time.monotonic()
        with psycopg.connect(f"{self.stack.pg}/postgres", autocommit=True) as conn:
            segment = conn.execute("SELECT pg_walfile_name(pg_switch_wal())").fetchone()[0]

            def archived():
                row = conn.execute("SELECT last_archived_wal, failed_count FROM pg_stat_archiver").fetchone()
                return row[0] is not None and row[0] >= segment

            wait_for(archived, f"WAL segment {segment} in the archive", 120)
        return time.monotonic() - started

    # -- disaster and recovery -----------------------------------------------------------
    def lose_everything(self, apps: list[subprocess.Popen]) -> None:
        for proc in apps:
            self.stack.procs.stop(proc)
        self.stack.procs.stop(self.mlflow_proc())
        self.stack.postgres.stop()
        data = self.stack.postgres.data
        for child in data.iterdir():
            shutil.rmtree(child) if child.is_dir() else child.unlink()
        for bucket in BUCKETS:
            for page in self.platform_s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
                for v in page.get("Versions", []) + page.get("DeleteMarkers", []):
                    self.platform_s3.delete_object(Bucket=bucket, Key=v["Key"], VersionId=v["VersionId"])

    def mlflow_proc(self) -> subprocess.Popen:
        return self.proc_running("server")

    def proc_running(self, arg: str) -> subprocess.Popen:
        """The newest live process started with `arg` among its arguments."""
        return next(p for p in reversed(self.stack.procs.procs) if arg in map(str, p.args) and p.poll() is None)

    def restore(self, target_time: str | None, objects_after: str | None) -> None:
        self.run_as_postgres(cfg.restore_argv(str(self.conf), target_time), timeout=600)
        self.stack.postgres.start()  # replays WAL to the target, then promotes
        for bucket in BUCKETS:
            for argv in cfg.object_restore_argv(bucket, self.history_stamps(), objects_after):
                subprocess.run(vault_shell(argv), env=self.rclone_env(), check=True, capture_output=True, timeout=300)
        self.stack.mlflow = start_mlflow(self.stack.procs, self.stack.pg, self.stack.s3)

    def stop(self) -> None:
        self.stack.stop()


def _keys(env: dict[str, str]) -> dict[str, str]:
    return {"aws_access_key_id": env["AWS_ACCESS_KEY_ID"], "aws_secret_access_key": env["AWS_SECRET_ACCESS_KEY"]}


def api_client(drill: Drill) -> httpx.Client:
    url = drill.stack.start_api()
    return httpx.Client(base_url=url, headers={"Authorization": f"Bearer {drill.stack.api_token}"}, timeout=300)


def train_and_score(client: httpx.Client, csv: bytes, name: str, model: str) -> dict:
    ds = upload(client, csv, name)
    r = client.post("/api/v1/training-jobs", json={"dataset_id": ds["id"], "target": "income", "model_name": model})
    assert r.status_code == 202, r.text
    trained = wait_job(client, r.json()["id"], timeout=300)
    assert trained["status"] == "succeeded", trained["error"]
    r = client.post("/api/v1/prediction-jobs", json={"model_name": model, "dataset_id": ds["id"]})
    scored = wait_job(client, r.json()["id"], timeout=300)
    assert scored["status"] == "succeeded", scored["error"]
    return {"dataset": ds, "training": trained, "batch": scored}
