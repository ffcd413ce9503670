"""Shared dependencies: settings, the services (sessions, store, publisher) and bearer auth."""

from __future__ import annotations

import secrets

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from pipeline_common.config import AppSettings
from pipeline_common.db import session_factory
from pipeline_common.queue import ensure_topology, make_celery
from pipeline_common.storage import ObjectStore
from pipeline_common.unavailable import Unavailable

from .errors import ApiError

API = "/api/v1"


class Services:
    def __init__(self, settings: AppSettings):
        self.settings = settings
        self.sessions = session_factory(settings.database_url)
        self.store = ObjectStore(settings.s3_endpoint_url, settings.s3_bucket)
        self.celery = make_celery(settings.amqp_url, settings.queue_prefix)
        self.topology_ready = False

    def publish(self, task: str, job_id: str) -> None:
        try:
            if not self.topology_ready:
                ensure_topology(self.celery)
                self.topology_ready = True
            self.celery.send_task(task, args=[job_id])
        except Exception as exc:
            raise Unavailable("job queue", exc) from exc


def get_services(request: Request) -> Services:
    return request.app.state.services


def get_settings(request: Request) -> AppSettings:
    return request.app.state.services.settings


_bearer = HTTPBearer(auto_error=False)


def authorized(request: Request, creds: HTTPAuthorizationCredentials | None = Depends(_bearer)) -> None:
    token = get_settings(request).api_token
    if creds is None or not secrets.compare_digest(creds.credentials.encode(), token.encode()):
        raise ApiError(401, None, "missing or invalid bearer token", headers={"WWW-Authenticate": "Bearer"})
