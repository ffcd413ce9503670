"""Exporters for what has no metrics endpoint of its own: the host (node exporter),
every container (cAdvisor), the stack's volumes (a `du` loop feeding the node
exporter's textfile collector), PostgreSQL, and on TLS stacks the certificates the
proxy serves (blackbox exporter). They join only the internal network, except the
blackbox exporter, which reaches the proxy where the certificates live.
"""

from __future__ import annotations

from ..configs import observability as cfg
from . import data as d
from .context import CatalogContext
from .docker_api import READ_PROXY, docker_host
from .model import (
    UPLOADS_NEED_WRITABLE_ROOT,
    ConfigFile,
    Dependency,
    Device,
    Hardening,
    HostMount,
    MetricsEndpoint,
    Mount,
    ServiceSpec,
    VolumeSpec,
)

NODE_EXPORTER_PORT = 9100
CADVISOR_PORT = 8080
POSTGRES_EXPORTER_PORT = 9187

#: Container labels cAdvisor turns into metric labels (container_label_mlops_service, ...).
CONTAINER_LABELS = "mlops.stack,mlops.service"
#: Where Docker keeps named volumes on the host (its default data root).
DOCKER_VOLUMES = "/var/lib/docker/volumes"
TEXTFILE_DIR = "/textfile"
#: The host's containerd socket as cAdvisor sees it through its /var/run mount.
CONTAINERD_SOCKET = "/var/run/containerd/containerd.sock"

VOLUMES = (VolumeSpec("metrics-textfile", stateful=False),)

#: Measures each volume of the stack (VOLUMES: `key=docker-name` pairs) every INTERVAL seconds and
#: writes the node exporter's textfile format atomically (the collector ignores the `.tmp` file).
#: ONCE=1 runs one round.
VOLUME_USAGE_SCRIPT = r"""
set -eu
out="$TEXTFILE_DIR/volumes.prom"
while true; do
  {
    echo "# HELP mlops_volume_used_bytes Disk space used by a Docker volume of this stack."
    echo "# TYPE mlops_volume_used_bytes gauge"
    for entry in $VOLUMES; do
      volume="${entry%%=*}"
      dir="$VOLUMES_DIR/${entry#*=}/_data"
      [ -d "$dir" ] || continue
      kib=$(du -sk "$dir" 2>/dev/null | cut -f1)
      if [ -n "$kib" ]; then
        echo "mlops_volume_used_bytes{volume=\"$volume\"} $((kib * 1024))"
      fi
    done
  } > "$out.tmp"
  mv "$out.tmp" "$out"
  if [ "${ONCE:-0}" = 1 ]; then exit 0; fi
  sleep "$INTERVAL"
done
"""


