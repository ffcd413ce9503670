"""The PostgreSQL bootstrap the program runs with `docker exec`, run here against a real server."""

import os
import subprocess
from urllib.parse import urlparse

import psycopg
import pytest

from infra.catalog.data import POSTGRES_BOOTSTRAP

from .services import pg_bin

PASSWORDS = {"MLFLOW_DB_PASSWORD": "m-pw", "PIPELINE_DB_PASSWORD": "p-pw", "MONITORING_DB_PASSWORD": "mon-pw"}


def bootstrap(stack, port: int | None = None) -> subprocess.CompletedProcess:
    url = urlparse(stack.pg)
    env = {**os.environ, **PASSWORDS, "PGHOST": url.hostname, "PGPORT": str(port or url.port)}
    env["PATH"] = f"{os.path.dirname(pg_bin('psql'))}:{env['PATH']}"
    return subprocess.run(["sh", "-s"], input=POSTGRES_BOOTSTRAP, env=env, capture_output=True, text=True, timeout=60)


@pytest.fixture(scope="module")
def bootstrapped(stack):
    first = bootstrap(stack)
    assert first.returncode == 0, first.stderr
    return stack


def test_bootstrap_is_idempotent(bootstrapped):
    again = bootstrap(bootstrapped)
    assert again.returncode == 0, again.stderr


def test_bootstrap_creates_one_login_role_per_service(bootstrapped):
    with psycopg.connect(f"{bootstrapped.pg}/postgres") as conn:
        roles = {r for (r,) in conn.execute("SELECT rolname FROM pg_roles WHERE rolcanlogin")}
    assert {"mlflow", "pipeline", "monitoring"} <= roles


def test_monitoring_role_gets_read_only_statistics(bootstrapped):
    with psycopg.connect(f"{bootstrapped.pg}/postgres") as conn:
        member = conn.execute("SELECT pg_has_role('monitoring', 'pg_monitor', 'member')").fetchone()[0]
        superuser = conn.execute("SELECT rolsuper FROM pg_roles WHERE rolname = 'monitoring'").fetchone()[0]
    assert member and not superuser


def test_bootstrap_fails_loudly_when_psql_fails(stack):
    assert bootstrap(stack, port=1).returncode != 0  # nothing listens on port 1
