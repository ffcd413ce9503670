"""Shared dependencies: settings, the services (sessions, store, publisher) and bearer auth."""

from __future__ import annotations

import secrets

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from pipeline_common.config import AppSettings
from pipeline_common.db import engine_for, session_factory
from pipeline_common.queue import ensure_topology, make_celery
from pipeline_common.storage import ObjectStore
from pipeline_common.unavailable import Unavailable

from .errors import ApiError
from .job_wait import JobWaiter

API = "/api/v1"


class Services:
    def __init__(self, settings: AppSettings):
        self.settings = settings
        self.sessions = session_factory(settings.database_url)
        self.autocommit = engine_for(settings.database_url).execution_options(isolation_level="AUTOCOMMIT")
        self.store = ObjectStore(settings.s3_endpoint_url, settings.s3_bucket)
        self.celery = make_celery(settings.amqp_url, settings.queue_prefix)
        self.topology_ready = False
        self.waiter = JobWaiter(self.autocommit)  # GET /jobs/{id}?wait=

    def declare_queues(self) -> None:
        """The jobs queue and its dead-letter queue, declared once per process (they are durable)."""
        if not self.topology_ready:
            ensure_topology(self.celery)
            self.topology_ready = True

    def publish(self, task: str, job_id: str) -> None:
        try:
            self.declare_queues()
            self.celery.send_task(task, args=[job_id])
        except Exception as exc:
            raise Unavailable("job queue", exc) from exc


# The dependencies below are `async def` although they never await: FastAPI runs a sync
# dependency in the thread pool, which cost every request two thread hops for two lookups.


async def get_services(request: Request) -> Services:
    return request.app.state.services


_bearer = HTTPBearer(auto_error=False)


async def authorized(request: Request, creds: HTTPAuthorizationCredentials | None = Depends(_bearer)) -> None:
    token = request.app.state.services.settings.api_token
    if creds is None or not secrets.compare_digest(creds.credentials.encode(), token.encode()):
        raise ApiError(401, None, "missing or invalid bearer token", headers={"WWW-Authenticate": "Bearer"})
