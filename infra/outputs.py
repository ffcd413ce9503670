"""Stack outputs both targets publish the same way: the public URLs and the credentials."""

from __future__ import annotations

from typing import Any

import pulumi

from .catalog.model import Catalog
from .secrets import BASIC_AUTH_USER, PlatformSecrets
from .settings import PlatformSettings


def stack_urls(settings: PlatformSettings, catalog: Catalog) -> dict[str, str]:
    urls = {}
    for name, spec in sorted(catalog.public().items()):
        base = f"{settings.scheme}://{settings.public_hosts[name]}/"
        urls[name] = base
        for link, path in spec.public.links:
            urls[link] = base + path
    return urls


def stack_credentials(catalog: Catalog, secrets: PlatformSecrets) -> Any:
    """The `credentials` output (secret)."""
    credentials = {
        "grafana": {"user": "admin", "password": secrets.get("grafanaAdminPassword")},
        "rabbitmq": {"user": "admin", "password": secrets.get("rabbitmqAdminPassword")},
        "minio": {"user": "admin", "password": secrets.get("s3RootPassword")},
        "api": {"token": secrets.get("apiToken")},
    }
    for name, spec in catalog.public().items():
        if spec.public.basic_auth:
            credentials[name] = {"user": BASIC_AUTH_USER, "password": secrets.basic_auth(name)[0]}
    return pulumi.Output.secret(credentials)
