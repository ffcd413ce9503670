"""The `k8s-ci` stack the pull-request job `k8s-e2e` deploys on kind (.github/workflows/delivery.yml), as the
job configures it: every object valid for Kubernetes 1.35 (the kind node image's), the policy pack green."""

from __future__ import annotations

import pytest

from tests.infra.harness import PROJECT, stack_file_config

from .harness import manifest, run_k8s_stack
from .test_k8s_policy import rules, seen, stack_resources
from .test_schemas import CORE_KINDS, validate

STACK = "k8s-ci"
NAMESPACE = "mlops-k8s-ci"
JOB_CONFIG = {f"{PROJECT}:imageOwner": "octo-org", f"{PROJECT}:imageTag": "0123456789abcdef0123456789abcdef01234567"}


@pytest.fixture(scope="module")
def ci_run():
    return run_k8s_stack({**stack_file_config(STACK), **JOB_CONFIG}, stack=STACK)


def test_every_core_object_of_k8s_ci_matches_the_pinned_kubernetes_schema(ci_run):
    rendered = [manifest(r) for r in ci_run.resources if r.type.startswith("kubernetes:") and not r.type.startswith("kubernetes:helm.sh/")]
    objects = [o for o in rendered if o.get("kind") in CORE_KINDS]
    assert {"Deployment", "StatefulSet", "NetworkPolicy", "Secret"} <= {o["kind"] for o in objects}
    for obj in objects:
        validate(obj)


def test_every_policy_rule_passes_on_k8s_ci(ci_run):
    for res in ci_run.resources:
        props = seen(res.raw)
        for name, (_, rule) in {**rules.RULES, **rules.K8S_RULES}.items():
            assert rule(res.type, props, ci_run.stack) == [], (name, res.name)
    assert rules.namespaces_deny_by_default(stack_resources(ci_run)) == []


def test_k8s_ci_installs_the_cluster_add_ons_and_runs_the_loaded_images(ci_run):
    charts = {r.inputs["chart"] for r in ci_run.resources if r.type.startswith("kubernetes:helm.sh/")}
    assert {"oci://docker.io/envoyproxy/gateway-helm", "cert-manager", "keda", "metrics-server"} <= charts
    images = {c["image"] for m in map(manifest, ci_run.resources) if m.get("kind") == "Deployment"
              for c in m["spec"]["template"]["spec"]["containers"]}  # fmt: skip
    assert f"ghcr.io/octo-org/mlops-api:{JOB_CONFIG[f'{PROJECT}:imageTag']}" in images


def test_k8s_ci_is_rendered_where_the_job_looks_for_it(ci_run):
    """The job finds Envoy's Service by the Gateway's namespace and the gateway namespace's default."""
    assert ci_run.output("namespace") == NAMESPACE
    envoy = next(r for r in ci_run.resources if r.inputs.get("chart") == "oci://docker.io/envoyproxy/gateway-helm")
    assert envoy.inputs["namespace"] == "envoy-gateway-system"
    assert "postgres-backup" in ci_run.output("skipped")  # the job says so instead of checking a backup
