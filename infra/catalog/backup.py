"""Backups: PostgreSQL archives every WAL segment with pgBackRest (built into our PostgreSQL
image), `postgres-backup` takes the scheduled base backups beside it, and `object-backup`
snapshots the buckets plus the configuration not provisioned from code — all encrypted with
`backupPassphrase` into a target outside this host (`backup.target`; dev: a local volume).

Restore with `python -m infra.restore` (README: "Restore after losing the host").
"""

from __future__ import annotations

from ..configs import backup as cfg
from ..settings import PlatformSettings
from . import data as d
from .context import CatalogContext
from .exporters import TEXTFILE_DIR
from .model import (
    UPLOADS_NEED_WRITABLE_ROOT, BuiltImage, ConfigFile, Dependency, Hardening, Healthcheck, Mount, ServiceSpec, VolumeSpec,
)  # fmt: skip

PGBACKREST_CONF = "/etc/pgbackrest/pgbackrest.conf"
#: PostgreSQL 18's images keep the cluster here, under the volume mounted at /var/lib/postgresql.
PGDATA = "/var/lib/postgresql/18/docker"
SOCKET_DIR = "/var/run/postgresql"
LOCAL_TARGET = "/backups"
RCLONE_CONF = "/etc/rclone/rclone.conf"
#: `backup.target.caCertificate`, uploaded where pgBackRest (`repo1-storage-ca-file`) and rclone (`--ca-cert`,
#: set as RCLONE_CA_CERT: rclone v1.75.0 fs/config.go option `ca_cert`, L842 `OptionToEnv`) read it.
TARGET_CA_FILE = "/etc/backup-target/ca.pem"
GRAFANA_DB = "/grafana/grafana.db"
#: The official image's `postgres` user, which owns PGDATA.
POSTGRES_UID = "999:999"
#: Its group: the volumes PostgreSQL and postgres-backup write but whose path the image lacks (the metrics
#: volume; the dev stack's local target) are given to it (ServiceSpec.fs_group), as Kubernetes' fsGroup does.
POSTGRES_GID = 999
S3_BACKUP_USER = "backup"
#: The official PostgreSQL image plus pgBackRest (app/postgres/Dockerfile).
POSTGRES_IMAGE = BuiltImage("postgres", "app/postgres/Dockerfile")


def backup_healthcheck(test: tuple[str, ...]) -> Healthcheck:
    """A backup container's check talks to its repository: once a minute is enough, and a slow target gets time."""
    return Healthcheck(test, interval="60s", timeout="30s", retries=3, start_period="120s")


def volumes(settings: PlatformSettings) -> tuple[VolumeSpec, ...]:
    shared = (VolumeSpec("postgres-run", stateful=False),)
    return shared + ((VolumeSpec("backups"),) if settings.backup.target is None else ())


def target(settings: PlatformSettings) -> cfg.S3Target | cfg.LocalTarget:
    t = settings.backup.target
    if t is None:
        return cfg.LocalTarget(LOCAL_TARGET)
    return cfg.S3Target(
        endpoint=t.endpoint, bucket=t.bucket, region=t.region, uri_style=t.uriStyle,
        ca_file=TARGET_CA_FILE if t.caCertificate else None,
    )  # fmt: skip


def target_ca_files(settings: PlatformSettings) -> tuple[ConfigFile, ...]:
    """The private CA a stack's target certificate is issued by: trusted the way production trusts it."""
    t = settings.backup.target
    return (ConfigFile(TARGET_CA_FILE, t.caCertificate),) if t is not None and t.caCertificate else ()


def target_mounts(settings: PlatformSettings) -> tuple[Mount, ...]:
    return (Mount("backups", LOCAL_TARGET),) if settings.backup.target is None else ()


def pgbackrest_files_and_env(ctx: CatalogContext) -> tuple[tuple[ConfigFile, ...], dict]:
    """What PostgreSQL and postgres-backup both need: the config file and its secrets."""
    s = ctx.settings
    r = s.backup.retention
    conf = cfg.pgbackrest_conf(
        target(s),
        pg_path=PGDATA,
        retention=cfg.Retention(full=r.full, diff=r.diff, daily=r.daily, weekly=r.weekly, monthly=r.monthly),
        pg_socket_path=SOCKET_DIR,
        lock_path="/tmp/pgbackrest",
    )
    secret_env = {"PGBACKREST_REPO1_CIPHER_PASS": ctx.secrets.get("backupPassphrase")}
    if s.backup.target is not None:
        secret_env["PGBACKREST_REPO1_S3_KEY"] = ctx.secrets.get("backupTargetAccessKey")
        secret_env["PGBACKREST_REPO1_S3_KEY_SECRET"] = ctx.secrets.get("backupTargetSecretKey")
    return (ConfigFile(PGBACKREST_CONF, conf), *target_ca_files(s)), secret_env


def postgres_command() -> tuple[str, ...]:
    """The official image's `postgres` command with WAL archiving to the repository."""
    args = [arg for name, value in cfg.archive_settings(PGBACKREST_CONF).items() for arg in ("-c", f"{name}={value}")]
    return ("postgres", *args)


