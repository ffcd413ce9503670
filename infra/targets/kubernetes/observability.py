"""Observability the Kubernetes way: discovery and logs through the Kubernetes API instead of Docker.

- Prometheus keeps the catalog's prometheus.yml (rules, Alertmanager, remote write, retention) with
  its scrape jobs replaced: one job per scraped service, as on Docker, each finding its pods with
  `kubernetes_sd_configs` (role pod) limited to the stack's namespace. Job names and the `service`
  label stay the Docker target's, so alerts and dashboards read the same series.
- node-exporter runs as a DaemonSet in a namespace of its own (`<namespace>-node-exporter`): it needs
  hostPID and the host's root mounted read-only, which the stack namespace's `baseline` Pod Security
  level forbids (Host Namespaces, HostPath Volumes). Lowering the whole stack namespace to
  `privileged` would lift that for every pod; the extra namespace lifts it for this one DaemonSet.
- Container CPU and memory come from each kubelet's cAdvisor endpoint, scraped directly:
  `https://<node IP>:10250/metrics/cadvisor` with the pod's ServiceAccount token. The node IPs are
  the host IPs of node-exporter's pods (a DaemonSet: one per node), so no cluster-wide node list
  is needed. The kubelet authorises the token with a SubjectAccessReview whose subresource follows
  the path: `/metrics/*` is `nodes/metrics`, only unlisted paths fall back to `nodes/proxy`
  (kubernetes/kubernetes pkg/kubelet/server/auth.go `GetRequestAttributes`, read at commit
  7caff55f, the KubeletFineGrainedAuthz tree; kubernetes/website
  content/en/docs/reference/access-authn-authz/kubelet-authn-authz.md, "Kubelet authorization").
  So the one cluster-scoped grant is `get` on `nodes/metrics`. It replaces `get nodes/proxy` (the
  API server's node proxy), which is not read-only: the Kubernetes docs warn that its websocket
  GETs reach the kubelet's exec endpoint (kubernetes/website#54191).
  TLS: the kubelet's serving certificate is checked against the cluster CA (the ServiceAccount's
  ca.crt), which holds where kubelet serving certificates are signed by it (`serverTLSBootstrap`);
  `kubernetes.kubeletInsecureTls: true` skips the check for self-signed kubelet certificates.
  NetworkPolicy: Prometheus may open TCP 10250 to any address (node IPs are not known when the
  stack is rendered, and a NetworkPolicy cannot select nodes).
- The certificate probe (the Docker target's blackbox job) dials each public host on 443, i.e.
  through the Gateway, instead of the Docker proxy: `certificate_probe_job`.
- Alloy tails pod logs through the API (`loki.source.kubernetes`) and labels them like the Docker
  target did (`service`, `container`, `stack`), so the dashboards' Loki queries keep working.
"""

from __future__ import annotations

import dataclasses

import pulumi
import pulumi_kubernetes as k8s
import yaml

from ...catalog.model import Catalog, ConfigFile, HostMount, Mount, ServiceSpec
from ...image_refs import image_ref
from ...configs import observability as obs_cfg
from ...settings import PlatformSettings
from . import network
from .common import SERVICE_LABEL, KubeContext, labels, port_name, selector
from .workloads import memory, pod_metadata, security

