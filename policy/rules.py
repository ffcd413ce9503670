"""The platform's invariants as plain functions of (resource type, properties, stack).

`__main__.py` wraps them for pulumi-policy; tests call them directly and on the
resources the real program registers.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Callable

CONTAINER = "docker:index/container:Container"
COMMAND = "command:local:Command"
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


def is_pinned(image: str) -> bool:
    """A digest, or a tag other than `latest` (a registry port is not a tag)."""
    if "@sha256:" in image:
        return True
    tail = image.rsplit("/", 1)[-1]
    return bool(_TAG.search(tail)) and not tail.endswith(":latest")


def images_are_pinned(rtype: str, props: dict, stack: str) -> list[str]:
    if rtype != REMOTE_IMAGE:
        return []
    name = props.get("name") or ""
    if not is_pinned(name):
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


def is_loopback_name(host: str) -> bool:
    """`localhost` or a name under it: loopback only (RFC 6761 section 6.3), so no CA can validate it."""
    host = host.strip().lower().rstrip(".")
    return host == "localhost" or host.endswith(".localhost")


def public_services_are_routed_over_https(rtype: str, props: dict, stack: str) -> list[str]:
    if rtype != CONTAINER or stack == "dev":
        return []
    envs = props.get("envs") or []
    if isinstance(envs, str) or not isinstance(envs, Sequence):
        return []  # secret: checked at deploy time (pulumi-policy passes lists as a Sequence proxy, not a list)
    env = dict(e.split("=", 1) for e in envs if "=" in e)
    if "VIRTUAL_HOST" in env and all(is_loopback_name(h) for h in env["VIRTUAL_HOST"].split(",")):
        return []
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


#: The only services that may mount the Docker socket (infra/services/edge/socket_proxy.py SOCKET_PROXIES).
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
    # exception: the socket is root:docker 0660, so it cannot open it (node exporter reads host `/`);
    # or for one that states why it needs the runtime sockets there (cAdvisor: containerd's). The
    # socket itself never.
    non_root = not _exception(props, "user") and runs_as_non_root(rtype, props, stack) == []
    directory_ok = non_root or bool(_exception(props, "runtime_sockets"))
    return [
        f"container '{_name(props)}' mounts the Docker socket ({src}); only the socket proxy may"
        for src in sources
        if src
        and (src.endswith(DOCKER_SOCKET_NAME) or (src.rstrip("/") in ("", "/var", "/var/run", "/run") and not directory_ok))
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


#: `docker update --pids-limit <n> <container>`, as infra/targets/docker/components.py pids_limit_script starts.
_PIDS_UPDATE = re.compile(r"(?:^|[;&|]\s*)docker update --pids-limit (\d+) '?([\w.-]+)'?(?=[\s;&|]|$)")


def pids_limits_applied(resources: list[tuple[str, Mapping]]) -> dict[str, int]:
    """{container name: PID limit} that the stack's commands set with `docker update --pids-limit`."""
    applied: dict[str, int] = {}
    for rtype, props in resources:
        create = props.get("create") if rtype == COMMAND else None
        if isinstance(create, str):
            for limit, name in _PIDS_UPDATE.findall(create):
                applied[name] = int(limit)
    return applied


def containers_pids_limited(resources: list[tuple[str, Mapping]]) -> list[str]:
    """Stack-level rule: every Docker container has a command that sets a positive PID limit on it
    (pulumi-docker 5.2.0 has no `pids_limit`, so a resource rule cannot see it on the container).
    `resources` are (type, properties) of all the stack's resources."""
    applied = pids_limits_applied(resources)
    problems = []
    for rtype, props in resources:
        if rtype != CONTAINER:
            continue
        name = _name(props)
        if applied.get(name, 0) <= 0:
            problems.append(f"container '{name}' has no PID limit (no command runs `docker update --pids-limit <n> {name}`)")
    return problems


# -- Kubernetes (pulumi-kubernetes resources; issue 13) -------------------------------------------
#
# Properties arrive as pulumi-policy's proxies (Mapping/Sequence, not dict/list: pulumi_policy/proxy.py),
# so these rules only use `.get`, indexing and iteration.

