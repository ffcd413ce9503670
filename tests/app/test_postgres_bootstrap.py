"""The PostgreSQL bootstrap the program runs with `docker exec`, run here against a real server."""

import psycopg
import pytest

from .services import run_postgres_bootstrap

PASSWORDS = {"MLFLOW_DB_PASSWORD": "m-pw", "PIPELINE_DB_PASSWORD": "p-pw", "MONITORING_DB_PASSWORD": "mon-pw"}


def bootstrap(stack, port: int | None = None):
    return run_postgres_bootstrap(stack.pg, PASSWORDS, port)


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
