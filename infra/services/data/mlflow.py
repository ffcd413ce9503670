"""MLflow: the tracking server and model registry, built from app/mlflow, with its own database
role and S3 key; artifacts are proxied to the object store."""

from __future__ import annotations

from ...catalog.context import CatalogContext, Wiring
from ...catalog.model import (
    BuiltImage,
    Dependency,
    Hardening,
    MetricsEndpoint,
    Migration,
    PublicRoute,
    RateLimit,
    ServiceSpec,
    python_http_check,
)
from ...values import fmt
from . import minio, pgbackrest

#: `mlflow db upgrade URL` creates the tables of an empty database and otherwise runs alembic's upgrade to the newest
#: revision the installed MLflow knows (mlflow/db.py `upgrade`, mlflow/store/db/utils.py `_upgrade_db` at v3.17.2);
#: at the newest one it changes nothing, so it is safe to run on every new image. Without it a new release's server
#: refuses a database of an older one: `_verify_schema` raises "Detected out-of-date database schema (found version
#: X, but expected Y). Take a backup of your database, then run 'mlflow db upgrade <database_uri>'" (same file). The
#: URL is the server's own MLFLOW_BACKEND_STORE_URI, read from the environment so no command line holds the password.
MIGRATION = Migration(
    command=("sh", "-c", 'exec mlflow db upgrade "$MLFLOW_BACKEND_STORE_URI"'),
    env=("MLFLOW_BACKEND_STORE_URI",),
    reaches=("postgres",),
    backup=pgbackrest.BEFORE_MIGRATION,
)


def specs(ctx: CatalogContext, wiring: Wiring) -> list[ServiceSpec]:
    sec = ctx.secrets.get
    mlflow_host = ctx.host("mlflow")
    return [
        ServiceSpec(
            name="mlflow",
            layer="data",
            image=BuiltImage("mlflow", "app/mlflow/Dockerfile"),
            networks=("backend", "edge"),
            port=5000,
            hostname="mlflow",
            # Basic auth; the UI loads many assets at once, and tracking clients log in loops.
            public=PublicRoute(port=5000, basic_auth=True, max_body="2g", rate_limit=RateLimit(per_second=20, burst=100)),
            env={
                "MLFLOW_ARTIFACTS_DESTINATION": f"s3://{minio.MLFLOW_BUCKET}",
                "MLFLOW_S3_ENDPOINT_URL": "http://minio:9000",
                "AWS_ACCESS_KEY_ID": minio.S3_MLFLOW_USER,
                "MLFLOW_SERVER_ALLOWED_HOSTS": f"{mlflow_host},mlflow,mlflow:5000,localhost,localhost:5000,127.0.0.1:5000",
                "MLFLOW_EXPOSE_PROMETHEUS": "/tmp/mlflow-metrics",
                # mlflow 3.17.2 enables it by default (mlflow/environment_variables.py) and `mlflow
                # server` then starts a job runner with a Huey consumer per GenAI job kind
                # (mlflow/server/__init__.py, mlflow/server/jobs/_job_runner.py): eight processes,
                # 1.4 GB measured, for judges and prompt optimisation this platform does not use.
                "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false",
            },
            secret_env={
                "MLFLOW_BACKEND_STORE_URI": fmt(
                    "postgresql://mlflow:{pw}@postgres:5432/mlflow", pw=sec("mlflowDbPassword")
                ),
                "AWS_SECRET_ACCESS_KEY": sec("s3MlflowSecretKey"),
            },
            healthcheck=python_http_check("http://127.0.0.1:5000/health"),
            migration=MIGRATION,
            depends_on=(Dependency("postgres"), Dependency("minio"), *wiring.edge),
            metrics=MetricsEndpoint(5000),
            memory_mb=2048,
            hardening=Hardening(
                # MLFLOW_EXPOSE_PROMETHEUS and the server's temporary files live in /tmp.
                tmpfs=(("/tmp", "size=512m"),),
                image_user="10001",  # app/mlflow/Dockerfile: USER 10001
                pids_limit=512,
                pids_reason="two server workers (app/mlflow/Dockerfile), each with a request thread pool and boto3 transfer threads",
            ),
            description="MLflow tracking server and model registry (artifacts proxied to S3)",
        )
    ]
