"""The vocabulary of the service catalog.

A `ServiceSpec` says everything about one service — image, port, public route,
healthcheck, volumes, networks, dependencies, environment, secrets, config
files — and nothing about Pulumi. The generic components in `infra.targets.docker.components`
turn specs into resources, so tests, the policy pack and the README diagram can
read the same catalog.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from typing import Any, Callable, Literal

#: edge: shared with the proxy; backend: internal, no route out; egress: outbound only (no proxy);
#: dockerapi / dockeredge: internal, only a Docker socket proxy and its clients (infra/services/edge/socket_proxy.py).
Network = Literal["edge", "backend", "egress", "dockerapi", "dockeredge"]

#: What a `Hardening.exceptions` key may name: a setting a container keeps against the default.
EXCEPTION_KEYS = ("read_only", "user", "cap_add", "runtime_sockets")

#: Tasks a container may hold at once (its cgroup's `pids.max`) unless the catalog states more. The pids
#: controller counts threads, not just processes: "PIDs used in this controller refer to TIDs"
#: (Linux Documentation/admin-guide/cgroup-v2.rst, "PID"), and fork()/clone() beyond it fail with EAGAIN.
DEFAULT_PIDS_LIMIT = 256


@dataclass(frozen=True)
class BuiltImage:
    """One of our own images: pulled from GHCR, or built from `app/` on the dev stack."""

    name: str  # e.g. "api" -> ghcr.io/<owner>/mlops-api:<tag>
    dockerfile: str  # relative to the repository root


@dataclass(frozen=True)
class Healthcheck:
    test: tuple[str, ...]
    interval: str = "10s"
    timeout: str = "5s"
    retries: int = 12
    start_period: str = "30s"


@dataclass(frozen=True)
class RateLimit:
    """Requests per client address at the proxy (nginx `limit_req ... nodelay`): `burst` requests at
    once beyond the steady `per_second`; more get 429."""

    per_second: int = 10
    burst: int = 50


@dataclass(frozen=True)
class PublicRoute:
    port: int
    basic_auth: bool = False  # HTTP basic auth at the proxy (for apps without their own login)
    max_body: str = "1m"
    #: The request body goes to the app as it arrives (nginx `proxy_request_buffering off`), not first
    #: to the proxy's disk: for an app that reads large bodies as streams and answers mid-body.
    stream_body: bool = False
    links: tuple[tuple[str, str], ...] = ()  # extra stack-output URLs: (name, path)
    rate_limit: RateLimit = RateLimit()


@dataclass(frozen=True)
class Mount:
    volume: str  # key of a named volume in the catalog
    path: str
    read_only: bool = False


@dataclass(frozen=True)
class HostMount:
    host_path: str
    path: str
    read_only: bool = True
    #: Bind propagation, e.g. "rslave": host mounts made after start appear inside too.
    propagation: str | None = None


@dataclass(frozen=True)
class Device:
    """A host device node handed to the container (cgroup permissions, e.g. "r")."""

    host_path: str
    path: str
    permissions: str = "r"


@dataclass(frozen=True)
class ConfigFile:
    path: str
    content: Any  # str or pulumi Output[str]
    secret: bool = False


@dataclass(frozen=True)
class Dependency:
    service: str
    healthy: bool = True  # wait for the healthcheck, not just for creation


@dataclass(frozen=True)
class MetricsEndpoint:
    port: int
    path: str = "/metrics"


@dataclass(frozen=True)
class Bootstrap:
    """A post-start script run inside the service's container (`docker exec`), idempotent."""

    script: str
    env: dict[str, Any] = field(default_factory=dict)  # name -> secret Output
    #: Why the Kubernetes target cannot run it as a Job against the service over the network (empty: it can).
    docker_only: str = ""


@dataclass(frozen=True)
class FreshBackup:
    """A backup taken right before a migration, by a command run in `service`'s container (`docker exec`)."""

    service: str
    command: tuple[str, ...]


@dataclass(frozen=True)
class Migration:
    """A one-shot step that migrates the service's data with its new image before the new version starts.

    Both targets run `command` in a container of the service's own image (same user, memory limit and
    hardening), given only the service's variables named in `env`, and start the service only after it
    succeeded: a failed migration stops the rollout and the running version stays as it was. It runs
    again whenever the image changes, so it must be idempotent. `reaches` are the dependencies it talks
    to (Kubernetes opens exactly those edges); `backup` is taken first where that service is rendered.
    """

    command: tuple[str, ...]
    env: tuple[str, ...]
    reaches: tuple[str, ...]
    backup: FreshBackup | None = None


