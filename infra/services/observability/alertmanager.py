"""Alertmanager: groups, inhibits and delivers the alerts to the stack's receivers (`alerting`)."""

from __future__ import annotations

from ...catalog.context import CatalogContext, Wiring
from ...catalog.model import (
    UPLOADS_NEED_WRITABLE_ROOT,
    ConfigFile,
    Hardening,
    Healthcheck,
    MetricsEndpoint,
    Mount,
    ServiceSpec,
    VolumeSpec,
)
from ...configs import alerting

VOLUMES = (VolumeSpec("alertmanager"),)  # silences and the notification log


def specs(ctx: CatalogContext, wiring: Wiring) -> list[ServiceSpec]:
    s = ctx.settings
    return [
        ServiceSpec(
            name="alertmanager",
            layer="observability",
            image=ctx.image("alertmanager"),
            # Private: never routed by the proxy. `egress` (outbound only) lets it reach SMTP and
            # webhook receivers, which the internal backend network cannot.
            networks=("backend", "egress"),
            port=alerting.PORT,
            hostname="alertmanager",
            command=(
                "--config.file=/etc/alertmanager/alertmanager.yml",
                "--storage.path=/alertmanager",
                "--cluster.listen-address=",  # one instance: no HA gossip port
            ),
            files=(
                ConfigFile("/etc/alertmanager/alertmanager.yml", alerting.alertmanager_config(s)),
                *(
                    (ConfigFile(alerting.SMTP_PASSWORD_FILE, ctx.secrets.get("smtpPassword"), secret=True),)
                    if s.alerting.email and s.alerting.email.username
                    else ()
                ),
            ),
            # The image's /alertmanager belongs to `nobody` (its Dockerfile at v0.34.0); Docker
            # copies that into the fresh volume.
            mounts=(Mount("alertmanager", "/alertmanager"),),
            # busybox base image (quay.io/prometheus/busybox): wget is there, curl is not.
            healthcheck=Healthcheck(
                ("CMD", "wget", "-q", "-O", "/dev/null", f"http://127.0.0.1:{alerting.PORT}/-/healthy")
            ),
            metrics=MetricsEndpoint(alerting.PORT),
            memory_mb=128,
            hardening=Hardening(
                read_only=False,
                image_user="nobody",  # prometheus/alertmanager Dockerfile at v0.34.0: USER nobody
                exceptions={"read_only": UPLOADS_NEED_WRITABLE_ROOT},
            ),
            description="Alertmanager: groups, inhibits and delivers the alerts to the stack's receivers",
        ),
    ]
