"""Tempo: traces over OTLP, with service graphs and span metrics written to Mimir."""

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

VOLUMES = (VolumeSpec("tempo"),)


def specs(ctx: CatalogContext, wiring: Wiring) -> list[ServiceSpec]:
    s = ctx.settings
    return [
        ServiceSpec(
            name="tempo",
            layer="observability",
            image=ctx.image("tempo"),
            networks=("backend",),
            port=cfg.PORTS["tempo"],
            hostname="tempo",
            # Runs as the image's user 10001: cmd/tempo/Dockerfile (v2.10.7, v2.10.8) creates /var/tempo owned
            # by it, and Docker copies that ownership into the fresh named volume mounted there.
            command=("-config.file=/etc/tempo/config.yaml",),
            files=(ConfigFile("/etc/tempo/config.yaml", cfg.tempo_config(s)),),
            mounts=(Mount("tempo", "/var/tempo"),),
            metrics=MetricsEndpoint(cfg.PORTS["tempo"]),
            memory_mb=1024,
            hardening=Hardening(
                read_only=False,
                image_user="10001",  # cmd/tempo/Dockerfile at v2.10.7: USER 10001
                exceptions={"read_only": UPLOADS_NEED_WRITABLE_ROOT},
                pids_limit=512,
                pids_reason=GO_STORAGE_PIDS_REASON,
            ),
            description="Tempo: traces (OTLP gRPC 4317, HTTP 4318)",
        ),
    ]
