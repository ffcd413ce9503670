"""NetworkPolicies allow exactly the catalog's edges inside the namespace and deny the rest.

The expected edges are written out here (the specification); the program derives
them from dependencies, the `service:port` addresses in each service's config and
Prometheus' metrics endpoints. A connection is open only when the client's egress
AND the server's ingress both allow it, as the NetworkPolicy API defines.
"""

from __future__ import annotations

import pytest

from .harness import manifest, run_k8s_stack
from .test_k8s_stack import workloads

NAME = "app.kubernetes.io/name"
EXPECTED = {
    ("api", "minio", 9000), ("api", "mlflow", 5000), ("api", "postgres", 5432), ("api", "rabbitmq", 5672),
    ("api", "tempo", 4318),
    ("processor", "minio", 9000), ("processor", "mlflow", 5000), ("processor", "postgres", 5432),
    ("processor", "rabbitmq", 5672), ("processor", "tempo", 4318),
    ("mlflow", "minio", 9000), ("mlflow", "postgres", 5432),
    ("postgres-exporter", "postgres", 5432),
    ("ui", "api", 8000),
    ("grafana", "prometheus", 9090), ("grafana", "loki", 3100), ("grafana", "tempo", 3200), ("grafana", "mimir", 9009),
    ("prometheus", "api", 8000), ("prometheus", "blackbox", 9115), ("prometheus", "grafana", 3000),
    ("prometheus", "loki", 3100), ("prometheus", "mimir", 9009), ("prometheus", "minio", 9000),
    ("prometheus", "mlflow", 5000), ("prometheus", "postgres-exporter", 9187), ("prometheus", "processor", 9100),
    ("prometheus", "rabbitmq", 15692), ("prometheus", "tempo", 3200),
    # Alerts go to Alertmanager; Grafana shows them; Tempo's metrics generator writes to Mimir.
    ("prometheus", "alertmanager", 9093), ("grafana", "alertmanager", 9093), ("tempo", "mimir", 9009),
    ("postgres-bootstrap", "postgres", 5432), ("minio-bootstrap", "minio", 9000),
    # MLflow's migration Job reaches its backend store only (not the object store MLflow itself uses).
    ("mlflow-migration", "postgres", 5432),
    # Alloy ships pod logs to Loki; Prometheus scrapes Alloy.
    ("alloy", "loki", 3100), ("prometheus", "alloy", 12345),
}  # fmt: skip
#: Pods that are clients only: the bootstrap Jobs and the migration Job.
JOBS = {"postgres-bootstrap", "minio-bootstrap", "mlflow-migration"}
#: Public services: their public port is open to the gateway's namespace, nothing else from outside.
PUBLIC = {"rabbitmq": 15672, "minio": 9001, "mlflow": 5000, "grafana": 3000, "api": 8000, "ui": 8501}
#: (policy, namespace) -> ports: every other way in from outside the namespace. KEDA's operator
#: reads the jobs queue's length over AMQP (infra/targets/kubernetes/scaling.py).
FROM_OTHER_NAMESPACES = {("rabbitmq-keda", "keda"): {5672},
                         # Prometheus (stack namespace) scrapes node-exporter in its own namespace.
                         ("node-exporter", "mlops-k8s-staging"): {9100}}  # fmt: skip


def policies(run) -> list[dict]:
    return [manifest(r) for r in run.resources if r.type == "kubernetes:networking.k8s.io/v1:NetworkPolicy"]


def selects(policy: dict, service: str) -> bool:
    labels = policy["spec"]["podSelector"].get("matchLabels", {})
    return all({NAME: service}.get(k) == v for k, v in labels.items())


def peer_is(peer: dict, service: str) -> bool:
    if "namespaceSelector" in peer or "ipBlock" in peer:
        return False
    labels = peer["podSelector"].get("matchLabels", {})
    return all({NAME: service}.get(k) == v for k, v in labels.items())


