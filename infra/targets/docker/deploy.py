"""The Docker target's entry: render every catalog entry in startup order and export outputs."""

from __future__ import annotations

import pulumi

from ...catalog.context import CatalogContext
from ...catalog.model import Catalog
from ...outputs import stack_credentials, stack_urls
from ...secrets import PlatformSecrets
from ...services.edge.proxy import proxy_files
from ...settings import PlatformSettings
from .components import PlatformNetworks, PlatformVolumes, Service


def deploy(catalog: Catalog, settings: PlatformSettings, secrets: PlatformSecrets) -> dict[str, Service]:
    networks = PlatformNetworks(settings)
    volumes = PlatformVolumes(settings, catalog.volumes)
    services: dict[str, Service] = {}
    for name in catalog.startup_order():
        spec = catalog.services[name]
        waits_for = [r for dep in spec.depends_on for r in services[dep.service].ready]
        backup = services.get(spec.migration.backup.service) if spec.migration and spec.migration.backup else None
        services[name] = Service(spec, settings, networks, volumes, depends_on=waits_for, backup=backup)
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