#: Resources that carry a pod template (`spec.template`), a Pod itself, or a CronJob's job template.
POD_TEMPLATES = (
    "kubernetes:apps/v1:Deployment",
    "kubernetes:apps/v1:StatefulSet",
    "kubernetes:apps/v1:DaemonSet",
    "kubernetes:batch/v1:Job",
)
POD = "kubernetes:core/v1:Pod"
CRON_JOB = "kubernetes:batch/v1:CronJob"
NAMESPACE = "kubernetes:core/v1:Namespace"
NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
#: The only namespace whose pods may mount host paths: node-exporter's own, `<namespace>-node-exporter`
#: (infra/targets/kubernetes/observability.py node_namespace_name), the catalog's one service with host mounts there.
HOST_PATH_NAMESPACE_SUFFIX = "-node-exporter"


def _pod(rtype: str, props: Mapping) -> tuple[Mapping, Mapping] | None:
    """(pod metadata, pod spec) of a workload, or None for anything else."""
    if rtype == POD:
        template: Mapping | None = props
    elif rtype == CRON_JOB:
        template = (((props.get("spec") or {}).get("jobTemplate") or {}).get("spec") or {}).get("template")
    elif rtype in POD_TEMPLATES:
        template = (props.get("spec") or {}).get("template")
    else:
        return None
    template = template or {}
    return template.get("metadata") or {}, template.get("spec") or {}


def _containers(pod: Mapping) -> list[Mapping]:
    return [*(pod.get("initContainers") or []), *(pod.get("containers") or [])]


def _workload(props: Mapping, container: Mapping) -> str:
    return f"'{(props.get('metadata') or {}).get('name')}' container '{container.get('name')}'"


def _pod_exception(meta: Mapping, key: str) -> str | None:
    """The catalog's stated reason, rendered as the pod annotation `mlops.exception.<key>`."""
    reason = str((meta.get("annotations") or {}).get(EXCEPTION_LABEL + key) or "").strip()
    return reason or None


def _security(container: Mapping) -> Mapping:
    return container.get("securityContext") or {}


def k8s_memory_limited(rtype: str, props: Mapping, stack: str) -> list[str]:
    pod = _pod(rtype, props)
    if pod is None:
        return []
    return [
        f"{_workload(props, c)} has no memory limit"
        for c in _containers(pod[1])
        if not ((c.get("resources") or {}).get("limits") or {}).get("memory")
    ]


def k8s_runs_as_non_root(rtype: str, props: Mapping, stack: str) -> list[str]:
    """A non-zero runAsUser, or runAsNonRoot (the kubelet then refuses a root image); container settings
    win over the pod's. Root only with the catalog's stated reason (`mlops.exception.user`)."""
    pod = _pod(rtype, props)
    if pod is None or _pod_exception(pod[0], "user"):
        return []
    pod_sc = pod[1].get("securityContext") or {}
    problems = []
    for c in _containers(pod[1]):
        sc = _security(c)
        user = sc.get("runAsUser") if sc.get("runAsUser") is not None else pod_sc.get("runAsUser")
        non_root = sc.get("runAsNonRoot") if sc.get("runAsNonRoot") is not None else pod_sc.get("runAsNonRoot")
        if (int(user) == 0) if user is not None else non_root is not True:
            problems.append(f"{_workload(props, c)} may run as root without a stated reason")
    return problems


def k8s_not_privileged(rtype: str, props: Mapping, stack: str) -> list[str]:
    pod = _pod(rtype, props)
    if pod is None:
        return []
    return [f"{_workload(props, c)} runs privileged" for c in _containers(pod[1]) if _security(c).get("privileged")]


def k8s_no_privilege_escalation(rtype: str, props: Mapping, stack: str) -> list[str]:
    """allowPrivilegeEscalation defaults to true: it has to be set to false."""
    pod = _pod(rtype, props)
    if pod is None:
        return []
    return [
        f"{_workload(props, c)} allows privilege escalation"
        for c in _containers(pod[1])
        if _security(c).get("allowPrivilegeEscalation") is not False
    ]


def k8s_capabilities_dropped(rtype: str, props: Mapping, stack: str) -> list[str]:
    """Every capability dropped; any added back needs the catalog's stated reason (`mlops.exception.cap_add`)."""
    pod = _pod(rtype, props)
    if pod is None:
        return []
    problems = []
    for c in _containers(pod[1]):
        caps = _security(c).get("capabilities") or {}
        if "ALL" not in [str(d).upper() for d in caps.get("drop") or []]:
            problems.append(f"{_workload(props, c)} does not drop all capabilities")
        if caps.get("add") and not _pod_exception(pod[0], "cap_add"):
            problems.append(f"{_workload(props, c)} adds capabilities {list(caps['add'])} without a stated reason")
    return problems


