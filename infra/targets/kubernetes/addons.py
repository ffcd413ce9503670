"""Cluster add-ons from pinned Helm charts (`kubernetes.installClusterAddons: true`).

What the edge (infra/targets/kubernetes/edge.py) and the processor's scaling need from the cluster:
the Gateway API CRDs (standard channel), Envoy Gateway (the Gateway API implementation),
cert-manager (with its CRDs, Gateway API support on), KEDA and metrics-server (the resource
metrics API, `metrics.k8s.io`, the API's CPU HorizontalPodAutoscaler reads). They are cluster-wide, so
exactly one stack per cluster installs them; every other stack finds them there (docs/kubernetes.md). With the setting off nothing is installed and the stack's own objects
depend on nothing here.

Versions (the newest releases when this was written, read from each project's tags):

- Gateway API v1.6.1, standard channel: the bundle Envoy Gateway v1.9.0 is built against
  (envoyproxy/gateway@v1.9.0 go.mod `sigs.k8s.io/gateway-api v1.6.1`) and ships in its
  `gateway-crds-helm` chart (templates/standard-gatewayapi-crds.yaml, annotated
  `gateway.networking.k8s.io/bundle-version: v1.6.1`, rendered when
  `crds.gatewayAPI.channel` is `standard`). Upstream publishes the CRDs as YAML, not as a
  chart, so this chart is the pinned Helm source of the same files.
- Envoy Gateway v1.9.0 (`oci://docker.io/envoyproxy/gateway-helm`): why Envoy Gateway, see
  infra/targets/kubernetes/edge.py. Its chart's own CRDs are off (`crds.enabled: false`, charts/gateway-helm
  README at v1.9.0), so the CRD chart above is their only owner.
- cert-manager v1.21.1 (`https://charts.jetstack.io`, chart `cert-manager`): `crds.enabled: true`
  and `config.gatewayAPI.enabled: true` (deploy/charts/cert-manager/values.yaml at v1.21.1;
  `GatewayAPIConfig.Enabled` in pkg/apis/config/controller/v1alpha1/types.go). cert-manager
  looks for the Gateway API CRDs when it starts, so it is installed after them.
- KEDA 2.20.2 (`https://kedacore.github.io/charts`, chart `keda`, kedacore/charts@v2.20.2
  keda/Chart.yaml `version: 2.20.2`, `crds.install: true` by default).
- metrics-server chart 3.13.1, app 0.8.1 (`https://kubernetes-sigs.github.io/metrics-server/`,
  chart `metrics-server`; kubernetes-sigs/metrics-server@metrics-server-helm-chart-3.13.1
  charts/metrics-server/Chart.yaml `version: 3.13.1`, `appVersion: 0.8.1`, the newest chart tag).
  Its defaults (values.yaml `defaultArgs`) are kept; `kubernetes.kubeletInsecureTls` adds
  `--kubelet-insecure-tls` through the chart's `args` (appended after `defaultArgs` in
  templates/deployment.yaml). Without it metrics-server checks the kubelets' serving certificates
  against the cluster CA of its in-cluster config, as Prometheus does (cmd/metrics-server/app/options/
  kubelet_client.go at v0.8.1: `Config` copies the rest config's TLS; `--kubelet-insecure-tls`
  drops the CA and sets Insecure).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_kubernetes as k8s

from ...settings import PlatformSettings


@dataclass(frozen=True)
class HelmChart:
    """One pinned chart: where it comes from and which version, never a floating one."""

    key: str
    chart: str
    version: str
    namespace: str
    repo: str | None = None  # None: `chart` is an OCI reference
    source: str = ""  # where the version and values were read


GATEWAY_API_VERSION = "v1.6.1"
ENVOY_GATEWAY_VERSION = "v1.9.0"

#: Gateway API standard-channel CRDs (and Envoy Gateway's own CRDs) from Envoy Gateway's CRD chart.
GATEWAY_CRDS = HelmChart(
    "gateway-crds",
    "oci://docker.io/envoyproxy/gateway-crds-helm",
    ENVOY_GATEWAY_VERSION,
    "kube-system",
    source="envoyproxy/gateway@v1.9.0 charts/gateway-crds-helm (values.yaml: crds.gatewayAPI.{enabled,channel}, crds.envoyGateway.enabled)",
)
ENVOY_GATEWAY = HelmChart(
    "envoy-gateway",
    "oci://docker.io/envoyproxy/gateway-helm",
    ENVOY_GATEWAY_VERSION,
    "",  # the stack's kubernetes.gatewayNamespace: the proxies run beside the controller
    source="envoyproxy/gateway@v1.9.0 charts/gateway-helm (README: install with crds.enabled=false when CRDs are managed separately)",
)
CERT_MANAGER = HelmChart(
    "cert-manager",
    "cert-manager",
    "v1.21.1",
    "cert-manager",
    repo="https://charts.jetstack.io",
    source="cert-manager/cert-manager@v1.21.1 deploy/charts/cert-manager/values.yaml (crds.enabled, config)",
)
KEDA = HelmChart(
    "keda",
    "keda",
    "2.20.2",
    "keda",
    repo="https://kedacore.github.io/charts",
    source="kedacore/charts@v2.20.2 keda/Chart.yaml",
)
METRICS_SERVER = HelmChart(
    "metrics-server",
    "metrics-server",
    "3.13.1",
    "kube-system",
    repo="https://kubernetes-sigs.github.io/metrics-server/",
    source="kubernetes-sigs/metrics-server@metrics-server-helm-chart-3.13.1 charts/metrics-server/{Chart.yaml,values.yaml}",
)
CHARTS = (GATEWAY_CRDS, ENVOY_GATEWAY, CERT_MANAGER, KEDA, METRICS_SERVER)

#: The GatewayClass every stack's Gateway names; the name Envoy Gateway's quickstart uses, so a
#: cluster that already runs Envoy Gateway usually has it. Its controller is the chart's default
#: (`config.envoyGateway.gateway.controllerName` in charts/gateway-helm/values.tmpl.yaml at v1.9.0).
GATEWAY_CLASS = "eg"
GATEWAY_CONTROLLER = "gateway.envoyproxy.io/gatewayclass-controller"


@dataclass
class ClusterAddons:
    """What the stack's objects wait for; empty lists when the add-ons are not installed here."""

    gateway: list[pulumi.Resource] = field(default_factory=list)  # Gateway, routes, Envoy Gateway policies
    cert_manager: list[pulumi.Resource] = field(default_factory=list)  # Issuer
    keda: list[pulumi.Resource] = field(default_factory=list)  # ScaledObjects
    installed: bool = False


