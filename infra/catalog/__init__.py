"""The service catalog: every container of a stack, declared once.

`build_catalog` assembles the layers; each layer module holds the whole
definition of its services. The alert rules and scrape configuration are added
last because they are generated from all other entries.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Mapping

from ..configs import alerts
from ..configs import observability as obs_cfg
from ..secrets import StaticSecrets
from ..settings import PlatformSettings, parse_settings
from . import backup, data, docker_api, edge, exporters, observability
from .application import application_services
from .context import CatalogContext
from .model import Catalog, ConfigFile, ServiceSpec, VolumeSpec


def build_catalog(ctx: CatalogContext) -> Catalog:
    volumes: tuple[VolumeSpec, ...] = (
        *data.VOLUMES, *backup.volumes(ctx.settings), *observability.VOLUMES, *exporters.VOLUMES,
    )  # fmt: skip
    if ctx.runs_proxy:
        volumes = (*edge.VOLUMES, *volumes)
    entry = edge.edge_entry(ctx)
    services: list[ServiceSpec] = [
        *data.data_services(ctx, entry),
        *backup.backup_services(ctx),
        *observability.observability_services(ctx, entry),
        *exporters.exporter_services(ctx, [v.name for v in volumes]),
        *application_services(ctx, entry),
    ]
    public = {s.name: s for s in services if s.public}
    services = edge.edge_services(ctx, public) + services
    services = docker_api.proxy_services(ctx, services) + services
    services = [_with_prometheus_config(ctx, s, services) for s in services]
    return Catalog(services={s.name: s for s in services}, volumes={v.name: v for v in volumes})


def offline_catalog(stack: str, config: Mapping[str, Any] | None = None) -> tuple[PlatformSettings, Catalog]:
    """A stack's settings and catalog without a deployment (placeholder secrets), for the
    README diagram, tests and benchmarks. `config` defaults to the minimum a TLS stack needs."""
    settings = parse_settings(stack, {"acmeEmail": "ops@example.org"} if config is None else config, offline=True)
    return settings, build_catalog(CatalogContext(settings, StaticSecrets()))


def _with_prometheus_config(ctx: CatalogContext, spec: ServiceSpec, all_services: list[ServiceSpec]) -> ServiceSpec:
    if spec.name != "prometheus":
        return spec
    files = (
        ConfigFile("/etc/prometheus/prometheus.yml", obs_cfg.prometheus_config(ctx.settings, all_services)),
        ConfigFile(
            "/etc/prometheus/rules/platform.yml",
            alerts.alert_rules(all_services, backup.backup_alert_rules(ctx.settings)),
        ),
    )
    return dataclasses.replace(spec, files=spec.files + files)
