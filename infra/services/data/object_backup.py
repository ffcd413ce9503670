"""object-backup: rclone snapshots of the buckets plus the configuration not provisioned from code
(RabbitMQ definitions, Grafana's database), encrypted with `backupPassphrase` into the backup target."""

from __future__ import annotations

from ...catalog.context import CatalogContext, Wiring
from ...catalog.model import UPLOADS_NEED_WRITABLE_ROOT, ConfigFile, Dependency, Hardening, Mount, ServiceSpec
from ...configs import backup as cfg
from ..exporters import node_exporter
from . import minio, pgbackrest, rabbitmq

RCLONE_CONF = "/etc/rclone/rclone.conf"
GRAFANA_DB = "/grafana/grafana.db"


def specs(ctx: CatalogContext, wiring: Wiring) -> list[ServiceSpec]:
    s = ctx.settings
    r = s.backup.retention
    textfile_dir = node_exporter.TEXTFILE_DIR
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
            name="object-backup",
            layer="data",
            image=ctx.image("object-backup"),
            networks=("backend",),
            entrypoint=("sh", "-c"),
            command=(cfg.OBJECT_BACKUP_SCRIPT,),
            mounts=(
                Mount("metrics-textfile", textfile_dir),
                Mount("grafana", "/grafana", read_only=True),
                *pgbackrest.target_mounts(s),
            ),
            files=(
                ConfigFile(RCLONE_CONF, cfg.rclone_conf("http://minio:9000", minio.S3_BACKUP_USER, pgbackrest.target(s))),
                *pgbackrest.target_ca_files(s),
            ),
            env={
                "RCLONE_CONFIG": RCLONE_CONF,
                **({"RCLONE_CA_CERT": pgbackrest.TARGET_CA_FILE} if pgbackrest.target_ca_files(s) else {}),
                "BUCKETS": f"{minio.PIPELINE_BUCKET} {minio.MLFLOW_BUCKET}",
                "KEEP_DAILY": str(r.daily),
                "KEEP_WEEKLY": str(r.weekly),
                "KEEP_MONTHLY": str(r.monthly),
                "INTERVAL": str(s.backup.intervalHours * 3600),
                "TEXTFILE_DIR": textfile_dir,
                "RABBITMQ_API": "http://rabbitmq:15672",
                "RABBITMQ_USER": rabbitmq.RABBITMQ_ADMIN,
                "GRAFANA_DB": GRAFANA_DB,
            },
            secret_env=rclone_secret_env,
            depends_on=(Dependency("minio"), Dependency("rabbitmq")),
            healthcheck=pgbackrest.backup_healthcheck(
                ("CMD", "sh", "-c", cfg.object_backup_healthcheck(minio.PIPELINE_BUCKET, pgbackrest.target(s)))
            ),
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
        )
    ]
