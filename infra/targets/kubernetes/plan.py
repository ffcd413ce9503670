"""Pure decisions of the Kubernetes renderer, read from the catalog (no Pulumi resources here).

Which services render, which ports each one serves, who talks to whom, and how
each image runs: the renderer modules and the tests read the same answers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ...catalog.model import Bootstrap, Catalog, HostMount, Mount, ServiceSpec

#: Services that only make sense on one Docker host, with the reason and what replaces them on
#: Kubernetes; "not rendered yet" marks the counterparts still to come (issue 13).
SKIPPED = {
    "proxy": "nginx serves the config docker-gen renders from Docker; on Kubernetes the edge is a Gateway API Gateway "
    "with HTTPRoutes and Envoy Gateway policies (infra/targets/kubernetes/edge.py)",
    "docker-gen": "renders nginx-proxy's config from the Docker API; on Kubernetes Envoy Gateway programs its proxies "
    "from the Gateway and HTTPRoutes (infra/targets/kubernetes/edge.py)",
    "socket-proxy": "filters the Docker socket for Alloy and cAdvisor; Kubernetes has no Docker socket",
    "socket-proxy-edge": "filters the Docker socket for docker-gen and acme-companion; Kubernetes has no Docker socket",
    "acme": "acme-companion issues certificates through the Docker socket; on Kubernetes cert-manager issues them "
    "for the Gateway's HTTPS listeners from the stack's Let's Encrypt Issuer (infra/targets/kubernetes/edge.py)",
    "cadvisor": "reads the Docker host's /, /sys, /var/lib/docker and Docker socket; Prometheus scrapes each kubelet's cAdvisor endpoint directly (infra/targets/kubernetes/observability.py)",
    "volume-usage": "measures /var/lib/docker/volumes on the host; not replaced on Kubernetes yet (claim usage is in "
    "the kubelet's volume stats on its /metrics, which Prometheus does not scrape: only /metrics/cadvisor)",
    "postgres-backup": "shares PostgreSQL's data volume, which a ReadWriteOnce claim cannot; on Kubernetes base backups "
    "belong to the PostgreSQL operator (not rendered yet; WAL archiving from the postgres pod works)",
    "object-backup": "reads Grafana's data volume, which a ReadWriteOnce claim cannot share (not rendered yet)",
}

#: Rendered once per node, not as a workload: infra/targets/kubernetes/observability.py (a DaemonSet in its own namespace).
DAEMONSETS = {"node-exporter"}

#: The workloads an autoscaler sizes (infra/targets/kubernetes/scaling.py), and which one.
AUTOSCALED = {"api": "HorizontalPodAutoscaler", "processor": "KEDA ScaledObject"}

#: How each rendered image runs. `uid` is the numeric non-root user its image declares
#: (runAsNonRoot needs a numeric user to be verifiable); `None` with a reason when the image
#: must start as root. A catalog `user` wins over this table.
IMAGE_USERS: dict[str, tuple[int | None, str]] = {
    # Our images: app/*/Dockerfile `USER 10001`.
    "api": (10001, "app/api/Dockerfile: USER 10001"),
    "processor": (10001, "app/processor/Dockerfile: USER 10001"),
    "ui": (10001, "app/ui/Dockerfile: USER 10001"),
    "mlflow": (10001, "app/mlflow/Dockerfile: USER 10001"),
    # Upstream images whose Dockerfile declares a non-root user (busybox `nobody` is 65534).
    "prometheus": (65534, "published: prometheus/prometheus v3.14.0 Dockerfile `USER nobody`"),
    "loki": (10001, "grafana/loki cmd/loki/Dockerfile `USER 10001` (read on main, not at the 3.7.8 tag)"),
    "grafana": (472, "grafana/grafana Dockerfile `ARG GF_UID=472` ... `USER $GF_UID` (read on main, not at the tag)"),
    "postgres-exporter": (65534, "prometheus-community exporter Dockerfile pattern `USER nobody` (not read at the tag)"),
    "node-exporter": (65534, "prometheus/node_exporter Dockerfile at v1.12.1: `USER nobody`"),
    "blackbox": (65534, "its Dockerfile sets no USER (read at v0.28.0, tests/catalog_runs/images.py); TCP probes need no root"),
    "tempo": (10001, "grafana/tempo cmd/tempo/Dockerfile @v2.10.7: creates /var/tempo for 10001, `USER 10001`"),
    "alertmanager": (65534, "prometheus/alertmanager Dockerfile @v0.34.0 (085f0ef7): `USER nobody`"),
    # Our PostgreSQL image (pgBackRest added): the catalog's image_user, no root exception there.
    "postgres": (999, "app/postgres/Dockerfile: USER 999:999 (fsGroup 999 makes the claim writable for initdb)"),
    # Images that start as root.
    "rabbitmq": (None, "docker-entrypoint.sh starts as root and drops to rabbitmq; the image declares no USER"),
    "minio": (None, "the MinIO image declares no USER and runs as root"),
}

_ROOT_USER = re.compile(r"^0(:0)?$|^root(:root)?$")


@dataclass(frozen=True)
class RunAs:
    uid: int | None  # None: the image's own (root) user
    gid: int | None
    non_root: bool
    reason: str


def run_as(spec: ServiceSpec) -> RunAs:
    if spec.user is not None:
        uid, _, gid = spec.user.partition(":")
        if not uid.isdigit() or (gid and not gid.isdigit()):
            raise ValueError(f"{spec.name}: user '{spec.user}' must be numeric to run on Kubernetes")
        root = bool(_ROOT_USER.match(spec.user))
        return RunAs(int(uid), int(gid) if gid else None, not root, f"catalog user {spec.user}")
    if spec.name not in IMAGE_USERS:
        raise ValueError(f"{spec.name}: no entry in infra.targets.kubernetes.plan.IMAGE_USERS (how does its image run?)")
    uid, reason = IMAGE_USERS[spec.name]
    return RunAs(uid, uid, uid is not None and uid != 0, reason)


def rendered(catalog: Catalog) -> list[str]:
    """Services rendered on Kubernetes, in startup order. Unlisted host mounts are an error."""
    names = []
    for name in catalog.startup_order():
        spec = catalog.services[name]
        if name in SKIPPED or name in DAEMONSETS:
            continue
        if any(isinstance(m, HostMount) for m in spec.mounts):
            raise ValueError(f"{name}: mounts a host path; add it to infra.targets.kubernetes.plan.SKIPPED with a reason")
        names.append(name)
    return names


def claimed_volumes(catalog: Catalog, spec: ServiceSpec) -> list[str]:
    """The service's stateful volumes: one claim template each, which makes it a StatefulSet."""
    return [m.volume for m in spec.mounts if isinstance(m, Mount) and catalog.volumes[m.volume].stateful]


