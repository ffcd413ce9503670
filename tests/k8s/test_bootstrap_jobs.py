"""Bootstrap scripts run as Jobs against their service over the network, before dependents start."""

from __future__ import annotations

from infra.targets.kubernetes import plan

from .harness import manifest
from .test_k8s_stack import stack_catalog


def jobs(run) -> dict[str, tuple]:
    return {
        manifest(r)["metadata"]["name"]: (r, manifest(r)) for r in run.resources if r.type == "kubernetes:batch/v1:Job"
    }


def job_container(run, name: str) -> dict:
    (c,) = jobs(run)[name][1]["spec"]["template"]["spec"]["containers"]
    return c


def test_every_catalog_bootstrap_becomes_a_job():
    catalog = stack_catalog()
    with_bootstrap = {n for n, s in catalog.services.items() if plan.bootstrap_job_of(s)}
    assert with_bootstrap == {"postgres", "minio"}


def test_jobs_exist_for_each_bootstrap(run):
    assert {n for n in jobs(run) if n.endswith("-bootstrap")} == {"postgres-bootstrap", "minio-bootstrap"}


def test_the_job_runs_the_catalogs_script_with_loopback_replaced_by_the_service_name(run):
    catalog = stack_catalog()
    script = job_container(run, "minio-bootstrap")["command"][2]
    assert script == catalog.services["minio"].bootstrap.script.replace("127.0.0.1", "minio")
    assert "@minio:9000" in script and "127.0.0.1" not in script
    assert job_container(run, "postgres-bootstrap")["command"][2] == catalog.services["postgres"].bootstrap.script


def test_psql_reaches_postgres_over_tcp_with_the_superuser_password_from_its_secret(run):
    env = {e["name"]: e for e in job_container(run, "postgres-bootstrap")["env"]}
    assert env["PGHOST"]["value"] == "postgres"
    assert env["PGPASSWORD"]["valueFrom"]["secretKeyRef"] == {"name": "postgres-files", "key": "run__secrets__postgres_password"}
    for key in ("MLFLOW_DB_PASSWORD", "PIPELINE_DB_PASSWORD", "MONITORING_DB_PASSWORD"):
        assert env[key]["valueFrom"]["secretKeyRef"] == {"name": "postgres-bootstrap-env", "key": key}


def test_a_job_waits_for_its_service_and_dependents_wait_for_the_job(run):
    by_urn = {r.urn: r for r in run.resources}
    res, _ = jobs(run)["postgres-bootstrap"]
    deps = {(by_urn[u].type.rsplit(":", 1)[1], manifest(by_urn[u])["metadata"]["name"]) for u in res.dependencies}
    assert ("StatefulSet", "postgres") in deps and ("Service", "postgres") in deps
    for dependent in ("mlflow", "api", "processor", "postgres-exporter"):
        workload = next(
            r for r in run.resources if r.type.startswith("kubernetes:apps/") and manifest(r)["metadata"]["name"] == dependent
        )
        assert res.urn in workload.dependencies, dependent


def test_a_changed_script_replaces_the_job(run):
    res, job = jobs(run)["minio-bootstrap"]
    assert "mlops/script-sha256" in job["spec"]["template"]["metadata"]["annotations"]
    assert res.delete_before_replace
