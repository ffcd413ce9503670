"""The GitHub workflows are valid and keep the delivery promises (README: Deploying)."""

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
WORKFLOWS = sorted((REPO / ".github" / "workflows").glob("*.yml"))
CHECK = str(Path(sys.executable).parent / "check-jsonschema")


def load(name: str) -> dict:
    doc = yaml.safe_load((REPO / ".github" / "workflows" / f"{name}.yml").read_text())
    doc["on"] = doc.pop(True, doc.get("on"))  # YAML 1.1 reads the key `on` as True
    return doc


def test_workflows_pass_schema_validation():
    result = subprocess.run([CHECK, "--builtin-schema", "vendor.github-workflows", *map(str, WORKFLOWS)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_tests_run_on_every_push_and_pull_request_through_ci_run():
    wf = load("test")
    assert set(wf["on"]) == {"push", "pull_request"}
    assert any("bash .ci/run" in s.get("run", "") for s in wf["jobs"]["test"]["steps"])


def test_images_are_tagged_with_the_commit_sha_and_not_pushed_from_pull_requests():
    wf = load("images")
    steps = wf["jobs"]["build"]["steps"]
    meta = next(s for s in steps if s.get("id") == "meta")
    assert "type=sha,format=long" in meta["with"]["tags"]
    build = next(s for s in steps if str(s.get("uses", "")).startswith("docker/build-push-action"))
    assert build["with"]["push"] == "${{ github.event_name != 'pull_request' }}"
    assert set(wf["jobs"]["build"]["strategy"]["matrix"]["image"]) == {"mlflow", "api", "processor", "ui"}


def test_preview_runs_on_pull_requests_with_comments_and_policy_pack():
    wf = load("preview")
    assert set(wf["on"]) == {"pull_request"}
    step = next(s for s in wf["jobs"]["preview"]["steps"] if str(s.get("uses", "")).startswith("pulumi/actions"))
    assert step["with"]["command"] == "preview" and step["with"]["comment-on-pr"] is True
    assert step["with"]["policyPacks"] == "policy"
    assert set(wf["jobs"]["preview"]["strategy"]["matrix"]["stack"]) == {"staging", "production"}


def test_staging_deploys_from_main_and_production_needs_a_protected_environment():
    wf = load("deploy")
    assert "refs/heads/main" in wf["jobs"]["staging"]["if"]
    prod = wf["jobs"]["production"]
    assert prod["environment"] == "production"
    assert "refs/tags/v" in prod["if"] and "workflow_dispatch" in prod["if"]


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda p: p.stem)
def test_no_secret_is_echoed(workflow):
    for line in workflow.read_text().splitlines():
        if "secrets." in line:
            assert not any(cmd in line for cmd in ("echo", "printf", "cat ")), line