def k8s_images_pinned(rtype: str, props: Mapping, stack: str) -> list[str]:
    pod = _pod(rtype, props)
    if pod is None:
        return []
    return [
        f"{_workload(props, c)} image '{c.get('image')}' is not pinned to a version tag or digest"
        for c in _containers(pod[1])
        if not is_pinned(str(c.get("image") or ""))
    ]


def _host_path_volumes(pod: Mapping) -> list[str]:
    return [v.get("name") for v in pod.get("volumes") or [] if v.get("hostPath") is not None]


def k8s_host_paths_only_for_node_exporter(rtype: str, props: Mapping, stack: str) -> list[str]:
    pod = _pod(rtype, props)
    if pod is None or not _host_path_volumes(pod[1]):
        return []
    namespace = str((props.get("metadata") or {}).get("namespace") or "")
    if namespace.endswith(HOST_PATH_NAMESPACE_SUFFIX):
        return []
    name = (props.get("metadata") or {}).get("name")
    return [f"'{name}' mounts host paths outside node-exporter's namespace (*{HOST_PATH_NAMESPACE_SUFFIX})"]


def k8s_host_paths_read_only(rtype: str, props: Mapping, stack: str) -> list[str]:
    pod = _pod(rtype, props)
    if pod is None:
        return []
    host = set(_host_path_volumes(pod[1]))
    return [
        f"{_workload(props, c)} mounts host path volume '{m.get('name')}' writable"
        for c in _containers(pod[1])
        for m in c.get("volumeMounts") or []
        if m.get("name") in host and m.get("readOnly") is not True
    ]


def is_default_deny(spec: Mapping) -> bool:
    """Selects every pod (podSelector {}), covers both directions, and allows nothing."""
    selector = spec.get("podSelector") or {}
    return (
        not selector.get("matchLabels")
        and not selector.get("matchExpressions")
        and sorted(spec.get("policyTypes") or []) == ["Egress", "Ingress"]
        and not spec.get("ingress")
        and not spec.get("egress")
    )


def namespaces_deny_by_default(resources: list[tuple[str, Mapping]]) -> list[str]:
    """Stack-level rule: every Namespace the stack creates holds a default-deny NetworkPolicy.
    `resources` are (type, properties) of all the stack's resources."""
    created = [(p.get("metadata") or {}).get("name") for t, p in resources if t == NAMESPACE]
    denied = {
        (p.get("metadata") or {}).get("namespace")
        for t, p in resources
        if t == NETWORK_POLICY and is_default_deny(p.get("spec") or {})
    }
    return [f"namespace '{n}' has no default-deny NetworkPolicy" for n in created if n not in denied]



# -- Image facts (infra/catalog/image_facts.yaml): volumes a user can write, TLS clients with a CA bundle --------
#
# A container names its image's facts in the `mlops.image` label (infra/targets/docker/components.py); the facts say who the
# image runs as, which mounted paths it has (owner, mode) and whether it has a CA bundle.

#: The facts file, read as plain YAML (the pack imports nothing of the program).
IMAGE_FACTS = Path(__file__).resolve().parents[1] / "infra" / "catalog" / "image_facts.yaml"
IMAGE_LABEL = "mlops.image"
#: A new named volume at a path its image lacks: root:root 0755 (infra/catalog/model.py VOLUME_FROM_ABSENT_PATH).
ABSENT_PATH_VOLUME = (0, 0, 0o755)
#: What infra/targets/docker/components.py `Service._fs_group` runs: `-v volume:path` mounts, then `chgrp <gid> ... && chmod g+rwxs`.
_FS_GROUP = re.compile(r"^docker run --rm --user 0 .*--entrypoint sh (?P<mounts>(?:-v \S+ )+)\S+ -c '?chgrp (?P<gid>\d+) .*chmod g\+rwxs")


@functools.cache
def image_facts() -> dict[str, dict]:
    import yaml

    return yaml.safe_load(IMAGE_FACTS.read_text())["images"]


def _facts(props: Mapping) -> dict | None:
    return image_facts().get(_labels(props).get(IMAGE_LABEL, ""))


