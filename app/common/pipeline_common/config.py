"""Runtime settings from the environment, validated once at start-up."""

from __future__ import annotations

import os
from functools import lru_cache

from pydantic import BaseModel, Field, ValidationError


class AppSettings(BaseModel):
    service_name: str = "pipeline"
    database_url: str
    amqp_url: str
    s3_endpoint_url: str | None = None
    s3_bucket: str = "pipeline-data"
    mlflow_tracking_uri: str
    api_token: str | None = None
    queue_prefix: str = "mlops"
    max_upload_bytes: int = Field(100 * 1024 * 1024, ge=1)
    default_model_name: str = "tabular-classifier"
    max_job_attempts: int = Field(3, ge=1)
    inline_prediction_limit: int = Field(1000, ge=1)
    # How long the API trusts a resolved champion alias: saves an MLflow round trip per request.
    champion_cache_seconds: float = Field(5.0, ge=0)


_ENV = {
    "service_name": "SERVICE_NAME",
    "database_url": "DATABASE_URL",
    "amqp_url": "AMQP_URL",
    "s3_endpoint_url": "S3_ENDPOINT_URL",
    "s3_bucket": "S3_BUCKET",
    "mlflow_tracking_uri": "MLFLOW_TRACKING_URI",
    "api_token": "API_TOKEN",
    "queue_prefix": "QUEUE_PREFIX",
    "max_upload_bytes": "MAX_UPLOAD_BYTES",
    "default_model_name": "DEFAULT_MODEL_NAME",
    "max_job_attempts": "MAX_JOB_ATTEMPTS",
    "inline_prediction_limit": "INLINE_PREDICTION_LIMIT",
    "champion_cache_seconds": "CHAMPION_CACHE_SECONDS",
}


@lru_cache
def get_settings() -> AppSettings:
    raw = {field: os.environ[env] for field, env in _ENV.items() if os.environ.get(env)}
    try:
        return AppSettings(**raw)
    except ValidationError as exc:
        problems = "; ".join(f"{_ENV[str(e['loc'][0])]}: {e['msg']}" for e in exc.errors())
        raise SystemExit(f"invalid environment: {problems}") from None
