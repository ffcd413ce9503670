"""Prometheus: scrapes every service, evaluates the alert rules and remote-writes to Mimir. Its
scrape configuration and rules are generated from all other entries, so the assembly adds them last."""

from __future__ import annotations

import dataclasses

from ...catalog.context import CatalogContext, Wiring
from ...catalog.model import (
    GO_STORAGE_PIDS_REASON,
    UPLOADS_NEED_WRITABLE_ROOT,
    ConfigFile,
    Hardening,
    MetricsEndpoint,
    Mount,
    ServiceSpec,
    VolumeSpec,
)
from ...configs import alerts
from ...configs import observability as cfg
from ...configs.dashboards import Panel, Query

VOLUMES = (VolumeSpec("prometheus"),)


def specs(ctx: CatalogContext, wiring: Wiring) -> list[ServiceSpec]:
    return [
        ServiceSpec(
            name="prometheus",
            layer="observability",
            image=ctx.image("prometheus"),
            networks=("backend",),
            port=cfg.PORTS["prometheus"],
            hostname="prometheus",
            command=(
                "--config.file=/etc/prometheus/prometheus.yml",
                "--storage.tsdb.path=/prometheus",
                "--web.enable-lifecycle",
            ),
            mounts=(Mount("prometheus", "/prometheus"),),
            # prometheus.yml and rules are added by the catalog once every service is known.
            metrics=MetricsEndpoint(cfg.PORTS["prometheus"]),
            memory_mb=1024,
            hardening=Hardening(
                read_only=False,
                image_user="nobody",  # prometheus/prometheus Dockerfile at v3.14.0: USER nobody
                exceptions={"read_only": UPLOADS_NEED_WRITABLE_ROOT},
                pids_limit=512,
                pids_reason=GO_STORAGE_PIDS_REASON,
            ),
            description="Prometheus: scrapes every service, evaluates alert rules",
        ),
    ]


def configured(ctx: CatalogContext, spec: ServiceSpec, services: list[ServiceSpec], rules: list[dict]) -> ServiceSpec:
    """Prometheus with its scrape configuration and alert rules (`rules`: the services' own rules,
    added after the platform-wide ones), generated from every other entry of the catalog."""
    files = (
        ConfigFile("/etc/prometheus/prometheus.yml", cfg.prometheus_config(ctx.settings, services)),
        ConfigFile("/etc/prometheus/rules/platform.yml", alerts.alert_rules(services, rules)),
    )
    return dataclasses.replace(spec, files=spec.files + files)


#: Its panel of the "Platform overview" dashboard: every scrape target.
DASHBOARD_ROWS = (
    Panel(
        "Services up",
        (Query("min by (job) (up)", "{{job}}"),),
        kind="stat",
        description="Every scrape target: 1 = up, 0 = down (alert ServiceDown after 2 minutes).",
    ),
)
