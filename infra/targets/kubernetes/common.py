"""Names, labels and the stack context every Kubernetes object shares."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pulumi

from ...catalog.model import Catalog
from ...settings import PROJECT, PlatformSettings

SERVICE_LABEL = "app.kubernetes.io/name"


@dataclass(frozen=True)
class KubeContext:
    settings: PlatformSettings
    catalog: Catalog
    namespace: str
    namespace_resource: pulumi.Resource | None = None

    def urn_name(self, service: str, kind: str) -> str:
        """Pulumi resource name: unique per stack, so two stacks can share one Pulumi project."""
        return f"{self.settings.prefix}-{service}-{kind}"

    def metadata(self, name: str, service: str | None = None) -> dict:
        return {"name": name, "namespace": self.namespace, "labels": labels(self.settings, service)}

    def opts(self, depends_on: list[pulumi.Resource] | None = None, **kwargs) -> pulumi.ResourceOptions:
        deps = list(depends_on or [])
        if self.namespace_resource is not None:
            deps.append(self.namespace_resource)
        return pulumi.ResourceOptions(depends_on=deps, **kwargs)


def labels(settings: PlatformSettings, service: str | None = None) -> dict[str, str]:
    out = {"app.kubernetes.io/part-of": PROJECT, "mlops.stack": settings.stack}
    if service:
        out[SERVICE_LABEL] = service
    return out


def selector(service: str) -> dict[str, str]:
    return {SERVICE_LABEL: service}


def file_key(path: str) -> str:
    """A ConfigMap/Secret key for a file path (keys allow only [-._a-zA-Z0-9])."""
    return re.sub(r"[^-._a-zA-Z0-9]", "_", path.strip("/").replace("/", "__"))


def port_name(port: int) -> str:
    return f"p{port}"


def seconds(duration: str) -> int:
    """Docker healthcheck durations ('10s', '1m', '1m30s') as whole seconds (at least 1)."""
    total = 0.0
    for value, unit in re.findall(r"(\d+(?:\.\d+)?)(ms|s|m|h)", duration):
        total += float(value) * {"ms": 0.001, "s": 1, "m": 60, "h": 3600}[unit]
    if total == 0 and not re.fullmatch(r"0+[smh]?", duration):
        raise ValueError(f"unreadable duration '{duration}'")
    return max(1, int(round(total)))