def allows(run, direction: str, pod: str, peer: str, port: int) -> bool:
    key, peers = ("ingress", "from") if direction == "Ingress" else ("egress", "to")
    for pol in policies(run):
        if direction not in pol["spec"]["policyTypes"] or not selects(pol, pod):
            continue
        for rule in pol["spec"].get(key, []):
            port_ok = "ports" not in rule or any(p["port"] == port and p["protocol"] == "TCP" for p in rule["ports"])
            peer_ok = peers not in rule or any(peer_is(p, peer) for p in rule[peers])
            if port_ok and peer_ok:
                return True
    return False


def open_edges(run) -> set[tuple[str, str, int]]:
    names = set(workloads(run))
    ports = {
        manifest(r)["metadata"]["name"]: {p["port"] for p in manifest(r)["spec"]["ports"]}
        for r in run.resources
        if r.type == "kubernetes:core/v1:Service"
    }
    return {
        (client, server, port)
        for client in names | JOBS
        for server in names
        for port in ports[server]
        if client != server and allows(run, "Egress", client, server, port) and allows(run, "Ingress", server, client, port)
    }


def test_the_namespace_denies_all_ingress_and_egress_by_default(run):
    deny = [p for p in policies(run) if p["metadata"]["name"] == "default-deny"]
    assert deny and deny[0]["spec"] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}


def test_policies_open_exactly_the_catalogs_edges(run):
    assert open_edges(run) == EXPECTED


def test_unrelated_services_cannot_reach_each_other(run):
    edges = open_edges(run)
    assert ("ui", "postgres", 5432) not in edges
    assert ("api", "rabbitmq", 15672) not in edges  # the management UI is for the gateway only
    assert ("mlflow", "rabbitmq", 5672) not in edges
    assert ("postgres-bootstrap", "minio", 9000) not in edges


def ingress_from_other_namespaces(run) -> dict[tuple[str, str], set[int]]:
    """(policy, source namespace) -> ports, for every ingress rule naming another namespace."""
    found: dict[tuple[str, str], set[int]] = {}
    for pol in policies(run):
        for rule in pol["spec"].get("ingress", []):
            for peer in rule.get("from", []):
                if "namespaceSelector" in peer:
                    ns = peer["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"]
                    found.setdefault((pol["metadata"]["name"], ns), set()).update(p["port"] for p in rule["ports"])
    return found


def test_only_public_ports_are_open_to_the_gateway_namespace(run):
    from_outside = ingress_from_other_namespaces(run)
    gateway = {pol: ports for (pol, ns), ports in from_outside.items() if ns == "envoy-gateway-system"}
    # cert-manager's HTTP-01 solver pods answer the gateway on their own port (infra/targets/kubernetes/edge.py).
    assert gateway == {**{name: {port} for name, port in PUBLIC.items()}, "acme-http01-solver": {8089}}
    assert {k: v for k, v in from_outside.items() if k[1] != "envoy-gateway-system"} == FROM_OTHER_NAMESPACES


def test_every_pod_may_resolve_names_through_cluster_dns_only(run):
    (dns,) = [p for p in policies(run) if p["metadata"]["name"] == "allow-dns"]
    assert dns["spec"]["podSelector"] == {} and dns["spec"]["policyTypes"] == ["Egress"]
    (rule,) = dns["spec"]["egress"]
    assert {(p["protocol"], p["port"]) for p in rule["ports"]} == {("UDP", 53), ("TCP", 53)}
    assert rule["to"][0]["namespaceSelector"] == {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}}


@pytest.mark.parametrize("namespace", ["gateway-system", "envoy-gateway-system"])
def test_the_gateway_namespace_comes_from_stack_config(namespace):
    config = {"target": "kubernetes", "acmeEmail": "ops@iot64.de", "kubernetes": {"gatewayNamespace": namespace}}
    run = run_k8s_stack(config)
    selectors = {ns for _, ns in ingress_from_other_namespaces(run)}
    assert selectors == {namespace} | {ns for _, ns in FROM_OTHER_NAMESPACES}