@dataclass(frozen=True)
class UnsafeUpgrade:
    """Why a change of a service's data version would lose or refuse its data, and what makes it safe."""

    reason: str
    #: What the user runs first (a command or the docs section that has them); STACK in it becomes the stack's name.
    remedy: str


#: Stands for the stack's name in an `UnsafeUpgrade.remedy` (infra/upgrade_guards.py fills it in).
STACK = "<stack>"


@dataclass(frozen=True)
class DataVersion:
    """The version that decides the format of a service's data on its volume. The program exports it
    (`dataVersions`) and the next preview compares against it (infra/upgrade_guards.py).

    `unsafe(old, new, target)` says why moving the data from `old` to `new` is unsafe on that target, or
    None when the new release reads the old data as it is."""

    version: str
    unsafe: Callable[[str, str, str], UnsafeUpgrade | None]


@dataclass(frozen=True)
class Hardening:
    """Least privilege for one container. Every container runs with `no-new-privileges`, every
    capability dropped, never privileged, with a memory limit; by default its root filesystem is
    read-only (writable paths as tmpfs) and it runs as a non-root user.

    Anything else is an exception with a one-line reason in `exceptions` (keys: EXCEPTION_KEYS):
    `read_only` for a writable root, `user` for a container that runs as root, `cap_add` for
    capabilities added back, `runtime_sockets` for a root container binding a host directory that holds
    the Docker and containerd sockets (never the socket itself). The reasons travel as `mlops.exception.<key>` labels, which the policy
    pack reads.

    Every container also gets a PID limit (`pids_limit`, the cgroup's `pids.max`, threads included);
    one other than DEFAULT_PIDS_LIMIT states its one-line reason in `pids_reason`. It stays in the
    catalog: the Docker target applies the limit after creation (`docker update`, see
    `infra.targets.docker.components.Service`), the Kubernetes target cannot set it per pod (a kubelet setting).
    """

    read_only: bool = True
    tmpfs: tuple[tuple[str, str], ...] = ()  # (path, mount options), e.g. ("/tmp", "size=64m")
    cap_add: tuple[str, ...] = ()  # e.g. "SYSLOG"
    #: The non-root user the image itself declares (`USER` in its Dockerfile), when the catalog sets
    #: no `user`: rendered as the `mlops.image-user` label so the policy can tell it from root.
    image_user: str | None = None
    exceptions: dict[str, str] = field(default_factory=dict)
    pids_limit: int = DEFAULT_PIDS_LIMIT
    pids_reason: str = ""


#: Why the Go storage engines (Prometheus, Loki, Tempo, Mimir, MinIO) get more than DEFAULT_PIDS_LIMIT: the Go
#: runtime runs a thread per CPU (GOMAXPROCS) and parks one more on each disk syscall in flight.
GO_STORAGE_PIDS_REASON = "Go runtime: a thread per CPU plus one per blocking disk syscall (WAL, compaction, block reads)"


#: Why a container with uploaded config files keeps a writable root: the provider copies `uploads`
#: into the created container before starting it (CopyToContainer, kreuzwerker
#: terraform-provider-docker v4.5.0 internal/provider/resource_docker_container_funcs.go L577-586), and
#: Docker refuses that copy into a read-only root filesystem unless the path is on a writable volume
#: (moby daemon/archive_unix.go checkIfPathIsInAVolume; "container rootfs is marked read-only").
UPLOADS_NEED_WRITABLE_ROOT = "config files are uploaded before start, which Docker refuses on a read-only root"