def _ids(value: str) -> tuple[int, int]:
    uid, _, gid = str(value).partition(":")
    return int(uid), int(gid or uid)


def container_ids(props: Mapping, facts: dict) -> tuple[int, int]:
    """uid, gid the container's process runs as: its `user` (a name of the image's users, `uid` with the primary
    group the image's passwd gives it, or `uid:gid`), else the image's non-root user label, else the image's USER."""
    user = props.get("user") or _labels(props).get("mlops.image-user")
    if not user:
        return _ids(facts["user"]["value"])
    users = {name: _ids(ids) for name, ids in (facts.get("users") or {}).items()}
    name, _, group = str(user).partition(":")
    if name in users:
        uid, gid = users[name]
    else:
        uid = int(name)
        gid = next((g for u, g in users.values() if u == uid), 0)
    return uid, int(group) if group else gid


def _volume_mounts(props: Mapping) -> list[tuple[str, str, bool]]:
    return [
        (str(v.get("volumeName")), str(v.get("containerPath")), bool(v.get("readOnly")))
        for v in props.get("volumes") or []
        if v.get("volumeName")
    ]


def volumes_as_created(resources: list[tuple[str, Mapping]]) -> dict[str, tuple[int, int, int]]:
    """{volume name: (uid, gid, mode) of its root} once Docker created it and the stack's fs-group commands ran.
    A container created while the volume is empty fills it from its image path (owner and mode included) when
    that path exists; so the result is that owner and mode when every mounter whose image has the path agrees and
    every other mounter only reads, else root:root 0755 (infra/catalog/image_facts.py created_volume). An
    fs-group command then gives the volume to its group, group-writable."""
    mounters: dict[str, list] = {}
    for rtype, props in resources:
        if rtype != CONTAINER:
            continue
        paths = (_facts(props) or {}).get("paths") or {}
        for volume, path, read_only in _volume_mounts(props):
            entry = paths.get(path) or {}
            state = (entry["owner"], str(entry["mode"])) if entry.get("owner") is not None else None
            mounters.setdefault(volume, []).append((state, read_only))
    created = {}
    for volume, states in mounters.items():
        having = {state for state, _ in states if state is not None}
        if len(having) == 1 and all(ro for state, ro in states if state is None):
            (owner, mode), = having
            created[volume] = (*_ids(owner), int(mode, 8))
        else:
            created[volume] = ABSENT_PATH_VOLUME
    for rtype, props in resources:
        create = props.get("create") if rtype == COMMAND else None
        m = _FS_GROUP.match(create) if isinstance(create, str) else None
        if m:
            for mount in m.group("mounts").split():
                volume = mount.split(":", 1)[0]
                if mount != "-v" and volume in created:
                    uid, _, mode = created[volume]
                    created[volume] = (uid, int(m.group("gid")), mode | 0o2070)
    return created


def non_root_writers_own_their_volumes(resources: list[tuple[str, Mapping]]) -> list[str]:
    """Stack-level rule: a container that runs as a non-root user writes a named volume only when the volume, as
    Docker creates it (image facts) and the stack's fs-group commands leave it, lets that user write."""
    created = volumes_as_created(resources)
    problems = []
    for rtype, props in resources:
        if rtype != CONTAINER:
            continue
        writable = [(v, p) for v, p, ro in _volume_mounts(props) if not ro]
        facts = _facts(props)
        if not writable:
            continue
        if facts is None:
            problems.append(f"container '{_name(props)}' writes volumes but its image has no facts (label {IMAGE_LABEL})")
            continue
        uid, gid = container_ids(props, facts)
        if uid == 0:
            continue
        for volume, path in writable:
            owner, group, mode = created[volume]
            if not ((owner == uid and mode & 0o200) or (group == gid and mode & 0o020) or mode & 0o002):
                problems.append(
                    f"container '{_name(props)}' runs as {uid}:{gid} and writes volume '{volume}' at {path}, which is "
                    f"{owner}:{group} {mode:o} as Docker creates it: give the service `fs_group` or mount a path its image owns"
                )
    return problems


def _uploads(props: Mapping) -> dict[str, str]:
    return {str(u.get("file")): u["content"] for u in props.get("uploads") or [] if isinstance(u.get("content"), str)}


