"""The platform's invariants as plain functions of (resource type, properties, stack).

`__main__.py` wraps them for pulumi-policy; tests call them directly and on the
resources the real program registers.
"""

from __future__ import annotations

import re
from typing import Any, Callable

CONTAINER = "docker:index/container:Container"
REMOTE_IMAGE = "docker:index/remoteImage:RemoteImage"
PROXY_LABEL = "com.github.nginx-proxy.nginx"
_TAG = re.compile(r":[\w][\w.-]*$")


def _labels(props: dict) -> dict[str, str]:
    return {l["label"]: l["value"] for l in props.get("labels") or []}


def only_proxy_publishes_ports(rtype: str, props: dict, stack: str) -> list[str]:
    if rtype != CONTAINER or _labels(props).get(PROXY_LABEL) == "true":
        return []
    if props.get("ports"):
        return [f"container '{props.get('name')}' publishes host ports; only the proxy may"]
    return []


def images_are_pinned(rtype: str, props: dict, stack: str) -> list[str]:
    if rtype != REMOTE_IMAGE:
        return []
    name = props.get("name") or ""
    if "@sha256:" in name:
        return []
    tail = name.rsplit("/", 1)[-1]
    if not _TAG.search(tail) or tail.endswith(":latest"):
        return [f"image '{name}' is not pinned to a version tag or digest"]
    return []


def postgres_stays_off_the_edge(rtype: str, props: dict, stack: str) -> list[str]:
    if rtype != CONTAINER or _labels(props).get("mlops.service") not in ("postgres", "prometheus"):
        return []
    nets = [n.get("name", "") for n in props.get("networksAdvanced") or []]
    if any(not n.endswith("-backend") for n in nets):
        return [f"container '{props.get('name')}' must only join the internal backend network"]
    return []


def backend_network_is_internal(rtype: str, props: dict, stack: str) -> list[str]:
    if rtype == "docker:index/network:Network" and str(props.get("name", "")).endswith("-backend"):
        if not props.get("internal"):
            return [f"network '{props.get('name')}' must be internal"]
    return []


def public_services_are_routed_over_https(rtype: str, props: dict, stack: str) -> list[str]:
    if rtype != CONTAINER or stack == "dev":
        return []
    envs = props.get("envs") or []
    if not isinstance(envs, list):
        return []  # secret: checked at deploy time
    env = dict(e.split("=", 1) for e in envs if "=" in e)
    if "VIRTUAL_HOST" in env and env.get("LETSENCRYPT_HOST") != env["VIRTUAL_HOST"]:
        return [f"container '{props.get('name')}' is public without a certificate (LETSENCRYPT_HOST)"]
    return []


def host_paths_are_read_only(rtype: str, props: dict, stack: str) -> list[str]:
    if rtype != CONTAINER:
        return []
    return [
        f"container '{props.get('name')}' mounts host path '{v['hostPath']}' writable"
        for v in props.get("volumes") or []
        if v.get("hostPath") and not v.get("readOnly")
    ]


#: The only services that may mount the Docker socket (infra/catalog/docker_api.py SOCKET_PROXIES).
SOCKET_PROXIES = ("socket-proxy", "socket-proxy-edge")
DOCKER_SOCKET_NAME = "docker.sock"
#: Settings a container may keep against the hardening default, with a reason in this label.
EXCEPTION_LABEL = "mlops.exception."
ROOT_USERS = ("0", "root")


def _exception(props: dict, key: str) -> str | None:
    reason = _labels(props).get(EXCEPTION_LABEL + key, "").strip()
    return reason or None


def _name(props: dict) -> str:
    return str(props.get("name"))


def docker_socket_only_in_proxy(rtype: str, props: dict, stack: str) -> list[str]:
    """No container but a socket proxy mounts the Docker socket: as a volume (`hostPath`) or a mount
    (`source`), under any container path."""
    if rtype != CONTAINER or _labels(props).get("mlops.service") in SOCKET_PROXIES:
        return []
    sources = [v.get("hostPath") or "" for v in props.get("volumes") or []]
    sources += [m.get("source") or "" for m in props.get("mounts") or []]
    # The socket itself, or a directory it lives in: a read-only bind does not stop connect() on a
    # socket. A directory is tolerated for a container whose user is not root and states no root
    # exception: the socket is root:docker 0660, so it cannot open it (node exporter reads host `/`).
    non_root = not _exception(props, "user") and runs_as_non_root(rtype, props, stack) == []
    return [
        f"container '{_name(props)}' mounts the Docker socket ({src}); only the socket proxy may"
        for src in sources
        if src
        and (src.endswith(DOCKER_SOCKET_NAME) or (src.rstrip("/") in ("", "/var", "/var/run", "/run") and not non_root))
    ]


