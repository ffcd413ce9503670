"""Data: PostgreSQL, RabbitMQ, the S3 store (MinIO) and the MLflow tracking server.

Every service has its own account: MLflow and the pipeline never share a
database role or an S3 key, and no application uses a root credential.
"""

from __future__ import annotations

import base64
import hashlib
import json

from ..values import derive, fmt
from .context import CatalogContext
from .model import (
    UPLOADS_NEED_WRITABLE_ROOT,
    Bootstrap,
    BuiltImage,
    ConfigFile,
    Dependency,
    GO_STORAGE_PIDS_REASON,
    Hardening,
    Healthcheck,
    MetricsEndpoint,
    Mount,
    PublicRoute,
    RateLimit,
    ServiceSpec,
    VolumeSpec,
)

VOLUMES = (VolumeSpec("postgres"), VolumeSpec("rabbitmq"), VolumeSpec("minio"))

PIPELINE_DB = "pipeline"
PIPELINE_DB_USER = "pipeline"
MLFLOW_DB = "mlflow"
MLFLOW_DB_USER = "mlflow"
MONITORING_DB_USER = "monitoring"  # read-only statistics (pg_monitor) for the PostgreSQL exporter
RABBITMQ_VHOST = "pipeline"
RABBITMQ_ADMIN = "admin"
RABBITMQ_APP_USER = "pipeline"
S3_ROOT_USER = "admin"
S3_PIPELINE_USER = "pipeline"
S3_MLFLOW_USER = "mlflow"
PIPELINE_BUCKET = "pipeline-data"
MLFLOW_BUCKET = "mlflow-artifacts"

POSTGRES_BOOTSTRAP = r"""
set -eu
psql -v ON_ERROR_STOP=1 --no-psqlrc -U postgres -d postgres <<'SQL'
-- Passwords must reach no log: psql shows no statement text on errors, and the server does not
-- quote a failed (or slow) statement of this session in its log (tests/infra/test_bootstrap_secrets.py).
\set ECHO none
\set VERBOSITY terse
\set SHOW_CONTEXT never
SET log_min_error_statement = panic;
SET log_min_duration_statement = -1;
SET log_statement = 'none';
\getenv mlflow_pw MLFLOW_DB_PASSWORD
\getenv pipeline_pw PIPELINE_DB_PASSWORD
\getenv monitoring_pw MONITORING_DB_PASSWORD
\getenv superuser_pw POSTGRES_SUPERUSER_PASSWORD
SELECT format('CREATE ROLE %I LOGIN', r) FROM unnest(ARRAY['mlflow','pipeline','monitoring']) AS r
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) \gexec
ALTER ROLE mlflow WITH LOGIN PASSWORD :'mlflow_pw';
ALTER ROLE pipeline WITH LOGIN PASSWORD :'pipeline_pw';
ALTER ROLE monitoring WITH LOGIN PASSWORD :'monitoring_pw';
GRANT pg_monitor TO monitoring;
-- The image applies POSTGRES_PASSWORD_FILE only at initdb: a rotated superuser password lands here.
-- (\getenv leaves the variable unset when the environment lacks it: then nothing changes.)
\if :{?superuser_pw}
ALTER ROLE postgres WITH PASSWORD :'superuser_pw';
\endif
SELECT format('CREATE DATABASE %I OWNER %I', d, d) FROM unnest(ARRAY['mlflow','pipeline']) AS d
 WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = d) \gexec
REVOKE ALL ON DATABASE mlflow FROM PUBLIC;
REVOKE ALL ON DATABASE pipeline FROM PUBLIC;
SQL
"""

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


def rabbitmq_password_hash(username: str, password: str) -> str:
    """RabbitMQ's rabbit_password_hashing_sha256: base64(salt + sha256(salt + password)).

    The salt is derived from the credentials so the definitions file (and so the
    container) only changes when a password does.
    """
    salt = hashlib.sha256(f"{username}:{password}".encode()).digest()[:4]
    return base64.b64encode(salt + hashlib.sha256(salt + password.encode()).digest()).decode()