NODE_EXPORTER = "node-exporter"
CADVISOR_JOB = "cadvisor"
#: The pod label every rendered pod carries (common.SERVICE_LABEL) as Prometheus/Alloy meta label.
NAME_META = "__meta_kubernetes_pod_label_" + SERVICE_LABEL.replace(".", "_").replace("/", "_")
SA_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"
#: The API server as every pod reaches it (the `kubernetes` Service in `default`).
API_SERVER = "kubernetes.default.svc:443"
#: Its Service port, and the port its endpoints commonly listen on (kubeadm: 6443): a NetworkPolicy
#: sees the endpoint after the Service address is translated.
API_SERVER_PORTS = (443, 6443)
#: The label the dashboards group container figures by (infra/configs/dashboards.py), which cAdvisor
#: on Docker took from the container's `mlops.service` label.
SERVICE_SERIES_LABEL = "container_label_mlops_service"
PROMETHEUS_CONFIG = "/etc/prometheus/prometheus.yml"
ALLOY_CONFIG = "/etc/alloy/config.alloy"
#: Pod readers, each with its own ServiceAccount: (apiGroup, resources, verbs) in the stack namespace.
POD_READERS: dict[str, list[tuple[str, tuple[str, ...], tuple[str, ...]]]] = {
    # role: pod discovery; services and endpoints allow the endpoints role as well.
    "prometheus": [("", ("pods", "services", "endpoints"), ("get", "list", "watch"))],
    # discovery.kubernetes (pods) and loki.source.kubernetes (pods/log).
    "alloy": [("", ("pods",), ("get", "list", "watch")), ("", ("pods/log",), ("get",))],
}
#: Prometheus' only cluster-scoped grant: the kubelet's `/metrics/*` paths (module docstring).
KUBELET_METRICS_RULES = [("", ("nodes/metrics",), ("get",))]
#: The kubelet's authenticated HTTPS port (kubernetes/kubernetes pkg/cluster/ports/ports.go
#: `KubeletPort = 10250`, "may be overridden by a flag") and its cAdvisor path, a subpath of
#: `/metrics` (pkg/kubelet/server/server.go `metricsPath`, `cadvisorMetricsPath`).
KUBELET_PORT = 10250
CADVISOR_PATH = "/metrics/cadvisor"
#: The pod's node address (prometheus/prometheus@v3.14.0 docs/configuration/configuration.md,
#: kubernetes_sd_config role pod: "`__meta_kubernetes_pod_host_ip`: The current host IP of the pod object").
HOST_IP_META = "__meta_kubernetes_pod_host_ip"
#: TCP 443 of the public hosts (the certificate probe) and Envoy's container port behind it: Envoy
#: Gateway shifts privileged listener ports by 10000 unless the EnvoyProxy sets
#: `useListenerPortAsContainerPort` (envoyproxy/gateway@v1.9.0 internal/gatewayapi/listener.go
#: servicePortToContainerPort, translator.go `wellKnownPortShift = 10000`; api/v1alpha1/envoyproxy_types.go).
HTTPS_PORT = 443
ENVOY_HTTPS_CONTAINER_PORT = HTTPS_PORT + 10000
#: "Any address" for the rules whose peers are not known when the stack is rendered.
ANY_ADDRESS = "0.0.0.0/0"


def node_namespace_name(namespace: str) -> str:
    name = f"{namespace}-{NODE_EXPORTER}"
    if len(name) > 63:
        raise ValueError(f"namespace '{name}' for node-exporter is longer than 63 characters; shorten kubernetes.namespace")
    return name


# ---------------------------------------------------------------- Prometheus


def pod_discovery(namespace: str) -> list[dict]:
    """Identical in every job, so Prometheus shares one watch among them."""
    return [{"role": "pod", "namespaces": {"names": [namespace]}}]


def pod_relabelling(service: str, port: int) -> list[dict]:
    """The pods of `service`, on its metrics port, labelled like the Docker target's static jobs."""
    return [
        {"source_labels": [NAME_META], "regex": service, "action": "keep"},
        {"source_labels": ["__meta_kubernetes_pod_container_port_number"], "regex": str(port), "action": "keep"},
        {"source_labels": ["__meta_kubernetes_pod_phase"], "regex": "Succeeded|Failed", "action": "drop"},
        {"source_labels": [NAME_META], "target_label": "service"},
        {"source_labels": ["__meta_kubernetes_pod_name"], "target_label": "instance"},
    ]


def scrape_job(spec: ServiceSpec, namespace: str) -> dict:
    assert spec.metrics is not None
    return {
        "job_name": spec.name,
        "metrics_path": spec.metrics.path,
        "kubernetes_sd_configs": pod_discovery(namespace),
        "relabel_configs": pod_relabelling(spec.name, spec.metrics.port),
    }


def cadvisor_metric_relabelling(namespace: str) -> list[dict]:
    """The kubelet reports every container on the node: keep this stack's, drop the pod-level rows
    (container "" is the pod's cgroup, "POD" the sandbox) that would count each pod twice, and name
    the service as the dashboards expect: our containers are named after their catalog service."""
    return [
        {"source_labels": ["namespace"], "regex": namespace, "action": "keep"},
        {"source_labels": ["container"], "regex": "|POD", "action": "drop"},
        {"source_labels": ["container"], "target_label": SERVICE_SERIES_LABEL},
    ]