def _env(props: Mapping) -> dict[str, str]:
    envs = props.get("envs") or []
    if isinstance(envs, str) or not isinstance(envs, Sequence):
        return {}
    return dict(str(e).split("=", 1) for e in envs if "=" in str(e))


def tls_clients(props: Mapping) -> list[tuple[str, str | None]]:
    """(client, the CA file it is configured with or None) for each HTTPS client the container's configuration sets
    up to verify certificates: pgBackRest against an S3 repository with repo1-storage-verify-tls=y (pgbackrest
    release/2.59.0 src/common/io/tls/client.c L452-463: the CA file, else OpenSSL's default store), rclone against an
    https:// S3 endpoint (its --ca-cert / RCLONE_CA_CERT, else the system roots)."""
    found = []
    for path, content in _uploads(props).items():
        conf = dict(re.findall(r"^\s*([\w-]+)\s*=\s*(.*?)\s*$", content, re.M))
        if conf.get("repo1-type") == "s3" and conf.get("repo1-storage-verify-tls", "y") == "y":
            found.append((f"pgBackRest ({path})", conf.get("repo1-storage-ca-file")))
        if re.search(r"^\s*endpoint\s*=\s*https://", content, re.M) and re.search(r"^\s*type\s*=\s*s3\s*$", content, re.M):
            found.append((f"rclone ({path})", _env(props).get("RCLONE_CA_CERT")))
    return found


def tls_clients_have_ca_certificates(rtype: str, props: Mapping, stack: str) -> list[str]:
    """An HTTPS client configured to verify TLS runs in an image with a CA bundle, or is given the CA file it names."""
    if rtype != CONTAINER:
        return []
    problems = []
    for client, ca_file in tls_clients(props):
        facts = _facts(props)
        if ca_file:
            if ca_file not in _uploads(props):
                problems.append(f"container '{_name(props)}': {client} trusts {ca_file}, which is not uploaded into it")
        elif facts is None:
            problems.append(f"container '{_name(props)}': {client} verifies TLS, and its image has no facts (label {IMAGE_LABEL})")
        elif facts["ca_bundle"]["value"] in (None, "unread"):
            problems.append(
                f"container '{_name(props)}': {client} verifies TLS against the system CA store, and image "
                f"'{_labels(props)[IMAGE_LABEL]}' has none or it was not read ({facts['ca_bundle']['cite']})"
            )
    return problems


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
    "tls-clients-have-ca-certificates": (
        "An HTTPS client configured to verify TLS runs in an image with a CA bundle, or is given its CA file.",
        tls_clients_have_ca_certificates,
    ),
}

#: The Kubernetes rules; each ignores every other resource type, as the Docker rules ignore these.
K8S_RULES: dict[str, tuple[str, Callable[[str, Mapping, str], list[str]]]] = {
    "k8s-memory-limited": ("Every Kubernetes container and init container has a memory limit.", k8s_memory_limited),
    "k8s-non-root": ("Pods run as non-root unless the catalog states a reason.", k8s_runs_as_non_root),
    "k8s-not-privileged": ("No Kubernetes container runs privileged.", k8s_not_privileged),
    "k8s-no-privilege-escalation": ("Every Kubernetes container sets allowPrivilegeEscalation: false.", k8s_no_privilege_escalation),
    "k8s-capabilities-dropped": ("Every Kubernetes container drops ALL capabilities; added ones carry a reason.", k8s_capabilities_dropped),
    "k8s-images-pinned": ("Every Kubernetes container image is pinned to a tag other than latest, or a digest.", k8s_images_pinned),
    "k8s-host-paths-only-for-node-exporter": ("Only node-exporter's namespace mounts host paths.", k8s_host_paths_only_for_node_exporter),
    "k8s-host-paths-read-only": ("Host path volumes are mounted read-only.", k8s_host_paths_read_only),
}


def is_stateful_volume(props: dict) -> bool:
    """Volumes say so in the `mlops.stateful` label; an unlabelled volume counts as stateful."""
    return _labels(props).get("mlops.stateful", "true") != "false"


def volumes_protected_in_production(volumes: list[dict[str, Any]], stack: str) -> list[str]:
    """Stack-level rule: every stateful volume of production is protected."""
    if stack != "production":
        return []
    return [f"volume '{v['name']}' is not protected" for v in volumes if v.get("stateful") and not v.get("protect")]

