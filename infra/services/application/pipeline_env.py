"""What the Pipeline API and the Data Processor both connect to, in one place so they cannot drift."""

from __future__ import annotations

from ...catalog.context import CatalogContext
from ...configs.observability import TEMPO_OTLP_HTTP
from ...values import fmt
from ..data import minio, postgres, rabbitmq


def pipeline_env(ctx: CatalogContext, service: str) -> tuple[dict, dict]:
    """The environment the API and the processor share: the queue, the database, the bucket, MLflow
    and Tempo, each with the pipeline's own account (public env, secret env)."""
    sec = ctx.secrets.get
    env = {
        "SERVICE_NAME": service,
        "STACK": ctx.settings.stack,
        "S3_ENDPOINT_URL": "http://minio:9000",
        "S3_BUCKET": minio.PIPELINE_BUCKET,
        "AWS_ACCESS_KEY_ID": minio.S3_PIPELINE_USER,
        "AWS_DEFAULT_REGION": "us-east-1",
        "MLFLOW_TRACKING_URI": "http://mlflow:5000",
        "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://tempo:{TEMPO_OTLP_HTTP}",
        "OTEL_SERVICE_NAME": service,
        "QUEUE_PREFIX": ctx.settings.prefix,
    }
    secret_env = {
        "DATABASE_URL": fmt(
            "postgresql://{u}:{pw}@postgres:5432/{db}", u=postgres.PIPELINE_DB_USER, pw=sec("apiDbPassword"), db=postgres.PIPELINE_DB
        ),
        "AMQP_URL": fmt(
            "amqp://{u}:{pw}@rabbitmq:5672/{vhost}", u=rabbitmq.RABBITMQ_APP_USER, pw=sec("rabbitmqAppPassword"), vhost=rabbitmq.RABBITMQ_VHOST
        ),
        "AWS_SECRET_ACCESS_KEY": sec("s3AppSecretKey"),
    }
    return env, secret_env