def kubelet_address_relabelling() -> list[dict]:
    """The node-exporter pod's host IP on the kubelet's port; IPv6 addresses in brackets."""
    return [
        {"source_labels": [HOST_IP_META], "regex": "([0-9.]+)", "target_label": "__address__",
         "replacement": f"$1:{KUBELET_PORT}"},
        {"source_labels": [HOST_IP_META], "regex": "(.*:.*)", "target_label": "__address__",
         "replacement": f"[$1]:{KUBELET_PORT}"},
    ]  # fmt: skip


def cadvisor_job(namespace: str, node_namespace: str, insecure_tls: bool = False) -> dict:
    """Each kubelet's cAdvisor endpoint, found through node-exporter's pods (one per node).

    `authorization.credentials_file`, `tls_config.ca_file` / `insecure_skip_verify`, `metrics_path`,
    `scheme`: prometheus/prometheus@v3.14.0 docs/configuration/configuration.md (scrape_config,
    tls_config). `insecure_tls`: kubernetes.kubeletInsecureTls (infra/kube_settings.py).
    """
    tls = {"insecure_skip_verify": True} if insecure_tls else {"ca_file": f"{SA_DIR}/ca.crt"}
    return {
        "job_name": CADVISOR_JOB,
        "scheme": "https",
        "metrics_path": CADVISOR_PATH,
        "authorization": {"credentials_file": f"{SA_DIR}/token"},
        "tls_config": tls,
        "kubernetes_sd_configs": pod_discovery(node_namespace),
        "relabel_configs": [
            {"source_labels": [NAME_META], "regex": NODE_EXPORTER, "action": "keep"},
            *kubelet_address_relabelling(),
            {"source_labels": ["__meta_kubernetes_pod_node_name"], "target_label": "instance"},
            {"target_label": "service", "replacement": CADVISOR_JOB},
        ],
        "metric_relabel_configs": cadvisor_metric_relabelling(namespace),
    }


def certificate_probe_job(catalog: Catalog, settings: PlatformSettings, rendered: list[str]) -> dict | None:
    """The Docker target's certificate probe, pointed at the public hosts through the Gateway.

    On Docker the blackbox exporter dials the proxy by its alias; here it dials `<host>:443`, which
    resolves to the Gateway's address, and the module's SNI (the host) picks the listener's
    certificate. `host:port`, not `https://host`: the catalog's modules use the tcp prober, which
    splits its target with net.SplitHostPort (prometheus/blackbox_exporter@v0.28.0 prober/tcp.go
    dialTCP), and a TLS handshake is all the expiry check needs (an HTTP probe would fail on the
    basic-auth hosts' 401). None when the stack runs no prober (no TLS).
    """
    if obs_cfg.CERTIFICATE_PROBER not in rendered or obs_cfg.CERTIFICATE_PROBER not in catalog.services:
        return None
    public = sorted(n for n in catalog.public() if n in rendered)
    targets = {n: f"{settings.public_hosts[n]}:{HTTPS_PORT}" for n in public}
    return obs_cfg.certificate_probe_job(settings, targets)


def prometheus_config(docker_config: str, catalog: Catalog, scraped: list[str], namespace: str,
                      settings: PlatformSettings) -> str:  # fmt: skip
    """The catalog's prometheus.yml with Kubernetes discovery in place of the Docker targets, and
    the certificate probe pointed at the public hosts instead of the Docker proxy."""
    doc = yaml.safe_load(docker_config)
    node_ns = node_namespace_name(namespace)
    jobs = [scrape_job(catalog.services[n], namespace) for n in sorted(scraped) if catalog.services[n].metrics]
    jobs.append(scrape_job(catalog.services[NODE_EXPORTER], node_ns))
    jobs.append(cadvisor_job(namespace, node_ns, settings.kubernetes.kubeletInsecureTls))
    probe = certificate_probe_job(catalog, settings, scraped)
    if probe:
        jobs.append(probe)
    doc["scrape_configs"] = sorted(jobs, key=lambda j: j["job_name"])
    return "# Generated by the Pulumi program from the service catalog; edit infra/, not this file.\n" + yaml.safe_dump(
        doc, sort_keys=False
    )


# ---------------------------------------------------------------- Alloy


