"""The Data Processor (Celery, built from app/processor): trains and scores models from the job queue."""

from __future__ import annotations

from ...catalog.context import CatalogContext, Wiring
from ...catalog.model import BuiltImage, Dependency, Hardening, Healthcheck, MetricsEndpoint, RollingUpdate, ServiceSpec
from ...configs.dashboards import RATE, Panel, Query, quantiles
from .pipeline_env import pipeline_env

PROCESSOR_METRICS_PORT = 9100
PROCESSOR_MEMORY_MB = 2048
#: An update's old worker drains its current job for up to this long. SIGTERM is Celery's warm shutdown (celery 5.7.0
#: celery/apps/worker.py `install_worker_term_handler` -> `_shutdown_handler(how='Warm')`): it stops taking messages
#: and the threads pool's stop waits for the running job (celery/concurrency/thread.py `TaskPool.on_stop`:
#: `executor.shutdown(cancel_futures=True)` waits for running futures, cancels queued ones). The job's message is
#: acknowledged only once its outcome is committed (acks_late, app/common/pipeline_common/queue.py), so a job still
#: running when the grace ends is killed, its message redelivered when the connection drops and the job claimed
#: again once its lease runs out: it runs again from the start, never half-applied.
PROCESSOR_STOP_GRACE_SECONDS = 600


def specs(ctx: CatalogContext, wiring: Wiring) -> list[ServiceSpec]:
    worker_env, worker_secrets = pipeline_env(ctx, "processor")
    return [
        ServiceSpec(
            name="processor",
            layer="application",
            image=BuiltImage("processor", "app/processor/Dockerfile"),
            networks=("backend",),
            replicas=ctx.settings.processorReplicas,
            env={
                **worker_env,
                "METRICS_PORT": str(PROCESSOR_METRICS_PORT),
                # The worker plans training and scoring within it (cgroup v2 memory.max when it can read it).
                "MEMORY_LIMIT_MB": str(PROCESSOR_MEMORY_MB),
                "TRAINING_OVERSIZE": ctx.settings.data.oversizeTraining,
                # The promotion rule, stated (data_processor/promotion.py): every training result shows it with its verdict.
                "PROMOTION_METRIC": "roc_auc",
                "PROMOTION_MIN_GAIN": "0.0",
            },
            secret_env=worker_secrets,
            healthcheck=Healthcheck(("CMD", "python", "-m", "data_processor.healthcheck")),
            depends_on=(Dependency("postgres"), Dependency("rabbitmq")),
            metrics=MetricsEndpoint(PROCESSOR_METRICS_PORT),
            memory_mb=PROCESSOR_MEMORY_MB,
            hardening=Hardening(
                tmpfs=(("/tmp", "size=256m"),),
                image_user="10001",
                pids_limit=512,
                pids_reason="scikit-learn's OpenMP and OpenBLAS pools start a thread per CPU, beside boto3's transfer threads",
            ),
            rolling_update=RollingUpdate(
                "workers share the job queue; a job is claimed under a lease, so two workers never run the same job"
            ),
            stop_grace_seconds=PROCESSOR_STOP_GRACE_SECONDS,
            description="Data Processor: trains and scores models from the job queue",
        ),
    ]


def alert_rules(ctx: CatalogContext) -> list[dict]:
    """Jobs that failed."""
    return [
        {
            "alert": "JobsFailing",
            "expr": 'sum(increase(pipeline_jobs_total{status="failed"}[15m])) > 0',
            "for": "0m",
            "labels": {"severity": "warning"},
            "annotations": {"summary": "pipeline jobs failed in the last 15 minutes"},
        },
    ]


#: Its panels of the "Platform overview" dashboard.
DASHBOARD_ROWS = (
    Panel("Job duration", quantiles("pipeline_job_duration_seconds", "kind"), unit="s"),
    Panel(
        "Jobs finished",
        (Query(f"sum by (kind, status) (increase(pipeline_jobs_total[{RATE}]))", "{{kind}} {{status}}"),),
        description="Failed jobs raise the JobsFailing alert.",
    ),
)
