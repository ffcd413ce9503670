"""pgBackRest: PostgreSQL archives every WAL segment with it (built into our PostgreSQL image) and
`postgres-backup` takes the scheduled base backups beside it, encrypted with `backupPassphrase`
into a target outside this host (`backup.target`; dev: a local volume). Its alerts live here.

Restore with `python -m infra.restore` (docs/backups.md).
"""

from __future__ import annotations

from ...catalog.context import CatalogContext, Wiring
from ...catalog.model import (
    UPLOADS_NEED_WRITABLE_ROOT,
    BuiltImage,
    ConfigFile,
    Dependency,
    FreshBackup,
    Hardening,
    Healthcheck,
    Mount,
    ServiceSpec,
    VolumeSpec,
)
from ...catalog.versions import base_image, image_tag, numeric_version
from ...configs import backup as cfg
from ...configs.dashboards import Panel, Query
from ...settings import PlatformSettings
from ..exporters import node_exporter

PGBACKREST_CONF = "/etc/pgbackrest/pgbackrest.conf"
#: The official PostgreSQL image plus pgBackRest (app/postgres/Dockerfile).
POSTGRES_IMAGE = BuiltImage("postgres", "app/postgres/Dockerfile")
#: The PostgreSQL major our image is built on (its Dockerfile's `FROM postgres:<major>.<minor>-<suite>`): the data
#: directory's format, which only pg_upgrade or a dump and restore carry to another major.
POSTGRES_MAJOR = str(numeric_version(image_tag(base_image(POSTGRES_IMAGE.dockerfile)))[0])
#: Where the official image keeps the cluster from 18 on: one directory per major under the volume mounted at
#: /var/lib/postgresql (docker-library/postgres 18/trixie/Dockerfile: "in 18+, PGDATA has changed to match the
#: pg_ctlcluster standard directory structure", `ENV PGDATA /var/lib/postgresql/18/docker`, `VOLUME /var/lib/postgresql`).
PGDATA = f"/var/lib/postgresql/{POSTGRES_MAJOR}/docker"
SOCKET_DIR = "/var/run/postgresql"
LOCAL_TARGET = "/backups"
#: `backup.target.caCertificate`, uploaded where pgBackRest (`repo1-storage-ca-file`) and rclone (`--ca-cert`,
#: set as RCLONE_CA_CERT: rclone v1.75.0 fs/config.go option `ca_cert`, L842 `OptionToEnv`) read it.
TARGET_CA_FILE = "/etc/backup-target/ca.pem"
#: The official image's `postgres` user, which owns PGDATA.
POSTGRES_UID = "999:999"
#: Its group: the volumes PostgreSQL and postgres-backup write but whose path the image lacks (the metrics
#: volume; the dev stack's local target) are given to it (ServiceSpec.fs_group), as Kubernetes' fsGroup does.
POSTGRES_GID = 999

#: A differential backup taken in postgres-backup's container before a data migration (`Migration.backup`): the state
#: just before it is restorable without replaying WAL. Without a prior full backup pgBackRest takes a full one ("no
#: prior backup exists, diff backup has been changed to full", pgbackrest src/command/backup/backup.c backupBuildPrior
#: at release/2.59.0); postgres-backup is healthy only once the stanza exists (POSTGRES_BACKUP_HEALTHCHECK). A scheduled
#: backup running at that moment holds pgBackRest's lock, and then this one fails and stops the rollout: run `up` again.
BEFORE_MIGRATION = FreshBackup("postgres-backup", ("pgbackrest", "--stanza=main", "--type=diff", "backup"))


def backup_healthcheck(test: tuple[str, ...]) -> Healthcheck:
    """A backup container's check talks to its repository: once a minute is enough, and a slow target gets time."""
    return Healthcheck(test, interval="60s", timeout="30s", retries=3, start_period="120s")


def volumes(ctx: CatalogContext) -> tuple[VolumeSpec, ...]:
    """PostgreSQL's socket directory, shared with postgres-backup, and the dev stack's local target."""
    shared = (VolumeSpec("postgres-run", stateful=False),)
    return shared + ((VolumeSpec("backups"),) if ctx.settings.backup.target is None else ())


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


def specs(ctx: CatalogContext, wiring: Wiring) -> list[ServiceSpec]:
    s = ctx.settings
    files, pg_secret_env = pgbackrest_files_and_env(ctx)
    textfile_dir = node_exporter.TEXTFILE_DIR
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
                Mount("metrics-textfile", textfile_dir),
                *target_mounts(s),
            ),
            files=files,
            env={
                "PGHOST": SOCKET_DIR,
                "INTERVAL": str(s.backup.intervalHours * 3600),
                "FULL_EVERY": str(7 * 86400),
                "TEXTFILE_DIR": textfile_dir,
            },
            secret_env=pg_secret_env,
            depends_on=(Dependency("postgres"),),
            healthcheck=backup_healthcheck(("CMD", "sh", "-c", cfg.POSTGRES_BACKUP_HEALTHCHECK)),
            fs_group=POSTGRES_GID,
            memory_mb=512,
            hardening=Hardening(read_only=False, exceptions={"read_only": UPLOADS_NEED_WRITABLE_ROOT}),
            description="pgBackRest base backups (weekly full, daily differential) and WAL archive metrics",
        )
    ]


def alert_rules(ctx: CatalogContext) -> list[dict]:
    """A backup older than its schedule allows (1.5 intervals), or WAL archiving failing."""
    allowed = int(ctx.settings.backup.intervalHours * 3600 * 1.5)
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


#: The "Platform overview" panels of both backup kinds (pgBackRest's and object-backup's figures).
DASHBOARD_ROWS = (
    Panel(
        "Backup age",
        (Query("time() - mlops_backup_last_success_timestamp_seconds", "{{kind}}"),),
        unit="s",
        description="Since the last successful backup per kind; alert BackupTooOld fires at 1.5 intervals.",
    ),
    Panel("Backup size", (Query("mlops_backup_size_bytes", "{{kind}}"),), unit="bytes"),
    Panel(
        "Backup duration",
        (
            Query("mlops_backup_duration_seconds", "{{kind}}"),
            Query("mlops_backup_last_attempt_failed", "{{kind}} failed"),
        ),
        unit="s",
    ),
)