def alloy_config(settings: PlatformSettings, namespace: str) -> str:
    """Pod logs of the stack's namespace to Loki, labelled as on Docker (`service`, `container`, `stack`).

    Syntax and arguments as documented for grafana/alloy v1.19 (discovery.kubernetes: `role`,
    `namespaces { names }`; discovery.relabel `rule`; loki.source.kubernetes: `targets`, `forward_to`),
    checked against tests/contracts/fixtures/alloy.yaml.
    """
    return f"""// Generated by the Pulumi program; edit infra/targets/kubernetes/observability.py.
discovery.kubernetes "pods" {{
  role = "pod"
  namespaces {{
    names = ["{namespace}"]
  }}
}}

discovery.relabel "pods" {{
  targets = discovery.kubernetes.pods.targets
  rule {{
    source_labels = ["{NAME_META}"]
    target_label  = "service"
  }}
  rule {{
    source_labels = ["__meta_kubernetes_pod_container_name"]
    target_label  = "container"
  }}
  rule {{
    source_labels = ["__meta_kubernetes_pod_name"]
    target_label  = "pod"
  }}
  rule {{
    target_label = "stack"
    replacement  = "{settings.stack}"
  }}
}}

loki.source.kubernetes "pods" {{
  targets    = discovery.relabel.pods.output
  forward_to = [loki.write.default.receiver]
}}

loki.write "default" {{
  endpoint {{
    url = "http://loki:{obs_cfg.PORTS['loki']}/loki/api/v1/push"
  }}
}}
"""


def _with_file(spec: ServiceSpec, path: str, content: str) -> ServiceSpec:
    files = tuple(f for f in spec.files if f.path != path) + (ConfigFile(path, content),)
    return dataclasses.replace(spec, files=files)


def kubernetes_catalog(catalog: Catalog, settings: PlatformSettings, namespace: str, scraped: list[str]) -> Catalog:
    """The catalog with Prometheus' and Alloy's Docker discovery replaced by Kubernetes discovery.
    `scraped`: the services rendered as workloads (Prometheus scrapes those that have metrics)."""
    services = dict(catalog.services)
    prom = services["prometheus"]
    docker_cfg = next(f.content for f in prom.files if f.path == PROMETHEUS_CONFIG)
    services["prometheus"] = _with_file(prom, PROMETHEUS_CONFIG, prometheus_config(docker_cfg, catalog, scraped, namespace, settings))
    alloy = _with_file(services["alloy"], ALLOY_CONFIG, alloy_config(settings, namespace))
    services["alloy"] = dataclasses.replace(alloy, depends_on=(), networks=("backend",))  # no Docker socket proxy
    return Catalog(services=services, volumes=catalog.volumes)


# ---------------------------------------------------------------- RBAC


@dataclasses.dataclass
class Account:
    """A pod reader's ServiceAccount and the grants its pods need before they start."""

    service_account: pulumi.Resource
    grants: list[pulumi.Resource]


def _rules(rules: list[tuple[str, tuple[str, ...], tuple[str, ...]]]) -> list[dict]:
    return [{"apiGroups": [g], "resources": list(r), "verbs": list(v)} for g, r, v in rules]


def _subject(ctx: KubeContext, account: str) -> list[dict]:
    return [{"kind": "ServiceAccount", "name": account, "namespace": ctx.namespace}]


def _role(ctx: KubeContext, account: str, namespace: str, rules, key: str, after: list[pulumi.Resource]) -> list[pulumi.Resource]:
    meta = {"name": account, "namespace": namespace, "labels": labels(ctx.settings, account)}
    role = k8s.rbac.v1.Role(ctx.urn_name(account, f"{key}role"), metadata=meta, rules=_rules(rules), opts=ctx.opts(after))
    binding = k8s.rbac.v1.RoleBinding(
        ctx.urn_name(account, f"{key}rolebinding"),
        metadata=meta,
        role_ref={"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": account},
        subjects=_subject(ctx, account),
        opts=ctx.opts([*after, role]),
    )
    return [role, binding]


def kubelet_grant(ctx: KubeContext, account: str) -> list[pulumi.Resource]:
    """The one cluster-scoped grant (see the module docstring), named per stack namespace."""
    name = f"{ctx.namespace}-{account}-kubelet"
    meta = {"name": name, "labels": labels(ctx.settings, account)}
    role = k8s.rbac.v1.ClusterRole(
        ctx.urn_name(account, "kubelet-clusterrole"), metadata=meta, rules=_rules(KUBELET_METRICS_RULES), opts=ctx.opts()
    )
    binding = k8s.rbac.v1.ClusterRoleBinding(
        ctx.urn_name(account, "kubelet-clusterrolebinding"),
        metadata=meta,
        role_ref={"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": name},
        subjects=_subject(ctx, account),
        opts=ctx.opts([role]),
    )
    return [role, binding]