def not_privileged(rtype: str, props: dict, stack: str) -> list[str]:
    if rtype == CONTAINER and props.get("privileged"):
        return [f"container '{_name(props)}' runs privileged"]
    return []


def no_new_privileges(rtype: str, props: dict, stack: str) -> list[str]:
    if rtype != CONTAINER:
        return []
    opts = [str(o).replace("=", ":") for o in props.get("securityOpts") or []]
    if not {"no-new-privileges", "no-new-privileges:true"} & set(opts):
        return [f"container '{_name(props)}' lacks security option no-new-privileges"]
    return []


def capabilities_dropped(rtype: str, props: dict, stack: str) -> list[str]:
    """Every capability dropped; any added back needs a stated reason."""
    if rtype != CONTAINER:
        return []
    caps = props.get("capabilities") or {}
    problems = []
    if [c.upper() for c in caps.get("drops") or []] != ["ALL"]:
        problems.append(f"container '{_name(props)}' does not drop all capabilities")
    if caps.get("adds") and not _exception(props, "cap_add"):
        problems.append(f"container '{_name(props)}' adds capabilities {caps['adds']} without a stated reason")
    return problems


def read_only_root(rtype: str, props: dict, stack: str) -> list[str]:
    if rtype != CONTAINER or props.get("readOnly") or _exception(props, "read_only"):
        return []
    return [f"container '{_name(props)}' has a writable root filesystem without a stated reason"]


def runs_as_non_root(rtype: str, props: dict, stack: str) -> list[str]:
    """A non-root `user`, or no user with the image's non-root user recorded (`mlops.image-user`);
    root only with a stated reason."""
    if rtype != CONTAINER or _exception(props, "user"):
        return []
    user = str(props.get("user") or _labels(props).get("mlops.image-user") or "0")
    if user.split(":", 1)[0] in ROOT_USERS:
        return [f"container '{_name(props)}' runs as root without a stated reason"]
    return []


def memory_limited(rtype: str, props: dict, stack: str) -> list[str]:
    if rtype != CONTAINER:
        return []
    memory = props.get("memory") or 0
    if memory <= 0:
        return [f"container '{_name(props)}' has no memory limit"]
    if props.get("memorySwap") != memory:
        return [f"container '{_name(props)}' may swap beyond its memory limit (memory_swap != memory)"]
    return []


RULES: dict[str, tuple[str, Callable[[str, dict, str], list[str]]]] = {
    "only-proxy-publishes-ports": ("Only nginx-proxy publishes host ports.", only_proxy_publishes_ports),
    "images-pinned": ("Every image is pinned to a tag other than latest, or a digest.", images_are_pinned),
    "private-services-off-edge": ("PostgreSQL and Prometheus only join the internal network.", postgres_stays_off_the_edge),
    "backend-network-internal": ("The backend network is internal.", backend_network_is_internal),
    "public-over-https": ("Public services on TLS stacks request a certificate.", public_services_are_routed_over_https),
    "host-paths-read-only": ("Host paths (Docker socket, host metrics) are mounted read-only.", host_paths_are_read_only),
    "docker-socket-only-in-proxy": ("Only the Docker socket proxies mount docker.sock.", docker_socket_only_in_proxy),
    "not-privileged": ("No container runs privileged.", not_privileged),
    "no-new-privileges": ("Every container sets no-new-privileges.", no_new_privileges),
    "capabilities-dropped": ("Every container drops all capabilities; added ones carry a reason.", capabilities_dropped),
    "read-only-root": ("Root filesystems are read-only unless a reason is stated.", read_only_root),
    "non-root": ("Containers run as non-root users unless a reason is stated.", runs_as_non_root),
    "memory-limited": ("Every container has a memory limit and no extra swap.", memory_limited),
}


def is_stateful_volume(props: dict) -> bool:
    """Volumes say so in the `mlops.stateful` label; an unlabelled volume counts as stateful."""
    return _labels(props).get("mlops.stateful", "true") != "false"


def volumes_protected_in_production(volumes: list[dict[str, Any]], stack: str) -> list[str]:
    """Stack-level rule: every stateful volume of production is protected."""
    if stack != "production":
        return []
    return [f"volume '{v['name']}' is not protected" for v in volumes if v.get("stateful") and not v.get("protect")]
