"""Runtime settings from the environment, validated once at start-up."""

from __future__ import annotations

import os
from functools import lru_cache
from typing import Literal

from pydantic import BaseModel, Field, ValidationError


class AppSettings(BaseModel):
    service_name: str = "pipeline"
    database_url: str
    amqp_url: str
    s3_endpoint_url: str | None = None
    # The S3 endpoint as clients outside the host reach it: presigned upload URLs are signed for it
    # (the host is part of the signature). Unset: they point at S3_ENDPOINT_URL.
    s3_public_url: str | None = None
    s3_bucket: str = "pipeline-data"
    mlflow_tracking_uri: str
    api_token: str | None = None
    queue_prefix: str = "mlops"
    # The largest upload (the stack setting data.maxUpload gives it, with nginx's client_max_body_size).
    max_upload_bytes: int = Field(2 * 1024 * 1024 * 1024, ge=1)
    default_model_name: str = "tabular-classifier"
    max_job_attempts: int = Field(3, ge=1)
    inline_prediction_limit: int = Field(1000, ge=1)
    # How long the API trusts a resolved champion alias: saves an MLflow round trip per request.
    champion_cache_seconds: float = Field(5.0, ge=0)
    # A worker holds a running job for this long and renews it every third of it; a job whose
    # lease ran out (its worker died) may be claimed by another worker.
    job_lease_seconds: float = Field(60.0, gt=0)
    # The API's job reconciler (pipeline_api/reconciler.py): a pass every this many seconds; it
    # publishes again a queued job with no message, or a running job with a lapsed lease, once the
    # job has been so for the grace period. The grace outlasts a worker's retry back-off (30 s).
    job_reconcile_seconds: float = Field(30.0, gt=0)
    job_reconcile_grace_seconds: float = Field(120.0, gt=0)
    # Seconds a client is told to wait (Retry-After) when a dependency is unavailable.
    retry_after_seconds: int = Field(5, ge=1)
    # The processor's memory limit when cgroup v2 `memory.max` does not give one (the catalog sets
    # the container's limit), and what a training job does with a data set that does not fit in it:
    # train on a stratified sample ("sample") or fail at once ("refuse"). See docs/data-at-size.md.
    memory_limit_mb: int = Field(2048, ge=64)
    training_oversize: Literal["sample", "refuse"] = "sample"
    # The promotion rule (data_processor/promotion.py): a new version becomes the champion when its
    # held-out PROMOTION_METRIC exceeds the champion's (scored on the same rows) by more than this.
    promotion_metric: Literal["roc_auc", "accuracy", "f1"] = "roc_auc"
    promotion_min_gain: float = Field(0.0, ge=0, le=1)


_ENV = {
    "service_name": "SERVICE_NAME",
    "database_url": "DATABASE_URL",
    "amqp_url": "AMQP_URL",
    "s3_endpoint_url": "S3_ENDPOINT_URL",
    "s3_public_url": "S3_PUBLIC_URL",
    "s3_bucket": "S3_BUCKET",
    "mlflow_tracking_uri": "MLFLOW_TRACKING_URI",
    "api_token": "API_TOKEN",
    "queue_prefix": "QUEUE_PREFIX",
    "max_upload_bytes": "MAX_UPLOAD_BYTES",
    "default_model_name": "DEFAULT_MODEL_NAME",
    "max_job_attempts": "MAX_JOB_ATTEMPTS",
    "inline_prediction_limit": "INLINE_PREDICTION_LIMIT",
    "champion_cache_seconds": "CHAMPION_CACHE_SECONDS",
    "job_lease_seconds": "JOB_LEASE_SECONDS",
    "job_reconcile_seconds": "JOB_RECONCILE_SECONDS",
    "job_reconcile_grace_seconds": "JOB_RECONCILE_GRACE_SECONDS",
    "retry_after_seconds": "RETRY_AFTER_SECONDS",
    "memory_limit_mb": "MEMORY_LIMIT_MB",
    "training_oversize": "TRAINING_OVERSIZE",
    "promotion_metric": "PROMOTION_METRIC",
    "promotion_min_gain": "PROMOTION_MIN_GAIN",
}

#: MLflow client bounds (mlflow/environment_variables.py at v3.17.2): its defaults are a 120 s
#: timeout and 7 retries with exponential back-off, minutes per call while the registry's store
#: is down. Each service sets its own defaults here; the environment still overrides them.
MLFLOW_CLIENT_DEFAULTS = {
    "api": {"MLFLOW_HTTP_REQUEST_TIMEOUT": "15", "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "1", "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1"},
    "processor": {"MLFLOW_HTTP_REQUEST_TIMEOUT": "60", "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "3", "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1"},
}


def bound_mlflow_client(service: str) -> None:
    """Apply `MLFLOW_CLIENT_DEFAULTS[service]` for variables the environment does not set."""
    for name, value in MLFLOW_CLIENT_DEFAULTS[service].items():
        os.environ.setdefault(name, value)


@lru_cache
def get_settings() -> AppSettings:
    raw = {field: os.environ[env] for field, env in _ENV.items() if os.environ.get(env)}
    try:
        return AppSettings(**raw)
    except ValidationError as exc:
        problems = "; ".join(f"{_ENV[str(e['loc'][0])]}: {e['msg']}" for e in exc.errors())
        raise SystemExit(f"invalid environment: {problems}") from None