def rabbitmq_definitions(admin_pw: str, app_pw: str) -> str:
    users = [
        (RABBITMQ_ADMIN, admin_pw, "administrator"),
        (RABBITMQ_APP_USER, app_pw, ""),
    ]
    return json.dumps(
        {
            "users": [
                {
                    "name": name,
                    "password_hash": rabbitmq_password_hash(name, pw),
                    "hashing_algorithm": "rabbit_password_hashing_sha256",
                    "tags": [tags] if tags else [],
                }
                for name, pw, tags in users
            ],
            "vhosts": [{"name": RABBITMQ_VHOST}],
            "permissions": [
                {"user": u, "vhost": RABBITMQ_VHOST, "configure": ".*", "write": ".*", "read": ".*"}
                for u in (RABBITMQ_ADMIN, RABBITMQ_APP_USER)
            ],
        },
        indent=2,
    )


RABBITMQ_CONF = """\
# Generated by the Pulumi program. Users, vhost and permissions come from definitions.json,
# re-imported on every boot, so a rotated password applies on the next container start.
# (No `definitions.*` key: any of them makes RabbitMQ demand definitions.import_backend and refuse
# to boot; re-import on every boot is the default. rabbit_definitions.erl at v4.2.3.)
load_definitions = /etc/rabbitmq/definitions.json
loopback_users = none
prometheus.tcp.port = 15692
"""


def python_http_check(url: str) -> Healthcheck:
    """Healthcheck for our Python images (no curl inside)."""
    code = f"import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('{url}', timeout=4).status == 200 else 1)"
    return Healthcheck(("CMD", "python", "-c", code))


