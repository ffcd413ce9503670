"""MinIO: the S3 store for datasets, batch results and MLflow artifacts. Every client has its own
key and policy (created by the bootstrap); no application uses the root credential."""

from __future__ import annotations

import re

from ...catalog.context import CatalogContext, Wiring
from ...catalog.model import (
    Bootstrap,
    DataVersion,
    Hardening,
    Healthcheck,
    MetricsEndpoint,
    Mount,
    PublicRoute,
    RateLimit,
    ServiceSpec,
    UnsafeUpgrade,
    VolumeSpec,
)
from ...catalog.versions import image_tag

VOLUMES = (VolumeSpec("minio"),)

S3_ROOT_USER = "admin"
S3_PIPELINE_USER = "pipeline"
S3_MLFLOW_USER = "mlflow"
S3_BACKUP_USER = "backup"
PIPELINE_BUCKET = "pipeline-data"
MLFLOW_BUCKET = "mlflow-artifacts"

#: Idempotent by construction, with nothing but /bin/sh and `mc`, all the MinIO image is known to
#: ship (minio/minio Dockerfile.release at RELEASE.2025-09-07T16-13-09Z: ubi9-micro plus
#: /usr/bin/{minio,mc,curl}). Every call converges on the wanted state: `mb --ignore-existing`,
#: `policy create` and `user add` overwrite, and `policy attach` succeeds when the policy is
#: already attached (mc >= RELEASE.2024-10-08, cmd/admin-policy-attach.go ignores
#: XMinioAdminPolicyChangeAlreadyApplied). The policy document goes in on stdin: no temp file.
MINIO_BOOTSTRAP = r"""
set -eu
export MC_HOST_local="http://admin:${S3_ROOT_PASSWORD}@127.0.0.1:9000"
mc mb --ignore-existing local/pipeline-data local/mlflow-artifacts
mc version enable local/mlflow-artifacts
grant() {  # user secret bucket...
  user=$1 secret=$2
  shift 2
  resources=""
  for bucket in "$@"; do resources="$resources\"arn:aws:s3:::$bucket\",\"arn:aws:s3:::$bucket/*\","; done
  mc admin policy create local "$user-rw" /dev/stdin <<POLICY
{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:*"],"Resource":[${resources%,}]}]}
POLICY
  mc admin user add local "$user" "$secret"
  mc admin policy attach local "$user-rw" --user "$user"
}
grant pipeline "$S3_PIPELINE_SECRET" pipeline-data
grant mlflow "$S3_MLFLOW_SECRET" mlflow-artifacts
grant backup "$S3_BACKUP_SECRET" pipeline-data mlflow-artifacts
"""


def release_time(tag: str) -> str | None:
    """The timestamp of a MinIO release tag (RELEASE.2025-09-07T16-13-09Z), which orders releases; None otherwise."""
    match = re.fullmatch(r"RELEASE\.(\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}Z)", tag)
    return match.group(1) if match else None


def unsafe_upgrade(old: str, new: str, target: str) -> UnsafeUpgrade | None:
    """A newer release is safe: a MinIO server migrates the backend format it finds on its drives to its own at
    start-up (minio/minio cmd/format-erasure.go `formatErasureMigrate`: "Migrates all previous versions to latest
    version of `format.json`", V1 to V2 to V3), and nothing migrates back, so an older release may not read what a
    newer one wrote. A tag that is not a MinIO release
    (another S3 store swapped in) cannot be judged."""
    o, n = release_time(old), release_time(new)
    if o is None or n is None:
        return UnsafeUpgrade(
            f"cannot tell whether '{new}' reads the data MinIO '{old}' wrote",
            "copy the buckets to the new store (rclone sync, as the object backup does) and start it on an empty volume",
        )
    if n < o:
        return UnsafeUpgrade(
            f"MinIO {new} is older than {old}, which may have moved the data on its volume to a format {new} does not read",
            "stay on the newer release, or restore the object store from the object backup onto an empty volume",
        )
    return None


def specs(ctx: CatalogContext, wiring: Wiring) -> list[ServiceSpec]:
    sec = ctx.secrets.get
    return [
        ServiceSpec(
            name="minio",
            layer="data",
            image=ctx.image("minio"),
            networks=("backend", "edge"),
            port=9000,
            hostname="minio",
            # Its own login (the console); a bucket listing fires many calls at once.
            public=PublicRoute(port=9001, max_body="5g", rate_limit=RateLimit(per_second=20, burst=100)),
            command=("server", "/data", "--address", ":9000", "--console-address", ":9001"),
            mounts=(Mount("minio", "/data"),),
            env={
                "MINIO_ROOT_USER": S3_ROOT_USER,
                "MINIO_PROMETHEUS_AUTH_TYPE": "public",
                "MINIO_BROWSER_REDIRECT_URL": ctx.url("minio").rstrip("/"),
            },
            # Rotatable by restart: without a KMS, MinIO stores IAM data unencrypted and tries the root
            # credentials only on legacy encrypted objects (saveIAMConfig/decryptData in
            # cmd/iam-object-store.go, minio/minio@RELEASE.2025-09-07T16-13-09Z).
            secret_env={"MINIO_ROOT_PASSWORD": sec("s3RootPassword")},
            healthcheck=Healthcheck(("CMD", "mc", "ready", "local")),
            bootstrap=Bootstrap(
                MINIO_BOOTSTRAP,
                env={
                    "S3_ROOT_PASSWORD": sec("s3RootPassword"),
                    "S3_PIPELINE_SECRET": sec("s3AppSecretKey"),
                    "S3_MLFLOW_SECRET": sec("s3MlflowSecretKey"),
                    "S3_BACKUP_SECRET": sec("s3BackupSecretKey"),
                },
            ),
            depends_on=wiring.edge,
            metrics=MetricsEndpoint(9000, "/minio/v2/metrics/cluster"),
            memory_mb=1024,
            hardening=Hardening(
                read_only=False,
                exceptions={
                    "read_only": "the bootstrap's `mc` keeps its config under /root/.mc in the image (a read-only root is untested)",
                    "user": "the image declares no USER and existing /data volumes are root-owned",
                },
                pids_limit=1024,
                pids_reason="Go object store: a thread per CPU plus one per disk syscall in flight, which grow with concurrent S3 requests",
            ),
            data_version=DataVersion(image_tag(ctx.image("minio")), unsafe_upgrade),
            description="MinIO: S3 store for datasets, batch results and MLflow artifacts",
        )
    ]
