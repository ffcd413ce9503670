"""Every catalog service whose program exists here runs with exactly the catalog's command,
environment and files, and passes the catalog's own healthcheck inside its container."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .images import RUNNABLE, program_available
from .runner import RUN_STACK, container_env, stack_catalog

SETTINGS, CATALOG = stack_catalog(RUN_STACK)
RUN_HERE = [n for n in CATALOG.startup_order() if n in RUNNABLE]


def ran(catalog_run, name):
    if not program_available(RUNNABLE[name]):
        pytest.skip(f"{name}: {RUNNABLE[name].program} is not installed here (.ci/run installs it)")
    if name not in catalog_run.containers:
        pytest.fail(f"{name} was not started: {catalog_run.outcomes[name].detail}")
    container = catalog_run.containers[name]
    if container.proc.poll() is not None:
        pytest.fail(f"{name} exited with {container.proc.returncode}: {catalog_run.outcomes[name].detail}")
    return container


@pytest.mark.parametrize("name", RUN_HERE)
def test_service_passes_its_catalog_healthcheck(catalog_run, name):
    ran(catalog_run, name)
    outcome = catalog_run.outcomes[name]
    assert outcome.healthy, f"{name}: {outcome.detail}"


@pytest.mark.parametrize("name", RUN_HERE)
def test_container_gets_exactly_the_catalog_environment(catalog_run, name):
    """What the process was exec'd with: the image's ENV plus the catalog's env, nothing else."""
    container = ran(catalog_run, name)
    spec, image = catalog_run.catalog.services[name], catalog_run.images[name]
    passed = json.loads((catalog_run.net.state / name / "spec.json").read_text())["env"]
    catalog_keys = {*spec.env, *spec.secret_env}
    assert catalog_keys <= set(passed), f"omitted: {catalog_keys - set(passed)}"
    assert set(passed) - catalog_keys <= set(image.env) | {"VIRTUAL_HOST", "VIRTUAL_PORT", "VIRTUAL_PROTO", "LETSENCRYPT_HOST"}
    assert passed == container_env(image, spec, catalog_run.settings)
    assert container.env == passed  # healthchecks and bootstraps see the same environment


@pytest.mark.parametrize("name", [n for n in RUN_HERE if CATALOG.services[n].files])
def test_container_sees_exactly_the_catalog_files(catalog_run, name):
    container = ran(catalog_run, name)
    spec = catalog_run.catalog.services[name]
    assert set(container.files) == {f.path for f in spec.files}
    gap = catalog_run.images[name].file_gap  # a stand-in's stated version gap, if any
    for f in spec.files:
        assert container.read(f.path) == (gap(f.path, f.content) if gap else f.content), f.path


@pytest.mark.parametrize("name", [n for n in RUN_HERE if CATALOG.services[n].bootstrap])
def test_bootstrap_succeeds_and_is_idempotent(catalog_run, name):
    ran(catalog_run, name)
    outcome = catalog_run.outcomes[name]
    assert outcome.healthy, outcome.detail
    assert [r.returncode for r in outcome.bootstrap] == [0, 0], [r.stderr for r in outcome.bootstrap]


def _scrape(url: str) -> dict[str, float]:
    from tests.app.flow import scrape

    return scrape(url)


def test_postgres_exporter_reads_postgres_with_the_bootstrapped_monitoring_role(catalog_run):
    """The exporter has no healthcheck; `pg_up 1` shows its env, password file and the role work."""
    container = ran(catalog_run, "postgres-exporter")
    metrics = catalog_run.catalog.services["postgres-exporter"].metrics
    assert _scrape(f"http://{container.address}:{metrics.port}{metrics.path}")["pg_up"] == 1


def test_prometheus_scrapes_every_healthy_service_running_here(catalog_run):
    """The rendered prometheus.yml reaches each service by its catalog name and port."""
    import time

    import httpx

    prometheus = ran(catalog_run, "prometheus")
    running = {n for n, o in catalog_run.outcomes.items() if o.healthy}
    names = {alias: n for n in running for alias in [n, *catalog_run.net.aliases.get(n, [])]}
    deadline = time.monotonic() + 60  # scrape_interval is 15s
    while True:
        targets = httpx.get(f"http://{prometheus.address}:9090/api/v1/targets", timeout=5).json()["data"]["activeTargets"]
        ours = {t["labels"]["instance"]: t for t in targets if t["labels"]["instance"].split(":")[0] in names}
        down = {i: t.get("lastError") for i, t in ours.items() if t["health"] != "up"}
        if not down or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert {names[i.split(":")[0]] for i in ours} == {n for n in running if catalog_run.catalog.services[n].metrics}
    assert not down, down


def test_mlflow_starts_no_job_runner_for_genai_jobs(catalog_run):
    """mlflow 3.17.2 `server` starts a job runner and a Huey consumer per GenAI job kind (scorers,
    evaluation, issue detection, prompt optimisation) unless MLFLOW_SERVER_ENABLE_JOB_EXECUTION is
    false: eight processes that held 1.4 GB here, inside a container limited to 2 GB."""
    from tests.app.services import mlflow_job_processes

    container = ran(catalog_run, "mlflow")
    jobs = mlflow_job_processes(container.proc.pid)
    assert not jobs, jobs


def backup_metrics(catalog_run, kind: str, timeout: float = 300) -> str:
    """The metrics file a backup container writes after its first round, once it is there (the round starts
    as the container does; a full backup of the fresh cluster takes seconds)."""
    import time
    from pathlib import Path

    from .runner import slowdown

    path = Path(catalog_run.volumes["metrics-textfile"]) / f"backup_{kind}.prom"
    deadline = time.monotonic() + timeout * slowdown()
    while not (path.exists() and "last_attempt_failed" in path.read_text()):
        assert time.monotonic() < deadline, f"{path.name} not written within {timeout}s"
        time.sleep(1)
    return path.read_text()


def test_postgres_backup_takes_a_full_backup_to_the_https_target_and_writes_its_metrics(catalog_run):
    """As its catalog user (999:999) into the metrics volume Docker creates root:root 0755 (given to its group by
    fs_group), over HTTPS to a target whose CA the stack trusts (backup.target.caCertificate)."""
    container = ran(catalog_run, "postgres-backup")
    metrics = backup_metrics(catalog_run, "postgres")
    assert 'mlops_backup_last_attempt_failed{kind="postgres"} 0' in metrics, container.log_tail()
    volume = catalog_run.volumes["metrics-textfile"]
    full = (Path(volume) / "backup_postgres_full.prom").read_text()
    assert full.startswith("# TYPE mlops_backup_last_full_timestamp_seconds gauge")  # the next restart takes no new full
    assert (Path(volume) / "backup_postgres.prom").stat().st_uid == 999


def test_object_backup_snapshots_buckets_and_configuration_to_the_https_target(catalog_run):
    container = ran(catalog_run, "object-backup")
    metrics = backup_metrics(catalog_run, "objects")
    assert 'mlops_backup_last_attempt_failed{kind="objects"} 0' in metrics, container.log_tail()
