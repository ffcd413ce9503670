"""A failing bootstrap must not print a secret: `local.Command` logs its output unmasked, and
PostgreSQL's own log (shipped to Loki) would quote a failed statement with its password."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from tests.app.services import Processes, run_postgres_bootstrap, start_postgres

PASSWORDS = {
    "MLFLOW_DB_PASSWORD": "Mlf0wSecretQx7",
    "PIPELINE_DB_PASSWORD": "Pip3lineSecretQx7",
    "MONITORING_DB_PASSWORD": "M0nitorSecretQx7",
}


@pytest.fixture(scope="module")
def postgres():
    procs = Processes(Path(tempfile.mkdtemp(prefix="mlops-bootstrap-")))
    try:
        url = start_postgres(procs)
        first = run_postgres_bootstrap(url, PASSWORDS)
        assert first.returncode == 0, first.stderr  # the roles exist: the next run reaches ALTER ROLE
        yield url, procs.root / "postgres.log"
    finally:
        procs.stop_all()


@pytest.fixture
def failed_run(postgres, monkeypatch):
    """The real script, failing at its first ALTER ROLE (the session is forced read-only)."""
    url, log = postgres
    monkeypatch.setenv("PGOPTIONS", "-c default_transaction_read_only=on")
    result = run_postgres_bootstrap(url, PASSWORDS)
    assert result.returncode != 0 and "read-only transaction" in result.stderr, result.stderr
    return result, log


def test_failed_bootstrap_prints_no_password(failed_run):
    result, _ = failed_run
    for secret in PASSWORDS.values():
        assert secret not in result.stdout + result.stderr


def test_failed_bootstrap_leaves_no_password_in_the_server_log(failed_run):
    _, log = failed_run
    text = log.read_text(errors="replace")
    assert "read-only transaction" in text  # the failure itself is logged
    for secret in PASSWORDS.values():
        assert secret not in text


def test_failed_bootstrap_still_says_what_failed(failed_run):
    result, _ = failed_run
    assert "cannot execute ALTER ROLE in a read-only transaction" in result.stderr


def superuser_verifier(url: str) -> str:
    import os
    import subprocess
    from urllib.parse import urlparse

    from tests.app.services import pg_bin

    u = urlparse(url)
    env = {**os.environ, "PGHOST": u.hostname, "PGPORT": str(u.port)}
    query = "SELECT coalesce(rolpassword, '') FROM pg_authid WHERE rolname = 'postgres'"
    result = subprocess.run([pg_bin("psql"), "-U", "postgres", "-d", "postgres", "-Atc", query], env=env, capture_output=True, text=True, check=True)
    return result.stdout.strip()


def test_a_rotated_superuser_password_is_applied_and_left_alone_without_one(postgres):
    """POSTGRES_PASSWORD_FILE counts only at initdb: the bootstrap sets a rotated one (docs/rotating-secrets.md)."""
    url, log = postgres
    before = superuser_verifier(url)
    assert run_postgres_bootstrap(url, PASSWORDS).returncode == 0
    assert superuser_verifier(url) == before  # no POSTGRES_SUPERUSER_PASSWORD: nothing changes
    rotated = run_postgres_bootstrap(url, {**PASSWORDS, "POSTGRES_SUPERUSER_PASSWORD": "Sup3rRotatedQx7"})
    assert rotated.returncode == 0, rotated.stderr
    after = superuser_verifier(url)
    assert after.startswith("SCRAM-SHA-256$") and after != before
    assert "Sup3rRotatedQx7" not in rotated.stdout + rotated.stderr + log.read_text(errors="replace")
