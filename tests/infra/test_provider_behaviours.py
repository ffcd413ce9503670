"""What pulumi-docker 5.2 (kreuzwerker/terraform-provider-docker v4) would otherwise get wrong
on a real `up`, checked on the resources the program registers (docs/deploying.md, Runbook)."""

from __future__ import annotations

import dataclasses

import pytest

from infra.catalog.model import Healthcheck
from infra.image_refs import REPO_ROOT, is_ignored, source_hash
from infra.targets.docker.components import healthcheck_hash

from .harness import PROJECT, local_image_id


def labels_of(container) -> dict[str, str]:
    return {item["label"]: item["value"] for item in container.inputs.get("labels") or []}


def test_every_container_sets_memory_and_swap_equal_to_it(run):
    # Unset swap reads back as 2x memory, a diff on every `up` (resource_docker_container_funcs.go).
    for name, c in run.containers.items():
        assert c.inputs.get("memory"), name
        assert c.inputs.get("memorySwap") == c.inputs["memory"], name


def test_every_container_with_a_healthcheck_carries_its_hash_as_a_label(run):
    checked = 0
    for name, c in run.containers.items():
        hc = c.inputs.get("healthcheck")
        if hc:
            expected = Healthcheck(
                tuple(hc["tests"]), hc["interval"], hc["timeout"], int(hc["retries"]), hc["startPeriod"]
            )
            assert labels_of(c)["mlops.healthcheck"] == healthcheck_hash(expected), name
            checked += 1
    assert checked >= 5


@pytest.mark.parametrize(
    "change",
    [{"test": ("CMD", "true")}, {"interval": "11s"}, {"timeout": "6s"}, {"retries": 3}, {"start_period": "1s"}],
)
def test_any_healthcheck_edit_changes_the_label(change):
    base = Healthcheck(("CMD", "pg_isready"))
    assert healthcheck_hash(dataclasses.replace(base, **change)) != healthcheck_hash(base)


def test_networks_are_deleted_before_their_replacement_is_created(run):
    nets = run.of_type(":Network")
    assert nets and all(n.delete_before_replace for n in nets)


def test_dev_containers_run_the_built_image_id_so_a_rebuild_replaces_them(runs):
    run = runs["dev"]
    built = {r.inputs["imageName"] for r in run.of_type(":Image")}
    for svc in ("api", "ui", "mlflow"):
        image = run.container(svc).inputs["image"]
        assert image in {local_image_id(b) for b in built}, svc


def test_server_stacks_run_the_pulled_image_id(runs):
    ids = {r.name: r for r in runs["staging"].of_type(":RemoteImage")}
    api = runs["staging"].container("api").inputs["image"]
    assert api.startswith("sha256:") and f"{PROJECT}-staging-api-image" in ids


@pytest.mark.parametrize(
    "rel,ignored",
    [
        ("api/pipeline_api/__pycache__/app.cpython-311.pyc", True),
        ("api/pipeline_api/app.pyc", True),
        ("api/tests/test_x.py", True),
        ("tests/conftest.py", True),
        (".dockerignore", True),
        ("api/pipeline_api/app.py", False),
        ("api/Dockerfile", False),
        ("common/pipeline_common/migrations/versions/0001.py", False),
    ],
)
def test_dockerignore_patterns_match_like_docker(rel, ignored):
    patterns = (REPO_ROOT / "app" / ".dockerignore").read_text().split("\n")
    patterns = [p for p in patterns if p and not p.startswith("#")]
    assert is_ignored(rel, patterns) is ignored


def test_source_hash_ignores_what_the_build_ignores_and_follows_what_it_copies(tmp_path):
    (tmp_path / ".dockerignore").write_text((REPO_ROOT / "app" / ".dockerignore").read_text())
    (tmp_path / "api").mkdir()
    (tmp_path / "api" / "app.py").write_text("print(1)\n")
    before = source_hash(tmp_path)
    (tmp_path / "api" / "__pycache__").mkdir()
    (tmp_path / "api" / "__pycache__" / "app.cpython-311.pyc").write_bytes(b"\0")
    (tmp_path / "api" / "tests").mkdir()
    (tmp_path / "api" / "tests" / "test_app.py").write_text("x = 1\n")
    assert source_hash(tmp_path) == before
    (tmp_path / "api" / "app.py").write_text("print(2)\n")
    assert source_hash(tmp_path) != before


def test_the_app_context_has_a_dockerignore():
    assert (REPO_ROOT / "app" / ".dockerignore").is_file()