@dataclass(frozen=True)
class RollingUpdate:
    """An update starts the new container beside the old one, waits until it is healthy and only then stops and
    removes the old one, which gets `ServiceSpec.stop_grace_seconds` to finish what it is doing (requests, a job).

    Only for services that keep no data of their own: for a moment two containers run side by side, and nothing
    may have two writers at once (a database on its volume would be corrupted, and the volume's lock refuses the
    second server). `why` says why running two at once is safe for this service.
    """

    why: str


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    layer: Literal["edge", "data", "observability", "application"]
    image: str | BuiltImage
    networks: tuple[Network, ...]
    port: int | None = None
    public: PublicRoute | None = None
    healthcheck: Healthcheck | None = None
    mounts: tuple[Mount | HostMount, ...] = ()
    files: tuple[ConfigFile, ...] = ()
    env: dict[str, Any] = field(default_factory=dict)
    secret_env: dict[str, Any] = field(default_factory=dict)
    depends_on: tuple[Dependency, ...] = ()
    command: tuple[str, ...] | None = None
    entrypoint: tuple[str, ...] | None = None  # replaces the image's ENTRYPOINT (e.g. rclone's)
    user: str | None = None
    hostname: str | None = None
    replicas: int = 1
    memory_mb: int | None = None
    #: CPU the service needs at steady load, in millicores: the Kubernetes CPU request, which a CPU
    #: autoscaler measures utilisation against (the Docker target sets no CPU reservation).
    cpu_millicores: int | None = None
    host_ports: tuple[int, ...] = ()
    pid_namespace: Literal["host"] | None = None  # None: the container's own
    devices: tuple[Device, ...] = ()
    hardening: Hardening = field(default_factory=Hardening)
    labels: dict[str, str] = field(default_factory=dict)
    metrics: MetricsEndpoint | None = None
    bootstrap: Bootstrap | None = None
    migration: Migration | None = None
    #: Kubernetes' pod `fsGroup`, given on Docker too: before the service starts, the root of each named volume it
    #: mounts writable is given to this group and made group-writable (`volume_group_script`, what the kubelet
    #: does). Docker creates a new volume root:root 0755 unless the image has the mount path, and no non-root
    #: user can write that (VOLUME_FROM_ABSENT_PATH).
    fs_group: int | None = None
    #: How an update replaces the service's containers on Docker (`RollingUpdate`); None: the old container is
    #: stopped and removed first, then the new one created under the same fixed name (a short outage).
    rolling_update: RollingUpdate | None = None
    #: Seconds a removed container gets between SIGTERM (the image's stop signal) and SIGKILL. The Docker provider
    #: stops a container with no grace at all unless told (`destroy_grace_seconds`); 10 is `docker stop`'s default.
    stop_grace_seconds: int = 10
    #: The version its data's format depends on, guarded against unsafe changes at preview (`DataVersion`).
    data_version: DataVersion | None = None
    description: str = ""

    @property
    def waits_for_health(self) -> bool:
        return self.healthcheck is not None


#: (uid, gid, mode) Docker gives a new named volume mounted at a path its image does not have. moby at
#: docker-v29.7.2: the local driver creates the volume's directory root-owned 0755 (daemon/volume/local/local.go
#: L193 `user.MkdirAllAndChown(v.path, 0o755, r.rootUID, r.rootGID)`); a container's creation copies content,
#: owner and mode into it only from an image path that exists and only while the volume is empty
#: (daemon/create_unix.go `populateVolume` L106-110 returns on IsNotExist; daemon/container/container_unix.go
#: `copyExistingContents` L385-397).
VOLUME_FROM_ABSENT_PATH = (0, 0, 0o755)


def volume_group_script(gid: int, paths: list[str]) -> str:
    """What `fs_group` runs as root on the volume roots: group `gid`, group-writable, new files inherit the
    group (setgid), as the kubelet applies a pod's fsGroup (Kubernetes "Configure a Security Context":
    "the owner for volume /data/demo and any files created in that volume will be Group ID 2000")."""
    quoted = " ".join(shlex.quote(p) for p in paths)
    return f"chgrp {gid} {quoted} && chmod g+rwxs {quoted}"


@dataclass(frozen=True)
class VolumeSpec:
    name: str
    stateful: bool = True  # protected and retained on production stacks


