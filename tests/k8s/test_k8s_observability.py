"""Observability on Kubernetes (infra/targets/kubernetes/observability.py): discovery, RBAC, node-exporter, Alloy, labels."""

from __future__ import annotations

import re

import pytest
import yaml

from infra.images import IMAGES
from infra.configs import dashboards
from infra.services.observability import grafana
from infra.configs import observability as obs_cfg
from infra.targets.kubernetes import observability as obs
from tests.contracts import contracts

from .harness import manifest, run_k8s_stack
from .test_k8s_stack import NAMESPACE, NODE_NAMESPACE, stack_catalog, workloads
from .test_network_policies import policies


BASE = {"target": "kubernetes", "acmeEmail": "ops@iot64.de"}
#: A stack that sets the kubelet TLS escape hatch and narrows the API server egress.
TUNED = {**BASE, "kubernetes": {"kubeletInsecureTls": True, "apiServerCidrs": ["10.0.0.10/32", "fd00:10::/64"]}}
#: The job that probes the public hosts' certificates: static targets, not pod discovery.
PROBE_JOB = obs_cfg.CERTIFICATE_JOB


@pytest.fixture(scope="module")
def tuned_run():
    return run_k8s_stack(TUNED)


def kube(run, kind: str) -> list[dict]:
    return [m for m in (manifest(r) for r in run.resources if r.type.startswith("kubernetes:")) if m["kind"] == kind]


def config_file(run, service: str, path: str) -> str:
    (cm,) = [m for m in kube(run, "ConfigMap") if m["metadata"]["name"] == f"{service}-config"]
    return cm["data"][path.strip("/").replace("/", "__")]


def prometheus(run) -> dict:
    return yaml.safe_load(config_file(run, "prometheus", obs.PROMETHEUS_CONFIG))


def alloy(run) -> str:
    return config_file(run, "alloy", obs.ALLOY_CONFIG)


# ---------------------------------------------------------------- a relabel engine (Prometheus semantics)


def relabel(labels: dict[str, str], rules: list[dict]) -> dict[str, str] | None:
    """`keep`, `drop` and `replace` as Prometheus and Alloy apply them: regexes fully anchored,
    source values joined by `;`, `$n` groups, an empty result removes the target label."""
    out = dict(labels)
    for rule in rules:
        action = rule.get("action", "replace")
        value = rule.get("separator", ";").join(out.get(s, "") for s in rule.get("source_labels", []))
        match = re.fullmatch(rule.get("regex", "(.*)"), value)
        if action == "keep" and not match or action == "drop" and match:
            return None
        if action == "replace" and match:
            result = match.expand(re.sub(r"\$(\d+)", r"\\g<\1>", rule.get("replacement", "$1")))
            if result:
                out[rule["target_label"]] = result
            else:
                out.pop(rule["target_label"], None)
        elif action not in ("keep", "drop", "replace"):
            raise ValueError(f"unsupported action {action}")
    return out


def pod_target(service: str, port: int, namespace: str = NAMESPACE, node: str = "node-a") -> dict[str, str]:
    """What `role: pod` discovery yields for one container port of one pod."""
    return {
        "__address__": f"10.1.2.3:{port}",
        obs.NAME_META: service,
        "__meta_kubernetes_namespace": namespace,
        "__meta_kubernetes_pod_name": f"{service}-5d8f7-abcde",
        "__meta_kubernetes_pod_container_name": service,
        "__meta_kubernetes_pod_container_port_number": str(port),
        "__meta_kubernetes_pod_phase": "Running",
        "__meta_kubernetes_pod_node_name": node,
    }


def visible(labels: dict[str, str]) -> set[str]:
    return {k for k in labels if not k.startswith("__")}


def cadvisor_series(container: str, namespace: str = NAMESPACE) -> dict[str, str]:
    return {"__name__": "container_cpu_usage_seconds_total", "namespace": namespace, "pod": f"{container}-0", "container": container}


# ---------------------------------------------------------------- Prometheus


def discovered_jobs(run) -> list[dict]:
    return [j for j in prometheus(run)["scrape_configs"] if j["job_name"] != PROBE_JOB]


def test_prometheus_discovers_pods_only_in_the_stack_and_node_exporter_namespaces(run):
    for job in discovered_jobs(run):
        (sd,) = job["kubernetes_sd_configs"]
        assert sd["role"] == "pod" and "api_server" not in sd  # in-cluster, with the pod's own account
        expected = NODE_NAMESPACE if job["job_name"] in ("node-exporter", "cadvisor") else NAMESPACE
        assert sd["namespaces"] == {"names": [expected]}, job["job_name"]
        assert "static_configs" not in job


