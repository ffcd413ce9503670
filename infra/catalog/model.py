"""The vocabulary of the service catalog.

A `ServiceSpec` says everything about one service — image, port, public route,
healthcheck, volumes, networks, dependencies, environment, secrets, config
files — and nothing about Pulumi. The generic components in `infra.components`
turn specs into resources, so tests, the policy pack and the README diagram can
read the same catalog.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

#: edge: shared with the proxy; backend: internal, no route out; egress: outbound only (no proxy).
Network = Literal["edge", "backend", "egress"]


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
    host_ports: tuple[int, ...] = ()
    pid_namespace: Literal["host"] | None = None  # None: the container's own
    devices: tuple[Device, ...] = ()
    capabilities: tuple[str, ...] = ()  # added to the default set, e.g. "SYSLOG"
    labels: dict[str, str] = field(default_factory=dict)
    metrics: MetricsEndpoint | None = None
    bootstrap: Bootstrap | None = None
    description: str = ""

    @property
    def waits_for_health(self) -> bool:
        return self.healthcheck is not None


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
        self.startup_order()  # raises on cycles

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
            state[name] = 2
            order.append(name)

        for name in self.services:
            visit(name, ())
        return order

    def public(self) -> dict[str, ServiceSpec]:
        return {n: s for n, s in self.services.items() if s.public}
