"""Operations: liveness, readiness (every dependency, MLflow's store included) and metrics."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from ..dependencies import Services, get_services
from ..models_info import registry_reachable
from ..schemas import HealthOut, ReadyOut

router = APIRouter(tags=["operations"])


@router.get("/health", response_model=HealthOut)
def health() -> HealthOut:
    return HealthOut(status="ok")


@router.get("/ready", response_model=ReadyOut, responses={503: {"model": ReadyOut, "description": "A dependency is not ready"}})
def ready(response: Response, svc: Services = Depends(get_services)) -> ReadyOut:
    def pg():
        with svc.sessions() as s:
            s.execute(text("SELECT 1"))

    def mq():
        with svc.celery.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=3)

    checks = {}
    for name, check in (("postgres", pg), ("rabbitmq", mq), ("s3", svc.store.ping), ("mlflow", registry_reachable)):
        try:
            check()
            checks[name] = "ok"
        except Exception as exc:  # report, do not raise: this is a status page
            checks[name] = f"error: {type(exc).__name__}"
    ok = all(v == "ok" for v in checks.values())
    response.status_code = 200 if ok else 503
    if not ok:
        response.headers["Retry-After"] = str(svc.settings.retry_after_seconds)
    return ReadyOut(status="ready" if ok else "not ready", checks=checks)


@router.get("/metrics", include_in_schema=False)
def metrics() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
