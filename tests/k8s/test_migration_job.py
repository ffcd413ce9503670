"""MLflow's schema migration runs as a Job before its Deployment, with the server's own image and store URI."""

from __future__ import annotations

from infra.services.data.mlflow import MIGRATION

from .harness import manifest
from .test_bootstrap_jobs import job_container, jobs


def test_the_migration_job_runs_the_catalogs_command_with_the_servers_image(run):
    container = job_container(run, "mlflow-migration")
    (server,) = workloads_named(run, "mlflow")["spec"]["template"]["spec"]["containers"]
    assert container["command"] == list(MIGRATION.command)
    assert container["image"] == server["image"]


def test_the_migration_job_reads_the_store_uri_from_the_servers_env_secret(run):
    container = job_container(run, "mlflow-migration")
    (server,) = workloads_named(run, "mlflow")["spec"]["template"]["spec"]["containers"]
    uri = next(e for e in server["env"] if e["name"] == "MLFLOW_BACKEND_STORE_URI")
    assert container["env"] == [uri]  # a secretKeyRef, never the value


def test_a_failed_migration_fails_the_job_at_once(run):
    spec = jobs(run)["mlflow-migration"][1]["spec"]
    assert spec["backoffLimit"] == 0 and spec["template"]["spec"]["restartPolicy"] == "Never"


def test_the_mlflow_deployment_waits_for_the_migration_job(run):
    job, _ = jobs(run)["mlflow-migration"]
    deployment = next(r for r in run.resources if r.type == "kubernetes:apps/v1:Deployment" and manifest(r)["metadata"]["name"] == "mlflow")
    assert job.urn in deployment.dependencies


def test_a_new_image_replaces_and_so_reruns_the_migration_job(run):
    job, _ = jobs(run)["mlflow-migration"]
    assert job.replace_on_changes == ["spec"] and job.delete_before_replace  # a Job's template is immutable


def workloads_named(run, name: str) -> dict:
    return next(
        manifest(r) for r in run.resources
        if r.type.startswith("kubernetes:apps/v1:") and manifest(r)["metadata"]["name"] == name
    )  # fmt: skip
