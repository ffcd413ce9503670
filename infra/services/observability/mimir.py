"""Mimir: long-term metrics, fed by Prometheus's remote-write (and Tempo's metrics generator)."""

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

VOLUMES = (VolumeSpec("mimir"),)


def specs(ctx: CatalogContext, wiring: Wiring) -> list[ServiceSpec]:
    s = ctx.settings
    return [
        ServiceSpec(
            name="mimir",
            layer="observability",
            image=ctx.image("mimir"),
            networks=("backend",),
            port=cfg.PORTS["mimir"],
            hostname="mimir",
            user="0:0",
            command=("-config.file=/etc/mimir/config.yaml",),
            files=(ConfigFile("/etc/mimir/config.yaml", cfg.mimir_config(s)),),
            mounts=(Mount("mimir", "/data"),),
            metrics=MetricsEndpoint(cfg.PORTS["mimir"]),
            memory_mb=1536,
            hardening=Hardening(
                read_only=False,
                exceptions={
                    "read_only": UPLOADS_NEED_WRITABLE_ROOT,
                    "user": "runs as 0:0 since the first deploy, so existing /data volumes are root-owned",
                },
                pids_limit=512,
                pids_reason=GO_STORAGE_PIDS_REASON,
            ),
            description="Mimir: long-term metrics (Prometheus remote-write)",
        ),
    ]
