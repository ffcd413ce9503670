"""What every service module needs: the settings, a way to reach secrets, and what the assembly
has learnt from the services built before it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from ..settings import PlatformSettings
from ..images import IMAGES
from .model import Dependency, ServiceSpec


@dataclass(frozen=True)
class CatalogContext:
    settings: PlatformSettings
    secrets: Any  # PlatformSecrets or StaticSecrets

    def image(self, service: str) -> str:
        return self.settings.images.get(service, IMAGES[service])

    def host(self, service: str) -> str:
        return self.settings.public_hosts[service]

    def url(self, service: str) -> str:
        return f"{self.settings.scheme}://{self.host(service)}/"

    @property
    def runs_proxy(self) -> bool:
        return self.settings.externalProxyNetwork is None


@dataclass(frozen=True)
class Wiring:
    """What a service's definition may read about the others, handed over by the catalog assembly:
    `edge` is what a public service waits for, `volumes` every volume's name, `public` the
    routed services (for the edge), `services` all services so far (for the socket proxies)."""

    edge: tuple[Dependency, ...] = ()
    volumes: tuple[str, ...] = ()
    public: Mapping[str, ServiceSpec] = field(default_factory=dict)
    services: tuple[ServiceSpec, ...] = ()
