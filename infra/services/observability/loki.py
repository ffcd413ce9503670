"""Loki: the log store, fed by Alloy."""

from __future__ import annotations

from ...catalog.context import CatalogContext, Wiring
from ...catalog.model import (
    GO_STORAGE_PIDS_REASON,
    UPLOADS_NEED_WRITABLE_ROOT,
    ConfigFile,
    Hardening,
    MetricsEndpoint,
    Mount,
    ServiceSpec,
    VolumeSpec,
)
from ...configs import observability as cfg

VOLUMES = (VolumeSpec("loki"),)


def specs(ctx: CatalogContext, wiring: Wiring) -> list[ServiceSpec]:
    s = ctx.settings
    return [
        ServiceSpec(
            name="loki",
            layer="observability",
            image=ctx.image("loki"),
            networks=("backend",),
            port=cfg.PORTS["loki"],
            hostname="loki",
            command=("-config.file=/etc/loki/config.yaml",),
            files=(ConfigFile("/etc/loki/config.yaml", cfg.loki_config(s)),),
            mounts=(Mount("loki", "/loki"),),
            metrics=MetricsEndpoint(cfg.PORTS["loki"]),
            memory_mb=1024,
            hardening=Hardening(
                read_only=False,
                image_user="10001",
                exceptions={"read_only": UPLOADS_NEED_WRITABLE_ROOT},
                pids_limit=512,
                pids_reason=GO_STORAGE_PIDS_REASON,
            ),
            description="Loki: log store",
        ),
    ]
