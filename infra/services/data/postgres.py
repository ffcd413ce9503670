"""PostgreSQL: MLflow's backend store and the pipeline's job state, one role per client; every
WAL segment goes to the backup target with pgBackRest (`pgbackrest.py` beside this module)."""

from __future__ import annotations

from ...catalog.context import CatalogContext, Wiring
from ...catalog.model import (
    STACK,
    UPLOADS_NEED_WRITABLE_ROOT,
    Bootstrap,
    ConfigFile,
    DataVersion,
    Hardening,
    Healthcheck,
    Mount,
    ServiceSpec,
    UnsafeUpgrade,
    VolumeSpec,
)
from . import pgbackrest

VOLUMES = (VolumeSpec("postgres"),)

PIPELINE_DB = "pipeline"
PIPELINE_DB_USER = "pipeline"
MLFLOW_DB = "mlflow"
MLFLOW_DB_USER = "mlflow"
MONITORING_DB_USER = "monitoring"  # read-only statistics (pg_monitor) for the PostgreSQL exporter

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


def unsafe_upgrade(old: str, new: str, target: str) -> UnsafeUpgrade | None:
    """Any change of major. The official image keeps each major's cluster in its own directory
    (/var/lib/postgresql/<major>/docker, `pgbackrest.PGDATA`), so a new major starts a new, empty cluster beside the
    old one and every client finds an empty database; an older major cannot read a newer cluster at all."""
    if old == new:
        return None
    if int(new) < int(old):
        reason = f"PostgreSQL {new} cannot read a cluster written by PostgreSQL {old} (no downgrade across majors)"
        return UnsafeUpgrade(reason, f"restore a dump taken from PostgreSQL {old} into a new cluster (docs/upgrading.md, PostgreSQL)")
    reason = (
        f"PostgreSQL {new} keeps its cluster in /var/lib/postgresql/{new}/docker and would start there on an empty "
        f"database beside the {old} cluster"
    )
    if target == "kubernetes":
        return UnsafeUpgrade(reason, f"carry the {old} cluster over to {new} first (docs/upgrading.md, PostgreSQL)")
    command = f"python -m infra.upgrade_postgres --stack {STACK}"
    return UnsafeUpgrade(
        reason,
        f"run `{command} carry-over` first: it stops PostgreSQL's clients and dumps the {old} cluster into a new "
        f"{new} cluster, keeping the old one (docs/upgrading.md, PostgreSQL); after the `pulumi up` that follows, "
        f"`{command} resume` starts the clients again",
    )


def specs(ctx: CatalogContext, wiring: Wiring) -> list[ServiceSpec]:
    sec = ctx.secrets.get
    pg_backup_files, pg_backup_env = pgbackrest.pgbackrest_files_and_env(ctx)
    return [
        ServiceSpec(
            name="postgres",
            layer="data",
            image=pgbackrest.POSTGRES_IMAGE,
            networks=("backend",),
            port=5432,
            hostname="postgres",
            # Every WAL segment goes to the backup target (pgBackRest; infra/services/data/pgbackrest.py).
            command=pgbackrest.postgres_command(),
            mounts=(
                Mount("postgres", "/var/lib/postgresql"),
                Mount("postgres-run", pgbackrest.SOCKET_DIR),
                *pgbackrest.target_mounts(ctx.settings),  # archive-push writes there when the target is local
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
            fs_group=pgbackrest.POSTGRES_GID,  # archive-push writes the dev stack's local target, which the image lacks
            memory_mb=1024,
            hardening=Hardening(
                read_only=False,
                image_user="999",  # app/postgres/Dockerfile: USER 999:999 (the image's postgres user)
                exceptions={"read_only": UPLOADS_NEED_WRITABLE_ROOT},
                pids_limit=512,
                pids_reason="a process per connection (max_connections 100), background and parallel workers, archive_command runs",
            ),
            data_version=DataVersion(pgbackrest.POSTGRES_MAJOR, unsafe_upgrade),
            description="PostgreSQL: MLflow backend store and pipeline job state",
        )
    ]
