"""Stack settings of the Kubernetes target (`target: kubernetes`, `kubernetes:` block).

Validated by pydantic with the rest of `PlatformSettings`, so a bad value fails
before any resource is declared, with a message naming `kubernetes.<key>`.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Target = Literal["docker", "kubernetes"]

#: RFC 1123 label: what Kubernetes accepts as a namespace name.
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")


class ApiScaling(BaseModel):
    """The Pipeline API: at least two replicas behind its Service (section 7.5), HPA bounds."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    minReplicas: int = Field(2, ge=2, le=64)
    maxReplicas: int = Field(6, ge=2, le=64)
    targetCpuPercent: int = Field(70, ge=10, le=100)

    @model_validator(mode="after")
    def _bounds(self) -> "ApiScaling":
        if self.maxReplicas < self.minReplicas:
            raise ValueError(f"maxReplicas ({self.maxReplicas}) is below minReplicas ({self.minReplicas})")
        return self


class ProcessorScaling(BaseModel):
    """The Data Processor scales on RabbitMQ queue depth (KEDA); idle means `minReplicas`."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    minReplicas: int = Field(1, ge=0, le=64)
    maxReplicas: int = Field(8, ge=1, le=64)
    messagesPerReplica: int = Field(5, ge=1, le=10000)

    @model_validator(mode="after")
    def _bounds(self) -> "ProcessorScaling":
        if self.maxReplicas < self.minReplicas:
            raise ValueError(f"maxReplicas ({self.maxReplicas}) is below minReplicas ({self.minReplicas})")
        return self


class KubernetesSettings(BaseModel):
    """The `kubernetes:` block. The cluster itself comes from the `kubernetes:` provider config."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    namespace: str | None = None  # default: mlops-<stack>
    storageClass: str | None = None  # default: the cluster's default StorageClass
    #: Where the gateway's pods run (allowed to public ports): by default where Envoy Gateway v1.9.0 installs
    #: itself and its proxies (envoyproxy/gateway v1.9.0 charts/gateway-helm/README.md `-n envoy-gateway-system`;
    #: internal/envoygateway/config/config.go `DefaultNamespace`; proxies in the controller's namespace,
    #: internal/infrastructure/kubernetes/proxy_infra.go `GetResourceNamespace`). `installClusterAddons` installs
    #: it here too.
    gatewayNamespace: str = "envoy-gateway-system"
    #: Install the cluster add-ons (Gateway API CRDs, Envoy Gateway, cert-manager, KEDA: infra/targets/kubernetes/addons.py).
    #: Cluster-wide: one stack per cluster sets it; otherwise they must be there already (docs/kubernetes.md).
    installClusterAddons: bool = False
    #: Prometheus scrapes each kubelet's `/metrics/cadvisor` on port 10250 and checks the kubelet's
    #: serving certificate against the cluster CA (the ServiceAccount's ca.crt). That holds where the
    #: kubelets' serving certificates are signed by the cluster CA (kubelet `serverTLSBootstrap: true`
    #: with the CSRs approved, or a provider that does the same). Escape hatch for kubelets that serve
    #: self-signed certificates (kubeadm's default): true skips the check, for Prometheus and, when this
    #: stack installs the add-ons, metrics-server (`--kubelet-insecure-tls`). The bearer token is still
    #: sent, so a false kubelet on the node's address could read it: prefer fixing the certificates.
    kubeletInsecureTls: bool = False
    #: Where Prometheus and Alloy may open TCP 443/6443 to reach the API server. Empty (the default): any
    #: address. NetworkPolicies see the API server's endpoint addresses (the `kubernetes` Service in
    #: `default` is translated before the policy applies), so list those:
    #: `kubectl get endpointslices -n default -l kubernetes.io/service-name=kubernetes`.
    apiServerCidrs: list[str] = Field(default_factory=list)
    api: ApiScaling = Field(default_factory=ApiScaling)
    processor: ProcessorScaling = Field(default_factory=ProcessorScaling)

    @field_validator("namespace", "gatewayNamespace")
    @classmethod
    def _dns_label(cls, v: str | None) -> str | None:
        if v is not None and not _DNS_LABEL.match(v):
            raise ValueError(f"'{v}' is not a valid namespace name (RFC 1123 label)")
        return v

    @field_validator("installClusterAddons", "kubeletInsecureTls", mode="before")
    @classmethod
    def _strict_bool(cls, v: object) -> object:
        # As the top-level booleans (infra.settings.parse_bool): only true/false, not pydantic's lax "off"/"no"/0.
        if isinstance(v, str) and v.strip().lower() in ("true", "false"):
            return v.strip().lower() == "true"
        if not isinstance(v, bool):
            raise ValueError(f"'{v}' is not a boolean; use true or false")
        return v

    @field_validator("apiServerCidrs")
    @classmethod
    def _cidrs(cls, v: list[str]) -> list[str]:
        out = []
        for cidr in v:
            try:
                # strict: host bits set ("10.0.0.1/24") is a typo for a network, not a network
                out.append(str(ipaddress.ip_network(cidr.strip(), strict=True)))
            except ValueError as exc:
                raise ValueError(f"'{cidr}' is not a CIDR ({exc})") from None
        return out

    @field_validator("storageClass")
    @classmethod
    def _storage_class(cls, v: str | None) -> str | None:
        if v is not None and not re.match(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$", v):
            raise ValueError(f"'{v}' is not a valid StorageClass name")
        return v

    def namespace_for(self, stack: str) -> str:
        name = self.namespace or f"mlops-{stack}"
        if not _DNS_LABEL.match(name):
            raise ValueError(f"namespace '{name}' derived from the stack name is not a valid namespace name")
        return name
