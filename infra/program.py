"""The Pulumi program: read and validate config, build the catalog, render it, export outputs."""

from __future__ import annotations

import json
from typing import Any

import pulumi
from pulumi.runtime import config as runtime_config

from .assembly import build_catalog
from .catalog.context import CatalogContext
from .services.edge.proxy import proxy_files
from .catalog.model import Catalog
from .configs import alerting
from .components import PlatformNetworks, PlatformVolumes, Service
from .outputs import stack_credentials, stack_urls
from .secrets import PlatformSecrets
from .settings import PROJECT, ConfigError, PlatformSettings, parse_settings


def _decode(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in "{[":
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


def read_stack_config() -> tuple[dict[str, Any], str | None]:
    """All of this project's config keys (so unknown keys can be rejected) and `docker:host`."""
    all_config = {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}
    prefix = f"{PROJECT}:"
    raw = {k[len(prefix) :]: _decode(v) for k, v in all_config.items() if k.startswith(prefix)}
    if raw.get("secrets") and not runtime_config.is_config_secret(f"{PROJECT}:secrets"):
        raise ConfigError(
            f"{PROJECT}:secrets: values must be stored encrypted "
            f"(pulumi config set --secret --path 'secrets.<name>' <value>)"
        )
    return raw, all_config.get("docker:host")


def load_settings() -> tuple[PlatformSettings, dict[str, str]]:
    raw, docker_host = read_stack_config()
    try:
        settings = parse_settings(pulumi.get_stack(), raw, docker_host)
    except ConfigError as exc:
        raise pulumi.RunError(str(exc)) from None
    return settings, dict(raw.get("secrets") or {})


def deploy() -> dict[str, Any]:
    settings, overrides = load_settings()
    for warning in [alerting.receiver_warning(settings), *settings.backup_warnings()]:
        if warning:
            pulumi.log.warn(warning)
    secrets = PlatformSecrets(settings.prefix, overrides, settings.rotation)
    export_tls(settings)  # both targets: `verify` reads it
    if settings.target == "kubernetes":
        from .k8s.program import deploy_kubernetes

        return deploy_kubernetes(settings, secrets)
    catalog = build_catalog(CatalogContext(settings, secrets))
    networks = PlatformNetworks(settings)
    volumes = PlatformVolumes(settings, catalog.volumes)
    services: dict[str, Service] = {}
    for name in catalog.startup_order():
        spec = catalog.services[name]
        waits_for = [r for dep in spec.depends_on for r in services[dep.service].ready]
        services[name] = Service(spec, settings, networks, volumes, depends_on=waits_for)
    export_outputs(settings, catalog, secrets, networks, services)
    return services


def export_outputs(settings, catalog, secrets, networks, services) -> None:
    pulumi.export("urls", stack_urls(settings, catalog))
    pulumi.export("networks", networks.names)
    pulumi.export("images", {n: s.image_ref for n, s in sorted(services.items())})
    pulumi.export("containers", {n: [c.name for c in s.containers] for n, s in sorted(services.items())})
    pulumi.export("credentials", stack_credentials(catalog, secrets))
    # What an nginx-proxy must serve for this stack (path -> content): with externalProxyNetwork
    # the shared proxy needs these vhost.d and htpasswd files; the htpasswd lines are secret.
    files = proxy_files(CatalogContext(settings, secrets), catalog.public())
    pulumi.export("proxyFiles", pulumi.Output.secret({f.path: f.content for f in files}))


def export_tls(settings: PlatformSettings) -> None:
    """Whether the stack serves HTTPS and expects Let's Encrypt's staging CA: `python -m
    infra.verify` reads it to judge certificates."""
    pulumi.export("tls", {"enabled": settings.tls, "acmeStaging": settings.tls and settings.acmeStaging})