def service_accounts(ctx: KubeContext, node_namespace: pulumi.Resource) -> dict[str, Account]:
    """A ServiceAccount per pod reader with namespaced Roles; Prometheus also reads node-exporter's
    pods (to find the nodes) and has the kubelet grant."""
    out: dict[str, Account] = {}
    for account, rules in POD_READERS.items():
        sa = k8s.core.v1.ServiceAccount(
            ctx.urn_name(account, "serviceaccount"),
            metadata=ctx.metadata(account, account),
            automount_service_account_token=False,  # the pod spec opts in (workloads.pod_template)
            opts=ctx.opts(),
        )
        grants = _role(ctx, account, ctx.namespace, rules, "", [])
        if account == "prometheus":
            node_ns = node_namespace_name(ctx.namespace)
            grants += _role(ctx, account, node_ns, [("", ("pods",), ("get", "list", "watch"))], "node-", [node_namespace])
            grants += kubelet_grant(ctx, account)
        out[account] = Account(sa, grants)
    return out


# ---------------------------------------------------------------- node-exporter


def node_namespace(ctx: KubeContext) -> k8s.core.v1.Namespace:
    pod_security = {
        # hostPID and hostPath volumes: `baseline` forbids both, so this namespace enforces `privileged`
        # and holds nothing but the node-exporter DaemonSet.
        "pod-security.kubernetes.io/enforce": "privileged",
        "pod-security.kubernetes.io/warn": "baseline",
    }
    return k8s.core.v1.Namespace(
        ctx.urn_name(NODE_EXPORTER, "namespace"),
        metadata={"name": node_namespace_name(ctx.namespace), "labels": {**labels(ctx.settings), **pod_security}},
    )


def _host_volumes(spec: ServiceSpec) -> tuple[list[dict], list[dict]]:
    """The catalog's mounts: host paths read-only (rslave -> HostToContainer), scratch volumes as emptyDirs."""
    volumes, mounts = [], []
    for i, m in enumerate(spec.mounts):
        if isinstance(m, HostMount):
            name = f"host-{i}"
            volumes.append({"name": name, "hostPath": {"path": m.host_path, "type": "Directory"}})
            mount = {"name": name, "mountPath": m.path, "readOnly": True}
            if m.propagation in ("rslave", "slave"):
                mount["mountPropagation"] = "HostToContainer"
        else:
            assert isinstance(m, Mount)
            name = m.volume
            volumes.append({"name": name, "emptyDir": {}})
            mount = {"name": name, "mountPath": m.path, "readOnly": m.read_only}
        mounts.append(mount)
    return volumes, mounts


def node_exporter(ctx: KubeContext, ns: pulumi.Resource) -> list[pulumi.Resource]:
    """The catalog's node-exporter (image, flags, host root read-only, hostPID) as a DaemonSet,
    with its namespace's default deny and Prometheus' way in."""
    spec = ctx.catalog.services[NODE_EXPORTER]
    node_ns = node_namespace_name(ctx.namespace)
    assert spec.metrics is not None
    pod_sc, container_sc = security(spec)
    volumes, mounts = _host_volumes(spec)
    container = {
        "name": spec.name,
        "image": image_ref(ctx.settings, spec.image),
        "args": list(spec.command or ()),
        "ports": [{"name": port_name(spec.metrics.port), "containerPort": spec.metrics.port, "protocol": "TCP"}],
        "volumeMounts": mounts,
        "resources": memory(spec),
        "securityContext": container_sc,
    }
    pod = {
        "automountServiceAccountToken": False,
        "hostPID": spec.pid_namespace == "host",  # see the catalog: /host/proc/self must be this process
        "securityContext": pod_sc,
        "containers": [container],
        "volumes": volumes,
    }
    meta = {"name": spec.name, "namespace": node_ns, "labels": labels(ctx.settings, spec.name)}
    opts = pulumi.ResourceOptions(depends_on=[ns])
    daemonset = k8s.apps.v1.DaemonSet(
        ctx.urn_name(spec.name, "daemonset"),
        metadata=meta,
        spec={
            "selector": {"matchLabels": selector(spec.name)},
            "template": {"metadata": pod_metadata(labels(ctx.settings, spec.name), spec), "spec": pod},
        },
        opts=opts,
    )
    deny = k8s.networking.v1.NetworkPolicy(
        ctx.urn_name(spec.name, "default-deny"),
        metadata={**meta, "name": "default-deny"},
        spec={"podSelector": {}, "policyTypes": ["Ingress", "Egress"]},
        opts=opts,
    )
    prometheus = {
        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": ctx.namespace}},
        "podSelector": {"matchLabels": selector("prometheus")},
    }
    allow = k8s.networking.v1.NetworkPolicy(
        ctx.urn_name(spec.name, "policy"),
        metadata=meta,
        spec={
            "podSelector": {"matchLabels": selector(spec.name)},
            "policyTypes": ["Ingress"],
            "ingress": [{"from": [prometheus], "ports": [{"protocol": "TCP", "port": spec.metrics.port}]}],
        },
        opts=opts,
    )
    return [daemonset, deny, allow]