def backup_services(ctx: CatalogContext) -> list[ServiceSpec]:
    s = ctx.settings
    interval = str(s.backup.intervalHours * 3600)
    files, pg_secret_env = pgbackrest_files_and_env(ctx)
    r = s.backup.retention
    rclone_secret_env = {
        "RCLONE_CONFIG_PLATFORM_SECRET_ACCESS_KEY": ctx.secrets.get("s3BackupSecretKey"),
        "BACKUP_PASSPHRASE": ctx.secrets.get("backupPassphrase"),
        "RABBITMQ_PASSWORD": ctx.secrets.get("rabbitmqAdminPassword"),
    }
    if s.backup.target is not None:
        rclone_secret_env["RCLONE_CONFIG_TARGET_ACCESS_KEY_ID"] = ctx.secrets.get("backupTargetAccessKey")
        rclone_secret_env["RCLONE_CONFIG_TARGET_SECRET_ACCESS_KEY"] = ctx.secrets.get("backupTargetSecretKey")
    return [
        ServiceSpec(
            name="postgres-backup",
            layer="data",
            image=POSTGRES_IMAGE,
            networks=("backend",),
            user=POSTGRES_UID,
            command=("sh", "-c", cfg.POSTGRES_BACKUP_SCRIPT),
            mounts=(
                Mount("postgres", "/var/lib/postgresql"),  # read-write: a restore writes PGDATA
                Mount("postgres-run", SOCKET_DIR),
                Mount("metrics-textfile", TEXTFILE_DIR),
                *target_mounts(s),
            ),
            files=files,
            env={
                "PGHOST": SOCKET_DIR,
                "INTERVAL": interval,
                "FULL_EVERY": str(7 * 86400),
                "TEXTFILE_DIR": TEXTFILE_DIR,
            },
            secret_env=pg_secret_env,
            depends_on=(Dependency("postgres"),),
            healthcheck=backup_healthcheck(("CMD", "sh", "-c", cfg.POSTGRES_BACKUP_HEALTHCHECK)),
            fs_group=POSTGRES_GID,
            memory_mb=512,
            hardening=Hardening(read_only=False, exceptions={"read_only": UPLOADS_NEED_WRITABLE_ROOT}),
            description="pgBackRest base backups (weekly full, daily differential) and WAL archive metrics",
        ),
        ServiceSpec(
            name="object-backup",
            layer="data",
            image=ctx.image("object-backup"),
            networks=("backend",),
            entrypoint=("sh", "-c"),
            command=(cfg.OBJECT_BACKUP_SCRIPT,),
            mounts=(
                Mount("metrics-textfile", TEXTFILE_DIR),
                Mount("grafana", "/grafana", read_only=True),
                *target_mounts(s),
            ),
            files=(
                ConfigFile(RCLONE_CONF, cfg.rclone_conf("http://minio:9000", S3_BACKUP_USER, target(s))),
                *target_ca_files(s),
            ),
            env={
                "RCLONE_CONFIG": RCLONE_CONF,
                **({"RCLONE_CA_CERT": TARGET_CA_FILE} if target_ca_files(s) else {}),
                "BUCKETS": f"{d.PIPELINE_BUCKET} {d.MLFLOW_BUCKET}",
                "KEEP_DAILY": str(r.daily),
                "KEEP_WEEKLY": str(r.weekly),
                "KEEP_MONTHLY": str(r.monthly),
                "INTERVAL": interval,
                "TEXTFILE_DIR": TEXTFILE_DIR,
                "RABBITMQ_API": "http://rabbitmq:15672",
                "RABBITMQ_USER": d.RABBITMQ_ADMIN,
                "GRAFANA_DB": GRAFANA_DB,
            },
            secret_env=rclone_secret_env,
            depends_on=(Dependency("minio"), Dependency("rabbitmq")),
            healthcheck=backup_healthcheck(("CMD", "sh", "-c", cfg.object_backup_healthcheck(d.PIPELINE_BUCKET, target(s)))),
            memory_mb=256,
            hardening=Hardening(
                read_only=False,
                cap_add=("DAC_READ_SEARCH",),
                exceptions={
                    "read_only": UPLOADS_NEED_WRITABLE_ROOT,
                    "user": "rclone's image declares no USER; it writes the root-owned backup and textfile volumes",
                    "cap_add": "DAC_READ_SEARCH reads grafana.db, which belongs to Grafana's user (uid 472)",
                },
            ),
            description="rclone: encrypted bucket and configuration snapshots",
        ),
    ]


def backup_alert_rules(settings: PlatformSettings) -> list[dict]:
    """A backup older than its schedule allows (1.5 intervals), or WAL archiving failing."""
    allowed = int(settings.backup.intervalHours * 3600 * 1.5)
    return [
        {
            "alert": "BackupTooOld",
            "expr": f"time() - mlops_backup_last_success_timestamp_seconds > {allowed}",
            "for": "15m",
            "labels": {"severity": "critical"},
            "annotations": {"summary": "the last successful {{ $labels.kind }} backup is older than its schedule allows"},
        },
        {
            "alert": "WalArchivingFailing",
            "expr": "mlops_backup_wal_last_failed_timestamp_seconds > mlops_backup_wal_last_archived_timestamp_seconds",
            "for": "5m",
            "labels": {"severity": "critical"},
            "annotations": {"summary": "PostgreSQL cannot ship WAL to the backup target: point-in-time recovery is at risk"},
        },
    ]


__all__ = ["backup_services", "backup_alert_rules", "postgres_command", "pgbackrest_files_and_env", "volumes"]