def test_prometheus_keeps_the_docker_targets_job_names_for_every_scraped_service(run):
    catalog = stack_catalog()
    scraped = {n for n in workloads(run) if catalog.services[n].metrics}
    assert {j["job_name"] for j in prometheus(run)["scrape_configs"]} == scraped | {"node-exporter", "cadvisor", PROBE_JOB}


def test_each_job_scrapes_its_services_pods_on_the_catalogs_metrics_port(run):
    catalog = stack_catalog()
    jobs = {j["job_name"]: j for j in discovered_jobs(run)}
    for name, job in jobs.items():
        if name == "cadvisor":
            continue
        port = catalog.services[name].metrics.port
        assert relabel(pod_target(name, port), job["relabel_configs"])["service"] == name
        assert relabel(pod_target(name, port + 1), job["relabel_configs"]) is None, name  # another port
        assert relabel(pod_target("ui" if name != "ui" else "api", port), job["relabel_configs"]) is None, name
        assert job["metrics_path"] == catalog.services[name].metrics.path


def cadvisor(run) -> dict:
    (job,) = [j for j in prometheus(run)["scrape_configs"] if j["job_name"] == "cadvisor"]
    return job


def node_exporter_pod(node: str, host_ip: str) -> dict[str, str]:
    return {**pod_target("node-exporter", 9100, NODE_NAMESPACE, node=node), "__meta_kubernetes_pod_host_ip": host_ip}


def test_cadvisor_is_scraped_from_each_nodes_kubelet_on_port_10250(run):
    job = cadvisor(run)
    target = relabel(node_exporter_pod("worker-7", "192.168.10.7"), job["relabel_configs"])
    assert target["__address__"] == "192.168.10.7:10250" and target["instance"] == "worker-7"
    assert job["scheme"] == "https" and job["metrics_path"] == "/metrics/cadvisor"


def test_an_ipv6_node_address_is_bracketed_before_the_kubelet_port(run):
    target = relabel(node_exporter_pod("worker-8", "fd00:10::8"), cadvisor(run)["relabel_configs"])
    assert target["__address__"] == "[fd00:10::8]:10250"


def test_cadvisor_never_goes_through_the_api_servers_node_proxy(run):
    job = cadvisor(run)
    target = relabel(node_exporter_pod("worker-7", "192.168.10.7"), job["relabel_configs"])
    assert "proxy" not in target.get("__metrics_path__", job["metrics_path"])
    assert not target["__address__"].startswith("kubernetes.default")


def test_the_kubelet_is_called_with_prometheus_token_and_its_certificate_checked_against_the_cluster_ca(run):
    job = cadvisor(run)
    assert job["tls_config"] == {"ca_file": "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt"}
    assert job["authorization"] == {"credentials_file": "/var/run/secrets/kubernetes.io/serviceaccount/token"}


def test_kubelet_insecure_tls_skips_the_kubelet_certificate_check(tuned_run):
    job = cadvisor(tuned_run)
    assert job["tls_config"] == {"insecure_skip_verify": True}
    assert job["authorization"] == {"credentials_file": "/var/run/secrets/kubernetes.io/serviceaccount/token"}


def test_cadvisor_keeps_only_this_stacks_containers_not_pod_cgroups(run):
    rules = cadvisor(run)["metric_relabel_configs"]
    assert relabel(cadvisor_series("api", namespace="other-team"), rules) is None
    assert relabel(cadvisor_series(""), rules) is None  # the pod's own cgroup: would count the pod twice
    assert relabel(cadvisor_series("POD"), rules) is None
    assert relabel(cadvisor_series("api"), rules)[obs.SERVICE_SERIES_LABEL] == "api"


def test_prometheus_keeps_rules_alerting_remote_write_and_retention_of_the_catalog(run):
    doc = prometheus(run)
    assert doc["rule_files"] == ["/etc/prometheus/rules/*.yml"]
    assert doc["remote_write"] == [{"url": obs_cfg.MIMIR_PUSH}]
    assert doc["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"] == ["alertmanager:9093"]
    assert doc["global"]["external_labels"] == {"stack": "k8s-staging"}


# ---------------------------------------------------------------- RBAC


