"""The policy pack's rules: each rejects what it should, and every shipped stack passes them all."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "policy"))
import rules  # noqa: E402

C = rules.CONTAINER


def test_a_non_proxy_container_with_host_ports_is_rejected():
    props = {"name": "db", "ports": [{"internal": 5432, "external": 5432}], "labels": []}
    assert rules.only_proxy_publishes_ports(C, props, "staging")


def test_the_proxy_may_publish_host_ports():
    props = {"name": "proxy", "ports": [{"internal": 80}], "labels": [{"label": rules.PROXY_LABEL, "value": "true"}]}
    assert rules.only_proxy_publishes_ports(C, props, "staging") == []


@pytest.mark.parametrize("name", ["postgres", "postgres:latest", "ghcr.io/x/api"])
def test_unpinned_images_are_rejected(name):
    assert rules.images_are_pinned(rules.REMOTE_IMAGE, {"name": name}, "staging")


@pytest.mark.parametrize("name", ["postgres:18.6", "quay.io/minio/minio:RELEASE.2025-09-07T16-13-09Z", "x/y@sha256:" + "a" * 64])
def test_pinned_images_pass(name):
    assert rules.images_are_pinned(rules.REMOTE_IMAGE, {"name": name}, "staging") == []


def test_postgres_on_the_edge_network_is_rejected():
    props = {"name": "pg", "labels": [{"label": "mlops.service", "value": "postgres"}], "networksAdvanced": [{"name": "p-edge"}, {"name": "p-backend"}]}
    assert rules.postgres_stays_off_the_edge(C, props, "staging")


def test_a_non_internal_backend_network_is_rejected():
    assert rules.backend_network_is_internal("docker:index/network:Network", {"name": "x-backend", "internal": False}, "staging")


def test_a_public_service_without_certificate_is_rejected_on_tls_stacks():
    props = {"name": "api", "envs": ["VIRTUAL_HOST=api.example.org"]}
    assert rules.public_services_are_routed_over_https(C, props, "staging")
    assert rules.public_services_are_routed_over_https(C, props, "dev") == []


def test_unprotected_production_volume_is_rejected():
    assert rules.volumes_protected_in_production([{"name": "pg", "stateful": True, "protect": False}], "production")
    assert rules.volumes_protected_in_production([{"name": "pg", "stateful": True, "protect": False}], "staging") == []


def test_every_shipped_stack_passes_every_rule(run):
    for res in run.resources:
        for name, (_, rule) in rules.RULES.items():
            assert rule(res.type, res.inputs, run.stack) == [], (name, res.name)
    volumes = [
        {"name": v.name, "stateful": rules.is_stateful_volume(v.inputs), "protect": v.protect} for v in run.of_type(":Volume")
    ]
    assert rules.volumes_protected_in_production(volumes, run.stack) == []


def test_volumes_are_stateful_unless_labelled_otherwise():
    label = lambda v: {"labels": [{"label": "mlops.stateful", "value": v}]}  # noqa: E731
    assert rules.is_stateful_volume({"name": "pg"})
    assert rules.is_stateful_volume(label("true"))
    assert not rules.is_stateful_volume(label("false"))


def test_a_writable_host_path_is_rejected():
    props = {"name": "agent", "volumes": [{"hostPath": "/", "containerPath": "/host", "readOnly": False}]}
    assert rules.host_paths_are_read_only(C, props, "staging")
    props["volumes"][0]["readOnly"] = True
    assert rules.host_paths_are_read_only(C, props, "staging") == []
