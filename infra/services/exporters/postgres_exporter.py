"""The PostgreSQL exporter, logged in as the read-only pg_monitor role that PostgreSQL's bootstrap
creates."""

from __future__ import annotations

from ...catalog.context import CatalogContext, Wiring
from ...catalog.model import UPLOADS_NEED_WRITABLE_ROOT, ConfigFile, Dependency, Hardening, MetricsEndpoint, ServiceSpec
from ...configs.dashboards import Panel, Query
from ..data import postgres

POSTGRES_EXPORTER_PORT = 9187


def specs(ctx: CatalogContext, wiring: Wiring) -> list[ServiceSpec]:
    return [
        ServiceSpec(
            name="postgres-exporter",
            layer="observability",
            image=ctx.image("postgres-exporter"),
            networks=("backend",),
            port=POSTGRES_EXPORTER_PORT,
            hostname="postgres-exporter",
            files=(
                ConfigFile(
                    "/run/secrets/postgres_monitor_password", ctx.secrets.get("postgresMonitorPassword"), secret=True
                ),
            ),
            env={
                "DATA_SOURCE_URI": "postgres:5432/postgres?sslmode=disable",
                "DATA_SOURCE_USER": postgres.MONITORING_DB_USER,
                "DATA_SOURCE_PASS_FILE": "/run/secrets/postgres_monitor_password",
            },
            # Waits for the bootstrap too, which creates the monitoring role.
            depends_on=(Dependency("postgres"),),
            metrics=MetricsEndpoint(POSTGRES_EXPORTER_PORT),
            memory_mb=128,
            hardening=Hardening(read_only=False, image_user="nobody", exceptions={"read_only": UPLOADS_NEED_WRITABLE_ROOT}),
            description="PostgreSQL exporter (read-only pg_monitor role)",
        ),
    ]


#: The "Platform overview" panel of the data stored, PostgreSQL's beside MinIO's.
DASHBOARD_ROWS = (
    Panel(
        "Data stored",
        (
            Query("sum by (datname) (pg_database_size_bytes)", "PostgreSQL {{datname}}"),
            Query("sum(minio_cluster_usage_total_bytes)", "S3 objects (MinIO)"),
        ),
        unit="bytes",
    ),
)