def exporter_services(ctx: CatalogContext, volumes: list[str]) -> list[ServiceSpec]:
    services = [
        ServiceSpec(
            name="node-exporter",
            layer="observability",
            image=ctx.image("node-exporter"),
            networks=("backend",),
            port=NODE_EXPORTER_PORT,
            hostname="node-exporter",
            # The host's root, read-only, `rslave` so filesystems mounted after start show too
            # (prometheus/node_exporter README.md at v1.12.1: `-v "/:/host:ro,rslave"`).
            mounts=(
                HostMount("/", "/host", propagation="rslave"),
                Mount("metrics-textfile", TEXTFILE_DIR, read_only=True),
            ),
            # Namespaces, decided one by one (upstream runs both pid and net "host"):
            # - pid: host. /host/proc/self must resolve to this process for the process and
            #   /proc/net readers; the exporter (user nobody) then sees the host's process list,
            #   which it only counts. Read-only information, accepted.
            # - net: the container's own (backend network). Host networking would publish 9100 on
            #   every host interface (the public one included) and leave Prometheus, which sits on
            #   the internal network without a route to the host, unable to scrape it. The price:
            #   node_network_* figures describe this container's interface, not the host's NICs;
            #   no dashboard panel or alert uses them.
            pid_namespace="host",
            command=(
                "--path.rootfs=/host",
                "--path.procfs=/host/proc",
                "--path.sysfs=/host/sys",
                "--collector.filesystem.mount-points-exclude=^/(dev|proc|run|sys|var/lib/docker/.+)($|/)",
                f"--collector.textfile.directory={TEXTFILE_DIR}",
            ),
            metrics=MetricsEndpoint(NODE_EXPORTER_PORT),
            memory_mb=128,
            hardening=Hardening(image_user="nobody"),  # prometheus/node_exporter Dockerfile at v1.12.1: USER nobody
            description="node exporter: host CPU, memory and disk",
        ),
        ServiceSpec(
            name="volume-usage",
            layer="observability",
            image=ctx.image("volume-usage"),
            networks=("backend",),
            mounts=(HostMount(DOCKER_VOLUMES, "/volumes"), Mount("metrics-textfile", TEXTFILE_DIR)),
            command=("sh", "-c", VOLUME_USAGE_SCRIPT),
            env={
                "VOLUMES": " ".join(f"{key}={ctx.settings.docker_name(key)}" for key in sorted(volumes)),
                "VOLUMES_DIR": "/volumes",
                "TEXTFILE_DIR": TEXTFILE_DIR,
                "INTERVAL": "300",
            },
            memory_mb=32,
            hardening=Hardening(
                cap_add=("DAC_READ_SEARCH",),
                exceptions={
                    "user": "busybox declares no USER; `du` must read volumes whatever user owns their files",
                    "cap_add": "DAC_READ_SEARCH lets `du` walk other users' volume directories (read-only)",
                },
            ),
            description="disk use of each volume of the stack, for the node exporter",
        ),
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
        ServiceSpec(
            name="postgres-exporter",
            layer="observability",
            image=ctx.image("postgres-exporter"),
            networks=("backend",),
            port=POSTGRES_EXPORTER_PORT,
            hostname="postgres-exporter",
            files=(
                ConfigFile(
                    "/run/secrets/postgres_monitor_password", ctx.secrets.get("postgresMonitorPassword"), secret=True
                ),
            ),
            env={
                "DATA_SOURCE_URI": "postgres:5432/postgres?sslmode=disable",
                "DATA_SOURCE_USER": d.MONITORING_DB_USER,
                "DATA_SOURCE_PASS_FILE": "/run/secrets/postgres_monitor_password",
            },
            # Waits for the bootstrap too, which creates the monitoring role.
            depends_on=(Dependency("postgres"),),
            metrics=MetricsEndpoint(POSTGRES_EXPORTER_PORT),
            memory_mb=128,
            hardening=Hardening(read_only=False, image_user="nobody", exceptions={"read_only": UPLOADS_NEED_WRITABLE_ROOT}),
            description="PostgreSQL exporter (read-only pg_monitor role)",
        ),
    ]
    if ctx.settings.tls and ctx.runs_proxy:
        services.append(
            ServiceSpec(
                name=cfg.CERTIFICATE_PROBER,
                layer="observability",
                image=ctx.image("blackbox"),
                networks=("backend", "edge"),
                port=cfg.PORTS["blackbox"],
                hostname=cfg.CERTIFICATE_PROBER,
                # Its Dockerfile sets no USER (read at v0.28.0); TCP and TLS probes need no root.
                user="65534",
                command=("--config.file=/etc/blackbox/blackbox.yml",),
                files=(ConfigFile("/etc/blackbox/blackbox.yml", cfg.blackbox_config(ctx.settings.public_hosts)),),
                metrics=MetricsEndpoint(cfg.PORTS["blackbox"]),
                memory_mb=64,
                hardening=Hardening(read_only=False, exceptions={"read_only": UPLOADS_NEED_WRITABLE_ROOT}),
                description="blackbox exporter: expiry of the certificates the proxy serves",
            )
        )
    return services
