"""Grafana: dashboards over metrics, logs and traces, with the provisioned data sources and the
"Platform overview" dashboard; public behind its own login."""

from __future__ import annotations

from ...catalog.context import CatalogContext, Wiring
from ...catalog.model import (
    UPLOADS_NEED_WRITABLE_ROOT,
    ConfigFile,
    Hardening,
    MetricsEndpoint,
    Mount,
    PublicRoute,
    RateLimit,
    ServiceSpec,
    VolumeSpec,
)
from ...configs import dashboards
from ...configs import observability as cfg
from ..application import api, processor
from ..data import pgbackrest, rabbitmq
from ..exporters import cadvisor, node_exporter, postgres_exporter, volume_usage
from . import prometheus

#: Whose rows make up the "Platform overview" dashboard, top to bottom (each module's DASHBOARD_ROWS).
DASHBOARD = (prometheus, api, rabbitmq, processor, cadvisor, volume_usage, node_exporter, postgres_exporter, pgbackrest)
PANELS = tuple(panel for module in DASHBOARD for panel in module.DASHBOARD_ROWS)

VOLUMES = (VolumeSpec("grafana"),)


def specs(ctx: CatalogContext, wiring: Wiring) -> list[ServiceSpec]:
    return [
        ServiceSpec(
            name="grafana",
            layer="observability",
            image=ctx.image("grafana"),
            networks=("backend", "edge"),
            port=cfg.PORTS["grafana"],
            hostname="grafana",
            # Its own login; a dashboard queries every panel at once.
            public=PublicRoute(port=cfg.PORTS["grafana"], rate_limit=RateLimit(per_second=20, burst=100)),
            mounts=(Mount("grafana", "/var/lib/grafana"),),
            files=(
                ConfigFile("/etc/grafana/provisioning/datasources/platform.yaml", cfg.grafana_datasources()),
                *(ConfigFile(path, content) for path, content in dashboards.dashboard_files(PANELS).items()),
                ConfigFile(
                    "/run/secrets/grafana_admin_password", ctx.secrets.get("grafanaAdminPassword"), secret=True
                ),
            ),
            env={
                "GF_SECURITY_ADMIN_USER": "admin",
                "GF_SECURITY_ADMIN_PASSWORD__FILE": "/run/secrets/grafana_admin_password",
                "GF_SERVER_ROOT_URL": ctx.url("grafana"),
                "GF_USERS_ALLOW_SIGN_UP": "false",
                "GF_AUTH_ANONYMOUS_ENABLED": "false",
                "GF_ANALYTICS_REPORTING_ENABLED": "false",
            },
            depends_on=wiring.edge,
            metrics=MetricsEndpoint(cfg.PORTS["grafana"]),
            memory_mb=512,
            hardening=Hardening(
                read_only=False,
                image_user="472",  # grafana/grafana Dockerfile: USER $GF_UID (472)
                exceptions={"read_only": UPLOADS_NEED_WRITABLE_ROOT},
                pids_limit=512,
                pids_reason="Go server plus a process per backend plugin, each with its own Go runtime threads",
            ),
            description="Grafana: dashboards over metrics, logs and traces",
        ),
    ]
