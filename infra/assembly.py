"""The catalog assembly: every container of a stack, composed from the service modules layer by layer.

Each service module (`infra/services/<layer>/<service>.py`) holds the whole definition of its
service; this module only orders the layers and hands each what it needs to know of the others
(`Wiring`). Prometheus's scrape configuration and alert rules are added last because they are
generated from all other entries.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any, Iterable, Mapping

from .catalog.context import CatalogContext, Wiring
from .catalog.model import Catalog, Dependency, ServiceSpec, VolumeSpec
from .secrets import StaticSecrets
from .services import application, data, edge, exporters, observability
from .services.application import api, processor
from .services.data import pgbackrest, rabbitmq
from .services.exporters import blackbox, node_exporter
from .services.observability import prometheus
from .settings import PlatformSettings, parse_settings


#: The services with alert rules of their own, in the order of Prometheus's rules file (after the
#: platform-wide ServiceDown rule).
ALERTING = (rabbitmq, processor, api, node_exporter, blackbox, pgbackrest)


def build_catalog(ctx: CatalogContext) -> Catalog:
    volumes = _volumes(ctx, (*edge.SERVICES, *data.SERVICES, *observability.SERVICES, *exporters.SERVICES))
    inner = Wiring(edge=edge_entry(ctx), volumes=tuple(v.name for v in volumes))
    services = _specs(ctx, inner, (*data.SERVICES, *observability.SERVICES, *exporters.SERVICES, *application.SERVICES))
    public = {s.name: s for s in services if s.public}
    services = _specs(ctx, Wiring(public=public), edge.SERVICES) + services
    services = _specs(ctx, Wiring(services=tuple(services)), edge.AFTER_ALL) + services
    rules = [rule for module in ALERTING for rule in module.alert_rules(ctx)]
    services = [prometheus.configured(ctx, s, services, rules) if s.name == "prometheus" else s for s in services]
    return Catalog(services={s.name: s for s in services}, volumes={v.name: v for v in volumes})


def edge_entry(ctx: CatalogContext) -> tuple[Dependency, ...]:
    """What a public service waits for: the last edge container to start (proxy first)."""
    if not ctx.runs_proxy:
        return ()
    return (Dependency("acme" if ctx.settings.tls else "proxy", healthy=False),)


def offline_catalog(stack: str, config: Mapping[str, Any] | None = None) -> tuple[PlatformSettings, Catalog]:
    """A stack's settings and catalog without a deployment (placeholder secrets), for the
    README diagram, tests and benchmarks. `config` defaults to the minimum a TLS stack needs."""
    settings = parse_settings(stack, {"acmeEmail": "ops@example.org"} if config is None else config, offline=True)
    return settings, build_catalog(CatalogContext(settings, StaticSecrets()))


def _specs(ctx: CatalogContext, wiring: Wiring, modules: Iterable[ModuleType]) -> list[ServiceSpec]:
    return [spec for module in modules for spec in module.specs(ctx, wiring)]


def _volumes(ctx: CatalogContext, modules: Iterable[ModuleType]) -> tuple[VolumeSpec, ...]:
    """Each module's `VOLUMES`, or `volumes(ctx)` where they depend on the stack."""
    found: list[VolumeSpec] = []
    for module in modules:
        if hasattr(module, "volumes"):
            found += module.volumes(ctx)
        else:
            found += getattr(module, "VOLUMES", ())
    return tuple(found)