# ---------------------------------------------------------------- network


def api_server_egress(cidrs: list[str]) -> dict:
    """TCP 443/6443 to the API server. Its address differs per cluster and is not a pod: by default
    the rule names its ports only (any address); `kubernetes.apiServerCidrs` narrows it."""
    return {
        "to": [{"ipBlock": {"cidr": c}} for c in (cidrs or [ANY_ADDRESS])],
        "ports": [{"protocol": "TCP", "port": p} for p in API_SERVER_PORTS],
    }


def kubelet_egress() -> dict:
    """TCP 10250 to the kubelets, at any address: node IPs are not known when the stack is rendered
    (and change as nodes come and go), and a NetworkPolicy cannot select nodes."""
    return {"to": [{"ipBlock": {"cidr": ANY_ADDRESS}}], "ports": [{"protocol": "TCP", "port": KUBELET_PORT}]}


def public_host_egress(ctx: KubeContext) -> list[dict]:
    """The certificate probe's way to the public hosts: TCP 443 at any address (the Gateway's external
    address is assigned by the cluster, unknown when the stack is rendered), and Envoy's container
    port in the gateway's namespace, for clusters where kube-proxy short-circuits a load balancer
    address to the Envoy pods (the policy then sees the pod and its container port)."""
    gateway = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": ctx.settings.kubernetes.gatewayNamespace}}}
    return [
        {"to": [{"ipBlock": {"cidr": ANY_ADDRESS}}], "ports": [{"protocol": "TCP", "port": HTTPS_PORT}]},
        {"to": [gateway], "ports": [{"protocol": "TCP", "port": ENVOY_HTTPS_CONTAINER_PORT}]},
    ]


def network_policies(ctx: KubeContext, rendered: list[str]) -> list[pulumi.Resource]:
    """Beyond the catalog's edges (network.pod_policy): the pod readers to the API server,
    Prometheus to node-exporter's namespace and to the kubelets, the certificate prober to the
    public hosts. Alloy to Loki and Prometheus to every metrics port inside the namespace are
    catalog edges (plan.allowed_edges)."""
    node_exporter_port = ctx.catalog.services[NODE_EXPORTER].metrics.port
    api = api_server_egress(ctx.settings.kubernetes.apiServerCidrs)
    to_nodes = {
        "to": [
            {
                "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": node_namespace_name(ctx.namespace)}},
                "podSelector": {"matchLabels": selector(NODE_EXPORTER)},
            }
        ],
        "ports": [{"protocol": "TCP", "port": node_exporter_port}],
    }
    out = [
        network.peer_policy(ctx, "cluster", "prometheus", egress=[api, to_nodes, kubelet_egress()]),
        network.peer_policy(ctx, "cluster", "alloy", egress=[api]),
    ]
    prober = obs_cfg.CERTIFICATE_PROBER
    if prober in rendered:
        out.append(network.peer_policy(ctx, "public-hosts", prober, egress=public_host_egress(ctx)))
    return out


def deploy(ctx: KubeContext, rendered: list[str]) -> dict[str, Account]:
    """node-exporter, the pod readers' accounts and their extra policies (`rendered`: the services
    rendered as workloads); returns the accounts,
    which `workloads.workload` runs Prometheus' and Alloy's pods under."""
    ns = node_namespace(ctx)
    node_exporter(ctx, ns)
    network_policies(ctx, rendered)
    return service_accounts(ctx, ns)
