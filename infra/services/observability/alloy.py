"""Grafana Alloy: ships every container log of the stack to Loki, reading Docker through the
read-only socket proxy."""

from __future__ import annotations

from ...catalog.context import CatalogContext, Wiring
from ...catalog.model import UPLOADS_NEED_WRITABLE_ROOT, ConfigFile, Dependency, Hardening, MetricsEndpoint, ServiceSpec
from ...configs import observability as cfg
from ..edge.socket_proxy import READ_PROXY, docker_host


def specs(ctx: CatalogContext, wiring: Wiring) -> list[ServiceSpec]:
    return [
        ServiceSpec(
            name="alloy",
            layer="observability",
            image=ctx.image("alloy"),
            networks=("backend", "dockerapi"),
            port=cfg.PORTS["alloy"],
            hostname="alloy",
            # The image's `alloy` user (grafana/alloy Dockerfile, read at v1.19.0-rc.3: uid 473 owns
            # /var/lib/alloy; the image sets no USER). It reaches Docker through the read-only proxy.
            user="473:473",
            command=(
                "run",
                f"--server.http.listen-addr=0.0.0.0:{cfg.PORTS['alloy']}",
                "--storage.path=/var/lib/alloy/data",
                "/etc/alloy/config.alloy",
            ),
            files=(ConfigFile("/etc/alloy/config.alloy", cfg.alloy_config(ctx.settings, docker_host(READ_PROXY))),),
            depends_on=(Dependency(READ_PROXY),),
            metrics=MetricsEndpoint(cfg.PORTS["alloy"]),
            memory_mb=512,
            hardening=Hardening(read_only=False, exceptions={"read_only": UPLOADS_NEED_WRITABLE_ROOT}),
            description="Grafana Alloy: ships container logs to Loki",
        ),
    ]
