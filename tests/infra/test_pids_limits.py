"""PID limits (issue 12 part 2): the catalog gives every container one, the Docker target applies it
with `docker update --pids-limit` beside each container, and the policy pack's stack rule `pids-limited`
rejects a container without one."""

from __future__ import annotations

import copy
import dataclasses
import os
import subprocess
import sys
from pathlib import Path

import pytest

from infra.assembly import offline_catalog
from infra.catalog.model import DEFAULT_PIDS_LIMIT, Catalog, Hardening
from infra.targets.docker.components import pids_limit_script

from .harness import PROJECT, SECRET_SIG, run_stack

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "policy"))
import rules  # noqa: E402

STACKS = ("staging", "production", "dev")
#: Services that start many tasks (threads count against pids.max) and so get more than the default.
RAISED = {"postgres", "rabbitmq", "minio", "mlflow", "processor", "grafana", "prometheus", "loki", "tempo", "mimir", "cadvisor"}


def pids_commands(run) -> dict[str, object]:
    """{container name: its pids-limit command}"""
    return {r.name.removesuffix("-pids-limit"): r for r in run.of_type(":Command") if r.name.endswith("-pids-limit")}


def stack_resources(run) -> list[tuple[str, dict]]:
    return [(r.type, r.inputs) for r in run.resources]


# -- catalog -----------------------------------------------------------------------------------


@pytest.mark.parametrize("stack", STACKS)
def test_every_service_has_a_positive_pid_limit(stack):
    _, catalog = offline_catalog(stack)
    assert catalog.services
    for spec in catalog.services.values():
        assert spec.hardening.pids_limit > 0, spec.name


def test_every_pid_limit_other_than_the_default_states_a_one_line_reason():
    _, catalog = offline_catalog("staging")
    raised = {n: s.hardening for n, s in catalog.services.items() if s.hardening.pids_limit != DEFAULT_PIDS_LIMIT}
    assert raised
    for name, h in raised.items():
        assert h.pids_reason.strip() and "\n" not in h.pids_reason, name


def test_services_that_start_many_threads_get_more_than_the_default():
    _, catalog = offline_catalog("staging")
    raised = {n for n, s in catalog.services.items() if s.hardening.pids_limit > DEFAULT_PIDS_LIMIT}
    assert raised == RAISED


def _with_hardening(**changes) -> Catalog:
    _, catalog = offline_catalog("staging")
    api = catalog.services["api"]
    services = {**catalog.services, "api": dataclasses.replace(api, hardening=dataclasses.replace(api.hardening, **changes))}
    return Catalog(services=services, volumes=catalog.volumes)


def test_a_raised_pid_limit_without_a_reason_is_rejected():
    with pytest.raises(ValueError, match="api: a PID limit other than 256 needs a one-line reason"):
        _with_hardening(pids_limit=1024)


def test_a_raised_pid_limit_with_a_multi_line_reason_is_rejected():
    with pytest.raises(ValueError, match="needs a one-line reason"):
        _with_hardening(pids_limit=1024, pids_reason="many\nthreads")


@pytest.mark.parametrize("limit", [0, -1])
def test_a_pid_limit_that_is_not_positive_is_rejected(limit):
    """`docker update --pids-limit 0` leaves the limit unchanged and -1 lifts it."""
    with pytest.raises(ValueError, match="the PID limit must be positive"):
        _with_hardening(pids_limit=limit, pids_reason="x")


def test_the_default_pid_limit_is_256():
    assert Hardening().pids_limit == DEFAULT_PIDS_LIMIT == 256


# -- Docker renderer ---------------------------------------------------------------------------


def test_every_container_has_one_pids_limit_command(run):
    assert set(pids_commands(run)) == set(run.containers)


def test_the_pids_limit_command_sets_the_catalog_limit_on_its_container(run):
    _, catalog = offline_catalog(run.stack)
    prefix = f"{PROJECT}-{run.stack}-"
    for cname, cmd in pids_commands(run).items():
        service = rules._labels(run.containers[cname].inputs)["mlops.service"]
        assert cname.startswith(prefix)
        docker_name = run.containers[cname].inputs["name"]  # the resource's name, or the provider's auto-name
        limit = catalog.services[service].hardening.pids_limit
        assert cmd.inputs["create"] == pids_limit_script(docker_name, limit)
        assert cmd.inputs["create"].startswith(f"docker update --pids-limit {limit} {docker_name} ")


def test_each_replica_gets_its_own_pids_limit_command(runs):
    run = runs["staging"]
    replicas = [c for c in run.containers if c.startswith(f"{PROJECT}-staging-processor-")]
    assert len(replicas) > 1
    names = {c: run.containers[c].inputs["name"] for c in replicas}
    assert len(set(names.values())) == len(replicas)
    assert all(f"docker update --pids-limit 512 {names[c]} " in pids_commands(run)[c].inputs["create"] for c in replicas)


def test_the_pids_limit_command_reruns_when_its_container_is_replaced(run):
    """The container's id is the trigger: a replaced container gets a new id, so the command runs again."""
    for cname, cmd in pids_commands(run).items():
        assert cmd.inputs["triggers"] == [f"{cname}-id"], cname


def test_the_pids_limit_command_runs_after_its_container(run):
    for cname, cmd in pids_commands(run).items():
        assert run.containers[cname].urn in cmd.dependencies, cname


def test_the_pids_limit_command_belongs_to_its_service_component(run):
    for cname, cmd in pids_commands(run).items():
        assert cmd.parent == run.containers[cname].parent and ":Service::" in cmd.parent, cname


