"""Observability: Prometheus (scrapes, alerts, remote-writes to Mimir), Loki with the
Alloy log agent, Tempo for traces, Mimir for long-term metrics, Grafana on top."""

from __future__ import annotations

from ..configs import alerting, dashboards
from ..configs import observability as cfg
from .context import CatalogContext
from .docker_api import READ_PROXY, docker_host
from .model import (
    UPLOADS_NEED_WRITABLE_ROOT,
    ConfigFile,
    Dependency,
    GO_STORAGE_PIDS_REASON,
    Hardening,
    Healthcheck,
    MetricsEndpoint,
    Mount,
    PublicRoute,
    RateLimit,
    ServiceSpec,
    VolumeSpec,
)

VOLUMES = (
    VolumeSpec("prometheus"),
    VolumeSpec("loki"),
    VolumeSpec("tempo"),
    VolumeSpec("mimir"),
    VolumeSpec("grafana"),
    VolumeSpec("alertmanager"),  # silences and the notification log
)


def observability_services(ctx: CatalogContext, edge: tuple[Dependency, ...]) -> list[ServiceSpec]:
    s = ctx.settings
    return [
        ServiceSpec(
            name="prometheus",
            layer="observability",
            image=ctx.image("prometheus"),
            networks=("backend",),
            port=cfg.PORTS["prometheus"],
            hostname="prometheus",
            command=(
                "--config.file=/etc/prometheus/prometheus.yml",
                "--storage.tsdb.path=/prometheus",
                "--web.enable-lifecycle",
            ),
            mounts=(Mount("prometheus", "/prometheus"),),
            # prometheus.yml and rules are added by the catalog once every service is known.
            metrics=MetricsEndpoint(cfg.PORTS["prometheus"]),
            memory_mb=1024,
            hardening=Hardening(
                read_only=False,
                image_user="nobody",  # prometheus/prometheus Dockerfile at v3.14.0: USER nobody
                exceptions={"read_only": UPLOADS_NEED_WRITABLE_ROOT},
                pids_limit=512,
                pids_reason=GO_STORAGE_PIDS_REASON,
            ),
            description="Prometheus: scrapes every service, evaluates alert rules",
        ),
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
            files=(ConfigFile("/etc/alloy/config.alloy", cfg.alloy_config(s, docker_host(READ_PROXY))),),
            depends_on=(Dependency(READ_PROXY),),
            metrics=MetricsEndpoint(cfg.PORTS["alloy"]),
            memory_mb=512,
            hardening=Hardening(read_only=False, exceptions={"read_only": UPLOADS_NEED_WRITABLE_ROOT}),
            description="Grafana Alloy: ships container logs to Loki",
        ),
        ServiceSpec(
            name="grafana",
            layer="observability",
            image=ctx.image("grafana"),
            networks=("backend", "edge"),
            port=cfg.PORTS["grafana"],
            hostname="grafana",
            # Its own login; a dashboard queries every panel at once.
            public=PublicRoute(port=cfg.PORTS["grafana"], rate_limit=RateLimit(per_second=20, burst=100)),
            mounts=(Mount("grafana", "/var/lib/grafana"),),
            files=(
                ConfigFile("/etc/grafana/provisioning/datasources/platform.yaml", cfg.grafana_datasources()),
                *(ConfigFile(path, content) for path, content in dashboards.dashboard_files().items()),
                ConfigFile(
                    "/run/secrets/grafana_admin_password", ctx.secrets.get("grafanaAdminPassword"), secret=True
                ),
            ),
            env={
                "GF_SECURITY_ADMIN_USER": "admin",
                "GF_SECURITY_ADMIN_PASSWORD__FILE": "/run/secrets/grafana_admin_password",
                "GF_SERVER_ROOT_URL": ctx.url("grafana"),
                "GF_USERS_ALLOW_SIGN_UP": "false",
                "GF_AUTH_ANONYMOUS_ENABLED": "false",
                "GF_ANALYTICS_REPORTING_ENABLED": "false",
            },
            depends_on=edge,
            metrics=MetricsEndpoint(cfg.PORTS["grafana"]),
            memory_mb=512,
            hardening=Hardening(
                read_only=False,
                image_user="472",  # grafana/grafana Dockerfile: USER $GF_UID (472)
                exceptions={"read_only": UPLOADS_NEED_WRITABLE_ROOT},
                pids_limit=512,
                pids_reason="Go server plus a process per backend plugin, each with its own Go runtime threads",
            ),
            description="Grafana: dashboards over metrics, logs and traces",
        ),
    ]
