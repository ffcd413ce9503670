"""A service's data migration is a deploy step on Docker: after a fresh backup, before the new containers."""

from __future__ import annotations

import dataclasses
import shlex

import pytest

from infra.catalog.model import Catalog, Migration
from infra.services.data.mlflow import MIGRATION
from infra.services.data.pgbackrest import BEFORE_MIGRATION

from .harness import PROJECT


def command(run, name: str):
    return next(r for r in run.of_type(":Command") if r.name == f"{PROJECT}-{run.stack}-{name}")


def test_the_migration_runs_the_catalogs_command_in_the_servers_image(run):
    step = command(run, "mlflow-migration")
    argv = shlex.split(step.inputs["create"])
    assert argv[:2] == ["docker", "run"]
    image = run.container("mlflow").inputs["image"]
    assert argv[argv.index(image) + 1 :] == list(MIGRATION.command)


def test_the_migration_runs_as_the_server_does(run):
    argv = shlex.split(command(run, "mlflow-migration").inputs["create"])
    server = run.container("mlflow").inputs
    assert argv[argv.index("--user") + 1] == "10001"  # app/mlflow/Dockerfile: USER 10001
    assert argv[argv.index("--memory") + 1] == f"{int(server['memory'])}m"
    assert {"--read-only", "--rm"} <= set(argv) and argv[argv.index("--cap-drop") + 1] == "ALL"
    assert argv[argv.index("--network") + 1] == run.output("networks")["backend"]


def test_the_store_uri_reaches_the_migration_through_its_environment_only(run):
    step = command(run, "mlflow-migration")
    uri = next(e.split("=", 1)[1] for e in run.container("mlflow").inputs["envs"] if e.startswith("MLFLOW_BACKEND_STORE_URI="))
    assert step.inputs["environment"]["MLFLOW_BACKEND_STORE_URI"] == uri
    assert "MLFLOW_BACKEND_STORE_URI" in shlex.split(step.inputs["create"])  # `-e NAME`: the value stays out of argv
    assert uri not in step.inputs["create"]


def test_a_fresh_backup_is_taken_in_postgres_backup_before_the_migration(run):
    backup = command(run, "mlflow-backup-before-migration")
    assert shlex.split(backup.inputs["create"]) == [
        "docker", "exec", f"{PROJECT}-{run.stack}-postgres-backup", *BEFORE_MIGRATION.command
    ]  # fmt: skip
    assert run.container("postgres-backup").urn in backup.dependencies
    assert backup.urn in command(run, "mlflow-migration").dependencies


def test_the_server_starts_only_after_the_migration(run):
    assert command(run, "mlflow-migration").urn in run.container("mlflow").dependencies


def test_the_migration_and_its_backup_run_again_only_for_a_new_image(run):
    image = run.container("mlflow").inputs["image"]
    assert command(run, "mlflow-migration").inputs["triggers"] == [image, *MIGRATION.command]
    assert command(run, "mlflow-backup-before-migration").inputs["triggers"] == [image]


def catalog_with(**migration) -> Catalog:
    from infra.assembly import offline_catalog

    catalog = offline_catalog("dev")[1]
    spec = catalog.services["mlflow"]
    services = {**catalog.services, "mlflow": dataclasses.replace(spec, migration=Migration(**{**vars(MIGRATION), **migration}))}
    return Catalog(services, catalog.volumes)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"env": ("NOT_THE_SERVERS",)}, "variables the service does not have: ['NOT_THE_SERVERS']"),
        ({"reaches": ("rabbitmq",)}, "reaches ['rabbitmq'], which the service does not wait for"),
    ],
)
def test_a_migration_beyond_its_services_reach_is_rejected(change, reason):
    with pytest.raises(ValueError, match=reason.replace("[", r"\[").replace("]", r"\]")):
        catalog_with(**change)
