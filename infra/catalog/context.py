"""What every catalog module needs: the settings and a way to reach secrets."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..settings import PlatformSettings
from .images import IMAGES


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
