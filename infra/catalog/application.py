"""Application: Pipeline API, Data Processor (queue worker) and Streamlit UI, built from `app/`."""

from __future__ import annotations

from ..configs.observability import TEMPO_OTLP_HTTP
from ..values import fmt
from . import data as d
from .context import CatalogContext
from .data import python_http_check
from .model import BuiltImage, Dependency, Hardening, Healthcheck, MetricsEndpoint, PublicRoute, RateLimit, ServiceSpec

API_PORT = 8000
UI_PORT = 8501
PROCESSOR_METRICS_PORT = 9100


def _pipeline_env(ctx: CatalogContext, service: str) -> tuple[dict, dict]:
    sec = ctx.secrets.get
    env = {
        "SERVICE_NAME": service,
        "STACK": ctx.settings.stack,
        "S3_ENDPOINT_URL": "http://minio:9000",
        "S3_BUCKET": d.PIPELINE_BUCKET,
        "AWS_ACCESS_KEY_ID": d.S3_PIPELINE_USER,
        "AWS_DEFAULT_REGION": "us-east-1",
        "MLFLOW_TRACKING_URI": "http://mlflow:5000",
        "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://tempo:{TEMPO_OTLP_HTTP}",
        "OTEL_SERVICE_NAME": service,
        "QUEUE_PREFIX": ctx.settings.prefix,
    }
    secret_env = {
        "DATABASE_URL": fmt(
            "postgresql://{u}:{pw}@postgres:5432/{db}", u=d.PIPELINE_DB_USER, pw=sec("apiDbPassword"), db=d.PIPELINE_DB
        ),
        "AMQP_URL": fmt(
            "amqp://{u}:{pw}@rabbitmq:5672/{vhost}", u=d.RABBITMQ_APP_USER, pw=sec("rabbitmqAppPassword"), vhost=d.RABBITMQ_VHOST
        ),
        "AWS_SECRET_ACCESS_KEY": sec("s3AppSecretKey"),
    }
    return env, secret_env


def application_services(ctx: CatalogContext, edge: tuple[Dependency, ...]) -> list[ServiceSpec]:
    api_env, api_secrets = _pipeline_env(ctx, "api")
    worker_env, worker_secrets = _pipeline_env(ctx, "processor")
    queues = (Dependency("postgres"), Dependency("rabbitmq"))
    return [
        ServiceSpec(
            name="api",
            layer="application",
            image=BuiltImage("api", "app/api/Dockerfile"),
            networks=("backend", "edge"),
            port=API_PORT,
            hostname="api",
            # Bearer token; scripts submit and poll jobs (the UI reaches the API inside, not through the proxy).
            public=PublicRoute(
                port=API_PORT, max_body="200m", links=(("api_docs", "docs"),), rate_limit=RateLimit(per_second=20, burst=50)
            ),
            env={**api_env, "PUBLIC_URL": ctx.url("api"), "FORWARDED_ALLOW_IPS": "*"},
            secret_env={**api_secrets, "API_TOKEN": ctx.secrets.get("apiToken")},
            healthcheck=python_http_check(f"http://127.0.0.1:{API_PORT}/health"),
            depends_on=(*queues, *edge),
            metrics=MetricsEndpoint(API_PORT),
            memory_mb=1024,
            # Half a core per replica: the Kubernetes HPA scales on utilisation of this request.
            cpu_millicores=500,
            hardening=Hardening(
                # Starlette spools uploads larger than 1 MB to temporary files; the body limit is 200m.
                tmpfs=(("/tmp", "size=256m"),),
                image_user="10001",  # app/api/Dockerfile: USER 10001
            ),
            description="Pipeline API (FastAPI): datasets, jobs, predictions, feedback",
        ),
        ServiceSpec(
            name="processor",
            layer="application",
            image=BuiltImage("processor", "app/processor/Dockerfile"),
            networks=("backend",),
            replicas=ctx.settings.processorReplicas,
            env={**worker_env, "METRICS_PORT": str(PROCESSOR_METRICS_PORT)},
            secret_env=worker_secrets,
            healthcheck=Healthcheck(("CMD", "python", "-m", "data_processor.healthcheck")),
            depends_on=queues,
            metrics=MetricsEndpoint(PROCESSOR_METRICS_PORT),
            memory_mb=2048,
            hardening=Hardening(
                tmpfs=(("/tmp", "size=256m"),),
                image_user="10001",
                pids_limit=512,
                pids_reason="scikit-learn's OpenMP and OpenBLAS pools start a thread per CPU, beside boto3's transfer threads",
            ),
            description="Data Processor: trains and scores models from the job queue",
        ),
        ServiceSpec(
            name="ui",
            layer="application",
            image=BuiltImage("ui", "app/ui/Dockerfile"),
            networks=("backend", "edge"),
            port=UI_PORT,
            hostname="ui",
            # Basic auth; a page load fetches a few dozen assets, then one websocket.
            public=PublicRoute(port=UI_PORT, basic_auth=True, max_body="200m", rate_limit=RateLimit(per_second=10, burst=50)),
            env={"API_URL": f"http://api:{API_PORT}"},
            secret_env={"API_TOKEN": ctx.secrets.get("apiToken")},
            healthcheck=python_http_check(f"http://127.0.0.1:{UI_PORT}/_stcore/health"),
            depends_on=edge,
            memory_mb=512,
            hardening=Hardening(
                # /tmp for temporary files; HOME (useradd --create-home) for Streamlit's per-user files.
                tmpfs=(("/tmp", "size=64m"), ("/home/app", "size=16m,uid=10001,gid=10001")),
                image_user="10001",  # app/ui/Dockerfile: USER 10001
            ),
            description="Streamlit UI",
        ),
    ]
