"""The stacks the pull-request jobs `e2e` and `k8s-e2e` deploy for real (.github/workflows/delivery.yml):
`ci` (Docker) and `k8s-ci` (kind), evaluated here under the mock runtime with the config the jobs set."""

from __future__ import annotations

import re

import pytest
import yaml

from infra.settings import parse_settings
from infra.verify.outputs import StackOutputs

from . import conftest
from .harness import PROJECT, REPO, run_stack, stack_file_config
from .test_policy import rules

#: What the jobs set before `pulumi up` (the owner lower-cased, the pull request's commit).
JOB_CONFIG = {"imageOwner": "octo-org", "imageTag": "0123456789abcdef0123456789abcdef01234567"}
CI_STACKS = {"e2e": "ci", "k8s-e2e": "k8s-ci"}
K8S_TESTED = "k8s-staging"  # tests/k8s/harness.py STACK


def project_config(stack: str) -> dict:
    prefix = f"{PROJECT}:"
    return {k[len(prefix) :]: v for k, v in stack_file_config(stack).items() if k.startswith(prefix)}


def with_job_config(stack: str) -> dict:
    return {**stack_file_config(stack), **{f"{PROJECT}:{k}": v for k, v in JOB_CONFIG.items()}}


@pytest.fixture(scope="module")
def ci_run():
    return run_stack("ci", with_job_config("ci"))


def test_every_shipped_stack_file_is_evaluated_by_the_tests():
    shipped = {p.name.split(".")[1] for p in REPO.glob("Pulumi.*.yaml")}
    assert shipped == set(conftest.STACKS) | {K8S_TESTED} | set(CI_STACKS.values())


def test_the_ci_stack_keeps_the_dev_stacks_settings_but_its_images_and_hosts():
    dev, ci = project_config("dev"), project_config("ci")
    assert {k: v for k, v in dev.items() if k != "buildImages"} == {k: v for k, v in ci.items() if k != "hosts"}
    assert dev["buildImages"] is True and "buildImages" not in ci  # the job loads the images the images job built
    settings = parse_settings("ci", ci)
    assert settings.tls is False and settings.backup.target is None
    assert all(host.endswith(".ci.localhost") for host in settings.public_hosts.values())


def test_the_ci_stack_runs_the_images_the_job_loaded(ci_run):
    names = {r.inputs["name"] for r in ci_run.of_type(":RemoteImage")}
    for app in ("mlflow", "api", "processor", "ui", "postgres"):
        assert f"ghcr.io/octo-org/mlops-{app}:{JOB_CONFIG['imageTag']}" in names
    assert not ci_run.of_type(":Image")  # nothing is built at deploy time


def test_the_ci_stack_passes_every_policy_rule(ci_run):
    for res in ci_run.resources:
        for name, (_, rule) in rules.RULES.items():
            assert rule(res.type, res.inputs, ci_run.stack) == [], (name, res.name)
    assert rules.containers_pids_limited([(r.type, r.inputs) for r in ci_run.resources]) == []


def test_the_ci_stack_serves_plain_http_without_acme_or_certificate_probe(ci_run):
    services = {name.removeprefix(f"{PROJECT}-ci-") for name in ci_run.containers}
    assert not {"acme", "blackbox"} & services and "proxy" in services


def test_the_ci_stack_exports_what_verify_reads(ci_run):
    doc = {k: ci_run.output(k) for k in ("urls", "credentials", "containers", "tls")}
    outputs = StackOutputs.parse("ci", doc)
    assert outputs.tls is False and outputs.acme_staging is False
    assert all(re.match(r"http://[a-z0-9.-]+\.ci\.localhost/", u) for u in outputs.urls.values())
    assert {"postgres-backup", "prometheus", "node-exporter"} <= set(outputs.containers)


def backup_check_script() -> str:
    return (REPO / ".ci" / "e2e-backup-check").read_text()


def test_the_backup_check_reads_the_file_the_scheduled_backup_writes(ci_run):
    """The job's check names the container and the textfile path the catalog gives postgres-backup."""
    from infra.services.exporters.node_exporter import TEXTFILE_DIR

    backup = ci_run.container("postgres-backup")
    env = dict(e.split("=", 1) for e in backup.inputs["envs"])
    assert env["TEXTFILE_DIR"] == TEXTFILE_DIR
    script = backup_check_script()
    assert f"{TEXTFILE_DIR}/backup_postgres.prom" in script
    assert f'"{PROJECT}-$stack-postgres-backup"' in script and f'"{PROJECT}-$stack-prometheus"' in script


def test_the_k8s_ci_stack_installs_the_add_ons_on_kind():
    config = project_config("k8s-ci")
    settings = parse_settings("k8s-ci", config)
    assert settings.target == "kubernetes" and settings.tls is False
    assert settings.kubernetes.installClusterAddons and settings.kubernetes.kubeletInsecureTls
    context = yaml.safe_load((REPO / "Pulumi.k8s-ci.yaml").read_text())["config"]["kubernetes:context"]
    assert context == "kind-mlops-ci"  # kind's `kind-<cluster name>`, the cluster the job creates
