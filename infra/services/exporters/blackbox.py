"""The blackbox exporter (TLS stacks running their own proxy): expiry of the certificates the proxy
serves, one TLS module per public host."""

from __future__ import annotations

from ...catalog.context import CatalogContext, Wiring
from ...catalog.model import UPLOADS_NEED_WRITABLE_ROOT, ConfigFile, Hardening, MetricsEndpoint, ServiceSpec
from ...configs import observability as cfg


def specs(ctx: CatalogContext, wiring: Wiring) -> list[ServiceSpec]:
    if not (ctx.settings.tls and ctx.runs_proxy):
        return []
    return [
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
        ),
    ]


def alert_rules(ctx: CatalogContext) -> list[dict]:
    """Certificates close to expiry, or the proxy not answering the probe (only where it runs)."""
    if not (ctx.settings.tls and ctx.runs_proxy):
        return []
    return [
        {
            "alert": "CertificateExpiringSoon",
            "expr": f'probe_ssl_earliest_cert_expiry{{job="{cfg.CERTIFICATE_JOB}"}} - time() < 14 * 86400',
            "for": "1h",
            "labels": {"severity": "warning"},
            "annotations": {
                "summary": "the certificate for {{ $labels.instance }} expires in less than 14 days "
                "(acme-companion renews at 30 days)"
            },
        },
        {
            "alert": "CertificateProbeFailing",
            "expr": f'probe_success{{job="{cfg.CERTIFICATE_JOB}"}} == 0',
            "for": "30m",
            "labels": {"severity": "warning"},
            "annotations": {"summary": "no TLS handshake with the proxy for {{ $labels.instance }}"},
        },
    ]
