"""The Docker socket proxies: the only containers that mount the Docker socket.

Whoever holds the socket is root on the host, so no internet-facing or input-parsing container
gets it. What needs the API reaches it over TCP through a socket proxy (wollomatic/socket-proxy
1.13.1: per-HTTP-method path allowlists, `^...$`-anchored, and `-allowfrom` client hostnames;
README.md and cmd/socket-proxy/handlehttprequest.go at that tag), each on its own internal network
that only its clients join.

Two proxies, one per permission set, because the sets differ in kind:

- `socket-proxy` (network `dockerapi`): read-only, for Alloy (container list, inspect and logs:
  grafana/alloy internal/component/loki/source/docker/tailer.go; discovery.docker lists containers
  and networks) and cAdvisor (info, version, ping, inspect, image list: google/cadvisor v0.57.0
  container/docker/docker.go, handler.go, factory.go). No write call at all.
- `socket-proxy-edge` (network `dockeredge`): the same reads plus `POST /containers/<id>/kill`,
  for docker-gen (nginx-proxy/docker-gen 0.17.2 internal/generator/generator.go: Version, Ping,
  Events, ListContainers, Info, ListNetworks, InspectContainer, and KillContainer to send SIGHUP to
  nginx) and acme-companion (nginx-proxy/acme-companion v2.8.2 app/functions.sh: `/containers/json`,
  `/containers/<id>/json`, and `reload_nginx` = `docker_kill` SIGHUP to docker-gen and nginx in the
  separate-containers setup; its `docker_exec` is used only without a docker-gen container).

One proxy with the union would let Alloy and cAdvisor signal any container; two keep the
observability side read-only and the edge side to exactly signals. No set includes container
create, exec, start or image pulls — the calls that turn socket access into root on the host.
tecnativa/docker-socket-proxy could not express the edge set: its POST switch opens every POST of
an enabled section (`CONTAINERS=1` + `POST=1` allows `/containers/create`; haproxy.cfg at v0.4.1).
"""

from __future__ import annotations

from ...catalog.context import CatalogContext, Wiring
from ...catalog.model import Hardening, Healthcheck, HostMount, ServiceSpec

DOCKER_SOCKET = "/var/run/docker.sock"
PORT = 2375
READ_PROXY = "socket-proxy"
EDGE_PROXY = "socket-proxy-edge"
#: The services allowed to mount the Docker socket (policy: docker-socket-only-in-proxy).
SOCKET_PROXIES = (READ_PROXY, EDGE_PROXY)

_API = r"(/v[0-9.]+)?"
_ID = r"[a-zA-Z0-9_.-]+"
#: Path allowlists per HTTP method (Go regexp; the proxy anchors them with ^ and $).
READ_ALLOW = {
    "GET": rf"{_API}/(_ping|version|info|events|networks|images/json|containers/json|containers/{_ID}/(json|logs))",
    "HEAD": rf"{_API}/_ping",
}
EDGE_ALLOW = {
    "GET": rf"{_API}/(_ping|version|info|events|networks|containers/json|containers/{_ID}/json)",
    "HEAD": rf"{_API}/_ping",
    "POST": rf"{_API}/containers/{_ID}/kill",
}
#: The clients of each proxy (their aliases on the proxy's network).
READ_CLIENTS = ("alloy", "cadvisor")
EDGE_CLIENTS = ("docker-gen", "acme")


def docker_host(proxy: str) -> str:
    """What a client sets as its Docker endpoint."""
    return f"tcp://{proxy}:{PORT}"


def _proxy(ctx: CatalogContext, name: str, network: str, layer: str, allow: dict[str, str], clients) -> ServiceSpec:
    return ServiceSpec(
        name=name,
        layer=layer,  # type: ignore[arg-type]
        image=ctx.image("socket-proxy"),
        networks=(network,),  # type: ignore[arg-type]
        port=PORT,
        hostname=name,
        # Read-only: the proxy only reads and writes on the socket (its README's compose example
        # mounts it `:ro`, which does not stop writes to a socket but states the intent).
        mounts=(HostMount(DOCKER_SOCKET, DOCKER_SOCKET),),
        command=(
            "-loglevel=info",
            "-listenip=0.0.0.0",
            f"-allowfrom={','.join(clients)}",
            *(f"-allow{method}={pattern}" for method, pattern in sorted(allow.items())),
            "-allowhealthcheck",
            "-watchdoginterval=60",
            "-stoponwatchdog",
        ),
        # The image's healthcheck binary (Dockerfile at 1.13.1: COPY ./healthcheck ./socket-proxy /).
        healthcheck=Healthcheck(("CMD", "/healthcheck"), start_period="5s"),
        memory_mb=32,
        hardening=Hardening(
            exceptions={
                # The socket is root:docker 0660 and the docker group's GID differs per host; uid 0 opens
                # it as its owner, with every capability dropped (no DAC override, no chown, nothing else).
                "user": "opens the root-owned Docker socket as its owner; no capabilities, read-only root",
            }
        ),
        user="0:0",
        description="Docker socket proxy: " + ", ".join(f"{m} {p}" for m, p in sorted(allow.items())),
    )


def specs(ctx: CatalogContext, wiring: Wiring) -> list[ServiceSpec]:
    """The proxies whose clients are in the catalog (`wiring.services`), each allowing exactly the
    clients present."""
    names = {s.name for s in wiring.services}
    out = []
    for name, network, layer, allow, clients in (
        (EDGE_PROXY, "dockeredge", "edge", EDGE_ALLOW, EDGE_CLIENTS),
        (READ_PROXY, "dockerapi", "observability", READ_ALLOW, READ_CLIENTS),
    ):
        present = [c for c in clients if c in names]
        if present:
            out.append(_proxy(ctx, name, network, layer, allow, present))
    return out
