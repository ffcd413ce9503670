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
