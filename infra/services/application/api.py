"""The Pipeline API (FastAPI, built from app/api): datasets, jobs, predictions and feedback, public
behind a bearer token."""

from __future__ import annotations

from ...catalog.context import CatalogContext, Wiring
from ...catalog.model import (
    BuiltImage,
    Dependency,
    Hardening,
    MetricsEndpoint,
    PublicRoute,
    RateLimit,
    RollingUpdate,
    ServiceSpec,
    python_http_check,
)
from ...configs.dashboards import RATE, Panel, Query, quantiles
from ...settings import size_bytes
from .pipeline_env import pipeline_env

API_PORT = 8000
#: An update's old API gets this long after SIGTERM: uvicorn 0.54.0 then stops accepting connections and waits for
#: the open ones to finish their responses (uvicorn/server.py `Server.shutdown`, no `timeout_graceful_shutdown` set),
#: which bounds an upload in flight; nginx sends new requests to the new container meanwhile.
API_STOP_GRACE_SECONDS = 60


def share_of_requests(status: str, legend: str) -> Query:
    """Share of API requests whose status matches the regex `status`."""
    return Query(
        f'sum(rate(api_requests_total{{status=~"{status}"}}[{RATE}])) / sum(rate(api_requests_total[{RATE}]))', legend
    )


def specs(ctx: CatalogContext, wiring: Wiring) -> list[ServiceSpec]:
    api_env, api_secrets = pipeline_env(ctx, "api")
    return [
        ServiceSpec(
            name="api",
            layer="application",
            image=BuiltImage("api", "app/api/Dockerfile"),
            networks=("backend", "edge"),
            port=API_PORT,
            hostname="api",
            # Bearer token; scripts submit and poll jobs (the UI reaches the API inside, not through the proxy).
            # One setting, `data.maxUpload`, is both nginx's body limit and the API's own. Uploads reach
            # the API as they arrive (it streams them to S3 and answers 413 past the limit mid-body).
            public=PublicRoute(
                port=API_PORT,
                max_body=ctx.settings.data.maxUpload,
                stream_body=True,
                links=(("api_docs", "docs"),),
                rate_limit=RateLimit(per_second=20, burst=50),
            ),
            env={
                **api_env,
                "PUBLIC_URL": ctx.url("api"),
                "FORWARDED_ALLOW_IPS": "*",
                "MAX_UPLOAD_BYTES": str(size_bytes(ctx.settings.data.maxUpload)),
            },
            secret_env={**api_secrets, "API_TOKEN": ctx.secrets.get("apiToken")},
            healthcheck=python_http_check(f"http://127.0.0.1:{API_PORT}/health"),
            depends_on=(Dependency("postgres"), Dependency("rabbitmq"), *wiring.edge),
            metrics=MetricsEndpoint(API_PORT),
            memory_mb=1024,
            # Half a core per replica: the Kubernetes HPA scales on utilisation of this request.
            cpu_millicores=500,
            hardening=Hardening(
                # Uploads stream to the object store (issue #23): nothing large is spooled here.
                tmpfs=(("/tmp", "size=256m"),),
                image_user="10001",  # app/api/Dockerfile: USER 10001
            ),
            rolling_update=RollingUpdate(
                "its state is in PostgreSQL, RabbitMQ and MinIO; two APIs apply the schema migrations under an "
                "advisory lock, one after the other, and nginx-proxy routes to both while they run"
            ),
            stop_grace_seconds=API_STOP_GRACE_SECONDS,
            description="Pipeline API (FastAPI): datasets, jobs, predictions, feedback",
        ),
    ]


def alert_rules(ctx: CatalogContext) -> list[dict]:
    """Jobs the API's reconciler had to publish again, repeatedly."""
    return [
        {
            # The API's job reconciler (app/api/pipeline_api/reconciler.py) published jobs again: once
            # is a healed outage, repeatedly means messages keep getting lost.
            "alert": "JobsHealedRepeatedly",
            "expr": "sum(increase(pipeline_jobs_healed_total[1h])) > 3",
            "for": "0m",
            "labels": {"severity": "warning"},
            "annotations": {
                "summary": "more than 3 jobs were found without a message or worker in the last hour and "
                "published again (the API logs each as 'healed job')"
            },
        },
    ]


#: Its panels of the "Platform overview" dashboard.
DASHBOARD_ROWS = (
    Panel(
        "API request rate",
        (Query(f"sum by (route) (rate(api_requests_total[{RATE}]))", "{{route}}"),),
        unit="reqps",
    ),
    Panel(
        "API error rate",
        (share_of_requests("5..", "5xx share"), share_of_requests("4..", "4xx share")),
        unit="percentunit",
    ),
    Panel("API latency", quantiles("api_request_duration_seconds"), unit="s"),
)
