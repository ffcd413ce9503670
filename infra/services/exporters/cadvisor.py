"""cAdvisor: CPU, memory and disk of every container, reading the Docker API through the read-only
socket proxy."""

from __future__ import annotations

from ...catalog.context import CatalogContext, Wiring
from ...catalog.model import Dependency, Device, Hardening, HostMount, MetricsEndpoint, ServiceSpec
from ...configs.dashboards import RATE, Panel, Query
from ..edge.socket_proxy import READ_PROXY, docker_host

CADVISOR_PORT = 8080
#: Container labels cAdvisor turns into metric labels (container_label_mlops_service, ...).
CONTAINER_LABELS = "mlops.stack,mlops.service"
#: The host's containerd socket as cAdvisor sees it through its /var/run mount.
CONTAINERD_SOCKET = "/var/run/containerd/containerd.sock"


def per_service(expr: str) -> Query:
    """A cAdvisor expression summed per catalog service (the container label cAdvisor keeps)."""
    return Query(f"sum by (container_label_mlops_service) ({expr})", "{{container_label_mlops_service}}")


SERVICE = 'container_label_mlops_service!=""'


def specs(ctx: CatalogContext, wiring: Wiring) -> list[ServiceSpec]:
    return [
        ServiceSpec(
            name="cadvisor",
            layer="observability",
            image=ctx.image("cadvisor"),
            networks=("backend", "dockerapi"),
            port=CADVISOR_PORT,
            hostname="cadvisor",
            # Upstream's mounts, all read-only (google/cadvisor README.md and deploy/kubernetes/base/daemonset.yaml
            # at v0.57.0), each needed on a Docker Engine 29 host:
            # - / at /rootfs: with /rootfs/proc present cAdvisor reads every path under /rootfs
            #   (manager/manager.go `inHostNamespace`), container_network_* among them from the host's
            #   /proc/<pid>/net/dev (container/libcontainer/handler.go networkStatsFromProc). Without it they
            #   come from this container's own /proc, which has no host pids, and are missing.
            # - /var/run: containerd's socket. Storage driver `overlayfs` (the containerd image store, Engine
            #   29's default) makes cAdvisor open a containerd client and load each container's spec from it
            #   (container/docker/factory.go Register, container/docker/handler.go); without the socket no
            #   Docker container registers. The `containerd` flag below names it under this mount.
            # - /var/lib/docker: the overlay2 layer database and the overlayfs snapshots' root paths.
            # Through / and /var/run cAdvisor (root) can reach the Docker and containerd sockets; the exception
            # below says so. Its Docker API calls still go through the read-only socket proxy (`--docker`).
            mounts=(
                HostMount("/", "/rootfs"),
                HostMount("/var/run", "/var/run"),
                HostMount("/sys", "/sys"),
                HostMount("/var/lib/docker", "/var/lib/docker"),
                HostMount("/dev/disk", "/dev/disk"),
            ),
            # OOM kills are read from the kernel log (google/cadvisor README.md at v0.57.0:
            # `--device=/dev/kmsg`). Read access suffices; hosts with kernel.dmesg_restrict=1
            # (Debian and Ubuntu default) also require CAP_SYSLOG to open it. Upstream runs the
            # container --privileged instead; these two grants are what the OOM watcher needs.
            devices=(Device("/dev/kmsg", "/dev/kmsg", "r"),),
            depends_on=(Dependency(READ_PROXY),),
            command=(
                # The Docker API through the read-only socket proxy (flag `docker`, container/docker/factory.go).
                f"--docker={docker_host(READ_PROXY)}",
                # containerd's socket through the /var/run mount, as a path that holds whether the image's
                # /var/run is a directory or a link to /run (flag `containerd`, container/containerd/factory.go).
                f"--containerd={CONTAINERD_SOCKET}",
                "--docker_only=true",
                "--housekeeping_interval=15s",
                "--store_container_labels=false",
                f"--whitelisted_container_labels={CONTAINER_LABELS}",
                "--disable_metrics=percpu,sched,tcp,udp,hugetlb,referenced_memory,cpu_topology,resctrl,advtcp,process",
            ),
            metrics=MetricsEndpoint(CADVISOR_PORT),
            memory_mb=256,
            hardening=Hardening(
                tmpfs=(("/tmp", "size=16m"),),
                cap_add=("SYSLOG",),
                exceptions={
                    "user": "reads the host's /, /sys and /var/lib/docker, which are root's",
                    "cap_add": "SYSLOG opens /dev/kmsg for OOM events where kernel.dmesg_restrict=1 (upstream runs --privileged)",
                    "runtime_sockets": "upstream binds / and /var/run read-only; on the containerd image store cAdvisor must use containerd's socket there",
                },
                pids_limit=512,
                pids_reason="Go runtime: a thread per CPU plus one per blocking cgroup/sysfs read, per container housekeeping",
            ),
            description="cAdvisor: CPU, memory and disk of every container",
        ),
    ]


#: Its panels of the "Platform overview" dashboard.
DASHBOARD_ROWS = (
    Panel("Container CPU", (per_service(f"rate(container_cpu_usage_seconds_total{{{SERVICE}}}[{RATE}])"),), unit="cores"),
    Panel("Container memory", (per_service(f"container_memory_working_set_bytes{{{SERVICE}}}"),), unit="bytes"),
)
