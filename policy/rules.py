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


RULES: dict[str, tuple[str, Callable[[str, dict, str], list[str]]]] = {
    "only-proxy-publishes-ports": ("Only nginx-proxy publishes host ports.", only_proxy_publishes_ports),
    "images-pinned": ("Every image is pinned to a tag other than latest, or a digest.", images_are_pinned),
    "private-services-off-edge": ("PostgreSQL and Prometheus only join the internal network.", postgres_stays_off_the_edge),
    "backend-network-internal": ("The backend network is internal.", backend_network_is_internal),
    "public-over-https": ("Public services on TLS stacks request a certificate.", public_services_are_routed_over_https),
    "host-paths-read-only": ("Host paths (Docker socket, host metrics) are mounted read-only.", host_paths_are_read_only),
}


def is_stateful_volume(props: dict) -> bool:
    """Volumes say so in the `mlops.stateful` label; an unlabelled volume counts as stateful."""
    return _labels(props).get("mlops.stateful", "true") != "false"


def volumes_protected_in_production(volumes: list[dict[str, Any]], stack: str) -> list[str]:
    """Stack-level rule: every stateful volume of production is protected."""
    if stack != "production":
        return []
    return [f"volume '{v['name']}' is not protected" for v in volumes if v.get("stateful") and not v.get("protect")]
