"""Observability the Kubernetes way: discovery and logs through the Kubernetes API instead of Docker.

- Prometheus keeps the catalog's prometheus.yml (rules, Alertmanager, remote write, retention) with
  its scrape jobs replaced: one job per scraped service, as on Docker, each finding its pods with
  `kubernetes_sd_configs` (role pod) limited to the stack's namespace. Job names and the `service`
  label stay the Docker target's, so alerts and dashboards read the same series.
- node-exporter runs as a DaemonSet in a namespace of its own (`<namespace>-node-exporter`): it needs
  hostPID and the host's root mounted read-only, which the stack namespace's `baseline` Pod Security
  level forbids (Host Namespaces, HostPath Volumes). Lowering the whole stack namespace to
  `privileged` would lift that for every pod; the extra namespace lifts it for this one DaemonSet.
- Container CPU and memory come from the kubelet's cAdvisor endpoint, through the API server's node
  proxy (`/api/v1/nodes/<node>/proxy/metrics/cadvisor`, TLS checked against the cluster CA). Nodes are
  the nodes node-exporter runs on (read from its pods), so no cluster-wide node list is needed. The
  one cluster-scoped grant is `get` on `nodes/proxy`; through the API server proxy that is the
  only permission checked (the API server calls the kubelet with its own credentials), so
  `nodes/metrics`, which only a direct kubelet scrape needs, is not granted. Note that `get
  nodes/proxy` is not read-only: the Kubernetes docs (kubelet authn/authz, "get nodes/proxy"
  warning) say its websocket GETs reach the kubelet's exec endpoint.
- Alloy tails pod logs through the API (`loki.source.kubernetes`) and labels them like the Docker
  target did (`service`, `container`, `stack`), so the dashboards' Loki queries keep working.
"""

from __future__ import annotations

import dataclasses

import pulumi
import pulumi_kubernetes as k8s
import yaml

from ..catalog.model import Catalog, ConfigFile, HostMount, Mount, ServiceSpec
from ..components import image_ref
from ..configs import observability as obs_cfg
from ..settings import PlatformSettings
from . import network
from .common import SERVICE_LABEL, KubeContext, labels, port_name, selector
from .workloads import memory, security

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
#: Prometheus' only cluster-scoped grant: the kubelet's cAdvisor endpoint through the API server.
KUBELET_PROXY_RULES = [("", ("nodes/proxy",), ("get",))]


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


def cadvisor_job(namespace: str, node_namespace: str) -> dict:
    return {
        "job_name": CADVISOR_JOB,
        "scheme": "https",
        "authorization": {"credentials_file": f"{SA_DIR}/token"},
        "tls_config": {"ca_file": f"{SA_DIR}/ca.crt"},
        "kubernetes_sd_configs": pod_discovery(node_namespace),
        "relabel_configs": [
            {"source_labels": [NAME_META], "regex": NODE_EXPORTER, "action": "keep"},
            {"target_label": "__address__", "replacement": API_SERVER},
            {
                "source_labels": ["__meta_kubernetes_pod_node_name"],
                "regex": "(.+)",
                "target_label": "__metrics_path__",
                "replacement": "/api/v1/nodes/$1/proxy/metrics/cadvisor",
            },
            {"source_labels": ["__meta_kubernetes_pod_node_name"], "target_label": "instance"},
            {"target_label": "service", "replacement": CADVISOR_JOB},
        ],
        "metric_relabel_configs": cadvisor_metric_relabelling(namespace),
    }


def prometheus_config(docker_config: str, catalog: Catalog, scraped: list[str], namespace: str) -> str:
    """The catalog's prometheus.yml with Kubernetes discovery in place of the Docker targets.

    The certificate probe job is left out: it probes the Docker proxy, which Kubernetes does not run.
    """
    doc = yaml.safe_load(docker_config)
    node_ns = node_namespace_name(namespace)
    jobs = [scrape_job(catalog.services[n], namespace) for n in sorted(scraped) if catalog.services[n].metrics]
    jobs.append(scrape_job(catalog.services[NODE_EXPORTER], node_ns))
    jobs.append(cadvisor_job(namespace, node_ns))
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
    return f"""// Generated by the Pulumi program; edit infra/k8s/observability.py.
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
    services["prometheus"] = _with_file(prom, PROMETHEUS_CONFIG, prometheus_config(docker_cfg, catalog, scraped, namespace))
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
        ctx.urn_name(account, "kubelet-clusterrole"), metadata=meta, rules=_rules(KUBELET_PROXY_RULES), opts=ctx.opts()
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
            "template": {"metadata": {"labels": labels(ctx.settings, spec.name)}, "spec": pod},
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


def api_server_egress() -> dict:
    """The API server's address differs per cluster and is not a pod, so the rule names its ports
    only: the pod readers may open TCP 443/6443 to any address."""
    return {"to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}], "ports": [{"protocol": "TCP", "port": p} for p in API_SERVER_PORTS]}


def network_policies(ctx: KubeContext) -> list[pulumi.Resource]:
    """Beyond the catalog's edges (network.pod_policy): the pod readers to the API server, and
    Prometheus to node-exporter's namespace. Alloy to Loki and Prometheus to every metrics port
    inside the namespace are catalog edges (plan.allowed_edges)."""
    node_exporter_port = ctx.catalog.services[NODE_EXPORTER].metrics.port
    to_nodes = {
        "to": [
            {
                "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": node_namespace_name(ctx.namespace)}},
                "podSelector": {"matchLabels": selector(NODE_EXPORTER)},
            }
        ],
        "ports": [{"protocol": "TCP", "port": node_exporter_port}],
    }
    return [
        network.peer_policy(ctx, "cluster", "prometheus", egress=[api_server_egress(), to_nodes]),
        network.peer_policy(ctx, "cluster", "alloy", egress=[api_server_egress()]),
    ]


def deploy(ctx: KubeContext) -> dict[str, Account]:
    """node-exporter, the pod readers' accounts and their extra policies; returns the accounts,
    which `workloads.workload` runs Prometheus' and Alloy's pods under."""
    ns = node_namespace(ctx)
    node_exporter(ctx, ns)
    network_policies(ctx)
    return service_accounts(ctx, ns)
