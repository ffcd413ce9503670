"""The tests' own servers run the processes the catalog's containers run, so that what the tests
and benchmarks measure (CPU, memory, start-up) is what a deployed stack does."""

from __future__ import annotations

from tests.app.services import mlflow_job_processes


def test_the_tests_mlflow_starts_no_genai_job_runner_as_the_catalogs_does_not(stack):
    server = next(p for p in stack.procs.procs if p.args[1:2] == ["server"] and p.args[0].endswith("mlflow"))
    jobs = mlflow_job_processes(server.pid)
    assert not jobs, jobs