def test_prometheus_rbac_is_namespaced_except_get_nodes_metrics(run):
    (cluster_role,) = kube(run, "ClusterRole")
    assert cluster_role["rules"] == [{"apiGroups": [""], "resources": ["nodes/metrics"], "verbs": ["get"]}]
    (binding,) = kube(run, "ClusterRoleBinding")
    assert binding["roleRef"]["name"] == cluster_role["metadata"]["name"]
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "prometheus", "namespace": NAMESPACE}]
    roles = {(r["metadata"]["namespace"], r["metadata"]["name"]): r["rules"] for r in kube(run, "Role")}
    assert roles[(NAMESPACE, "prometheus")] == [
        {"apiGroups": [""], "resources": ["pods", "services", "endpoints"], "verbs": ["get", "list", "watch"]}
    ]
    assert roles[(NODE_NAMESPACE, "prometheus")] == [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch"]}]


#: Grants that reach further than reading: the kubelet's catch-all (its websocket GETs reach exec),
#: running commands in pods, and wildcards.
FORBIDDEN_RESOURCES = {"nodes/proxy", "pods/exec", "pods/attach", "*"}


def test_no_role_grants_nodes_proxy_pod_exec_or_wildcards(run):
    rules = [rule for kind in ("Role", "ClusterRole") for role in kube(run, kind) for rule in role["rules"]]
    assert rules
    for rule in rules:
        assert not FORBIDDEN_RESOURCES & set(rule["resources"]), rule
        assert "*" not in rule["verbs"] and "*" not in rule["apiGroups"], rule


def test_alloy_may_only_read_pods_and_their_logs_in_the_stack_namespace(run):
    roles = {(r["metadata"]["namespace"], r["metadata"]["name"]): r["rules"] for r in kube(run, "Role")}
    assert roles[(NAMESPACE, "alloy")] == [
        {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch"]},
        {"apiGroups": [""], "resources": ["pods/log"], "verbs": ["get"]},
    ]
    assert set(roles) == {(NAMESPACE, "prometheus"), (NODE_NAMESPACE, "prometheus"), (NAMESPACE, "alloy")}


def test_every_role_binding_grants_its_role_to_the_account_of_the_same_name(run):
    for b in kube(run, "RoleBinding"):
        name = b["metadata"]["name"]
        assert b["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name}
        assert b["subjects"] == [{"kind": "ServiceAccount", "name": name, "namespace": NAMESPACE}]


# ---------------------------------------------------------------- node-exporter


def node_exporter(run) -> dict:
    (ds,) = kube(run, "DaemonSet")
    return ds


def test_node_exporter_runs_the_docker_catalogs_pinned_image_and_flags(run):
    (c,) = node_exporter(run)["spec"]["template"]["spec"]["containers"]
    assert c["image"] == IMAGES["node-exporter"] == "prom/node-exporter:v1.12.1"
    assert c["args"] == list(stack_catalog().services["node-exporter"].command)


def test_node_exporter_sees_the_host_read_only_with_host_pid_but_no_host_network(run):
    pod = node_exporter(run)["spec"]["template"]["spec"]
    assert pod["hostPID"] is True and "hostNetwork" not in pod
    (c,) = pod["containers"]
    host = {v["name"]: v["hostPath"]["path"] for v in pod["volumes"] if "hostPath" in v}
    assert set(host.values()) == {"/"}
    mounts = [m for m in c["volumeMounts"] if m["name"] in host]
    assert mounts == [{"name": "host-0", "mountPath": "/host", "readOnly": True, "mountPropagation": "HostToContainer"}]
    assert c["securityContext"]["readOnlyRootFilesystem"] is True and c["securityContext"]["privileged"] is False
    assert pod["securityContext"]["runAsNonRoot"] is True and pod["automountServiceAccountToken"] is False


def test_only_node_exporters_namespace_allows_privileged_pods(run):
    levels = {n["metadata"]["name"]: n["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] for n in kube(run, "Namespace")}
    assert levels == {NAMESPACE: "baseline", NODE_NAMESPACE: "privileged"}
    assert node_exporter(run)["metadata"]["namespace"] == NODE_NAMESPACE


# ---------------------------------------------------------------- Alloy


def test_alloy_config_uses_only_components_and_arguments_alloy_v1_19_accepts(run):
    text = alloy(run)
    assert contracts.unknown_alloy(text) == []
    components = [c for c, path, _ in contracts.alloy_blocks(text) if not path]
    assert components == ["discovery.kubernetes", "discovery.relabel", "loki.source.kubernetes", "loki.write"]
    assert 'url = "http://loki:3100/loki/api/v1/push"' in text
    assert "targets    = discovery.relabel.pods.output" in text


def test_the_alloy_contract_check_rejects_an_unknown_argument(run):
    broken = alloy(run).replace('role = "pod"', 'role = "pod"\n  namespace = "x"')
    assert contracts.unknown_alloy(broken) == ["discovery.kubernetes: namespace"]


def test_alloy_tails_pods_only_in_the_stack_namespace(run):
    assert re.search(r'namespaces \{\s*names = \["' + NAMESPACE + r'"\]\s*\}', alloy(run))
    assert "docker" not in alloy(run)


def alloy_rules(text: str) -> list[dict]:
    """discovery.relabel's `rule` blocks as relabel rules."""
    rules = []
    for body in re.findall(r"rule \{(.*?)\}", text, re.S):
        rule = {}
        for key, value in re.findall(r"(\w+)\s*=\s*(.+)", body):
            rule[key] = yaml.safe_load(value)
        rules.append(rule)
    return rules


# ---------------------------------------------------------------- the dashboards' labels

#: Labels the programs put on their own series (not the platform's doing): histogram buckets, the
#: API's and the jobs' metrics, postgres-exporter, the volume-usage textfile, node-exporter.
EXPORTER_LABELS = {"le", "status", "route", "kind", "datname", "volume", "mountpoint"}


def dashboard_labels() -> tuple[set[str], set[str]]:
    """(labels the metric queries filter or group on, labels the log queries select on)."""
    board = dashboards.platform_overview(grafana.PANELS)
    exprs = [t["expr"] for p in board["panels"] for t in p["targets"]]
    logs = [e for e in exprs if e.startswith("{")]
    tempo = next(d for d in yaml.safe_load(obs_cfg.grafana_datasources())["datasources"] if d["uid"] == "tempo")
    logs.append(tempo["jsonData"]["tracesToLogsV2"]["query"])
    metric_labels = set()
    for e in set(exprs) - set(logs):
        metric_labels |= set(re.findall(r"(\w+)\s*(?:=~|!~|!=|=)\s*\"", e))
        for group in re.findall(r"by \(([^)]*)\)", e):
            metric_labels |= {g.strip() for g in group.split(",")}
    log_labels = {label for e in logs for label in re.findall(r"(\w+)\s*(?:=~|!~|!=|=)", e.split("}")[0])}
    return metric_labels, log_labels


def test_every_label_the_dashboards_filter_on_is_produced_by_the_relabelling(run):
    metric_labels, log_labels = dashboard_labels()
    assert {"container_label_mlops_service", "job"} <= metric_labels and {"service", "stack"} <= log_labels
    catalog = stack_catalog()
    produced = {"job"}  # every scrape job's name
    for job in discovered_jobs(run):
        service = "node-exporter" if job["job_name"] == "cadvisor" else job["job_name"]
        port = catalog.services[service].metrics.port
        ns = NODE_NAMESPACE if service == "node-exporter" else NAMESPACE
        produced |= visible(relabel(pod_target(service, port, ns), job["relabel_configs"]))
        if "metric_relabel_configs" in job:
            produced |= visible(relabel(cadvisor_series("api"), job["metric_relabel_configs"]))
    assert metric_labels - EXPORTER_LABELS <= produced
    streams = visible(relabel(pod_target("api", 8000), alloy_rules(alloy(run))))
    assert log_labels <= streams


def test_log_streams_are_labelled_with_the_pods_service_container_and_stack(run):
    stream = relabel(pod_target("processor", 9100), alloy_rules(alloy(run)))
    assert {k: stream[k] for k in ("service", "container", "stack")} == {
        "service": "processor", "container": "processor", "stack": "k8s-staging"
    }


# ---------------------------------------------------------------- network


def policy(run, name: str, namespace: str = NAMESPACE) -> dict:
    (p,) = [p for p in policies(run) if p["metadata"]["name"] == name and p["metadata"]["namespace"] == namespace]
    return p


API_SERVER_PORTS = [{"protocol": "TCP", "port": 443}, {"protocol": "TCP", "port": 6443}]


def api_server_rules(run, pod: str) -> list[dict]:
    egress = policy(run, f"{pod}-cluster")["spec"]["egress"]
    return [r for r in egress if r["ports"] == API_SERVER_PORTS]


@pytest.mark.parametrize("pod", ["prometheus", "alloy"])
def test_the_pod_readers_may_reach_the_api_server_ports_at_any_address_by_default(run, pod):
    assert api_server_rules(run, pod) == [{"to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}], "ports": API_SERVER_PORTS}]
    assert not any(f"{other}-cluster" == p["metadata"]["name"] for p in policies(run) for other in ("grafana", "api", "loki"))


@pytest.mark.parametrize("pod", ["prometheus", "alloy"])
def test_api_server_cidrs_narrow_the_pod_readers_api_server_egress(tuned_run, pod):
    assert api_server_rules(tuned_run, pod) == [
        {"to": [{"ipBlock": {"cidr": "10.0.0.10/32"}}, {"ipBlock": {"cidr": "fd00:10::/64"}}], "ports": API_SERVER_PORTS}
    ]


def test_prometheus_may_reach_the_kubelets_port_at_any_address_and_nothing_else_outside(run):
    egress = policy(run, "prometheus-cluster")["spec"]["egress"]
    outside = [r for r in egress if any("ipBlock" in p for p in r["to"]) and r["ports"] != API_SERVER_PORTS]
    assert outside == [{"to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}], "ports": [{"protocol": "TCP", "port": 10250}]}]


def test_prometheus_may_reach_node_exporter_in_its_namespace_on_its_metrics_port(run):
    egress = policy(run, "prometheus-cluster")["spec"]["egress"]
    to_nodes = [r for r in egress if not any("ipBlock" in p for p in r["to"])]
    assert to_nodes == [{"to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": NODE_NAMESPACE}},
                                 "podSelector": {"matchLabels": {"app.kubernetes.io/name": "node-exporter"}}}],
                         "ports": [{"protocol": "TCP", "port": 9100}]}]  # fmt: skip


def test_node_exporters_namespace_denies_everything_but_prometheus_on_its_metrics_port(run):
    deny = policy(run, "default-deny", NODE_NAMESPACE)
    assert deny["spec"] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    allow = policy(run, "node-exporter", NODE_NAMESPACE)["spec"]
    assert allow["policyTypes"] == ["Ingress"]
    assert allow["ingress"] == [{"from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": NAMESPACE}},
                                           "podSelector": {"matchLabels": {"app.kubernetes.io/name": "prometheus"}}}],
                                 "ports": [{"protocol": "TCP", "port": 9100}]}]  # fmt: skip
    assert {p["metadata"]["name"] for p in policies(run) if p["metadata"]["namespace"] == NODE_NAMESPACE} == {
        "default-deny", "node-exporter"
    }


# ---------------------------------------------------------------- the certificate probe


def probe_job(run) -> dict:
    (job,) = [j for j in prometheus(run)["scrape_configs"] if j["job_name"] == PROBE_JOB]
    return job


def probed(run) -> dict[str, dict[str, str]]:
    """target -> its labels, after the job's relabelling (what Prometheus asks the prober)."""
    job = probe_job(run)
    out = {}
    for group in job["static_configs"]:
        for target in group["targets"]:
            out[target] = relabel({"__address__": target, **group["labels"]}, job["relabel_configs"])
    return out


def gateway_hosts(run) -> set[str]:
    (gateway,) = kube(run, "Gateway")
    return {listener["hostname"] for listener in gateway["spec"]["listeners"] if listener["protocol"] == "HTTPS"}


def test_every_public_host_is_probed_on_443_through_the_gateway(run):
    hosts = gateway_hosts(run)
    assert len(hosts) == 6
    assert set(probed(run)) == {f"{host}:443" for host in hosts}


def test_the_probe_asks_the_blackbox_exporter_for_each_host_with_its_own_tls_module(run):
    blackbox = yaml.safe_load(config_file(run, "blackbox", "/etc/blackbox/blackbox.yml"))["modules"]
    for target, labels in probed(run).items():
        host = target.removesuffix(":443")
        assert labels["__address__"] == "blackbox:9115" and labels["__param_target"] == target
        assert labels["instance"] == labels["host"] == host
        assert blackbox[labels["__param_module"]]["tcp"]["tls_config"]["server_name"] == host


def test_the_certificate_prober_may_reach_443_anywhere_and_envoys_https_port_in_the_gateway_namespace(run):
    egress = policy(run, "blackbox-public-hosts")["spec"]["egress"]
    assert egress == [
        {"to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}], "ports": [{"protocol": "TCP", "port": 443}]},
        {"to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "envoy-gateway-system"}}}],
         "ports": [{"protocol": "TCP", "port": 10443}]},
    ]  # fmt: skip


def test_without_tls_there_is_no_prober_no_probe_job_and_no_way_out_for_it():
    run = run_k8s_stack({**BASE, "tls": False})
    assert PROBE_JOB not in {j["job_name"] for j in prometheus(run)["scrape_configs"]}
    assert not [p for p in policies(run) if p["metadata"]["name"] == "blackbox-public-hosts"]
