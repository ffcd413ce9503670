"""How an update replaces containers on Docker: the stateless public services (and the workers) start the new
container beside the old one, wait for its health and only then remove the old one; every other service keeps
its fixed name and is removed first, so no two writers ever share a volume."""

from __future__ import annotations

import dataclasses

import pytest

from infra.assembly import offline_catalog
from infra.catalog.model import Catalog, Mount, RollingUpdate
from infra.services.application.processor import PROCESSOR_STOP_GRACE_SECONDS
from infra.targets.docker.components import HEALTH_WAIT_SECONDS, pids_limit_script

ROLLING = ("api", "ui", "processor")


def service_containers(run, service: str):
    return [c for c in run.containers.values() if dict((l["label"], l["value"]) for l in c.inputs["labels"])["mlops.service"] == service]


def services(run) -> set[str]:
    return {dict((l["label"], l["value"]) for l in c.inputs["labels"])["mlops.service"] for c in run.containers.values()}


@pytest.mark.parametrize("service", ROLLING)
def test_the_new_container_is_created_before_the_old_one_is_deleted(run, service):
    for c in service_containers(run, service):
        # Explicitly false: pulumi-docker's own default for a container is delete-before-replace.
        assert c.delete_before_replace_defined and not c.delete_before_replace, c.name


@pytest.mark.parametrize("service", ROLLING)
def test_each_replacement_gets_a_new_name_from_the_provider(run, service):
    containers = service_containers(run, service)
    assert containers
    for c in containers:
        assert "name" not in c.raw  # auto-named: the engine checks a replacement again and gets a fresh name
        assert c.inputs["name"].startswith(f"{c.name}-") and c.inputs["name"] != c.name


@pytest.mark.parametrize("service", ROLLING)
def test_the_old_container_stays_until_the_new_one_is_healthy(run, service):
    for c in service_containers(run, service):
        assert c.inputs["wait"] is True and c.inputs["waitTimeout"] == HEALTH_WAIT_SECONDS
        assert c.inputs["healthcheck"]["tests"]


def test_the_public_ones_are_routed_by_virtual_host_not_by_name(run):
    """nginx-proxy's template groups the running containers by VIRTUAL_HOST and lists each one's address in the host's
    upstream (nginx.tmpl at 1.11.6: `groupByMulti $globals.containers "Env.VIRTUAL_HOST"`, `define "upstream"`), so
    while two APIs run both are upstream servers, whatever their names."""
    for service in ("api", "ui"):
        for c in service_containers(run, service):
            assert any(e.startswith("VIRTUAL_HOST=") for e in c.inputs["envs"]), c.name


def test_every_other_service_keeps_its_fixed_name_and_is_removed_first(run):
    others = services(run) - set(ROLLING)
    assert {"postgres", "rabbitmq", "minio", "mlflow"} <= others
    for service in others:
        for c in service_containers(run, service):
            assert c.raw["name"] == c.name and c.delete_before_replace, c.name


def test_a_removed_worker_drains_its_job_and_the_others_get_a_grace(run):
    _, catalog = offline_catalog(run.stack)
    for c in run.containers.values():
        service = dict((l["label"], l["value"]) for l in c.inputs["labels"])["mlops.service"]
        assert c.inputs["destroyGraceSeconds"] == catalog.services[service].stop_grace_seconds > 0, c.name
    assert all(c.inputs["destroyGraceSeconds"] == PROCESSOR_STOP_GRACE_SECONDS for c in service_containers(run, "processor"))


def test_the_pid_limit_names_the_provider_named_container(run):
    _, catalog = offline_catalog(run.stack)
    commands = {r.name: r for r in run.of_type(":Command")}
    for service in ROLLING:
        limit = catalog.services[service].hardening.pids_limit
        for c in service_containers(run, service):
            assert commands[f"{c.name}-pids-limit"].inputs["create"] == pids_limit_script(c.inputs["name"], limit)


# -- the catalog refuses a rolling update that would run two of something that must be one ---------------------


def catalog_with(service: str, **changes) -> Catalog:
    _, catalog = offline_catalog("dev")
    spec = dataclasses.replace(catalog.services[service], **changes)
    return Catalog({**catalog.services, service: spec}, catalog.volumes)


def test_a_rolling_update_of_a_service_with_a_writable_volume_is_refused():
    with pytest.raises(ValueError, match=r"postgres: a rolling update would run two writers on the volumes \['backups', 'postgres', 'postgres-run'\]"):
        catalog_with("postgres", rolling_update=RollingUpdate("wrong"))


def test_a_rolling_update_on_host_ports_is_refused():
    with pytest.raises(ValueError, match="api: a rolling update cannot start a second container on host ports"):
        catalog_with("api", host_ports=(8000,))


def test_a_rolling_update_without_a_healthcheck_is_refused():
    with pytest.raises(ValueError, match="ui: a rolling update needs a healthcheck"):
        catalog_with("ui", healthcheck=None)


def test_a_rolling_update_states_why_two_may_run_at_once():
    with pytest.raises(ValueError, match="api: a rolling update must say why"):
        catalog_with("api", rolling_update=RollingUpdate(" "))


def test_no_rolling_service_mounts_a_writable_volume():
    _, catalog = offline_catalog("production")
    for name in ROLLING:
        spec = catalog.services[name]
        assert spec.rolling_update and not [m for m in spec.mounts if isinstance(m, Mount) and not m.read_only]