def test_the_pids_limit_command_holds_no_secret(run):
    for cname, cmd in pids_commands(run).items():
        assert SECRET_SIG not in str(cmd.raw), cname
        assert set(cmd.inputs.get("environment") or {}) <= {"DOCKER_HOST"}, cname
        assert "stdin" not in cmd.inputs


def test_the_pids_limit_command_talks_to_the_stack_docker_host():
    run = run_stack("staging", {"acmeEmail": "ops@iot64.de", "docker:host": "ssh://deploy@example.org"})
    commands = pids_commands(run)
    assert commands and all(c.inputs["environment"] == {"DOCKER_HOST": "ssh://deploy@example.org"} for c in commands.values())


# -- the script, against a stand-in `docker` -----------------------------------------------------

FAKE_DOCKER = """#!/bin/sh
echo "$*" >> "$FAKE_DOCKER_LOG"
case "$1" in
  update) if [ -n "$FAKE_UPDATE_ERROR" ]; then echo "$FAKE_UPDATE_ERROR" >&2; exit 1; fi; echo "$4" ;;
  inspect) echo "$FAKE_PIDS_LIMIT" ;;
esac
"""


def run_script(tmp_path, limit_seen: str, update_error: str = "") -> tuple[subprocess.CompletedProcess, list[str]]:
    """The script as local.Command runs it (`/bin/sh -c`), with `docker` answering as told."""
    docker = tmp_path / "docker"
    docker.write_text(FAKE_DOCKER)
    docker.chmod(0o755)
    log = tmp_path / "calls.log"
    env = {
        **os.environ,
        "PATH": f"{tmp_path}:{os.environ['PATH']}",
        "FAKE_DOCKER_LOG": str(log),
        "FAKE_PIDS_LIMIT": limit_seen,
        "FAKE_UPDATE_ERROR": update_error,
    }
    result = subprocess.run(["/bin/sh", "-c", pids_limit_script("p-s-api", 256)], env=env, capture_output=True, text=True)
    return result, log.read_text().splitlines() if log.exists() else []


def test_the_pids_limit_script_succeeds_when_docker_keeps_the_limit(tmp_path):
    result, calls = run_script(tmp_path, "256")
    assert result.returncode == 0, result.stderr
    assert calls == ["update --pids-limit 256 p-s-api", "inspect --format {{json .HostConfig.PidsLimit}} p-s-api"]


def test_the_pids_limit_script_fails_when_docker_discards_the_limit(tmp_path):
    """Without the pids controller the daemon only warns and drops it; `docker update` exits 0."""
    result, _ = run_script(tmp_path, "null")
    assert result.returncode != 0
    assert "p-s-api: PID limit is null after docker update, not 256" in result.stderr


def test_the_pids_limit_script_fails_when_docker_update_fails(tmp_path):
    result, calls = run_script(tmp_path, "256", update_error="Error response from daemon: No such container: p-s-api")
    assert result.returncode != 0
    assert "No such container" in result.stderr
    assert len(calls) == 1  # no inspect after a failed update


# -- policy: pids-limited ----------------------------------------------------------------------


def test_every_shipped_stack_passes_pids_limited(run):
    assert rules.containers_pids_limited(stack_resources(run)) == []


def test_a_container_without_a_pids_limit_command_is_rejected(runs):
    run = runs["staging"]
    victim = f"{PROJECT}-staging-postgres"
    resources = [(t, p) for t, p in stack_resources(run) if not (t == rules.COMMAND and p["create"] == pids_commands(run)[victim].inputs["create"])]
    assert rules.containers_pids_limited(resources) == [
        f"container '{victim}' has no PID limit (no command runs `docker update --pids-limit <n> {victim}`)"
    ]


def test_a_command_for_a_longer_container_name_does_not_cover_its_prefix(runs):
    """socket-proxy-edge's command names socket-proxy as a prefix of its own name; it must not count."""
    run = runs["staging"]
    victim = f"{PROJECT}-staging-socket-proxy"
    assert f"{victim}-edge" in run.containers
    resources = [(t, p) for t, p in stack_resources(run) if not (t == rules.COMMAND and p["create"] == pids_commands(run)[victim].inputs["create"])]
    assert rules.containers_pids_limited(resources) == [
        f"container '{victim}' has no PID limit (no command runs `docker update --pids-limit <n> {victim}`)"
    ]


@pytest.mark.parametrize("create", ["docker update --pids-limit 0 NAME", "docker update --memory 256m NAME", "echo NAME"])
def test_a_command_that_sets_no_positive_pid_limit_does_not_count(create):
    resources = [(rules.CONTAINER, {"name": "p-s-api"}), (rules.COMMAND, {"create": create.replace("NAME", "p-s-api")})]
    assert rules.containers_pids_limited(resources)


def test_pids_limited_reads_properties_as_the_policy_sdk_passes_them(runs):
    """pulumi-policy hands a stack policy Mapping proxies of the deserialized properties (pulumi_policy/policy.py)."""
    from pulumi_policy.deserialize import deserialize_properties
    from pulumi_policy.proxy import unknown_checking_proxy

    run = runs["production"]
    # A policy sees the inputs after the provider's check: an auto-named container's name filled in.
    checked = [{**copy.deepcopy(r.raw), **({"name": r.inputs["name"]} if r.type == rules.CONTAINER else {})} for r in run.resources]
    seen = [(r.type, unknown_checking_proxy(deserialize_properties(props))) for r, props in zip(run.resources, checked)]
    assert rules.containers_pids_limited(seen) == []
    without = [(t, p) for t, p in seen if t != rules.COMMAND]
    assert len(rules.containers_pids_limited(without)) == len(run.containers)
