"""The node exporter: host CPU, memory and disk, plus the textfile collector that the volume-usage
loop and the backup jobs write their figures into."""

from __future__ import annotations

from ...catalog.context import CatalogContext, Wiring
from ...catalog.model import HostMount, Hardening, MetricsEndpoint, Mount, ServiceSpec, VolumeSpec
from ...configs.dashboards import Panel, Query

NODE_EXPORTER_PORT = 9100
TEXTFILE_DIR = "/textfile"

VOLUMES = (VolumeSpec("metrics-textfile", stateful=False),)


def specs(ctx: CatalogContext, wiring: Wiring) -> list[ServiceSpec]:
    return [
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
    ]


def alert_rules(ctx: CatalogContext) -> list[dict]:
    """A host filesystem running out of space."""
    return [
        {
            "alert": "DiskFilling",
            "expr": '(node_filesystem_avail_bytes{fstype!~"tmpfs|overlay"} / node_filesystem_size_bytes) < 0.10',
            "for": "15m",
            "labels": {"severity": "warning"},
            "annotations": {"summary": "filesystem {{ $labels.mountpoint }} has less than 10% free"},
        },
    ]


#: Its panel of the "Platform overview" dashboard.
DASHBOARD_ROWS = (
    Panel(
        "Filesystem holding the volumes",
        (
            Query(
                '1 - node_filesystem_avail_bytes{mountpoint=~"/|/var/lib/docker"}'
                ' / node_filesystem_size_bytes{mountpoint=~"/|/var/lib/docker"}',
                "{{mountpoint}} used",
            ),
        ),
        unit="percentunit",
        description="Alert DiskFilling fires below 10% free.",
    ),
)