def workload_kind(catalog: Catalog, name: str) -> str:
    """The object a rendered service runs as (infra/targets/kubernetes/workloads.py, infra/targets/kubernetes/observability.py)."""
    if name in DAEMONSETS:
        return "DaemonSet"
    return "StatefulSet" if claimed_volumes(catalog, catalog.services[name]) else "Deployment"


def own_ports(spec: ServiceSpec) -> set[int]:
    ports = {p for p in (spec.port, spec.metrics.port if spec.metrics else None) if p}
    if spec.public:
        ports.add(spec.public.port)
    return ports


def _texts(spec: ServiceSpec) -> list[str]:
    """The plain (non-secret) text a service is configured with: env values and config files."""
    texts = [v for v in spec.env.values() if isinstance(v, str)]
    texts += [f.content for f in spec.files if isinstance(f.content, str) and not f.secret]
    return texts


def referenced_ports(catalog: Catalog, names: list[str]) -> dict[tuple[str, str], set[int]]:
    """(client, server) -> ports, where the client's configuration names `server:port`."""
    edges: dict[tuple[str, str], set[int]] = {}
    for client in names:
        text = "\n".join(_texts(catalog.services[client]))
        for server in names:
            if server == client:
                continue
            for port in re.findall(rf"(?<![\w.-]){re.escape(server)}:(\d+)\b", text):
                edges.setdefault((client, server), set()).add(int(port))
    return edges


def service_ports(catalog: Catalog, names: list[str]) -> dict[str, set[int]]:
    """What each Service exposes: its own ports plus any other ports clients address it on."""
    ports = {n: own_ports(catalog.services[n]) for n in names}
    for (_, server), used in referenced_ports(catalog, names).items():
        ports[server] |= used
    return ports


def allowed_edges(catalog: Catalog, names: list[str]) -> dict[tuple[str, str], set[int]]:
    """Every (client, server) -> ports the network policies allow inside the namespace.

    Five sources, all from the catalog: dependencies (on the server's main port),
    addresses in a client's configuration (`server:port`), a service's bootstrap Job
    to the service, a service's migration Job to what the migration reaches, and Prometheus
    to every metrics endpoint. Clients are pod names (`app.kubernetes.io/name`): a service,
    `<service>-bootstrap` or `<service>-migration`.
    """
    edges = referenced_ports(catalog, names)
    for client in names:
        for dep in catalog.services[client].depends_on:
            server = catalog.services.get(dep.service)
            if dep.service in names and server.port:
                edges.setdefault((client, dep.service), set()).add(server.port)
    for server in names:
        spec = catalog.services[server]
        if bootstrap_job_of(spec) and spec.port:  # its Job reaches it over the network (infra.targets.kubernetes.bootstrap)
            edges.setdefault((f"{server}-bootstrap", server), set()).add(spec.port)
        for target in spec.migration.reaches if spec.migration else ():  # infra.targets.kubernetes.migration
            if target in names and catalog.services[target].port:
                edges.setdefault((f"{server}-migration", target), set()).add(catalog.services[target].port)
    if "prometheus" in names:
        for server in names:
            spec = catalog.services[server]
            if spec.metrics and server != "prometheus":
                edges.setdefault(("prometheus", server), set()).add(spec.metrics.port)
    return edges


def bootstrap_job_of(spec: ServiceSpec) -> Bootstrap | None:
    """The service's bootstrap as the Kubernetes target runs it: a Job, unless the catalog says it cannot be one."""
    return spec.bootstrap if spec.bootstrap and not spec.bootstrap.docker_only else None


def dependencies(catalog: Catalog, name: str) -> list[str]:
    """What a workload waits for: its catalog dependencies that are rendered on Kubernetes."""
    return [d.service for d in catalog.services[name].depends_on if d.service not in SKIPPED]