@dataclass
class Catalog:
    services: dict[str, ServiceSpec]
    volumes: dict[str, VolumeSpec]

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Reject references that would only fail at deploy time."""
        for spec in self.services.values():
            for dep in spec.depends_on:
                if dep.service not in self.services:
                    raise ValueError(f"{spec.name}: depends on unknown service '{dep.service}'")
                if dep.healthy and self.services[dep.service].healthcheck is None:
                    raise ValueError(f"{spec.name}: waits for '{dep.service}', which has no healthcheck")
            for mount in spec.mounts:
                if isinstance(mount, Mount) and mount.volume not in self.volumes:
                    raise ValueError(f"{spec.name}: mounts unknown volume '{mount.volume}'")
            if spec.public and "edge" not in spec.networks:
                raise ValueError(f"{spec.name}: public services must join the edge network")
            self._validate_hardening(spec)
            self._validate_migration(spec)
            self._validate_rolling_update(spec)
        self.startup_order()  # raises on cycles

    @staticmethod
    def _validate_rolling_update(spec: ServiceSpec) -> None:
        """Two containers side by side must not share a writable volume or a host port, and the switch waits for health."""
        if spec.rolling_update is None:
            return
        if not spec.rolling_update.why.strip():
            raise ValueError(f"{spec.name}: a rolling update must say why two containers may run at once")
        writable = sorted(m.volume for m in spec.mounts if isinstance(m, Mount) and not m.read_only)
        if writable:
            raise ValueError(f"{spec.name}: a rolling update would run two writers on the volumes {writable}")
        if spec.host_ports:
            raise ValueError(f"{spec.name}: a rolling update cannot start a second container on host ports {list(spec.host_ports)}")
        if spec.healthcheck is None:
            raise ValueError(f"{spec.name}: a rolling update needs a healthcheck to know when the new container can take over")

    def _validate_migration(self, spec: ServiceSpec) -> None:
        """A migration reads only the service's own variables and reaches only what the service waits for."""
        m = spec.migration
        if m is None:
            return
        unknown = set(m.env) - set(spec.env) - set(spec.secret_env)
        if unknown:
            raise ValueError(f"{spec.name}: the migration names variables the service does not have: {sorted(unknown)}")
        if "backend" not in spec.networks:
            raise ValueError(f"{spec.name}: a migration runs on the backend network, which the service does not join")
        waits_for = {d.service for d in spec.depends_on if d.healthy}
        if not set(m.reaches) <= waits_for:
            raise ValueError(f"{spec.name}: the migration reaches {sorted(set(m.reaches) - waits_for)}, which the service does not wait for")
        if m.backup and m.backup.service not in self.services:
            raise ValueError(f"{spec.name}: the migration's backup names unknown service '{m.backup.service}'")

    @staticmethod
    def _validate_hardening(spec: ServiceSpec) -> None:
        """Each exception is stated with a reason, and no stated setting would fail at deploy time."""
        h = spec.hardening
        unknown = set(h.exceptions) - set(EXCEPTION_KEYS)
        if unknown:
            raise ValueError(f"{spec.name}: unknown hardening exceptions {sorted(unknown)}")
        if any(not reason.strip() or "\n" in reason for reason in h.exceptions.values()):
            raise ValueError(f"{spec.name}: every hardening exception needs a one-line reason")
        if not h.read_only and "read_only" not in h.exceptions:
            raise ValueError(f"{spec.name}: a writable root filesystem needs a reason (exceptions['read_only'])")
        if h.read_only and spec.files:
            raise ValueError(f"{spec.name}: uploads need a writable root ({UPLOADS_NEED_WRITABLE_ROOT})")
        if h.cap_add and "cap_add" not in h.exceptions:
            raise ValueError(f"{spec.name}: added capabilities need a reason (exceptions['cap_add'])")
        if runs_as_root(spec) and "user" not in h.exceptions:
            raise ValueError(f"{spec.name}: runs as root without a reason (set `user`, `image_user` or exceptions['user'])")
        if spec.fs_group is not None and not any(isinstance(m, Mount) and not m.read_only for m in spec.mounts):
            raise ValueError(f"{spec.name}: fs_group without a writable named volume to give to it")
        if spec.memory_mb is None:
            raise ValueError(f"{spec.name}: every container needs a memory limit")
        if h.pids_limit <= 0:  # `docker update --pids-limit` reads 0 as "unchanged" and -1 as unlimited
            raise ValueError(f"{spec.name}: the PID limit must be positive, not {h.pids_limit}")
        if h.pids_limit != DEFAULT_PIDS_LIMIT and (not h.pids_reason.strip() or "\n" in h.pids_reason):
            raise ValueError(f"{spec.name}: a PID limit other than {DEFAULT_PIDS_LIMIT} needs a one-line reason (pids_reason)")

    def startup_order(self) -> list[str]:
        order: list[str] = []
        state: dict[str, int] = {}

        def visit(name: str, path: tuple[str, ...]) -> None:
            if state.get(name) == 2:
                return
            if state.get(name) == 1:
                raise ValueError(f"dependency cycle: {' -> '.join(path + (name,))}")
            state[name] = 1
            for dep in self.services[name].depends_on:
                visit(dep.service, path + (name,))
            migration = self.services[name].migration
            if migration and migration.backup:  # its backup is taken before the service starts
                visit(migration.backup.service, path + (name,))
            state[name] = 2
            order.append(name)

        for name in self.services:
            visit(name, ())
        return order

    def public(self) -> dict[str, ServiceSpec]:
        return {n: s for n, s in self.services.items() if s.public}


def runs_as_root(spec: ServiceSpec) -> bool:
    """Whether the container's process starts as uid 0 (catalog `user`, else the image's own)."""
    if spec.user is not None:
        return spec.user.split(":", 1)[0] in ("0", "root")
    return spec.hardening.image_user is None


def python_http_check(url: str) -> Healthcheck:
    """Healthcheck for our Python images (no curl inside)."""
    code = f"import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('{url}', timeout=4).status == 200 else 1)"
    return Healthcheck(("CMD", "python", "-c", code))