def chart_namespace(settings: PlatformSettings, chart: HelmChart) -> str:
    return chart.namespace or settings.kubernetes.gatewayNamespace


def _release(settings: PlatformSettings, chart: HelmChart, values: dict, after: list[pulumi.Resource]) -> k8s.helm.v3.Release:
    """A Helm release (hooks run, Pulumi awaits its resources' readiness before dependents start)."""
    return k8s.helm.v3.Release(
        f"{settings.prefix}-addon-{chart.key}",
        name=chart.key,
        chart=chart.chart,
        version=chart.version,
        repository_opts={"repo": chart.repo} if chart.repo else None,
        namespace=chart_namespace(settings, chart),
        create_namespace=True,
        values=values,
        atomic=True,
        opts=pulumi.ResourceOptions(depends_on=after),
    )


def metrics_server_values(settings: PlatformSettings) -> dict:
    """The chart's defaults, plus `--kubelet-insecure-tls` where the kubelets' certificates are self-signed."""
    return {"args": ["--kubelet-insecure-tls"]} if settings.kubernetes.kubeletInsecureTls else {}


def install_cluster_addons(settings: PlatformSettings) -> ClusterAddons:
    if not settings.kubernetes.installClusterAddons:
        return ClusterAddons()
    # The CRDs as a v4 Chart: rendered client-side and applied as plain objects, because the CRDs sit
    # in the chart's templates/ and are too large for a Helm release record (the chart's README says to
    # `helm template | kubectl apply --server-side` them for that reason, citing helm/helm#12277).
    crds = k8s.helm.v4.Chart(
        f"{settings.prefix}-addon-{GATEWAY_CRDS.key}",
        chart=GATEWAY_CRDS.chart,
        version=GATEWAY_CRDS.version,
        namespace=GATEWAY_CRDS.namespace,
        values={"crds": {"gatewayAPI": {"enabled": True, "channel": "standard"}, "envoyGateway": {"enabled": True}}},
    )
    envoy = _release(settings, ENVOY_GATEWAY, {"crds": {"enabled": False}}, [crds])
    gateway_class = k8s.apiextensions.CustomResource(
        f"{settings.prefix}-addon-gatewayclass",
        api_version="gateway.networking.k8s.io/v1",
        kind="GatewayClass",
        metadata={"name": GATEWAY_CLASS},
        spec={"controllerName": GATEWAY_CONTROLLER},
        opts=pulumi.ResourceOptions(depends_on=[crds, envoy]),
    )
    config = {
        "apiVersion": "controller.config.cert-manager.io/v1alpha1",
        "kind": "ControllerConfiguration",
        "gatewayAPI": {"enabled": True},
    }
    cert_manager = _release(settings, CERT_MANAGER, {"crds": {"enabled": True}, "config": config}, [crds])
    keda = _release(settings, KEDA, {"crds": {"install": True}}, [])
    # Nothing waits for it: an HPA created first reports its metric as unknown until metrics-server serves.
    _release(settings, METRICS_SERVER, metrics_server_values(settings), [])
    return ClusterAddons(
        gateway=[crds, envoy, gateway_class],
        cert_manager=[crds, cert_manager],
        keda=[keda],
        installed=True,
    )