def data_services(ctx: CatalogContext, edge: tuple[Dependency, ...]) -> list[ServiceSpec]:
    from . import backup  # the backup module reads this one's names

    sec = ctx.secrets.get
    pg_backup_files, pg_backup_env = backup.pgbackrest_files_and_env(ctx)
    mlflow_host = ctx.host("mlflow")
    return [
        ServiceSpec(
            name="postgres",
            layer="data",
            image=backup.POSTGRES_IMAGE,
            networks=("backend",),
            port=5432,
            hostname="postgres",
            # Every WAL segment goes to the backup target (pgBackRest; infra/catalog/backup.py).
            command=backup.postgres_command(),
            mounts=(
                Mount("postgres", "/var/lib/postgresql"),
                Mount("postgres-run", backup.SOCKET_DIR),
                *backup.target_mounts(ctx.settings),  # archive-push writes there when the target is local
            ),
            files=(
                ConfigFile("/run/secrets/postgres_password", sec("postgresPassword"), secret=True),
                *pg_backup_files,
            ),
            env={"POSTGRES_PASSWORD_FILE": "/run/secrets/postgres_password"},
            secret_env=pg_backup_env,
            healthcheck=Healthcheck(("CMD", "pg_isready", "-h", "127.0.0.1", "-U", "postgres", "-d", "postgres")),
            bootstrap=Bootstrap(
                POSTGRES_BOOTSTRAP,
                env={
                    "MLFLOW_DB_PASSWORD": sec("mlflowDbPassword"),
                    "PIPELINE_DB_PASSWORD": sec("apiDbPassword"),
                    "MONITORING_DB_PASSWORD": sec("postgresMonitorPassword"),
                    "POSTGRES_SUPERUSER_PASSWORD": sec("postgresPassword"),
                },
            ),
            fs_group=backup.POSTGRES_GID,  # archive-push writes the dev stack's local target, which the image lacks
            memory_mb=1024,
            hardening=Hardening(
                read_only=False,
                image_user="999",  # app/postgres/Dockerfile: USER 999:999 (the image's postgres user)
                exceptions={"read_only": UPLOADS_NEED_WRITABLE_ROOT},
                pids_limit=512,
                pids_reason="a process per connection (max_connections 100), background and parallel workers, archive_command runs",
            ),
            description="PostgreSQL: MLflow backend store and pipeline job state",
        ),
        ServiceSpec(
            name="rabbitmq",
            layer="data",
            image=ctx.image("rabbitmq"),
            networks=("backend", "edge"),
            port=5672,
            hostname="rabbitmq",
            # Its own login; the management UI polls a few calls every 5 s per open tab.
            public=PublicRoute(port=15672, rate_limit=RateLimit(per_second=10, burst=50)),
            mounts=(Mount("rabbitmq", "/var/lib/rabbitmq"),),
            files=(
                ConfigFile("/etc/rabbitmq/rabbitmq.conf", RABBITMQ_CONF),
                ConfigFile("/etc/rabbitmq/enabled_plugins", "[rabbitmq_management,rabbitmq_prometheus].\n"),
                ConfigFile(
                    "/etc/rabbitmq/definitions.json",
                    derive(rabbitmq_definitions, sec("rabbitmqAdminPassword"), sec("rabbitmqAppPassword")),
                    secret=True,
                ),
            ),
            healthcheck=Healthcheck(("CMD", "rabbitmq-diagnostics", "-q", "check_port_connectivity")),
            depends_on=edge,
            metrics=MetricsEndpoint(15692),
            memory_mb=1024,
            hardening=Hardening(
                read_only=False,
                cap_add=("CHOWN", "DAC_OVERRIDE", "SETGID", "SETUID"),
                exceptions={
                    "read_only": UPLOADS_NEED_WRITABLE_ROOT,
                    "user": "docker-entrypoint.sh starts as root, chowns /var/lib/rabbitmq and steps down with gosu",
                    "cap_add": "CHOWN/DAC_OVERRIDE for the entrypoint's chown of the data dir; SETUID/SETGID for gosu",
                },
                pids_limit=512,
                pids_reason="Erlang VM: a scheduler and a dirty CPU scheduler per CPU, 10 dirty I/O ones; each CLI healthcheck starts a second VM",
            ),
            description="RabbitMQ: job queue (management UI public)",
        ),
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
            depends_on=edge,
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
            description="MinIO: S3 store for datasets, batch results and MLflow artifacts",
        ),
        ServiceSpec(
            name="mlflow",
            layer="data",
            image=BuiltImage("mlflow", "app/mlflow/Dockerfile"),
            networks=("backend", "edge"),
            port=5000,
            hostname="mlflow",
            # Basic auth; the UI loads many assets at once, and tracking clients log in loops.
            public=PublicRoute(port=5000, basic_auth=True, max_body="2g", rate_limit=RateLimit(per_second=20, burst=100)),
            env={
                "MLFLOW_ARTIFACTS_DESTINATION": f"s3://{MLFLOW_BUCKET}",
                "MLFLOW_S3_ENDPOINT_URL": "http://minio:9000",
                "AWS_ACCESS_KEY_ID": S3_MLFLOW_USER,
                "MLFLOW_SERVER_ALLOWED_HOSTS": f"{mlflow_host},mlflow,mlflow:5000,localhost,localhost:5000,127.0.0.1:5000",
                "MLFLOW_EXPOSE_PROMETHEUS": "/tmp/mlflow-metrics",
                # mlflow 3.17.2 enables it by default (mlflow/environment_variables.py) and `mlflow
                # server` then starts a job runner with a Huey consumer per GenAI job kind
                # (mlflow/server/__init__.py, mlflow/server/jobs/_job_runner.py): eight processes,
                # 1.4 GB measured, for judges and prompt optimisation this platform does not use.
                "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false",
            },
            secret_env={
                "MLFLOW_BACKEND_STORE_URI": fmt(
                    "postgresql://mlflow:{pw}@postgres:5432/mlflow", pw=sec("mlflowDbPassword")
                ),
                "AWS_SECRET_ACCESS_KEY": sec("s3MlflowSecretKey"),
            },
            healthcheck=python_http_check("http://127.0.0.1:5000/health"),
            depends_on=(Dependency("postgres"), Dependency("minio"), *edge),
            metrics=MetricsEndpoint(5000),
            memory_mb=2048,
            hardening=Hardening(
                # MLFLOW_EXPOSE_PROMETHEUS and the server's temporary files live in /tmp.
                tmpfs=(("/tmp", "size=512m"),),
                image_user="10001",  # app/mlflow/Dockerfile: USER 10001
                pids_limit=512,
                pids_reason="two server workers (app/mlflow/Dockerfile), each with a request thread pool and boto3 transfer threads",
            ),
            description="MLflow tracking server and model registry (artifacts proxied to S3)",
        ),
    ]
